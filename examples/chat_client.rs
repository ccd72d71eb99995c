//! A terminal client for the chat example server.
//!
//! ```sh
//! cargo run --example chat                                # the server, ws://127.0.0.1:3000
//! cargo run --example chat_client -- alice-token general  # alice in room "general"
//! ```
//!
//! Type a line to say it in the room; `/who` lists the room's members; `/quit` leaves.
//! Stop the server and start it again: the client reconnects, joins the room again (the join is a
//! subscription), sends what you typed meanwhile and tells you that you may have missed messages.
//! `CHAT_URL` overrides the server address.

#[path = "chat_protocol.rs"]
mod chat_protocol;

use chat_protocol::{ChatClient, ChatEvent, JoinRoom, LeaveRoom, ListMembers, SendMessage};
use tokio::io::{AsyncBufReadExt, BufReader};
use wskit::client::{Client, ConnectionState};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let token = args.next().unwrap_or_else(|| "alice-token".to_owned());
    let room = args.next().unwrap_or_else(|| "general".to_owned());
    let url = std::env::var("CHAT_URL").unwrap_or_else(|_| "ws://127.0.0.1:3000".to_owned());

    let client = Client::builder(url)
        // Asked again before every connection attempt (a real app would refresh its token here).
        .token(move || {
            let token = token.clone();
            async move { Some(token) }
        })
        .on_error(|report| eprintln!("! {report}"))
        .build();
    let chat = ChatClient::new(client.clone());
    let mut events = chat.events();
    let mut gaps = client.gaps();
    let mut states = client.watch_state();

    // Queued until the connection opens; sent again after every reconnect.
    let join = JoinRoom {
        room_id: room.clone(),
    };
    chat.join_room(join.clone())?;
    client.connect().await?;
    println!("connected to #{room}; /who, /quit");

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        tokio::select! {
            line = lines.next_line() => {
                let Some(line) = line? else { break };
                let line = line.trim();
                if line == "/quit" {
                    break;
                } else if line == "/who" {
                    // Awaited in its own task, so the loop keeps printing events meanwhile.
                    let call = chat.list_members(ListMembers { room_id: room.clone() });
                    tokio::spawn(async move {
                        match call.await {
                            Ok(m) => println!("in #{}: {}", m.room_id, m.members.join(", ")),
                            Err(e) => println!("/who failed: {e}"),
                        }
                    });
                } else if !line.is_empty() {
                    let msg = SendMessage { room_id: room.clone(), text: line.to_owned() };
                    if let Err(e) = chat.send_message(msg) {
                        println!("not sent: {e}");
                    }
                }
            }
            Some(event) = events.recv() => match event {
                ChatEvent::NewMessage(m) => println!("[{}] {}: {}", m.room_id, m.user, m.text),
                ChatEvent::UserJoined(j) => println!("[{}] {} joined", j.room_id, j.user),
                ChatEvent::UserLeft(l) => println!("[{}] {} left", l.room_id, l.user),
            },
            Ok(gap) = gaps.recv() => {
                println!("(reconnected after {:?}; you may have missed messages)", gap.offline);
            }
            Ok(()) = states.changed() => {
                let state = *states.borrow_and_update();
                if state != ConnectionState::Open {
                    println!("({state})");
                }
            }
        }
    }
    // Leave the room, and stop re-joining it on reconnects.
    chat.leave_room(LeaveRoom { room_id: room })?;
    client.forget_subscription(&join);
    client.close().await;
    Ok(())
}
