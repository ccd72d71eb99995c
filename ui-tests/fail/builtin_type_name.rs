// A declaration may not take the name of a field type the DSL resolves itself: it is left out, and
// a field that names it reads as the built-in type (`Value`), or as a JSON value when the built-in
// type cannot be a field as written (`Box`).
use wskit::server::Context;

wskit::protocol! {
    protocol Shop {
        type Value { amount: u32 }
        enum Box { Small, Large }
        message Order { total: Value, size: Box }
    }
}

struct App;

impl ShopHandler for App {
    type Data = ();

    async fn order(&self, _: Context<()>, msg: Order) -> Result<(), wskit::Error> {
        let _ = (msg.total, msg.size);
        Ok(())
    }
}

fn _client(c: ShopClient) {
    let _ = c.order(Order { total: serde_json::json!(3), size: "small".into() });
}

fn main() {
    let _ = Shop::server(App);
}
