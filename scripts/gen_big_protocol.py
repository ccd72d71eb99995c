#!/usr/bin/env python3
"""Writes a throwaway Cargo workspace that measures what `protocol!` costs at compile time.

    python3 scripts/gen_big_protocol.py [OUT_DIR] [--messages 100] [--rpcs 30]

OUT_DIR (default: target/compile-time, git-ignored) receives a workspace of crates that all
depend on wskit by path:

- `big`:   one `protocol!` block with MESSAGES messages and RPCS rpcs, fields of every kind and a
           constraint on every third field;
- `hand`:  the same protocol written by hand, as a careful user would without the macro: the same
           structs with serde derives (camelCase keys, unknown keys refused, `None` left out), a
           handler trait of the same shape (context first, `-> impl Future + Send`, so
           implementors write `async fn`) and a dispatch function (a `match` on the wire type that
           decodes the payload with serde_json, calls the method and returns the frame to answer:
           the reply, or the error as `RPC_ERROR`/`ERROR`). It uses wskit's public types only:
           `wskit::server::Context` (what a handler sees), `wskit::Error`, and the frame writers
           `wskit::wire::{encode_frame, encode_error, OutMeta}`. It cannot be a
           `wskit::server::Service` (a `Request` shows only its wire type), so its dispatch takes
           the frame's parts from the user's own socket loop. It has no constraint checks, no
           issue-collecting decoder, no protocol description and no client: what the macro adds;
- `big_server`: `big`'s source with wskit's `server` feature only (no `client`): the macro's
           output without the typed client, beside `hand`, which has no client either;
- `big_bare`: `big`'s source with no wskit feature (neither `server` nor `client`): the types,
           their strict decoders, constraints and description, and the event enum, without the
           handler trait, the service and the client;
- `empty`: no code at all, the floor;
- `big_served`, `hand_served`: a handler of `big`'s (default features) and of `hand`'s protocol
           (each method answers at once) and one non-generic function that hands out the
           dispatch as a trait object, so that the dispatch is compiled there, as in a server crate.

scripts/measure_compile_time.sh builds them and prints their times. Nothing here is committed.
"""

import argparse
import pathlib
import shutil

REPO = pathlib.Path(__file__).resolve().parent.parent

# (type, constraint): the DSL's field types are Rust types, written the same in `hand`.
FIELD_KINDS = [
    ("String", '#[validate(length(min = 1, max = 64))] '),
    ("Option<String>", '#[validate(email)] '),
    ("u32", '#[validate(range(min = 1, max = 1000))] '),
    ("Vec<String>", '#[validate(length(max = 10), items(pattern = "^[a-z]+$"))] '),
    ("bool", ""),
    ("f64", ""),
    ("Option<Address>", ""),
    ("std::collections::HashMap<String, i64>", ""),
    ("Role", ""),
]


def field_kinds(seed: int, count: int) -> list[tuple[str, str, str]]:
    """(name, type, constraint) of a message's fields, for the DSL and the hand-written crate."""
    out = []
    for j in range(count):
        ty, constraint = FIELD_KINDS[(seed + j) % len(FIELD_KINDS)]
        out.append((f"field_{j}", ty, constraint if j % 3 == 0 else ""))
    return out


def fields(seed: int, count: int) -> str:
    return ", ".join(f"{rule}{name}: {ty}" for name, ty, rule in field_kinds(seed, count))


def protocol(messages: int, rpcs: int) -> str:
    lines = ["wskit::protocol! {", "    /// A large generated protocol.", "    pub protocol Big {"]
    for i in range(messages):
        keyword = "message" if i % 2 == 0 else "event"
        lines.append(f"        /// Message number {i}.")
        lines.append(f"        {keyword} Message{i} {{ {fields(i, 1 + i % 5)} }}")
    for i in range(rpcs):
        progress = f" progress Progress{i} {{ percent: u8 }}" if i % 5 == 0 else ""
        lines.append(f"        /// Rpc number {i}.")
        lines.append(
            f"        rpc Call{i}({fields(i, 1 + i % 3)}) -> Reply{i} {{ {fields(i + 1, 2 + i % 4)} }}{progress}"
        )
    lines.append("        type Address { city: String, #[validate(pattern = \"^[0-9]{5}$\")] zip: String }")
    lines.append("        enum Role { Admin, Member, Guest }")
    lines.append("    }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def hand_struct(name: str, doc: str, fields: list[tuple[str, str, str]]) -> list[str]:
    """A struct with serde derives whose JSON form is the wire form."""
    lines = [
        f"/// {doc}",
        "#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]",
        '#[serde(rename_all = "camelCase", deny_unknown_fields)]',
        f"pub struct {name} {{",
    ]
    for fname, ty, _ in fields:
        if ty.startswith("Option<"):
            lines.append('    #[serde(default, skip_serializing_if = "Option::is_none")]')
        lines.append(f"    pub {fname}: {ty},")
    lines.append("}")
    lines.append("")
    return lines


def wire(name: str) -> str:
    """`Message12` -> `MESSAGE12`: the DSL's default wire type for these names."""
    return name.upper()


def handled_types(messages: int, rpcs: int) -> list[tuple[str, str, str, str | None]]:
    """(wire type, method, struct, reply struct or None) of each client-to-server message."""
    handled = [(wire(f"Message{i}"), f"message{i}", f"Message{i}", None) for i in range(0, messages, 2)]
    handled += [(wire(f"Call{i}"), f"call{i}", f"Call{i}", f"Reply{i}") for i in range(rpcs)]
    return handled


def served(crate_name: str, messages: int, rpcs: int) -> str:
    """A crate that uses `crate_name` (`big` or `hand`) as a server does: a handler (every method
    answers at once) and a non-generic function that hands out its dispatch as a trait object, so
    that the dispatch, every decoder it calls and every handler future are compiled here, as they
    are in a user's server crate."""
    ours = crate_name == "big"
    rpc_ctx = "RpcContext<(), {}>" if ours else "Context<()>"
    std_imports = [] if ours else ["use std::future::Future;", "use std::pin::Pin;", ""]
    lines = [
        f"//! Generated by scripts/gen_big_protocol.py: `{crate_name}` served by a handler.",
        "",
        *std_imports,
        f"use {crate_name}::*;",
        "use wskit::Error;",
        "use wskit::server::{Context, RpcContext};" if ours else "use wskit::server::Context;",
        "",
        "/// Answers every message at once; every rpc with `UNIMPLEMENTED`.",
        "pub struct Noop;",
        "",
        "impl BigHandler for Noop {",
        "    type Data = ();",
    ]
    for _, method, struct, reply in handled_types(messages, rpcs):
        if reply is None:
            lines.append(f"    async fn {method}(&self, _: Context<()>, _: {struct}) -> Result<(), Error> {{ Ok(()) }}")
        else:
            ctx = rpc_ctx.format(struct)
            lines.append(
                f"    async fn {method}(&self, _: {ctx}, _: {struct}) -> Result<{reply}, Error> {{"
                f' Err(Error::unimplemented("noop")) }}'
            )
    lines.append("}")
    lines.append("")
    if ours:
        lines += [
            "/// The service, as a server holds it.",
            "pub fn service() -> Box<dyn wskit::server::Service<()>> {",
            "    Box::new(Big::server(Noop))",
            "}",
        ]
    else:
        lines += [
            "/// The answer to one frame, as a socket loop awaits it.",
            "pub fn answer<'a>(",
            "    ctx: Context<()>,",
            "    ty: &'a str,",
            "    correlation_id: Option<&'a str>,",
            "    payload: &'a str,",
            ") -> Pin<Box<dyn Future<Output = Option<Vec<u8>>> + Send + 'a>> {",
            "    Box::pin(dispatch(&Noop, ctx, ty, correlation_id, payload))",
            "}",
        ]
    return "\n".join(lines) + "\n"


def hand(messages: int, rpcs: int) -> str:
    """The protocol of `protocol(messages, rpcs)`, written by hand (see the module docs)."""
    out = [
        "//! Generated by scripts/gen_big_protocol.py: the `big` protocol written by hand.",
        "",
        "use std::future::Future;",
        "",
        "use serde::{Deserialize, Serialize};",
        "use wskit::Error;",
        "use wskit::server::Context;",
        "use wskit::wire::{OutMeta, encode_error, encode_frame};",
        "",
    ]
    for i in range(messages):
        out += hand_struct(f"Message{i}", f"Message number {i}.", field_kinds(i, 1 + i % 5))
    for i in range(rpcs):
        out += hand_struct(f"Call{i}", f"Rpc number {i}.", field_kinds(i, 1 + i % 3))
        reply_doc = f"The response of the rpc [`Call{i}`]."
        out += hand_struct(f"Reply{i}", reply_doc, field_kinds(i + 1, 2 + i % 4))
        if i % 5 == 0:
            progress_doc = f"The progress update of the rpc [`Call{i}`]."
            out += hand_struct(f"Progress{i}", progress_doc, [("percent", "u8", "")])
    handled = handled_types(messages, rpcs)
    address = [("city", "String", ""), ("zip", "String", "")]
    out += hand_struct("Address", "Type `Address` of the protocol.", address)
    out += [
        "/// Type `Role` of the protocol.",
        "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]",
        '#[serde(rename_all = "camelCase")]',
        "pub enum Role {",
        "    /// `\"admin\"` on the wire.",
        "    Admin,",
        "    /// `\"member\"` on the wire.",
        "    Member,",
        "    /// `\"guest\"` on the wire.",
        "    Guest,",
        "}",
        "",
        "/// The handlers of the protocol: one method per client-to-server message and rpc, the",
        "/// context first. Implementors may write `async fn`.",
        "pub trait BigHandler: Send + Sync + 'static {",
        "    /// The connection data produced by authentication (`()` if none).",
        "    type Data: Send + Sync + 'static;",
    ]
    for _, method, struct, reply in handled:
        out.append(f"    /// Handles [`{struct}`].")
        if reply is None:
            out.append(
                f"    fn {method}(&self, ctx: Context<Self::Data>, msg: {struct})"
                " -> impl Future<Output = Result<(), Error>> + Send;"
            )
        else:
            out.append(
                f"    fn {method}(&self, ctx: Context<Self::Data>, req: {struct})"
                f" -> impl Future<Output = Result<{reply}, Error>> + Send;"
            )
    out += [
        "}",
        "",
        "/// A payload as `T`, or the `INVALID_ARGUMENT` to answer.",
        "fn decode<T: serde::de::DeserializeOwned>(payload: &str) -> Result<T, Error> {",
        "    serde_json::from_str(payload).map_err(|e| Error::invalid_argument(e.to_string()))",
        "}",
        "",
        "/// The reply frame of an rpc.",
        "fn reply<T: Serialize>(",
        "    ty: &str,",
        "    correlation_id: Option<&str>,",
        "    payload: &T,",
        ") -> Result<Option<Vec<u8>>, Error> {",
        "    let meta = OutMeta::correlated(correlation_id);",
        "    encode_frame(ty, Some(&meta), Some(payload))",
        "        .map(Some)",
        "        .map_err(|e| Error::internal(e.to_string()))",
        "}",
        "",
        "/// Handles one inbound frame of a client-to-server type: decodes its payload, calls the",
        "/// handler's method, and returns the frame to answer with (an rpc's reply, or the error as",
        "/// `RPC_ERROR` when the frame has a correlationId, `ERROR` otherwise), if any.",
        "pub async fn dispatch<H: BigHandler>(",
        "    handler: &H,",
        "    ctx: Context<H::Data>,",
        "    ty: &str,",
        "    correlation_id: Option<&str>,",
        "    payload: &str,",
        ") -> Option<Vec<u8>> {",
        "    let answer = async {",
        "        match ty {",
    ]
    for wire_type, method, _, reply in handled:
        if reply is None:
            out += [
                f'            "{wire_type}" => {{',
                f"                handler.{method}(ctx, decode(payload)?).await?;",
                "                Ok(None)",
                "            }",
            ]
        else:
            out += [
                f'            "{wire_type}" => {{',
                f"                let response = handler.{method}(ctx, decode(payload)?).await?;",
                f'                reply("{wire(reply)}", correlation_id, &response)',
                "            }",
            ]
    out += [
        '            _ => Err(Error::unimplemented(format!("unknown type {ty:?}"))),',
        "        }",
        "    };",
        "    match answer.await {",
        "        Ok(frame) => frame,",
        "        Err(error) => Some(encode_error(correlation_id, &error)),",
        "    }",
        "}",
    ]
    return "\n".join(out) + "\n"


def crate(root: pathlib.Path, name: str, lib: str, deps: str = "", wskit_features: str = "") -> None:
    (root / name / "src").mkdir(parents=True, exist_ok=True)
    (root / name / "Cargo.toml").write_text(
        f'[package]\nname = "{name}"\nversion = "0.0.0"\nedition = "2024"\npublish = false\n\n'
        f'[dependencies]\nwskit = {{ path = "{REPO / "wskit"}"{wskit_features} }}\n{deps}'
    )
    (root / name / "src" / "lib.rs").write_text(lib)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?", default=str(REPO / "target" / "compile-time"))
    ap.add_argument("--messages", type=int, default=100)
    ap.add_argument("--rpcs", type=int, default=30)
    args = ap.parse_args()
    root = pathlib.Path(args.out)
    root.mkdir(parents=True, exist_ok=True)
    members = ", ".join(
        f'"{m}"' for m in ["big", "big_server", "big_bare", "hand", "empty", "big_served", "hand_served"]
    )
    (root / "Cargo.toml").write_text(f'[workspace]\nresolver = "2"\nmembers = [{members}]\n')
    # The repository's lock file: the same dependency versions, no registry look-up.
    shutil.copy(REPO / "Cargo.lock", root / "Cargo.lock")
    big = "//! Generated by scripts/gen_big_protocol.py.\n\n" + protocol(args.messages, args.rpcs)
    crate(root, "big", big)
    # Built on its own (a build of several crates at once would unify wskit's features).
    crate(root, "big_server", big, wskit_features=', default-features = false, features = ["server"]')
    crate(root, "big_bare", big, wskit_features=", default-features = false")
    # serde and serde_json with the features wskit already turns on: no dependency is rebuilt.
    serde = 'serde = { version = "1", features = ["derive"] }\nserde_json = "1"\n'
    crate(root, "hand", hand(args.messages, args.rpcs), serde)
    # The crates above as a server uses them: their dispatch compiled for one handler.
    crate(root, "big_served", served("big", args.messages, args.rpcs), f'big = {{ path = "../big" }}\n')
    crate(root, "hand_served", served("hand", args.messages, args.rpcs), f'hand = {{ path = "../hand" }}\n')
    crate(root, "empty", "//! Generated by scripts/gen_big_protocol.py: the baseline.\n")
    print(f"wrote {root} ({args.messages} messages, {args.rpcs} rpcs)")


if __name__ == "__main__":
    main()
