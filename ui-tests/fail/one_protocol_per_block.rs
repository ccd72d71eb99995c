// A `protocol!` block holds one protocol: a second one is one error, and both are still generated;
// anything else after the protocol is one error too.
use wskit::server::Context;

wskit::protocol! {
    protocol Chat { message Say { text: String } }
    protocol Presence { event Online { user_id: String } };
}

struct App;

impl ChatHandler for App {
    type Data = ();

    async fn say(&self, _: Context<()>, msg: Say) -> Result<(), wskit::Error> {
        let _ = msg.text;
        Ok(())
    }
}

struct PresenceApp;

impl PresenceHandler for PresenceApp {
    type Data = ();
}

fn _client(c: ChatClient) {
    let _ = c.say(Say { text: "hi".into() });
}

fn main() {
    let _ = Chat::server(App);
    let _ = Presence::server(PresenceApp);
    let _ = Online { user_id: "u".into() }.user_id;
}
