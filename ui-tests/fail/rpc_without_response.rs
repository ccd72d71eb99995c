use wskit::server::RpcContext;

wskit::protocol! {
    protocol Users {
        rpc GetUser(user_id: String)
    }
}

struct App;

impl UsersHandler for App {
    type Data = ();

    async fn get_user(&self, _: RpcContext<(), GetUser>, req: GetUser) -> Result<<GetUser as wskit::Rpc>::Response, wskit::Error> {
        let _ = req;
        Err(wskit::Error::not_found("no user"))
    }
}

fn _client(c: UsersClient) {
    let _ = c.get_user(GetUser { user_id: "u".into() });
}

fn main() {
    let _ = Users::server(App);
}
