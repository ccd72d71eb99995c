// A repeated field or variant, by Rust name or by wire name: one error each; the first is kept.
use wskit::server::Context;

wskit::protocol! {
    protocol Shop {
        message Order { sku: String, #[wire = "sku"] code: String, sku: u32, status: Status }
        enum Status { Open, #[wire = "open"] Reopened, Open }
    }
}

struct App;

impl ShopHandler for App {
    type Data = ();

    async fn order(&self, _: Context<()>, msg: Order) -> Result<(), wskit::Error> {
        let _ = (msg.sku.len(), msg.code, msg.status == Status::Reopened);
        Ok(())
    }
}

fn _client(c: ShopClient) {
    let _ = c.order(Order { sku: "A-1".into(), code: "c".into(), status: Status::Open });
}

fn main() {
    let _ = Shop::server(App);
}
