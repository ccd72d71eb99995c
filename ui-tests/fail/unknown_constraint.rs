wskit::protocol! {
    protocol Forms {
        message SignUp {
            #[validate(min_length = 3)] name: String,
        }
    }
}

fn main() {}
