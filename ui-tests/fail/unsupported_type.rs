use wskit::server::Context;

wskit::protocol! {
    protocol Shop {
        message Order {
            sku: &'static str,
            pair: (String, u8),
            count: usize,
            by_id: std::collections::HashMap<u32, String>,
            lines: [String; 4],
            ids: std::collections::HashSet<String>,
            boxed: Box<String>,
            nothing: (),
            initial: char,
            callback: fn(u8),
            note: String,
        }
    }
}

struct App;

impl ShopHandler for App {
    type Data = ();

    async fn order(&self, _: Context<()>, msg: Order) -> Result<(), wskit::Error> {
        println!("{}", msg.note);
        Ok(())
    }
}

fn _client(c: ShopClient) {
    let _ = c.order(Order {
        sku: Default::default(),
        pair: Default::default(),
        count: Default::default(),
        by_id: Default::default(),
        lines: Default::default(),
        ids: Default::default(),
        boxed: Default::default(),
        nothing: Default::default(),
        initial: Default::default(),
        callback: Default::default(),
        note: "n".into(),
    });
}

fn main() {
    let _ = Shop::server(App);
}
