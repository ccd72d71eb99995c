// A `range` bound must be a value of the field's integer type: no negative bound on an unsigned
// type, nothing past its largest value, no fraction.
use wskit::server::Context;

wskit::protocol! {
    protocol Forms {
        message Rate {
            #[validate(range(min = -1, max = 5))] stars: u8,
            #[validate(range(max = 70000))] port: Option<u16>,
            #[validate(range(min = 0.5))] count: i32,
        }
    }
}

struct App;

impl FormsHandler for App {
    type Data = ();

    async fn rate(&self, _: Context<()>, msg: Rate) -> Result<(), wskit::Error> {
        let _ = (msg.stars, msg.port, msg.count);
        Ok(())
    }
}

fn _client(c: FormsClient) {
    let _ = c.rate(Rate { stars: 5, port: Some(80), count: 1 });
}

fn main() {
    let _ = Forms::server(App);
}
