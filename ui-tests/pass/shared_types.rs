//! A response or progress may name a `type` of the block (`-> Todo`): its wire type is the type's
//! (SCREAMING_SNAKE of its name, or its `#[wire]`), it implements `wskit::Message` once however
//! many rpcs reply with it, and the description lists it both as a type and as a message.

use wskit::describe::{MessageKind, TypeShape};
use wskit::server::RpcContext;
use wskit::{Message, PayloadForm, Protocol, Rpc};

wskit::protocol! {
    pub protocol Todos {
        rpc AddTodo(title: String) -> Todo
        rpc Rename(id: u32, title: String) -> Todo progress Saving
        rpc Sync -> Synced progress Item;
        /// A todo.
        type Todo { id: u32, #[validate(length(min = 1))] title: String }
        #[wire = "ITEM/V1"]
        type Item { done: bool }
    }
}

struct App;

impl TodosHandler for App {
    type Data = ();

    async fn add_todo(&self, _: RpcContext<(), AddTodo>, req: AddTodo) -> Result<Todo, wskit::Error> {
        Ok(Todo { id: 1, title: req.title })
    }

    async fn rename(&self, ctx: RpcContext<(), Rename>, req: Rename) -> Result<Todo, wskit::Error> {
        ctx.progress(Saving {});
        Ok(Todo { id: req.id, title: req.title })
    }

    async fn sync(&self, ctx: RpcContext<(), Sync>, _: Sync) -> Result<Synced, wskit::Error> {
        ctx.progress(Item { done: true });
        Ok(Synced {})
    }
}

fn _client(c: TodosClient) {
    let _: wskit::client::Call<AddTodo> = c.add_todo(AddTodo { title: "x".into() });
}

fn same<A: 'static, B: 'static>() -> bool {
    std::any::TypeId::of::<A>() == std::any::TypeId::of::<B>()
}

fn main() {
    let _ = Todos::server(App);
    assert_eq!((Todo::TYPE, Todo::PAYLOAD), ("TODO", PayloadForm::Fields));
    assert_eq!((Item::TYPE, Item::PAYLOAD), ("ITEM/V1", PayloadForm::Fields));
    assert_eq!((Synced::TYPE, Synced::PAYLOAD), ("SYNCED", PayloadForm::None));
    assert_eq!(Saving::PAYLOAD, PayloadForm::None);
    assert!(same::<<AddTodo as Rpc>::Response, Todo>());
    assert!(same::<<Rename as Rpc>::Response, Todo>());
    assert!(same::<<Sync as Rpc>::Progress, Item>());
    let todo = Todo { id: 7, title: "milk".into() };
    assert_eq!(serde_json::to_string(&todo).unwrap(), r#"{"id":7,"title":"milk"}"#);
    let d = Todos::description();
    let kinds: Vec<(&str, &str, MessageKind)> =
        d.messages.iter().map(|m| (m.name, m.wire_type, m.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("AddTodo", "ADD_TODO", MessageKind::Request),
            ("Todo", "TODO", MessageKind::Response),
            ("Rename", "RENAME", MessageKind::Request),
            ("Saving", "SAVING", MessageKind::Progress),
            ("Sync", "SYNC", MessageKind::Request),
            ("Synced", "SYNCED", MessageKind::Response),
            ("Item", "ITEM/V1", MessageKind::Progress),
        ]
    );
    let as_message = d.message("TODO").unwrap();
    assert_eq!((as_message.docs, as_message.fields.len()), ("A todo.", 2));
    assert_eq!(d.message("RENAME").unwrap().response, Some("Todo"));
    let TypeShape::Struct(fields) = d.ty("Todo").unwrap().shape else { panic!() };
    assert_eq!(fields, as_message.fields);
}
