use wskit::server::Context;

wskit::protocol! {
    protocol Shop {
        message Ship { to: Adress, gift: Option<Wrapping> }
        type Address { city: String }
    }
}

struct App;

impl ShopHandler for App {
    type Data = ();

    async fn ship(&self, _: Context<()>, msg: Ship) -> Result<(), wskit::Error> {
        let _ = msg;
        Ok(())
    }
}

fn _client(c: ShopClient) {
    let _ = c.ship(Ship { to: Default::default(), gift: Default::default() });
}

fn main() {
    let _ = Shop::server(App);
}
