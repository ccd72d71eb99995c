// An attribute the DSL does not know is one error that lists those allowed in its place.
use wskit::server::Context;

wskit::protocol! {
    #[derive(Debug)]
    protocol Chat {
        #[serde(rename = "say")]
        message Say { #[serde(default)] text: String }
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
