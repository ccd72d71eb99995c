//! A Rust `regex` pattern as an ECMAScript `RegExp` source with the `u` flag that matches exactly
//! the same strings: both the zod schemas and the JSON Schema (whose validators, ajv among them,
//! compile `pattern` with the `u` flag) use it.
//!
//! The two syntaxes differ in meaning, not only in spelling: Rust's `\d`, `\w`, `\s` and `\b` are
//! Unicode-aware, JavaScript's are ASCII; `.` excludes `\r` and U+2028 in JavaScript; inline flags
//! (`(?i)`, `(?m)`, `(?s)`) do not exist in the RegExp of Node 20. So the pattern is parsed by the
//! `regex` crate's own parser into its high-level form (flags applied, classes as explicit ranges of
//! code points) and written back as JavaScript from that, never translated as text. Like wskit's
//! check (`Regex::is_match`), the result is anchored only where the pattern itself is.

use std::fmt::Write;

use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// Why a pattern has no JavaScript equivalent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Untranslatable(pub(crate) String);

/// The ECMAScript source (for `new RegExp(source, "u")` or a `/source/u` literal: `/` is escaped)
/// matching what `regex::Regex::new(pattern)` matches, with `Regex::is_match` semantics.
pub(crate) fn to_js(pattern: &str) -> Result<String, Untranslatable> {
    let hir = regex_syntax::ParserBuilder::new()
        .build()
        .parse(pattern)
        .map_err(|e| Untranslatable(format!("is not a valid pattern: {e}")))?;
    let mut out = String::new();
    write_hir(&hir, &mut out)?;
    if out.is_empty() {
        out.push_str("(?:)");
    }
    Ok(out)
}

fn write_hir(hir: &Hir, out: &mut String) -> Result<(), Untranslatable> {
    match hir.kind() {
        HirKind::Empty => {}
        HirKind::Literal(lit) => {
            let text = std::str::from_utf8(&lit.0)
                .map_err(|_| Untranslatable("matches bytes that are not UTF-8".into()))?;
            for c in text.chars() {
                write_char(c, false, out);
            }
        }
        HirKind::Class(class) => write_class(class, out)?,
        HirKind::Look(look) => write_look(*look, out)?,
        HirKind::Repetition(rep) => {
            write_atom(&rep.sub, out)?;
            match (rep.min, rep.max) {
                (0, None) => out.push('*'),
                (1, None) => out.push('+'),
                (0, Some(1)) => out.push('?'),
                (n, None) => {
                    let _ = write!(out, "{{{n},}}");
                }
                (n, Some(m)) if n == m => {
                    let _ = write!(out, "{{{n}}}");
                }
                (n, Some(m)) => {
                    let _ = write!(out, "{{{n},{m}}}");
                }
            }
            if !rep.greedy {
                out.push('?');
            }
        }
        HirKind::Capture(cap) => {
            // Captures do not change what matches; names follow other rules in JavaScript.
            out.push('(');
            write_hir(&cap.sub, out)?;
            out.push(')');
        }
        HirKind::Concat(subs) => {
            for sub in subs {
                if matches!(sub.kind(), HirKind::Alternation(_)) {
                    out.push_str("(?:");
                    write_hir(sub, out)?;
                    out.push(')');
                } else {
                    write_hir(sub, out)?;
                }
            }
        }
        HirKind::Alternation(subs) => {
            for (i, sub) in subs.iter().enumerate() {
                if i > 0 {
                    out.push('|');
                }
                write_hir(sub, out)?;
            }
        }
    }
    Ok(())
}

/// `hir` as something a quantifier may follow.
fn write_atom(hir: &Hir, out: &mut String) -> Result<(), Untranslatable> {
    let atom = match hir.kind() {
        HirKind::Class(_) | HirKind::Capture(_) => true,
        HirKind::Literal(lit) => std::str::from_utf8(&lit.0).is_ok_and(|s| s.chars().count() == 1),
        _ => false,
    };
    if atom {
        write_hir(hir, out)
    } else {
        out.push_str("(?:");
        write_hir(hir, out)?;
        out.push(')');
        Ok(())
    }
}

fn write_class(class: &Class, out: &mut String) -> Result<(), Untranslatable> {
    let ranges: Vec<(char, char)> = match class {
        Class::Unicode(c) => c.ranges().iter().map(|r| (r.start(), r.end())).collect(),
        Class::Bytes(c) => {
            let mut v = Vec::new();
            for r in c.ranges() {
                if r.end() > 0x7F {
                    return Err(Untranslatable("matches bytes that are not UTF-8".into()));
                }
                v.push((char::from(r.start()), char::from(r.end())));
            }
            v
        }
    };
    write_ranges(&ranges, false, out);
    Ok(())
}

fn write_ranges(ranges: &[(char, char)], negated: bool, out: &mut String) {
    out.push('[');
    if negated {
        out.push('^');
    }
    for &(a, b) in ranges {
        write_char(a, true, out);
        if b != a {
            if u32::from(b) > u32::from(a) + 1 {
                out.push('-');
            }
            write_char(b, true, out);
        }
    }
    out.push(']');
}

/// The Rust (Unicode) word characters, `\w`, as explicit ranges.
fn word_ranges(unicode: bool) -> Vec<(char, char)> {
    let pattern = if unicode { r"\w" } else { r"(?-u:\w)" };
    let hir = regex_syntax::Parser::new()
        .parse(pattern)
        .expect("\\w is a valid pattern");
    match hir.kind() {
        HirKind::Class(Class::Unicode(c)) => {
            c.ranges().iter().map(|r| (r.start(), r.end())).collect()
        }
        HirKind::Class(Class::Bytes(c)) => c
            .ranges()
            .iter()
            .map(|r| (char::from(r.start()), char::from(r.end())))
            .collect(),
        _ => Vec::new(),
    }
}

fn write_look(look: Look, out: &mut String) -> Result<(), Untranslatable> {
    let word = |unicode: bool| {
        let mut s = String::new();
        write_ranges(&word_ranges(unicode), false, &mut s);
        s
    };
    let text = match look {
        // Without the `m` flag JavaScript's `^` and `$` match only at the ends of the input.
        Look::Start => "^".to_owned(),
        Look::End => "$".to_owned(),
        // `(?m)`: Rust ends lines only at `\n`; JavaScript's `m` flag also at `\r`, U+2028, U+2029.
        Look::StartLF => r"(?<![^\n])".to_owned(),
        Look::EndLF => r"(?![^\n])".to_owned(),
        Look::StartCRLF | Look::EndCRLF => {
            return Err(Untranslatable("uses the CRLF line mode `(?R)`".into()));
        }
        Look::WordAscii | Look::WordUnicode => {
            let w = word(look == Look::WordUnicode);
            format!("(?:(?<={w})(?!{w})|(?<!{w})(?={w}))")
        }
        Look::WordAsciiNegate | Look::WordUnicodeNegate => {
            let w = word(look == Look::WordUnicodeNegate);
            format!("(?:(?<={w})(?={w})|(?<!{w})(?!{w}))")
        }
        Look::WordStartAscii | Look::WordStartUnicode => {
            let w = word(look == Look::WordStartUnicode);
            format!("(?<!{w})(?={w})")
        }
        Look::WordEndAscii | Look::WordEndUnicode => {
            let w = word(look == Look::WordEndUnicode);
            format!("(?<={w})(?!{w})")
        }
        Look::WordStartHalfAscii | Look::WordStartHalfUnicode => {
            let w = word(look == Look::WordStartHalfUnicode);
            format!("(?<!{w})")
        }
        Look::WordEndHalfAscii | Look::WordEndHalfUnicode => {
            let w = word(look == Look::WordEndHalfUnicode);
            format!("(?!{w})")
        }
    };
    out.push_str(&text);
    Ok(())
}

/// One character of a pattern: printable ASCII as itself (escaped where it is syntax), everything
/// else as `\u{..}`, so the source is ASCII and holds no line terminator.
fn write_char(c: char, in_class: bool, out: &mut String) {
    const SYNTAX: &str = r"^$\.*+?()[]{}|/";
    if SYNTAX.contains(c) || (in_class && c == '-') {
        out.push('\\');
        out.push(c);
    } else if c.is_ascii_graphic() || c == ' ' {
        out.push(c);
    } else {
        let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
    }
}

#[cfg(test)]
mod tests {
    use super::to_js;

    #[test]
    fn plain_patterns_stay_readable() {
        assert_eq!(to_js("^[a-z0-9_-]+$").unwrap(), r"^[\-0-9_a-z]+$");
        assert_eq!(to_js("abc").unwrap(), "abc");
        assert_eq!(to_js("").unwrap(), "(?:)");
        assert_eq!(to_js("a/b").unwrap(), r"a\/b");
        assert_eq!(to_js("(ab)+|c{2,3}?").unwrap(), r"(ab)+|c{2,3}?");
        assert_eq!(to_js("x(?:ab)*").unwrap(), r"x(?:ab)*");
        assert_eq!(to_js(r"\{\}").unwrap(), r"\{\}");
    }

    #[test]
    fn rust_meanings_are_kept() {
        // `.` excludes only `\n` (surrogates cannot occur in a string wskit decoded).
        assert_eq!(to_js("a.b").unwrap(), r"a[\u{0}-\u{9}\u{b}-\u{10ffff}]b");
        assert_eq!(to_js("(?s)a.b").unwrap(), r"a[\u{0}-\u{10ffff}]b");
        // Inline flags become explicit classes.
        assert_eq!(to_js("(?i)ab").unwrap(), "[Aa][Bb]");
        // `\A`/`\z` and `(?m)` lines.
        assert_eq!(to_js(r"\Aa\z").unwrap(), "^a$");
        assert_eq!(to_js("(?m)^a$").unwrap(), r"(?<![^\n])a(?![^\n])");
        // Unicode `\d` is wider than JavaScript's.
        assert!(to_js(r"\d").unwrap().contains(r"\u{660}-\u{669}"));
        // Non-ASCII is escaped.
        assert_eq!(to_js("é").unwrap(), r"\u{e9}");
        assert!(to_js("(?mR)^a").is_err());
        assert!(to_js("(").is_err());
    }
}
