// A grammar mistake in one declaration is reported with the other declarations' mistakes; the
// declarations that parse are still checked and their items still exist.
use wskit::server::Context;

wskit::protocol! {
    protocol Shop {
        message Order { sku String }
        message Pay { amount: Mony }
        type Line { qty: u32 }
    }
}

struct App;

impl ShopHandler for App {
    type Data = ();

    async fn order(&self, _: Context<()>, msg: Order) -> Result<(), wskit::Error> {
        let _ = msg;
        Ok(())
    }
    async fn pay(&self, _: Context<()>, msg: Pay) -> Result<(), wskit::Error> {
        let _ = msg;
        Ok(())
    }
}

fn _client(c: ShopClient) {
    let _ = c.order(Order {});
    let _ = c.pay(Pay { amount: Default::default() });
}

fn main() {
    let _ = Shop::server(App);
    let _ = Line { qty: 1 }.qty;
}
