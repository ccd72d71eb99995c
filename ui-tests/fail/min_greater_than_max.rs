wskit::protocol! {
    protocol Forms {
        message SignUp {
            #[validate(length(min = 10, max = 2))] name: String,
            #[validate(range(min = 5, max = -5))] score: i32,
        }
    }
}

fn main() {}
