//! The chat protocol, shared by the chat server (`chat.rs`, `chat_server.rs`) and the chat client
//! (`chat_client.rs`): both include this file, so they cannot drift apart.
#![allow(dead_code)]

wskit::protocol! {
    /// A multi-room chat.
    pub protocol Chat {
        /// Joins a room. A subscription: the client sends it again after every reconnect.
        #[subscription]
        message JoinRoom { room_id: String }
        /// Leaves a room.
        message LeaveRoom { room_id: String }
        /// Says something in a room you joined.
        message SendMessage { room_id: String, text: String }
        /// A message in a room you joined.
        event NewMessage { room_id: String, user: String, text: String }
        /// Someone joined a room you joined.
        event UserJoined { room_id: String, user: String }
        /// Someone left a room you joined.
        event UserLeft { room_id: String, user: String }
        /// Who is in a room. Idempotent: re-sent if the connection drops while it is in flight.
        #[idempotent]
        rpc ListMembers(room_id: String) -> Members { room_id: String, members: Vec<String> }
    }
}
