use wskit::server::Context;

wskit::protocol! {
    protocol Chat {
        message JoinRoom { room_id: String }
        event JoinRoom { room_id: String }
    }
}

struct App;

impl ChatHandler for App {
    type Data = ();

    async fn join_room(&self, _: Context<()>, msg: JoinRoom) -> Result<(), wskit::Error> {
        let _ = msg;
        Ok(())
    }
}

fn _client(c: ChatClient) {
    let _ = c.join_room(JoinRoom { room_id: "r".into() });
}

fn main() {
    let _ = Chat::server(App);
}
