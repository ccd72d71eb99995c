//! Every field type, overrides of wire names, declared meta, visibility, raw identifiers and a
//! user's own type named by path.

use std::collections::{BTreeMap, HashMap};

mod money {
    /// A user's own type: serde plus `wskit::Validate`.
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub struct Money {
        pub cents: i64,
    }

    impl wskit::Validate for Money {
        fn validate(&self, path: &wskit::validate::Path<'_>, issues: &mut wskit::Issues) {
            if self.cents < 0 {
                issues.push(path, "must not be negative");
            }
        }
    }
}

mod api {
    use super::money;

    wskit::protocol! {
        pub(crate) protocol Shop {
            #[wire = "ORDER/PLACE"]
            message PlaceOrder {
                /// The buyer.
                #[wire = "buyer"] customer_id: String,
                #[validate(length(max = 10))] r#type: String,
                paid: bool,
                a: u8, b: u16, c: u32, d: u64, e: i8, f: i16, g: i32, h: i64, x: f32, y: f64,
                raw: serde_json::Value,
                also_raw: Value,
                note: Option<String>,
                lines: Vec<Line>,
                by_sku: std::collections::HashMap<String, Line>,
                sorted: BTreeMap<String, Vec<Option<u32>>>,
                total: money::Money,
                refunds: Vec<super::money::Money>,
                status: Status,
            } meta { trace_id: Option<String>, #[wire = "tenant"] tenant_id: String }
            message Move {}
            message Match { id: String }
            event Shipped {} meta { region: String }
            rpc Render(page: u32) -> Rendered progress #[wire = "RENDER/STEP"] RenderStep { done: u32 }
            rpc Quote(lines: Vec<Line>) -> #[wire = "QUOTED"] /// The price.
                Priced { total: money::Money } meta { currency: String }
            type Line { sku: String, qty: u32 }
            enum Status { Open, #[wire = "done"] Closed, SuperSeded }
        }
    }
}

fn main() {
    use api::*;
    use wskit::Message;
    assert_eq!(PlaceOrder::TYPE, "ORDER/PLACE");
    assert_eq!(Priced::TYPE, "QUOTED");
    assert_eq!(Move::TYPE, "MOVE");
    assert_eq!(RenderStep::TYPE, "RENDER/STEP");
    assert!(!Rendered::PAYLOAD.is_written());
    assert_eq!(Move::PAYLOAD, wskit::PayloadForm::Empty);
    let _ = ShippedMeta { region: "eu".into() };
    let _: fn(&ShopClient, Move) -> Result<(), wskit::client::ClientError> = ShopClient::r#move;
    let _: fn(&ShopClient, Match) -> Result<(), wskit::client::ClientError> = ShopClient::r#match;
    let meta = PlaceOrderMeta { trace_id: None, tenant_id: "t".into() };
    assert_eq!(serde_json::to_string(&meta).unwrap(), r#"{"tenant":"t"}"#);
    let order = PlaceOrder {
        customer_id: "c".into(),
        r#type: "gift".into(),
        paid: true,
        a: 1, b: 2, c: 3, d: 4, e: -1, f: -2, g: -3, h: -4, x: 0.5, y: 1.5,
        raw: serde_json::json!(null),
        also_raw: serde_json::json!([1]),
        note: None,
        lines: vec![Line { sku: "s".into(), qty: 1 }],
        by_sku: HashMap::new(),
        sorted: BTreeMap::from([("k".to_owned(), vec![Some(1), None])]),
        total: money::Money { cents: 100 },
        refunds: vec![],
        status: Status::Closed,
    };
    assert_eq!(
        serde_json::to_string(&order).unwrap(),
        r#"{"buyer":"c","type":"gift","paid":true,"a":1,"b":2,"c":3,"d":4,"e":-1,"f":-2,"g":-3,"h":-4,"x":0.5,"y":1.5,"raw":null,"alsoRaw":[1],"lines":[{"sku":"s","qty":1}],"bySku":{},"sorted":{"k":[1,null]},"total":{"cents":100},"refunds":[],"status":"done"}"#
    );
    assert_eq!(serde_json::to_string(&Status::SuperSeded).unwrap(), r#""superSeded""#);
    // A raw identifier: Rust field `r#type`, wire key and description name `type`.
    use wskit::Protocol;
    let field = &Shop::description().message("ORDER/PLACE").unwrap().fields[1];
    assert_eq!((field.name, field.wire_name), ("type", "type"));
    let mut issues = wskit::Issues::new();
    wskit::Validate::validate(&order, &wskit::validate::Path::root("payload"), &mut issues);
    assert!(issues.is_empty(), "{issues}");
}
