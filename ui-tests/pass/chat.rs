//! Every kind of declaration, a handler written with `async fn`, a
//! service, a client and the event enum.

use wskit::server::{Context, RpcContext, Service};

wskit::protocol! {
    /// Doc comments are carried to the generated items.
    pub protocol Chat {
        /// Joins a room.
        #[subscription]
        message JoinRoom { room_id: String }                      // client -> server, fire and forget
        event UserJoined { room_id: String, user_id: String }     // server -> client
        #[idempotent]
        rpc GetUser(user_id: String) -> UserData { name: String, email: Option<String> }
        rpc Export(file_id: String) -> ExportDone { url: String } progress ExportProgress { percent: u8 }
        type Address { city: String, zip: String }                // shared nested type
        enum Role { Admin, Member }                               // string enum on the wire
    }
}

struct App;

impl ChatHandler for App {
    type Data = ();

    async fn join_room(&self, _ctx: Context<()>, msg: JoinRoom) -> Result<(), wskit::Error> {
        assert!(!msg.room_id.is_empty());
        Ok(())
    }

    async fn get_user(&self, _ctx: RpcContext<(), GetUser>, req: GetUser) -> Result<UserData, wskit::Error> {
        Ok(UserData { name: req.user_id, email: None })
    }

    async fn export(&self, ctx: RpcContext<(), Export>, req: Export) -> Result<ExportDone, wskit::Error> {
        ctx.progress(ExportProgress { percent: 50 });
        Ok(ExportDone { url: format!("https://files.test/{}", req.file_id) })
    }
}

/// Only compiled: the client needs a connection.
#[allow(dead_code)]
async fn use_client(client: ChatClient) -> Result<(), wskit::client::ClientError> {
    client.join_room(JoinRoom { room_id: "general".into() })?;
    let user: UserData = client.get_user(GetUser { user_id: "u1".into() }).await?;
    let _events: wskit::client::Events<ChatEvent> = client.events();
    let _ = user.email;
    Ok(())
}

fn main() {
    use wskit::Protocol;
    let service = Chat::server(App);
    assert_eq!(service.description().name, "Chat");
    assert_eq!(Chat::description().docs, "Doc comments are carried to the generated items.");
    let event: ChatEvent = UserJoined { room_id: "r".into(), user_id: "u".into() }.into();
    assert!(matches!(event, ChatEvent::UserJoined(_)));
    let address = Address { city: "Paris".into(), zip: "75001".into() };
    assert_eq!(serde_json::to_string(&(address, Role::Admin)).unwrap(), r#"[{"city":"Paris","zip":"75001"},"admin"]"#);
}
