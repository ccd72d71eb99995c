//! Every constraint, on plain, optional and collection fields.

fn even(v: &u32) -> Result<(), String> {
    if v % 2 == 0 { Ok(()) } else { Err("must be even".into()) }
}

fn not_empty(v: &[u8]) -> Result<(), String> {
    if v.is_empty() { Err("must not be empty".into()) } else { Ok(()) }
}

/// Named like the generated code's locals, to show that they cannot shadow it.
fn value(v: &str) -> Result<(), &'static str> {
    if v.is_empty() { Err("required") } else { Ok(()) }
}

wskit::protocol! {
    protocol Forms {
        message SignUp {
            #[validate(length(min = 1, max = 64), pattern = "^[a-z0-9-]+$")] handle: String,
            #[validate(email)] email: String,
            #[validate(url)] homepage: Option<String>,
            #[validate(uuid)] invite: Option<String>,
            #[validate(range(min = 13, max = 130))] age: u8,
            #[validate(range(min = -90.0, max = 90.0))] lat: f64,
            #[validate(range(max = 0.5))] share: f32,
            #[validate(length(max = 3), items(length(min = 2), pattern = "^[a-z]+$"))] tags: Vec<String>,
            #[validate(items(range(min = 0)))] scores: std::collections::HashMap<String, i64>,
            #[validate(items(items(uuid)))] groups: Vec<Vec<String>>,
            #[validate(custom = even)] seats: u32,
            #[validate(custom = crate::even)] spare: Option<u32>,
            #[validate(custom = value)] path: String,
            #[validate(custom = crate::not_empty)] list: Vec<u8>,
        }
    }
}

fn main() {
    use wskit::Validate;
    let form = SignUp {
        handle: "BAD HANDLE".into(),
        email: "nope".into(),
        homepage: None,
        invite: Some("x".into()),
        age: 12,
        lat: 0.0,
        share: 0.25,
        tags: vec![],
        scores: Default::default(),
        groups: vec![vec!["x".into()]],
        seats: 3,
        spare: None,
        path: "".into(),
        list: vec![],
    };
    let issues: Vec<String> = form.check().unwrap_err().into_iter().map(|i| i.path).collect();
    assert_eq!(
        issues,
        ["payload.handle", "payload.email", "payload.invite", "payload.age", "payload.groups[0][0]", "payload.seats", "payload.path", "payload.list"]
    );
}
