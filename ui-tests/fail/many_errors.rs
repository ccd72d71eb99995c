// Every mistake of a block is reported at once, one error each, and everything else is still
// generated (the items with their fields, the handler trait, the client), so uses of them add no
// "cannot find type", "no field" or "not a member of trait" errors.
use wskit::server::{Context, RpcContext};

wskit::protocol! {
    protocol Shop {
        message Order { #[validate(lenght(max = 3))] sku: String, to: Adress }
        message Order {}
        rpc Price(sku: String, #[validate(email)] qty: u32, type: String)
        type Address { city: String }
    }
}

struct App;

impl ShopHandler for App {
    type Data = ();

    async fn order(&self, _: Context<()>, msg: Order) -> Result<(), wskit::Error> {
        let _ = msg;
        Ok(())
    }
    async fn price(&self, _: RpcContext<(), Price>, req: Price) -> Result<<Price as wskit::Rpc>::Response, wskit::Error> {
        let _ = req;
        Err(wskit::Error::not_found("no price yet"))
    }
}

fn _client(c: ShopClient) {
    let _ = c.order(Order { sku: "A-1".into(), to: Default::default() });
    let _ = c.price(Price { sku: "A-1".into(), qty: 1, r#type: "retail".into() });
}

fn main() {
    let _ = Shop::server(App);
    let order = Order { sku: "A-1".into(), to: Default::default() };
    let price = Price { sku: order.sku, qty: 2, r#type: "retail".into() };
    let _ = (price.sku, Address { city: "Paris".into() }.city);
}
