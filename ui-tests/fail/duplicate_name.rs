wskit::protocol! {
    protocol Chat {
        message JoinRoom { room_id: String }
        event JoinRoom { room_id: String }
    }
}

fn main() {}
