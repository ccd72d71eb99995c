// An attribute of the DSL where it does not apply is one error; the item is generated without it.
use wskit::server::{Context, RpcContext};

wskit::protocol! {
    #[wire = "CHAT"]
    protocol Chat {
        #[subscription]
        event Joined { room: String }
        #[idempotent]
        message Leave { room: String }
        #[validate(length(max = 100))]
        rpc Post(text: String) -> Posted { id: u64 }
        #[wire = "ROLE"]
        enum Role { Admin }
        message Join { room: String, #[subscription] role: Role }
    }
}

struct App;

impl ChatHandler for App {
    type Data = ();

    async fn leave(&self, _: Context<()>, msg: Leave) -> Result<(), wskit::Error> {
        let _ = msg.room;
        Ok(())
    }
    async fn post(&self, _: RpcContext<(), Post>, req: Post) -> Result<Posted, wskit::Error> {
        Ok(Posted { id: req.text.len() as u64 })
    }
    async fn join(&self, _: Context<()>, msg: Join) -> Result<(), wskit::Error> {
        let _ = (msg.room, msg.role == Role::Admin);
        Ok(())
    }
}

fn _client(c: ChatClient) {
    let _ = c.leave(Leave { room: "r".into() });
    let _ = c.post(Post { text: "hi".into() });
    let _ = c.join(Join { room: "r".into(), role: Role::Admin });
}

fn main() {
    let _ = Chat::server(App);
    let _ = Joined { room: "r".into() }.room;
}
