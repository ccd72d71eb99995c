// A declaration starts with `message`, `event`, `rpc`, `type` or `enum`: a misspelt keyword, or
// `struct`, is one error, and the declaration is read as the one meant; another word is one error,
// and the declaration is skipped.
use wskit::server::Context;

wskit::protocol! {
    protocol Chat {
        messgae Leave { room: String }
        message Say { text: String, room: Room }
        struct Room { name: String }
        fn Ping()
    }
}

struct App;

impl ChatHandler for App {
    type Data = ();

    async fn leave(&self, _: Context<()>, msg: Leave) -> Result<(), wskit::Error> {
        let _ = msg.room;
        Ok(())
    }
    async fn say(&self, _: Context<()>, msg: Say) -> Result<(), wskit::Error> {
        let _ = (msg.text, msg.room.name);
        Ok(())
    }
}

fn _client(c: ChatClient) {
    let _ = c.leave(Leave { room: "r".into() });
    let _ = c.say(Say { text: "hi".into(), room: Room { name: "r".into() } });
}

fn main() {
    let _ = Chat::server(App);
}
