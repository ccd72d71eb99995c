wskit::protocol! {
    protocol Shop {
        message Ship { to: Adress, gift: Option<Wrapping> }
        type Address { city: String }
    }
}

fn main() {}
