wskit::protocol! {
    protocol Chat {
        message JoinRoom { room_id: String }
        #[wire = "JOIN_ROOM"]
        message EnterRoom { room_id: String }
    }
}

fn main() {}
