//! The constraint checks of the `protocol!` DSL. Generated code calls these, so each rule and its
//! message live here once.

use std::sync::LazyLock;

use regex::Regex;

use super::issues::{Issues, Path};

/// Records the issue for a key that the declaration does not have.
pub fn unknown_key(path: &Path<'_>, issues: &mut Issues) {
    issues.push(path, "unknown key");
}

/// `length(min, max)` on a string: counted in characters.
///
/// ```
/// use wskit::__private::check_str_length;
/// use wskit::validate::{Issues, Path};
/// let mut issues = Issues::new();
/// check_str_length("ab", Some(3), None, &Path::root("payload"), &mut issues);
/// assert_eq!(issues.to_string(), "payload: must have at least 3 characters");
/// let mut issues = Issues::new();
/// check_str_length("", Some(1), None, &Path::root("payload"), &mut issues);
/// assert_eq!(issues.to_string(), "payload: must have at least 1 character");
/// // Counted in characters, not bytes: 3 characters of 2 bytes each.
/// let mut issues = Issues::new();
/// check_str_length("ééé", Some(1), Some(3), &Path::root("payload"), &mut issues);
/// assert!(issues.is_empty());
/// check_str_length("éééé", Some(5), Some(6), &Path::root("payload"), &mut issues);
/// assert_eq!(issues.to_string(), "payload: must have at least 5 characters");
/// ```
pub fn check_str_length(
    value: &str,
    min: Option<u64>,
    max: Option<u64>,
    path: &Path<'_>,
    issues: &mut Issues,
) {
    // A string of `b` bytes has between `b / 4` (rounded up) and `b` characters: when both
    // bounds hold for any count in that range, the characters need not be counted (a 16 KiB
    // payload would be read once more for nothing).
    let bytes = value.len() as u64;
    let fewest = bytes.div_ceil(4);
    if min.is_none_or(|min| fewest >= min) && max.is_none_or(|max| bytes <= max) {
        return;
    }
    let n = value.chars().count() as u64;
    bounds(n, min, max, ("character", "characters"), path, issues);
}

/// `length(min, max)` on a collection: counted in items (or entries of a map).
///
/// ```
/// use wskit::__private::check_len;
/// use wskit::validate::{Issues, Path};
/// let mut issues = Issues::new();
/// check_len(5, None, Some(2), &Path::root("payload"), &mut issues);
/// assert_eq!(issues.to_string(), "payload: must have at most 2 items");
/// let mut issues = Issues::new();
/// check_len(2, None, Some(1), &Path::root("payload"), &mut issues);
/// assert_eq!(issues.to_string(), "payload: must have at most 1 item");
/// ```
pub fn check_len(
    len: usize,
    min: Option<u64>,
    max: Option<u64>,
    path: &Path<'_>,
    issues: &mut Issues,
) {
    bounds(len as u64, min, max, ("item", "items"), path, issues);
}

fn bounds(
    n: u64,
    min: Option<u64>,
    max: Option<u64>,
    (one, many): (&str, &str),
    path: &Path<'_>,
    issues: &mut Issues,
) {
    let unit = |k: u64| if k == 1 { one } else { many };
    if let Some(min) = min.filter(|min| n < *min) {
        issues.push(path, format!("must have at least {min} {}", unit(min)));
    }
    if let Some(max) = max.filter(|max| n > *max) {
        issues.push(path, format!("must have at most {max} {}", unit(max)));
    }
}

/// `range(min, max)` on a number, both ends inclusive.
///
/// ```
/// use wskit::__private::check_range;
/// use wskit::validate::{Issues, Path};
/// let mut issues = Issues::new();
/// check_range(101.0, Some(0.0), Some(100.0), &Path::root("payload"), &mut issues);
/// assert_eq!(issues.to_string(), "payload: must be at most 100");
/// ```
pub fn check_range(
    value: f64,
    min: Option<f64>,
    max: Option<f64>,
    path: &Path<'_>,
    issues: &mut Issues,
) {
    if let Some(min) = min.filter(|min| value < *min) {
        issues.push(path, format!("must be at least {min}"));
    }
    if let Some(max) = max.filter(|max| value > *max) {
        issues.push(path, format!("must be at most {max}"));
    }
}

/// `pattern = "..."`: the whole of `regex` as declared is shown in the message.
///
/// ```
/// use wskit::__private::check_pattern;
/// use wskit::validate::{Issues, Path};
/// let re = regex::Regex::new("^[a-z]+$").unwrap();
/// let mut issues = Issues::new();
/// check_pattern("A1", &re, &Path::root("payload"), &mut issues);
/// assert_eq!(issues.to_string(), "payload: must match pattern ^[a-z]+$");
/// ```
pub fn check_pattern(value: &str, regex: &Regex, path: &Path<'_>, issues: &mut Issues) {
    if !regex.is_match(value) {
        issues.push(path, format!("must match pattern {}", regex.as_str()));
    }
}

/// What `email` accepts, as a pattern (also exported to TypeScript and JSON Schema).
pub(crate) const EMAIL_PATTERN: &str = r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$";

/// What `url` accepts, as a pattern (also exported to TypeScript and JSON Schema).
pub(crate) const URL_PATTERN: &str =
    r"^[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@]+(?:@[^\s/?#]+)?(?:[/?#]\S*)?$";

/// What `uuid` ([`check_uuid`]) accepts, as a pattern for the TypeScript and JSON Schema export.
pub(crate) const UUID_PATTERN: &str =
    r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$";

/// `email`: one `@`, no spaces, a dot in the domain.
///
/// ```
/// use wskit::__private::check_email;
/// use wskit::validate::{Issues, Path};
/// let mut issues = Issues::new();
/// check_email("ada@example.com", &Path::root("p"), &mut issues);
/// check_email("ada@", &Path::root("p"), &mut issues);
/// assert_eq!(issues.to_string(), "p: must be an email address");
/// ```
pub fn check_email(value: &str, path: &Path<'_>, issues: &mut Issues) {
    static EMAIL: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(EMAIL_PATTERN).expect("valid regex"));
    if !EMAIL.is_match(value) {
        issues.push(path, "must be an email address");
    }
}

/// `url`: an absolute URL with a scheme and a host, no spaces.
///
/// ```
/// use wskit::__private::check_url;
/// use wskit::validate::{Issues, Path};
/// let mut issues = Issues::new();
/// check_url("https://example.com/a?b", &Path::root("p"), &mut issues);
/// check_url("example.com", &Path::root("p"), &mut issues);
/// assert_eq!(issues.to_string(), "p: must be a URL");
/// ```
pub fn check_url(value: &str, path: &Path<'_>, issues: &mut Issues) {
    static URL: LazyLock<Regex> = LazyLock::new(|| Regex::new(URL_PATTERN).expect("valid regex"));
    if !URL.is_match(value) {
        issues.push(path, "must be a URL");
    }
}

/// `uuid`: the 8-4-4-4-12 hexadecimal form.
///
/// ```
/// use wskit::__private::check_uuid;
/// use wskit::validate::{Issues, Path};
/// let mut issues = Issues::new();
/// check_uuid("67e55044-10b1-426f-9247-bb680e5fe0c8", &Path::root("p"), &mut issues);
/// check_uuid("67e55044", &Path::root("p"), &mut issues);
/// assert_eq!(issues.to_string(), "p: must be a UUID");
/// ```
pub fn check_uuid(value: &str, path: &Path<'_>, issues: &mut Issues) {
    let b = value.as_bytes();
    let ok = b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        });
    if !ok {
        issues.push(path, "must be a UUID");
    }
}

/// `custom = path::to::function`: the user's function returns `Err(message)` for a bad value.
///
/// ```
/// use wskit::__private::check_custom;
/// use wskit::validate::{Issues, Path};
/// fn even(v: &u32) -> Result<(), String> {
///     if v % 2 == 0 { Ok(()) } else { Err("must be even".into()) }
/// }
/// let mut issues = Issues::new();
/// check_custom(&3, even, &Path::root("p"), &mut issues);
/// assert_eq!(issues.to_string(), "p: must be even");
/// ```
pub fn check_custom<T: ?Sized, E: std::fmt::Display>(
    value: &T,
    rule: impl FnOnce(&T) -> Result<(), E>,
    path: &Path<'_>,
    issues: &mut Issues,
) {
    if let Err(e) = rule(value) {
        issues.push(path, e.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte-length shortcut of `check_str_length` answers as counting every character does.
    #[test]
    fn string_length_shortcut_agrees_with_counting() {
        let pieces = ["a", "é", "€", "😀"];
        let bound = |b: u64| {
            [
                None,
                Some(0),
                Some(1),
                Some(b.saturating_sub(1)),
                Some(b),
                Some(b + 1),
                Some(b * 4),
            ]
        };
        for len in 0..9 {
            for first in 0..pieces.len() {
                let s: String = (0..len)
                    .map(|i| pieces[(first + i * 3) % pieces.len()])
                    .collect();
                let chars = s.chars().count() as u64;
                let bytes = s.len() as u64;
                for min in bound(chars).into_iter().chain(bound(bytes)) {
                    for max in bound(chars).into_iter().chain(bound(bytes)) {
                        let path = Path::root("payload");
                        let mut fast = Issues::new();
                        check_str_length(&s, min, max, &path, &mut fast);
                        let mut counted = Issues::new();
                        bounds(
                            chars,
                            min,
                            max,
                            ("character", "characters"),
                            &path,
                            &mut counted,
                        );
                        assert_eq!(
                            fast.to_string(),
                            counted.to_string(),
                            "{s:?} {min:?} {max:?}"
                        );
                    }
                }
            }
        }
    }
}
