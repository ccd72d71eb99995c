//! The example of the README's DSL section, verbatim.

mod money {
    /// A type of your own: serde + `wskit::Validate`.
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub struct Money { pub cents: i64 }
    impl wskit::Validate for Money {
        fn validate(&self, path: &wskit::validate::Path<'_>, issues: &mut wskit::Issues) {
            if self.cents < 0 { issues.push(path, "must not be negative"); }
        }
    }
}

fn not_admin(name: &str) -> Result<(), String> {
    if name == "admin" { Err("is reserved".into()) } else { Ok(()) }
}

wskit::protocol! {
    /// Doc comments are carried to the generated items and the description.
    pub protocol Chat {
        /// Client -> server, fire and forget. Re-sent by the client after a reconnect.
        #[subscription]
        #[wire = "JOIN"]                                    // wire type (default: JOIN_ROOM)
        message JoinRoom {
            #[validate(length(min = 1, max = 64), pattern = "^[a-z0-9-]+$")]
            room_id: String,                                // wire key `roomId`
            #[wire = "uid"] user: Option<String>,           // wire key `uid`; may be omitted
        } meta { trace_id: Option<String> }                 // extra meta keys -> JoinRoomMeta
        message Ping;                                       // no payload: no `payload` key
        message Touch {}                                    // an empty payload: `"payload":{}`
        /// Server -> client, unicast or published.
        event UserJoined { room_id: String, user_id: String }
        #[idempotent]
        rpc GetUser(#[validate(uuid)] user_id: String)
            -> UserData { name: String, email: Option<String>, role: Role, address: Option<Address> }
        rpc Export(file_id: String) -> ExportDone { url: String } progress ExportProgress { percent: u8 }
        message Buy {
            #[validate(custom = crate::not_admin)] buyer: String,
            #[validate(length(max = 10), items(range(min = 1, max = 99)))] quantities: Vec<u32>,
            prices: std::collections::BTreeMap<String, money::Money>,  // your own type, by path
            extra: serde_json::Value,
        }
        type Address { city: String, #[validate(pattern = "^[0-9]{5}$")] zip: String }
        enum Role { Admin, SuperAdmin, #[wire = "member"] Member }  // "admin", "superAdmin", "member"
    }
}

fn main() {
    let req = GetUser { user_id: "67e55044-10b1-426f-9247-bb680e5fe0c8".into() };
    assert_eq!(serde_json::to_string(&req).unwrap(), r#"{"userId":"67e55044-10b1-426f-9247-bb680e5fe0c8"}"#);
}
