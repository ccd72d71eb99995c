use wskit::server::Context;

wskit::protocol! {
    protocol Forms {
        message SignUp {
            #[validate(length(min = 10, max = 2))] name: String,
            #[validate(range(min = 5, max = -5))] score: i32,
        }
    }
}

struct App;

impl FormsHandler for App {
    type Data = ();

    async fn sign_up(&self, _: Context<()>, msg: SignUp) -> Result<(), wskit::Error> {
        let _ = msg;
        Ok(())
    }
}

fn _client(c: FormsClient) {
    let _ = c.sign_up(SignUp { name: "a".into(), score: 1 });
}

fn main() {
    let _ = Forms::server(App);
}
