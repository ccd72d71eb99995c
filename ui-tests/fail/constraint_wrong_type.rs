wskit::protocol! {
    protocol Forms {
        message SignUp {
            #[validate(range(min = 1))] name: String,
            #[validate(email)] age: Option<u8>,
        }
    }
}

fn main() {}
