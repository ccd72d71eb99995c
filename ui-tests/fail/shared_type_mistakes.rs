// Naming a shared `type` as a response: a typo is not a new message without payload; an inline
// response named like the type is a duplicate that points at both; an enum is no response; the
// wire type of a shared type goes on the type, and only on a type an rpc replies with.
use wskit::server::RpcContext;

wskit::protocol! {
    protocol Todos {
        rpc AddTodo(title: String) -> Tood
        rpc Edit(id: u32) -> Todo { id: u32 }
        rpc Pick -> Role
        rpc Get(id: u32) -> #[wire = "TODO/V2"] Todo
        type Todo { id: u32 }
        enum Role { Admin }
        #[wire = "UNUSED"]
        type Unused {}
    }
}

struct App;

impl TodosHandler for App {
    type Data = ();

    async fn add_todo(&self, _: RpcContext<(), AddTodo>, _: AddTodo) -> Result<Todo, wskit::Error> {
        Ok(Todo { id: 1 })
    }

    async fn edit(&self, _: RpcContext<(), Edit>, req: Edit) -> Result<Todo, wskit::Error> {
        Ok(Todo { id: req.id })
    }

    async fn get(&self, _: RpcContext<(), Get>, req: Get) -> Result<Todo, wskit::Error> {
        Ok(Todo { id: req.id })
    }

    async fn pick(
        &self,
        _: RpcContext<(), Pick>,
        _: Pick,
    ) -> Result<<Pick as wskit::Rpc>::Response, wskit::Error> {
        Err(wskit::Error::not_found("nothing to pick"))
    }
}

fn _client(c: TodosClient) {
    let _ = c.add_todo(AddTodo { title: "x".into() });
    let _ = c.edit(Edit { id: 1 });
    let _ = c.pick(Pick {});
    let _ = c.get(Get { id: 1 });
}

fn main() {
    let _ = Todos::server(App);
}
