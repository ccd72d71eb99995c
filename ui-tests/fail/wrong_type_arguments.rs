// A field type with the wrong number of type arguments is one error; the field reads as a JSON
// value.
use wskit::server::Context;

wskit::protocol! {
    protocol Shop {
        message Order {
            tags: Vec<String, u8>,
            note: Option,
            prices: HashMap<String>,
            sku: String<u8>,
            to: Address<u8>,
            lines: Vec<'static, String>,
            qty: u32,
        }
        type Address { city: String }
    }
}

struct App;

impl ShopHandler for App {
    type Data = ();

    async fn order(&self, _: Context<()>, msg: Order) -> Result<(), wskit::Error> {
        let _ = (msg.tags, msg.note, msg.prices, msg.sku, msg.to, msg.lines, msg.qty);
        Ok(())
    }
}

fn _client(c: ShopClient, o: Order) {
    let _ = c.order(o);
}

fn main() {
    let _ = Shop::server(App);
    let _ = Address { city: "Paris".into() }.city;
}
