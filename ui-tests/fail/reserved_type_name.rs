use wskit::server::Context;

wskit::protocol! {
    protocol Chat {
        #[wire = "$ws:join"]
        message JoinRoom { room_id: String }
        message __Internal {}
    }
}

struct App;

impl ChatHandler for App {
    type Data = ();

    async fn join_room(&self, _: Context<()>, msg: JoinRoom) -> Result<(), wskit::Error> {
        let _ = msg;
        Ok(())
    }
    async fn internal(&self, _: Context<()>, msg: __Internal) -> Result<(), wskit::Error> {
        let _ = msg;
        Ok(())
    }
}

fn _client(c: ChatClient) {
    let _ = c.join_room(JoinRoom { room_id: "r".into() });
    let _ = c.internal(__Internal {});
}

fn main() {
    let _ = Chat::server(App);
}
