use wskit::server::Context;

wskit::protocol! {
    protocol Forms {
        message SignUp {
            #[validate(pattern = "^[a-z+$")] name: String,
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
    let _ = c.sign_up(SignUp { name: "a".into() });
}

fn main() {
    let _ = Forms::server(App);
}
