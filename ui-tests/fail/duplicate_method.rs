// Two messages whose names give the same method name (`HttpGet`, `HTTPGet`: `http_get`) are one
// error; the first keeps the method, the second its struct.
use wskit::server::Context;

wskit::protocol! {
    protocol Fetch {
        message HttpGet { url: String }
        message HTTPGet { url: String }
    }
}

struct App;

impl FetchHandler for App {
    type Data = ();

    async fn http_get(&self, _: Context<()>, msg: HttpGet) -> Result<(), wskit::Error> {
        let _ = msg.url;
        Ok(())
    }
}

fn _client(c: FetchClient) {
    let _ = c.http_get(HttpGet { url: "/".into() });
}

fn main() {
    let _ = Fetch::server(App);
    let _ = HTTPGet { url: "/".into() }.url;
}
