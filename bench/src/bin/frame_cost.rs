//! What a server spends answering one big frame: an `ECHO` rpc of about 1 MB that it accepts
//! (the size is in a top-level key the envelope ignores), and one of the same size whose meta
//! holds 100 000 keys, which it refuses (`INVALID_ARGUMENT`), and one whose payload holds
//! 100 000 unknown keys (refused too). Each frame is sent alone and
//! waited for, so the round trip is the server's work on it plus the transfer, which is the
//! same for both.
//!
//! ```text
//! wskit_server &                     # prints its port
//! frame_cost --addr 127.0.0.1:<port> [--frames 20]
//! ```
//!
//! Prints the median and the fastest round trip of each kind, in ms.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use wskit_bench::args::Args;

/// Frames under the server's default 1 MiB limit.
const KEYS: usize = 100_000;

fn accepted(size: usize) -> String {
    let head =
        r#"{"type":"ECHO","meta":{"correlationId":"a"},"payload":{"text":"hi","n":1},"pad":""#;
    format!("{head}{}\"}}", "x".repeat(size - head.len() - 2))
}

/// Accepted too, with as many JSON values as the refused frames: 100 000 numbers in the ignored
/// key (a frame of many small values costs more to parse than one long string).
fn accepted_values() -> String {
    let values = vec!["10000"; KEYS].join(",");
    format!(
        r#"{{"type":"ECHO","meta":{{"correlationId":"v"}},"payload":{{"text":"hi","n":1}},"pad":[{values}]}}"#
    )
}

fn refused() -> String {
    let keys: Vec<String> = (0..KEYS).map(|i| format!(r#""{i:x}":0"#)).collect();
    format!(
        r#"{{"type":"ECHO","meta":{{"correlationId":"r",{}}},"payload":{{"text":"hi","n":1}}}}"#,
        keys.join(",")
    )
}

fn refused_payload() -> String {
    let keys: Vec<String> = (0..KEYS).map(|i| format!(r#""{i:x}":0"#)).collect();
    format!(
        r#"{{"type":"ECHO","meta":{{"correlationId":"p"}},"payload":{{"text":"hi","n":1,{}}}}}"#,
        keys.join(",")
    )
}

fn summary(mut times: Vec<Duration>) -> String {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "median {:.2} ms, fastest {:.2} ms",
        ms(times[times.len() / 2]),
        ms(times[0])
    )
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::from_env()?;
    let addr: String = args.get("addr", "127.0.0.1:8080".to_owned())?;
    let frames: usize = args.get("frames", 20)?;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/")).await?;
    let refused = refused();
    let accepted = accepted(refused.len());
    for (name, frame, answer) in [
        ("accepted", &accepted, r#"{"type":"ECHO_REPLY""#),
        (
            "accepted (100k values in an ignored key)",
            &accepted_values(),
            r#"{"type":"ECHO_REPLY""#,
        ),
        (
            "refused (100k meta keys)",
            &refused,
            r#"{"type":"RPC_ERROR""#,
        ),
        (
            "refused (100k unknown payload keys)",
            &refused_payload(),
            r#"{"type":"RPC_ERROR""#,
        ),
    ] {
        let mut times = Vec::with_capacity(frames);
        for _ in 0..frames {
            let start = Instant::now();
            ws.send(Message::text(frame.as_str())).await?;
            loop {
                match ws.next().await {
                    Some(Ok(Message::Text(t))) => {
                        if !t.starts_with(answer) {
                            return Err(format!("{name}: unexpected answer {t:.200}").into());
                        }
                        break;
                    }
                    Some(Ok(_)) => continue,
                    other => return Err(format!("{name}: connection ended: {other:?}").into()),
                }
            }
            times.push(start.elapsed());
        }
        println!("{name}, {} bytes: {}", frame.len(), summary(times));
    }
    Ok(())
}
