//! Several protocols in one crate, served side by side by services of the same connection data.

use wskit::server::{Context, Service};

wskit::protocol! {
    protocol Chat { message Say { text: String } }
}

wskit::protocol! {
    /// No client-to-server messages: only events.
    protocol Presence { event Online { user_id: String } event Offline { user_id: String } }
}

struct ChatApp;

impl ChatHandler for ChatApp {
    type Data = u64;
    async fn say(&self, _ctx: Context<u64>, _msg: Say) -> Result<(), wskit::Error> {
        Ok(())
    }
}

struct PresenceApp;

impl PresenceHandler for PresenceApp {
    type Data = u64;
}

fn main() {
    let services: Vec<Box<dyn Service<u64>>> =
        vec![Box::new(Chat::server(ChatApp)), Box::new(Presence::server(PresenceApp))];
    let names: Vec<&str> = services.iter().map(|s| s.description().name).collect();
    assert_eq!(names, ["Chat", "Presence"]);
}
