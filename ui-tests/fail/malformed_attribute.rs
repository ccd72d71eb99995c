// A DSL attribute in the wrong form is one error, and the item is generated without it:
// `#[wire = "NAME"]` takes a string, `#[subscription]` and `#[idempotent]` take nothing,
// `#[validate(...)]` takes constraints.
use wskit::server::{Context, RpcContext};

wskit::protocol! {
    protocol Chat {
        #[wire(JOIN)]
        message Join { room: String }
        #[wire = JOINED]
        event Joined { room: String }
        #[subscription(always)]
        message Say { #[wire] text: String, #[validate] room: String }
        #[idempotent = true]
        rpc Count(room: String) -> Counted { n: u32 }
    }
}

struct App;

impl ChatHandler for App {
    type Data = ();

    async fn join(&self, _: Context<()>, msg: Join) -> Result<(), wskit::Error> {
        let _ = msg.room;
        Ok(())
    }
    async fn say(&self, _: Context<()>, msg: Say) -> Result<(), wskit::Error> {
        let _ = (msg.text, msg.room);
        Ok(())
    }
    async fn count(&self, _: RpcContext<(), Count>, req: Count) -> Result<Counted, wskit::Error> {
        Ok(Counted { n: req.room.len() as u32 })
    }
}

fn _client(c: ChatClient) {
    let _ = c.join(Join { room: "r".into() });
    let _ = c.say(Say { text: "hi".into(), room: "r".into() });
    let _ = c.count(Count { room: "r".into() });
}

fn main() {
    let _ = Chat::server(App);
    let _ = Joined { room: "r".into() }.room;
}
