// Every mistake of a block is reported at once, and the declared items still exist with their
// fields, so uses of them do not add "cannot find type" or "no field" errors.
wskit::protocol! {
    protocol Shop {
        message Order { #[validate(lenght(max = 3))] sku: String, to: Adress }
        message Order {}
        rpc Price(sku: String)
        type Address { city: String }
    }
}

fn main() {
    let order = Order { sku: "A-1".into(), to: Default::default() };
    let price = Price { sku: order.sku };
    let _ = (price.sku, Address { city: "Paris".into() }.city);
}
