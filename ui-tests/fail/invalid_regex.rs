wskit::protocol! {
    protocol Forms {
        message SignUp {
            #[validate(pattern = "^[a-z+$")] name: String,
        }
    }
}

fn main() {}
