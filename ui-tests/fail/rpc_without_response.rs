wskit::protocol! {
    protocol Users {
        rpc GetUser(user_id: String)
    }
}

fn main() {}
