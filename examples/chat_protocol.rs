//! The chat protocol shared by the chat example server (`chat.rs`) and its client
//! (`chat_client.rs`): both include this file, so they cannot drift apart.
#![allow(dead_code)]

wskit::protocol! {
    /// The chat of `cargo run --example chat` and `cargo run --example chat_client`.
    pub protocol Chat {
        /// Joins a room. A subscription: the client sends it again after every reconnect.
        #[subscription]
        message JoinRoom { room_id: String }
        /// Says something in a room.
        message SendMessage { room_id: String, text: String }
        /// Someone joined a room you are in.
        event UserJoined { room_id: String, user_id: String }
        /// A message in a room you are in.
        event NewMessage { room_id: String, user_id: String, text: String }
        /// Who is that? Idempotent: re-sent if the connection drops while it is in flight.
        #[idempotent]
        rpc GetUser(user_id: String) -> UserData { name: String, email: Option<String> }
    }
}
