// Every mistake of a block is reported at once, and the declared items still exist, so uses of
// them do not add "cannot find type" errors.
wskit::protocol! {
    protocol Shop {
        message Order { #[validate(lenght(max = 3))] sku: String, to: Adress }
        message Order {}
        rpc Price(sku: String)
        type Address { city: String }
    }
}

fn main() {
    let _order = Order {};
}
