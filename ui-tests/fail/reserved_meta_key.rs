wskit::protocol! {
    protocol Chat {
        message JoinRoom { room_id: String } meta { client_id: String, #[wire = "receivedAt"] at: u64 }
    }
}

fn main() {}
