//! Case conversions for the wire and for generated names.

/// The words of a Rust name: `GetUser` -> `get`, `user`; `HTTPServer2` -> `http`, `server2`;
/// `room_id` -> `room`, `id`.
fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut words = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_uppercase() && !cur.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower) {
                words.push(std::mem::take(&mut cur));
            }
        }
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// `GetUser` -> `GET_USER`: the default wire type.
pub fn screaming_snake(name: &str) -> String {
    words(name).join("_").to_uppercase()
}

/// `GetUser` -> `get_user`: handler and client method names.
pub fn snake(name: &str) -> String {
    words(name).join("_")
}

/// `room_id` -> `roomId`: the default wire name of a field, as serde's `rename_all = "camelCase"`.
pub fn camel_field(name: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for (i, c) in name.chars().enumerate() {
        if c == '_' && i > 0 {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `SuperAdmin` -> `superAdmin`: the default wire name of an enum variant.
pub fn camel_variant(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The edit distance of two names, for "did you mean" suggestions: insertions, deletions,
/// substitutions and transpositions of two neighbours each count one (`u46` is one from `u64`).
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // d[i][j]: the distance of a[..i] and b[..j].
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j - 1] + cost)
                .min(d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// Rust keywords that cannot be method names without `r#`.
pub fn is_keyword(s: &str) -> bool {
    matches!(
        s,
        "as" | "async"
            | "await"
            | "break"
            | "const"
            | "continue"
            | "crate"
            | "dyn"
            | "else"
            | "enum"
            | "extern"
            | "false"
            | "fn"
            | "for"
            | "gen"
            | "if"
            | "impl"
            | "in"
            | "let"
            | "loop"
            | "match"
            | "mod"
            | "move"
            | "mut"
            | "pub"
            | "ref"
            | "return"
            | "self"
            | "Self"
            | "static"
            | "struct"
            | "super"
            | "trait"
            | "true"
            | "type"
            | "unsafe"
            | "use"
            | "where"
            | "while"
            | "abstract"
            | "become"
            | "box"
            | "do"
            | "final"
            | "macro"
            | "override"
            | "priv"
            | "try"
            | "typeof"
            | "unsized"
            | "virtual"
            | "yield"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_type_names() {
        assert_eq!(screaming_snake("GetUser"), "GET_USER");
        assert_eq!(screaming_snake("JoinRoom"), "JOIN_ROOM");
        assert_eq!(screaming_snake("HTTPRequest"), "HTTP_REQUEST");
        assert_eq!(screaming_snake("Export2Csv"), "EXPORT2_CSV");
        assert_eq!(screaming_snake("Ping"), "PING");
    }

    #[test]
    fn field_and_variant_names() {
        assert_eq!(camel_field("user_id"), "userId");
        assert_eq!(camel_field("room"), "room");
        assert_eq!(camel_field("a_b_c"), "aBC");
        assert_eq!(camel_variant("SuperAdmin"), "superAdmin");
        assert_eq!(snake("GetUser"), "get_user");
        assert_eq!(snake("HTTPRequest"), "http_request");
    }

    #[test]
    fn edit_distance() {
        assert_eq!(distance("Adress", "Address"), 1);
        assert_eq!(distance("Role", "Role"), 0);
        assert_eq!(distance("", "ab"), 2);
        assert_eq!(distance("u46", "u64"), 1);
        assert_eq!(distance("u46", "u16"), 1);
    }
}
