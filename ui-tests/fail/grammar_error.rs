// A grammar mistake in one declaration is reported with the other declarations' mistakes; the
// declarations that parse are still checked and their items still exist. A field whose name
// parses stays (as a JSON value), so do both fields around a missing comma; a declaration that
// does not parse at all stays, empty.
use wskit::server::Context;

wskit::protocol! {
    protocol Shop {
        message Order { sku String, qty: u32 }
        message Pay { amount: Mony }
        message Refund { amount: u32 reason: String }
        rpc Quote(sku: String) -> { total: u32 }
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
    async fn refund(&self, _: Context<()>, msg: Refund) -> Result<(), wskit::Error> {
        let _ = msg;
        Ok(())
    }
    async fn quote(
        &self,
        _: wskit::server::RpcContext<(), Quote>,
        _: Quote,
    ) -> Result<<Quote as wskit::Rpc>::Response, wskit::Error> {
        Err(wskit::Error::not_found("no quote"))
    }
    async fn pay(&self, _: Context<()>, msg: Pay) -> Result<(), wskit::Error> {
        let _ = msg;
        Ok(())
    }
}

fn _client(c: ShopClient) {
    let _ = c.order(Order { sku: "A-1".into(), qty: 1 });
    let _ = c.refund(Refund { amount: 1, reason: "late".into() });
    let _ = c.quote(Quote {});
    let _ = c.pay(Pay { amount: Default::default() });
}

fn main() {
    let _ = Shop::server(App);
    let _ = Line { qty: 1 }.qty;
}
