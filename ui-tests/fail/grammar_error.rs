// A grammar mistake in one declaration is reported with the other declarations' mistakes; the
// declarations that parse are still checked and their items still exist.
wskit::protocol! {
    protocol Shop {
        message Order { sku String }
        message Pay { amount: Mony }
        type Line { qty: u32 }
    }
}

fn main() {
    let _ = Line { qty: 1 }.qty;
}
