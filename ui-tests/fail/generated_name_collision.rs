use wskit::server::Context;

wskit::protocol! {
    protocol Chat {
        message ChatClient { id: String }
        message Join {} meta { trace: String }
        type JoinMeta { x: String }
        message Events {}
    }
}

struct App;

impl ChatHandler for App {
    type Data = ();

    async fn join(&self, _: Context<()>, msg: Join) -> Result<(), wskit::Error> {
        let _ = msg;
        Ok(())
    }
    async fn events(&self, _: Context<()>, msg: Events) -> Result<(), wskit::Error> {
        let _ = msg;
        Ok(())
    }
}

fn _client(c: ChatClient) {
    let _ = c.join(Join {});
    let _ = c.events();
}

fn main() {
    let _ = Chat::server(App);
}
