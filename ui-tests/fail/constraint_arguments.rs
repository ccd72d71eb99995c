// The arguments of a constraint: `email`, `url` and `uuid` take none, `length` and `range` take
// `min` and `max` (numbers; whole and not negative for `length`), `pattern` a regex, `custom` a
// function. A malformed one is one error, and the constraints after it are still read.
use wskit::server::Context;

wskit::protocol! {
    protocol Forms {
        message SignUp {
            #[validate(email(strict), length(max = 0.5))] email: String,
            #[validate(length(least = 3))] name: String,
            #[validate(range(min = "1"))] age: u8,
            #[validate(length(min = -1))] bio: String,
            #[validate(length = 3)] city: String,
            #[validate(pattern)] code: String,
        }
    }
}

struct App;

impl FormsHandler for App {
    type Data = ();

    async fn sign_up(&self, _: Context<()>, msg: SignUp) -> Result<(), wskit::Error> {
        let _ = (msg.email, msg.name, msg.age, msg.bio, msg.city, msg.code);
        Ok(())
    }
}

fn _client(c: FormsClient, s: SignUp) {
    let _ = c.sign_up(s);
}

fn main() {
    let _ = Forms::server(App);
}
