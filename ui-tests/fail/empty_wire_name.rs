// `#[wire = ""]`: a message needs a wire type and a field a key.
use wskit::server::Context;

wskit::protocol! {
    protocol Chat {
        #[wire = ""]
        message Say { #[wire = ""] text: String, room: String }
    }
}

struct App;

impl ChatHandler for App {
    type Data = ();

    async fn say(&self, _: Context<()>, msg: Say) -> Result<(), wskit::Error> {
        let _ = (msg.text, msg.room);
        Ok(())
    }
}

fn _client(c: ChatClient) {
    let _ = c.say(Say { text: "hi".into(), room: "r".into() });
}

fn main() {
    let _ = Chat::server(App);
}
