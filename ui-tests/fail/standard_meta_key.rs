// Every message already carries the standard meta keys: a `meta` field cannot declare one again.
use wskit::server::Context;

wskit::protocol! {
    protocol Chat {
        message Say { text: String } meta { correlation_id: String, #[wire = "timeoutMs"] deadline: u64, trace: String }
    }
}

struct App;

impl ChatHandler for App {
    type Data = ();

    async fn say(&self, _: Context<()>, msg: Say) -> Result<(), wskit::Error> {
        let _ = msg.text;
        Ok(())
    }
}

fn _client(c: ChatClient) {
    let _ = c.say(Say { text: "hi".into() });
}

fn main() {
    let _ = Chat::server(App);
}
