// A keyword as a field name is one error that says how to write it (`self` cannot be a field at
// all, so it is left out); the rest still compiles.
wskit::protocol! {
    protocol Tags {
        message Tag { type: String, label: String, self: u8 }
        rpc Find(match: String) -> Found { count: u32 }
    }
}

struct App;

impl TagsHandler for App {
    type Data = ();

    async fn tag(&self, _: wskit::server::Context<()>, msg: Tag) -> Result<(), wskit::Error> {
        let _ = (msg.r#type, msg.label);
        Ok(())
    }

    async fn find(
        &self,
        _: wskit::server::RpcContext<(), Find>,
        req: Find,
    ) -> Result<Found, wskit::Error> {
        Ok(Found { count: req.r#match.len() as u32 })
    }
}

fn _client(c: TagsClient) {
    let _ = c.tag(Tag { r#type: "a".into(), label: "b".into() });
    let _ = c.find(Find { r#match: "x".into() });
}

fn main() {
    let _ = Tags::server(App);
}
