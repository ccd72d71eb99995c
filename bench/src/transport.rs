//! Sockets shared by the bench binaries: the WebSocket buffer sizes, the listener, and client
//! connections spread over several loopback source addresses.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// Read and write buffer size of every bench socket (4 KiB; tokio-tungstenite's default read
/// buffer is 128 KiB, which alone costs that much per idle connection).
pub const BUFFER_BYTES: usize = 4 * 1024;

/// The WebSocket configuration of the raw echo servers and the load generator: 4 KiB buffers,
/// other settings at tokio-tungstenite's defaults.
///
/// ```
/// assert_eq!(wskit_bench::transport::ws_config().read_buffer_size, 4096);
/// ```
pub fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(BUFFER_BYTES)
        .write_buffer_size(BUFFER_BYTES)
}

/// Binds `127.0.0.1:port` (0 for an ephemeral port) and prints `listening on 127.0.0.1:<port>` on
/// stdout, the line `bench/run.sh` waits for.
pub async fn listen(port: u16) -> io::Result<TcpListener> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
    announce(listener.local_addr()?);
    Ok(listener)
}

/// Prints the line `bench/run.sh` waits for and flushes stdout.
pub fn announce(addr: SocketAddr) {
    use std::io::Write;
    println!("listening on {addr}");
    let _ = std::io::stdout().flush();
}

/// The loopback source address of connection `index` when connections are spread over `sources`
/// addresses (127.0.0.1, 127.0.0.2, ...), so that 10,000 connections do not exhaust the ephemeral
/// ports of one address.
///
/// ```
/// use std::net::Ipv4Addr;
/// use wskit_bench::transport::source_address;
/// assert_eq!(source_address(0, 4), Ipv4Addr::new(127, 0, 0, 1));
/// assert_eq!(source_address(5, 4), Ipv4Addr::new(127, 0, 0, 2));
/// ```
pub fn source_address(index: usize, sources: u8) -> Ipv4Addr {
    let n = sources.max(1) as usize;
    Ipv4Addr::new(127, 0, 0, 1 + (index % n) as u8)
}

/// Opens a TCP connection to `server` from `source` (an ephemeral port), with Nagle disabled.
pub async fn tcp_connect(source: Ipv4Addr, server: SocketAddr) -> io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::V4(SocketAddrV4::new(source, 0)))?;
    let stream = socket.connect(server).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Opens a WebSocket client connection to `ws://<server><path>` from `source`.
pub async fn ws_connect(
    source: Ipv4Addr,
    server: SocketAddr,
    path: &str,
) -> Result<WebSocketStream<TcpStream>, tokio_tungstenite::tungstenite::Error> {
    let stream = tcp_connect(source, server).await?;
    let url = format!("ws://{server}{path}");
    let (ws, _response) =
        tokio_tungstenite::client_async_with_config(url, stream, Some(ws_config())).await?;
    Ok(ws)
}
