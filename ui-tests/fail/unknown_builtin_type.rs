// A misspelt built-in type gets a suggestion, as a misspelt declared type does.
wskit::protocol! {
    protocol Shop {
        message Order { sku: Strin, qty: u46, tags: Vex<String>, gift: boool, at: Option<Adress> }
        type Address { city: String }
    }
}

struct App;

impl ShopHandler for App {
    type Data = ();

    async fn order(&self, _: wskit::server::Context<()>, msg: Order) -> Result<(), wskit::Error> {
        let _ = (msg.sku, msg.qty, msg.tags, msg.gift, msg.at);
        Ok(())
    }
}

fn _client(c: ShopClient, o: Order) {
    let _ = c.order(o);
}

fn main() {
    let _ = Shop::server(App);
}
