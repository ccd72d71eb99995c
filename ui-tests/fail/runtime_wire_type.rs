// `ERROR` and `RPC_ERROR` are the wire types of the runtime's error frames: a message cannot have
// them, whether by its name (`Error` -> `ERROR`) or by `#[wire]`.
use wskit::server::Context;

wskit::protocol! {
    protocol Chat {
        message Error { reason: String }
        #[wire = "RPC_ERROR"]
        message Failed {}
    }
}

struct App;

impl ChatHandler for App {
    type Data = ();

    async fn error(&self, _: Context<()>, msg: Error) -> Result<(), wskit::Error> {
        let _ = msg.reason;
        Ok(())
    }
    async fn failed(&self, _: Context<()>, msg: Failed) -> Result<(), wskit::Error> {
        let _ = msg;
        Ok(())
    }
}

fn _client(c: ChatClient) {
    let _ = c.error(Error { reason: "r".into() });
    let _ = c.failed(Failed {});
}

fn main() {
    let _ = Chat::server(App);
}
