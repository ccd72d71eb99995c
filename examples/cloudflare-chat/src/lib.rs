use std::cell::{Cell, RefCell};
use worker::*;

thread_local! { static BUILT: Cell<u32> = const { Cell::new(0) }; }

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let url = req.url()?;
    let room = url
        .query_pairs()
        .find(|(k, _)| k == "room")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| "lobby".into());
    let ns = env.durable_object("ROOMS")?;
    let stub = ns.id_from_name(&room)?.get_stub()?;
    stub.fetch_with_request(req).await
}

#[durable_object]
pub struct ChatRoom {
    state: State,
    instance: String,
    seen: RefCell<Vec<(WebSocket, u32)>>,
    next: Cell<u32>,
}

impl DurableObject for ChatRoom {
    fn new(state: State, _env: Env) -> Self {
        BUILT.with(|b| b.set(b.get() + 1));
        ChatRoom {
            state,
            instance: format!("{}", js_sys::Math::random()),
            seen: RefCell::new(Vec::new()),
            next: Cell::new(0),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        if req.path() == "/stats" {
            return Response::ok(format!(
                "instance={} built={} sockets={}",
                self.instance,
                BUILT.with(|b| b.get()),
                self.state.get_websockets().len()
            ));
        }
        let pair = WebSocketPair::new()?;
        self.state.accept_websocket_with_tags(&pair.server, &["t0"]);
        pair.server
            .serialize_attachment(serde_json::json!({"n": 1, "topics": ["a"]}))?;
        Ok(Response::from_websocket(pair.client)?.with_headers({
            let h = Headers::new();
            if let Some(p) = req.headers().get("sec-websocket-protocol")? {
                h.set(
                    "sec-websocket-protocol",
                    p.split(',').next().unwrap_or("").trim(),
                )?;
            }
            h
        }))
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> Result<()> {
        let text = match message {
            WebSocketIncomingMessage::String(s) => s,
            WebSocketIncomingMessage::Binary(b) => format!("bin{}", b.len()),
        };
        // identity across calls?
        let known = self
            .seen
            .borrow()
            .iter()
            .find(|(w, _)| *w == ws)
            .map(|(_, n)| *n);
        let n = match known {
            Some(n) => n,
            None => {
                let n = self.next.get();
                self.next.set(n + 1);
                self.seen.borrow_mut().push((ws.clone(), n));
                n
            }
        };
        let expando = js_sys::Reflect::get(ws.as_ref(), &"wskitId".into())
            .ok()
            .and_then(|v| v.as_f64());
        let _ = js_sys::Reflect::set(ws.as_ref(), &"wskitId".into(), &(n as f64).into());
        if text == "sleep" {
            Delay::from(std::time::Duration::from_millis(300)).await;
        }
        let att: Option<serde_json::Value> = ws.deserialize_attachment()?;
        let tags = self.state.get_tags(&ws);
        let reply = format!(
            "instance={} slot={n} expando={expando:?} att={att:?} tags={tags:?} text={text} now={}",
            self.instance,
            js_sys::Date::now()
        );
        for other in self.state.get_websockets() {
            other.send_with_str(&reply)?;
        }
        Ok(())
    }

    async fn websocket_close(
        &self,
        _ws: WebSocket,
        _code: usize,
        _reason: String,
        _was_clean: bool,
    ) -> Result<()> {
        Ok(())
    }
}
