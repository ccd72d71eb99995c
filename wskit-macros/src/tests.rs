//! Unit tests of the parser, the checker (model and diagnostics) and the expansion.

use quote::quote;

use crate::check::check;
use crate::model::{FieldType, Kind, Protocol, Rule, Shape};
use crate::parse::{ItemKindAst, ProtocolAst};

fn parse(tokens: proc_macro2::TokenStream) -> ProtocolAst {
    syn::parse2(tokens).expect("parses")
}

fn model(tokens: proc_macro2::TokenStream) -> Protocol {
    match check(&parse(tokens)) {
        (p, None) => p,
        (_, Some(e)) => panic!("unexpected errors: {:?}", errors_of(e)),
    }
}

fn errors(tokens: proc_macro2::TokenStream) -> Vec<String> {
    match check(&parse(tokens)) {
        (_, None) => panic!("expected errors"),
        (_, Some(e)) => errors_of(e),
    }
}

fn errors_of(e: syn::Error) -> Vec<String> {
    e.into_iter().map(|e| e.to_string()).collect()
}

#[test]
fn parses_every_kind_of_item() {
    let ast = parse(quote! {
        /// Docs.
        pub protocol Chat {
            message JoinRoom { room_id: String } meta { trace_id: Option<String> }
            event UserJoined { room_id: String, }
            rpc GetUser(user_id: String) -> UserData { name: String }
            rpc Export(file_id: String) -> ExportDone { url: String } progress ExportProgress { percent: u8 }
            rpc Bare()
            type Address { city: String }
            enum Role { Admin, #[wire = "m"] Member, }
        }
    });
    assert_eq!(ast.name, "Chat");
    assert_eq!(ast.attrs.len(), 1);
    let kinds: Vec<(String, &str)> = ast
        .items
        .iter()
        .map(|i| {
            let k = match &i.kind {
                ItemKindAst::Message { meta: Some(m), .. } if m.len() == 1 => "message+meta",
                ItemKindAst::Message { .. } => "message",
                ItemKindAst::Event { .. } => "event",
                ItemKindAst::Rpc { response: None, .. } => "rpc without response",
                ItemKindAst::Rpc {
                    progress: Some(_), ..
                } => "streaming rpc",
                ItemKindAst::Rpc { .. } => "rpc",
                ItemKindAst::Type { .. } => "type",
                ItemKindAst::Enum { variants } if variants.len() == 2 => "enum",
                ItemKindAst::Enum { .. } => "enum?",
            };
            (i.name.to_string(), k)
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("JoinRoom".into(), "message+meta"),
            ("UserJoined".into(), "event"),
            ("GetUser".into(), "rpc"),
            ("Export".into(), "streaming rpc"),
            ("Bare".into(), "rpc without response"),
            ("Address".into(), "type"),
            ("Role".into(), "enum"),
        ]
    );
}

#[test]
fn grammar_errors_are_parse_errors() {
    let bad = |t: proc_macro2::TokenStream| match syn::parse2::<ProtocolAst>(t) {
        Ok(ast) => ast.errors.first().map(|e| e.to_string()),
        Err(e) => Some(e.to_string()),
    };
    assert_eq!(
        bad(quote!(protocol P { fn X {} })).as_deref(),
        Some("expected one of: `message`, `event`, `rpc`, `type`, `enum`")
    );
    assert_eq!(
        bad(quote!(protocol P { message X { a: u8 b } })).as_deref(),
        Some("expected `,`")
    );
    assert_eq!(
        errors(quote!(protocol P { message X { a: u8 b: u8 } })),
        ["expected `,`"]
    );
    assert!(bad(quote!(protocol P {} protocol Q {})).is_some());
    // Inside a field list, a field whose name parses keeps its error for `check`.
    assert_eq!(bad(quote!(protocol P { message X { a } })), None);
    assert_eq!(
        errors(quote!(protocol P { message X { a } })),
        ["expected `:`"]
    );
}

#[test]
fn a_bad_declaration_is_skipped_and_the_others_kept() {
    let ast = parse(quote! {
        protocol P {
            fn C {}
            message A { x: String }
            message B { y String, z: u8 }
            rpc D(id: String) -> E {}
            rpc H(a: u8) -> { b: u8 }
            message I { a: u8 b: u8 }
            message F;
            event G {}
        }
    });
    // A declaration that does not parse is still there, empty, when its kind and name are known.
    let names: Vec<(String, bool)> = ast
        .items
        .iter()
        .map(|i| (i.name.to_string(), i.recovered))
        .collect();
    let expected = [
        ("A", false),
        ("B", false),
        ("D", false),
        ("H", true),
        ("I", false),
        ("F", false),
        ("G", false),
    ];
    assert_eq!(names, expected.map(|(n, r)| (n.to_owned(), r)));
    let errs: Vec<String> = ast.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        errs,
        [
            "expected one of: `message`, `event`, `rpc`, `type`, `enum`",
            "expected the name of a response or progress type: `-> Reply { ... }`, `-> Reply`, `progress Step { ... }`",
        ]
    );
    // A field that does not parse stays, as a JSON value, with its error; the next one is read.
    let ItemKindAst::Message {
        fields: Some(fields),
        ..
    } = &ast.items[1].kind
    else {
        panic!()
    };
    let fields: Vec<(String, bool)> = fields
        .iter()
        .map(|f| (f.name.to_string(), f.error.is_some()))
        .collect();
    assert_eq!(fields, [("y".to_owned(), true), ("z".to_owned(), false)]);
    let (p, _) = check(&ast);
    let b = p.messages.iter().find(|m| m.name == "B").unwrap();
    assert!(matches!(b.fields[0].ty, FieldType::Json));
    // Both fields around a missing comma stay, with their types.
    let i = p.messages.iter().find(|m| m.name == "I").unwrap();
    assert!(
        matches!(i.fields[1].ty, FieldType::Int("u8")),
        "{}",
        i.fields.len()
    );
}

#[test]
fn a_misspelt_keyword_or_struct_is_read_as_the_declaration_meant() {
    let ast = parse(quote! {
        protocol P {
            messgae A { x: String };
            struct T { y: u8 }
            Event B {}
            rpc C(id: String) -> D {}
            rcp E(a: u8) -> { b: u8 }
            enm F { X }
        }
    });
    let names: Vec<(String, bool)> = ast
        .items
        .iter()
        .map(|i| (i.name.to_string(), i.recovered))
        .collect();
    let expected = [
        ("A", false),
        ("T", false),
        ("B", false),
        ("C", false),
        ("E", true),
        ("F", false),
    ];
    assert_eq!(names, expected.map(|(n, r)| (n.to_owned(), r)));
    assert!(matches!(ast.items[0].kind, ItemKindAst::Message { .. }));
    assert!(matches!(ast.items[1].kind, ItemKindAst::Type { .. }));
    assert!(matches!(ast.items[2].kind, ItemKindAst::Event { .. }));
    assert!(matches!(ast.items[4].kind, ItemKindAst::Rpc { .. }));
    assert!(matches!(ast.items[5].kind, ItemKindAst::Enum { .. }));
    let errs: Vec<String> = ast.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        errs,
        [
            "unknown declaration `messgae`: did you mean `message`?",
            "`struct` is not a declaration of `protocol!`: write `type Name { ... }`",
            "unknown declaration `Event`: did you mean `event`?",
            "unknown declaration `rcp`: did you mean `rpc`?",
            "expected the name of a response or progress type: `-> Reply { ... }`, `-> Reply`, `progress Step { ... }`",
            "unknown declaration `enm`: did you mean `enum`?",
        ]
    );
}

#[test]
fn a_second_protocol_in_a_block_is_reported_and_still_generated() {
    let block: crate::parse::BlockAst = syn::parse2(quote! {
        protocol P { message A {} }
        pub protocol Q { message B {} }
    })
    .expect("parses");
    assert_eq!(block.protocols.len(), 2);
    assert!(block.protocols[0].errors.is_empty());
    let errs: Vec<String> = block.protocols[1]
        .errors
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errs,
        [
            "expected one `protocol` per `protocol!` block: declare `Q` in a `protocol!` block of its own"
        ]
    );
    let out = crate::expand(quote! {
        protocol P { message A {} }
        protocol Q { message B {} }
        ;
    })
    .to_string();
    assert_eq!(out.matches("compile_error").count(), 2, "{out}");
    assert!(out.contains("nothing after it"), "{out}");
    assert!(out.contains("trait PHandler"), "{out}");
    assert!(out.contains("trait QHandler"), "{out}");
}

#[test]
fn braces_tell_an_empty_payload_from_none() {
    use crate::model::PayloadForm::{Empty, Fields, None};
    let p = model(quote! {
        protocol P {
            message A;
            message B {}
            message C { x: u8 };
            message D meta { trace: String }
            message E
            event F
            event G {};
            rpc H -> HDone
            rpc I() -> IDone {} progress IStep;
            rpc J(x: u8) -> JDone { y: u8 } progress JStep {} meta { trace: String };
        }
    });
    let forms: Vec<(String, crate::model::PayloadForm)> = p
        .messages
        .iter()
        .map(|m| (m.name.to_string(), m.payload))
        .collect();
    let expected = [
        ("A", None),
        ("B", Empty),
        ("C", Fields),
        ("D", None),
        ("E", None),
        ("F", None),
        ("G", Empty),
        ("H", None),
        ("HDone", None),
        ("I", Empty),
        ("IDone", Empty),
        ("IStep", None),
        ("J", Fields),
        ("JDone", Fields),
        ("JStep", Empty),
    ];
    let expected: Vec<(String, crate::model::PayloadForm)> = expected
        .iter()
        .map(|(n, f)| ((*n).to_owned(), *f))
        .collect();
    assert_eq!(forms, expected);
    assert!(p.messages[3].meta.is_some());
    // Both forms generate a braced struct, so user code is the same.
    let out = crate::expand(quote!(protocol P { message A; message B {} })).to_string();
    assert!(out.contains("struct A { }"), "{out}");
    assert!(out.contains("struct B { }"), "{out}");
    assert!(out.contains(":: wskit :: PayloadForm :: None"), "{out}");
    assert!(out.contains(":: wskit :: PayloadForm :: Empty"), "{out}");
}

#[test]
fn model_has_default_and_overridden_wire_names() {
    let p = model(quote! {
        protocol Chat {
            #[wire = "JOIN"] #[subscription]
            message JoinRoom { room_id: String, #[wire = "uid"] user: Option<String> }
            #[idempotent]
            rpc GetUser(user_id: String) -> #[wire = "USER"] UserData { name: String } progress Step { n: u8 }
            enum Role { SuperAdmin, #[wire = "m"] Member }
        }
    });
    let m: Vec<(String, &str, Kind)> = p
        .messages
        .iter()
        .map(|m| (m.name.to_string(), m.wire.as_str(), m.kind))
        .collect();
    assert_eq!(
        m,
        [
            ("JoinRoom".into(), "JOIN", Kind::Message),
            ("GetUser".into(), "GET_USER", Kind::Request),
            ("UserData".into(), "USER", Kind::Response),
            ("Step".into(), "STEP", Kind::Progress),
        ]
    );
    assert!(p.messages[0].subscription && p.messages[1].idempotent);
    assert_eq!(p.messages[1].response.as_ref().unwrap(), "UserData");
    assert_eq!(p.messages[1].progress.as_ref().unwrap(), "Step");
    let wires: Vec<&str> = p.messages[0]
        .fields
        .iter()
        .map(|f| f.wire.as_str())
        .collect();
    assert_eq!(wires, ["roomId", "uid"]);
    let Shape::Enum(vs) = &p.types[0].shape else {
        panic!()
    };
    let wires: Vec<&str> = vs.iter().map(|v| v.wire.as_str()).collect();
    assert_eq!(wires, ["superAdmin", "m"]);
}

#[test]
fn model_resolves_field_types() {
    let p = model(quote! {
        protocol P {
            message M {
                a: std::collections::HashMap<String, Vec<Option<u8>>>,
                b: serde_json::Value,
                c: Value,
                d: crate::Money,
                e: Address,
                f: std::string::String,
            }
            type Address { city: String }
        }
    });
    let tys: Vec<String> = p.messages[0]
        .fields
        .iter()
        .map(|f| f.ty.display())
        .collect();
    assert_eq!(
        tys,
        [
            "HashMap<String, Vec<Option<u8>>>",
            "serde_json::Value",
            "serde_json::Value",
            "crate::Money",
            "Address",
            "String"
        ]
    );
    assert!(matches!(p.messages[0].fields[3].ty, FieldType::External(_)));
}

#[test]
fn model_reads_constraints() {
    let p = model(quote! {
        protocol P {
            message M {
                #[validate(length(min = 1, max = 3), pattern = "^a", email, url, uuid)] s: Option<String>,
                #[validate(range(min = -2, max = 10), custom = crate::even)] n: i32,
                #[validate(items(length(max = 2)))] v: Vec<String>,
            }
        }
    });
    let f = &p.messages[0].fields;
    assert!(matches!(
        f[0].constraints[0].rule,
        Rule::Length {
            min: Some(1),
            max: Some(3)
        }
    ));
    assert!(matches!(&f[0].constraints[1].rule, Rule::Pattern(l) if l.value() == "^a"));
    assert!(matches!(f[0].constraints[2].rule, Rule::Email));
    assert!(matches!(f[0].constraints[3].rule, Rule::Url));
    assert!(matches!(f[0].constraints[4].rule, Rule::Uuid));
    assert!(matches!(
        f[1].constraints[0].rule,
        Rule::Range {
            min: Some(-2.0),
            max: Some(10.0)
        }
    ));
    assert!(matches!(f[1].constraints[1].rule, Rule::Custom(_)));
    let Rule::Items(items) = &f[2].constraints[0].rule else {
        panic!()
    };
    assert!(matches!(
        items[0].rule,
        Rule::Length {
            min: None,
            max: Some(2)
        }
    ));
}

#[test]
fn every_error_of_a_block_is_reported() {
    let errs = errors(quote! {
        protocol Chat {
            message A { x: Strin }
            message A {}
            #[wire = "A"] event B {}
            rpc C(id: String)
            message D { #[validate(length(min = 5, max = 1), bogus)] s: String, #[validate(email)] n: u8 }
            message E { #[validate(pattern = "(")] s: String } meta { client_id: String, timestamp: u64 }
            message G { #[validate(range(min = -1, max = 256))] n: u8, #[validate(range(max = 1.5))] m: i32, #[wire = ""] e: u8 }
            message ChatEvent {}
            message F { r: &str, k: HashMap<u8, String> }
        }
    });
    assert_eq!(
        errs,
        [
            "unknown type `Strin`: did you mean `String`?",
            "rpc `C` has no response: add `-> Reply { ... }` after its arguments (or `-> Reply` for a declared `type Reply`, or a reply without payload)",
            "`min` (5) is greater than `max` (1)",
            "unknown constraint `bogus`; expected one of: length, range, pattern, email, url, uuid, items, custom",
            "`email` applies to a String, not to `u8`",
            "invalid regex: unclosed group",
            "`clientId` is a reserved meta key: the server sets it and clients cannot",
            "`timestamp` is a standard meta key: every message already carries it",
            "`range` bound -1 is not a value of `u8` (0 to 255)",
            "`range` bound 256 is not a value of `u8` (0 to 255)",
            "`range` bound 1.5 is not a value of `i32` (-2147483648 to 2147483647)",
            "the wire name cannot be empty",
            "unsupported field type: references cannot be decoded from JSON; use an owned type such as `String`",
            "unsupported map key: JSON object keys are strings, so a map key must be `String`",
            "`A` is declared more than once",
            "`ChatEvent` collides with the event enum that `protocol!` generates for `Chat`",
            "duplicate wire type `A`: `A` already uses it",
        ]
    );
}

#[test]
fn misplaced_and_unknown_attributes() {
    let errs = errors(quote! {
        protocol P {
            #[idempotent] message A {}
            #[subscription] rpc B() -> R {}
            #[serde(rename = "x")] event C {}
            type T { #[wire = 1] a: String }
        }
    });
    assert_eq!(
        errs,
        [
            "`#[idempotent]` applies to an `rpc` only",
            "`#[subscription]` applies to a `message` only",
            "unknown attribute `serde`; expected one of: doc comments, `wire`",
            "expected a string: `#[wire = \"NAME\"]`",
        ]
    );
}

#[test]
fn a_malformed_constraint_is_reported_and_the_next_still_read() {
    let src = quote! {
        protocol P {
            message A {
                #[validate(email(x), length(max = 2), range(min = "a"), lenght = 3, url)] a: String,
                #[validate(length(min = -1), pattern, items(length(max = 1)))] b: Vec<String>,
            }
        }
    };
    assert_eq!(
        errors(src.clone()),
        [
            "`email` takes no arguments",
            "a `range` bound is a number: `range(min = -5, max = 2.5)`",
            "unknown constraint `lenght`; expected one of: length, range, pattern, email, url, uuid, items, custom",
            "a `length` bound is a whole number, 0 or more",
            "`pattern` takes a regex: `pattern = \"^[a-z]+$\"`",
        ]
    );
    let (p, _) = check(&parse(src));
    let rules = |i: usize| -> Vec<String> {
        p.messages[0].fields[i]
            .constraints
            .iter()
            .map(|c| match &c.rule {
                Rule::Length { max, .. } => format!("length {max:?}"),
                Rule::Url => "url".to_owned(),
                Rule::Items(_) => "items".to_owned(),
                _ => "other".to_owned(),
            })
            .collect()
    };
    assert_eq!(rules(0), ["length Some(2)", "url"]);
    assert_eq!(rules(1), ["items"]);
}

#[test]
fn type_arguments_are_counted_and_built_in_names_not_declared() {
    let src = quote! {
        protocol P {
            message A { a: Vec<'static, String>, b: Option, c: Box, d: Value }
            enum Box { X }
            type Value { x: u8 }
            enum Empty {}
        }
    };
    assert_eq!(
        errors(src.clone()),
        [
            "`Vec` takes one type argument: `Vec<T>`",
            "`Option` takes one type argument: `Option<T>`",
            "enum `Empty` has no variants: a string enum needs at least one",
            "`Box` is a built-in field type of the DSL; choose another name",
            "`Value` is a built-in field type of the DSL; choose another name",
        ]
    );
    let (p, _) = check(&parse(src));
    assert!(
        p.messages[0]
            .fields
            .iter()
            .all(|f| matches!(f.ty, FieldType::Json))
    );
    // An enum without variants is still generated, with nothing to match in its writer.
    let out = crate::generate::generate(&p).to_string();
    assert!(out.contains("enum Empty { }"), "{out}");
}

#[test]
fn reserved_and_duplicate_names() {
    let errs = errors(quote! {
        protocol P {
            #[wire = "__x"] message A {}
            #[wire = "$y"] message B {}
            message Error {}
            message __C {}
            message D { a: String, #[wire = "a"] b: String, a: u8 }
            enum E { X, #[wire = "x"] Y, X }
            enum F {}
            message New {}
            type String { a: u8 }
            message HttpGet {}
            message HTTPGet {}
        }
    });
    assert_eq!(
        errs,
        [
            "duplicate wire name \"a\": field `a` already uses it",
            "duplicate field `a`",
            "duplicate wire name \"x\": variant `X` already uses it",
            "duplicate variant `X`",
            "enum `F` has no variants: a string enum needs at least one",
            "`__C` is reserved: names starting with `__` belong to the runtime",
            "`String` is a built-in field type of the DSL; choose another name",
            "`New` collides with the method `PClient::new` that `protocol!` generates; rename it",
            "`HTTPGet` and `HttpGet` would both be handled by the method `http_get`; rename one",
            "wire type `__x` is reserved: types starting with `$` or `__` belong to the runtime",
            "wire type `$y` is reserved: types starting with `$` or `__` belong to the runtime",
            "wire type `ERROR` is reserved for the runtime's error frames; rename the message or set `#[wire = \"...\"]`",
        ]
    );
}

#[test]
fn an_invalid_block_expands_to_its_errors_and_all_the_code_of_the_rest() {
    let out = crate::expand(quote! {
        pub protocol Chat {
            message A { x: Nope, y: u8, y: u16, #[validate(email)] z: u8 }
            rpc B(id: String)
            enum R { X, X }
            message A {}
            message ChatClient {}
            message Events {}
            message HttpGet {}
            message HTTPGet {}
            message C { a bad }
            rpc D(x: u8) -> B {}
        }
    })
    .to_string();
    assert!(out.contains("compile_error"), "{out}");
    for item in [
        "struct A",
        "impl :: wskit :: Message for A",
        "impl :: wskit :: Rpc for B",
        "type Response = :: wskit :: NoProgress",
        "enum R",
        "struct Chat",
        "trait ChatHandler",
        "trait ChatLocalHandler",
        "fn local_server <",
        "fn a (",
        "fn b (",
        "fn http_get (",
        "fn c (",
        "struct ChatClient",
        "enum ChatEvent",
        "fn server <",
        "impl :: wskit :: Protocol for Chat",
    ] {
        assert!(out.contains(item), "missing {item} in {out}");
    }
    // Fields are kept; an unresolved type reads as a JSON value; a duplicate keeps the first; a
    // constraint that does not fit is left out.
    assert!(
        out.contains("pub x : :: wskit :: __private :: serde_json :: Value"),
        "{out}"
    );
    assert!(out.contains("pub y : u8"), "{out}");
    assert!(!out.contains("pub y : u16"), "{out}");
    assert!(!out.contains("check_email"), "{out}");
    assert!(out.contains("pub id : :: std :: string :: String"), "{out}");
    // The second `A`, the message named like the client, and the variant `X` again are left
    // out; so are the client method `events` of `Events` and the second `http_get`.
    assert_eq!(out.matches("struct A ").count(), 1, "{out}");
    assert_eq!(out.matches("struct ChatClient ").count(), 1, "{out}");
    // The tokio handler, the local handler, and the client's own.
    assert_eq!(out.matches("fn events (").count(), 3, "{out}");
    assert!(
        !out.contains("msg : Events) -> :: std :: result :: Result < ()"),
        "{out}"
    );
    assert_eq!(out.matches("fn http_get (").count(), 3, "{out}"); // two handlers + client
    assert_eq!(out.matches("R :: X").count(), 3, "{out}"); // deserialize, decode, write
}

#[test]
fn a_valid_block_expands_without_errors() {
    let out = crate::expand(quote! {
        protocol Chat { message A { #[validate(pattern = "^a")] x: String } }
    })
    .to_string();
    assert!(!out.contains("compile_error"));
    assert!(out.contains("\"^a\""));
    assert!(out.contains("impl :: wskit :: Message for A"));
}

#[test]
fn did_you_mean_knows_built_in_types() {
    let errs = errors(quote! {
        protocol P {
            message M {
                a: Strin, b: u46, c: Vex<u8>, d: Optoin<u8>, e: Hashmap<String, u8>,
                f: BTreeMapp<String, u8>, g: boool, h: f46, i: Adress, j: Wrapping, k: u9,
            }
            type Address { city: String }
        }
    });
    assert_eq!(
        errs,
        [
            "unknown type `Strin`: did you mean `String`?",
            "unknown type `u46`: did you mean `u64`?",
            "unknown type `Vex`: did you mean `Vec`?",
            "unknown type `Optoin`: did you mean `Option`?",
            "unknown type `Hashmap`: did you mean `HashMap`?",
            "unknown type `BTreeMapp`: did you mean `BTreeMap`?",
            "unknown type `boool`: did you mean `bool`?",
            "unknown type `f46`: did you mean `f64`?",
            "unknown type `Adress`: did you mean `Address`?",
            "unknown type `Wrapping`: declare it in the protocol (`type Wrapping { ... }`), or name a type of your own by its path (`crate::Wrapping`)",
            "unsupported field type `u9`",
        ]
    );
}

#[test]
fn keywords_as_field_names() {
    let p = model(quote! {
        protocol P { message M { r#type: String, r#match: Option<u8> } }
    });
    let f = &p.messages[0].fields;
    assert_eq!(f[0].name.to_string(), "r#type");
    assert_eq!((f[0].wire.as_str(), f[1].wire.as_str()), ("type", "match"));
    let errs = errors(quote! {
        protocol P { message M { type: String, self: u8 } }
    });
    assert_eq!(
        errs,
        [
            "`type` is a Rust keyword: write `r#type` (its wire key stays `type`)",
            "`self` cannot name a field, even as a raw identifier: choose another name and keep the key with `#[wire = \"self\"]`",
        ]
    );
}

#[test]
fn generated_docs_show_constraints_and_wire_types() {
    let out = crate::expand(quote! {
        protocol Chat {
            message JoinRoom {
                /// The room.
                #[validate(length(min = 1, max = 200), custom = crate::not_blank)] room_id: String,
                #[validate(length(max = 4), items(range(min = -2.5)))] tags: Vec<f64>,
                plain: u8,
            }
            event Left { #[validate(length(max = 3), pattern = "^a`b")] who: String }
        }
    })
    .to_string();
    for doc in [
        r#"# [doc = " The room."] # [doc = " "] # [doc = " Constraints: length 1..=200, custom `crate::not_blank`."]"#,
        r#"# [doc = " `tags` on the wire."] # [doc = " "] # [doc = " Constraints: length ..=4, items(range -2.5..)."]"#,
        r#"# [doc = " `plain` on the wire."] # [serde (rename = "plain")] pub plain"#,
        r#"# [doc = " Constraints: length ..=3, pattern `` ^a`b ``."]"#,
        r#"# [doc = " The wire type of [`JoinRoom`]: `\"JOIN_ROOM\"`."] const TYPE"#,
        r#"# [doc = " The wire type of [`Left`]: `\"LEFT\"`."] const TYPE"#,
    ] {
        assert!(out.contains(doc), "missing {doc} in {out}");
    }
}

#[test]
fn a_response_or_progress_may_name_a_shared_type() {
    use crate::model::PayloadForm;
    let p = model(quote! {
        protocol Todos {
            rpc AddTodo(title: String) -> Todo
            rpc Rename(id: u32, title: String) -> Todo progress Step
            rpc Sync() -> Synced progress Item;
            /// A todo.
            type Todo { id: u32, title: String }
            #[wire = "ITEM/V1"]
            type Item {}
        }
    });
    let m: Vec<(String, &str, Kind, bool, PayloadForm)> = p
        .messages
        .iter()
        .map(|m| {
            (
                m.name.to_string(),
                m.wire.as_str(),
                m.kind,
                m.shared,
                m.payload,
            )
        })
        .collect();
    let expected = [
        (
            "AddTodo",
            "ADD_TODO",
            Kind::Request,
            false,
            PayloadForm::Fields,
        ),
        ("Todo", "TODO", Kind::Response, true, PayloadForm::Fields),
        (
            "Rename",
            "RENAME",
            Kind::Request,
            false,
            PayloadForm::Fields,
        ),
        ("Step", "STEP", Kind::Progress, false, PayloadForm::None),
        ("Sync", "SYNC", Kind::Request, false, PayloadForm::Empty),
        ("Synced", "SYNCED", Kind::Response, false, PayloadForm::None),
        ("Item", "ITEM/V1", Kind::Progress, true, PayloadForm::Empty),
    ];
    assert_eq!(
        m,
        expected.map(|(n, w, k, s, f)| (n.to_owned(), w, k, s, f))
    );
    assert_eq!(p.messages[1].fields.len(), 2);
    assert_eq!(p.messages[1].docs.joined(), "A todo.");
    assert_eq!(p.messages[2].response.as_ref().unwrap(), "Todo");
    assert_eq!(p.types.len(), 2);
    // The type's struct is generated once, with one `impl Message`.
    let out = crate::expand(quote! {
        protocol Todos {
            rpc AddTodo(title: String) -> Todo
            rpc Rename(id: u32) -> Todo
            type Todo { id: u32 }
        }
    })
    .to_string();
    assert!(!out.contains("compile_error"), "{out}");
    assert_eq!(out.matches("struct Todo ").count(), 1, "{out}");
    assert_eq!(
        out.matches("impl :: wskit :: Message for Todo").count(),
        1,
        "{out}"
    );
    assert_eq!(
        out.matches("impl :: wskit :: __private :: Decode for Todo")
            .count(),
        1
    );
}

#[test]
fn mistakes_naming_a_shared_type() {
    let errs = errors(quote! {
        protocol Todos {
            rpc AddTodo(title: String) -> Tood
            rpc Edit(id: u32) -> Todo { id: u32 }
            rpc Pick() -> Role
            rpc Get() -> #[wire = "T"] Todo
            type Todo { id: u32 }
            #[wire = "NOPE"] type Unused {}
            enum Role { Admin }
        }
    });
    assert_eq!(
        errs,
        [
            "no `type Tood` is declared: did you mean `Todo`? (a response without payload needs a name not this close to a declared type)",
            "`Todo` is declared twice, here and as `type Todo`: write `-> Todo` to reply with the declared type, or rename one",
            "`type Todo` is declared here; the response `Todo { ... }` repeats its name",
            "`Role` is an `enum`: a response is an object; declare a `type` or write its fields (`-> RoleReply { ... }`)",
            "the wire type of `Todo` goes on its declaration: `#[wire = \"...\"] type Todo { ... }`",
            "`#[wire]` on `type Unused` is its wire type as a response or progress, but no rpc replies with it (`-> Unused`)",
        ]
    );
}
