// A string enum needs a variant: an empty one is one error, and it is still generated.
use wskit::server::Context;

wskit::protocol! {
    protocol Admin {
        enum Role {}
        message Grant { user_id: String, role: Option<Role> }
    }
}

struct App;

impl AdminHandler for App {
    type Data = ();

    async fn grant(&self, _: Context<()>, msg: Grant) -> Result<(), wskit::Error> {
        let _ = (msg.user_id, msg.role);
        Ok(())
    }
}

fn _client(c: AdminClient) {
    let _ = c.grant(Grant { user_id: "u".into(), role: None });
}

fn main() {
    let _ = Admin::server(App);
}
