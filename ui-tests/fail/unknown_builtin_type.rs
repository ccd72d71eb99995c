// A misspelt built-in type gets a suggestion, as a misspelt declared type does.
wskit::protocol! {
    protocol Shop {
        message Order { sku: Strin, qty: u46, tags: Vex<String>, gift: boool, at: Option<Adress> }
        type Address { city: String }
    }
}

fn main() {}
