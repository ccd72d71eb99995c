//! Generated items carry docs even where the block has none, so `missing_docs` stays quiet.
#![deny(missing_docs)]

wskit::protocol! {
    pub protocol Docs {
        message Join { room_id: String } meta { trace: Option<String> }
        event Joined { user: String }
        rpc Get(id: String) -> Got { role: Role } progress Step { n: u8 }
        type Address { city: String }
        enum Role { Admin, Member }
    }
}

fn main() {
    use wskit::Protocol;
    assert_eq!(Docs::description().messages.len(), 5);
}
