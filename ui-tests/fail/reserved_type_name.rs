wskit::protocol! {
    protocol Chat {
        #[wire = "$ws:join"]
        message JoinRoom { room_id: String }
        message __Internal {}
    }
}

fn main() {}
