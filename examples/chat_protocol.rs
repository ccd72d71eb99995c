//! The chat protocol, shared by the chat server (`chat.rs`, `chat_server.rs`) and the chat
//! client example.
#![allow(dead_code)]

wskit::protocol! {
    /// A multi-room chat.
    pub protocol Chat {
        /// Enter a room: its messages, joins and leaves are delivered from then on.
        #[subscription]
        message JoinRoom { #[validate(length(min = 1, max = 64))] room_id: String }
        /// Leave a room.
        message LeaveRoom { room_id: String }
        /// Say something in a room one has joined.
        message SendMessage {
            room_id: String,
            #[validate(length(min = 1, max = 2000))] text: String,
        }
        /// A line said in a room (published to the room, the sender included).
        event NewMessage { room_id: String, user: String, text: String }
        /// Someone entered a room.
        event UserJoined { room_id: String, user: String }
        /// Someone left a room (or disconnected).
        event UserLeft { room_id: String, user: String }
        /// Who is in a room. A read, so idempotent: the client sends it again if the connection
        /// drops while it is in flight.
        #[idempotent]
        rpc ListMembers(room_id: String) -> Members { room_id: String, members: Vec<String> }
        /// One line of a room's history.
        type Line { user: String, text: String }
        /// The last lines said in a room (at most 100, oldest first), with progress updates
        /// while they are gathered. A read, so idempotent.
        #[idempotent]
        rpc History(room_id: String) -> HistoryPage { room_id: String, lines: Vec<Line> }
            progress HistoryProgress { done: u32, total: u32 }
    }
}
