use wskit::server::Context;

wskit::protocol! {
    protocol Forms {
        message SignUp {
            #[validate(min_length = 3)] name: String,
        }
    }
}

struct App;

impl FormsHandler for App {
    type Data = ();

    async fn sign_up(&self, _: Context<()>, msg: SignUp) -> Result<(), wskit::Error> {
        println!("{}", msg.name);
        Ok(())
    }
}

fn _client(c: FormsClient) {
    let _ = c.sign_up(SignUp { name: "ada".into() });
}

fn main() {
    let _ = Forms::server(App);
}
