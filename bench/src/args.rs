//! A minimal `--key value` / `--flag` command-line reader for the bench binaries.

use std::collections::HashMap;
use std::str::FromStr;

/// Parsed `--key value` pairs and bare `--flag`s.
///
/// ```
/// let a = wskit_bench::args::Args::parse(["--conns", "50", "--batch"].map(String::from)).unwrap();
/// assert_eq!(a.get("conns", 1usize).unwrap(), 50);
/// assert_eq!(a.get("window", 1usize).unwrap(), 1);
/// assert!(a.flag("batch"));
/// ```
#[derive(Debug, Default)]
pub struct Args {
    values: HashMap<String, String>,
}

/// A bad command line.
#[derive(Debug, PartialEq, Eq)]
pub enum ArgsError {
    /// An argument that does not start with `--`.
    Positional(String),
    /// A value that does not parse as the expected type.
    BadValue {
        /// The option.
        key: String,
        /// What was given.
        value: String,
    },
    /// A required option is absent.
    Missing(String),
}

impl std::fmt::Display for ArgsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ArgsError::Positional(a) => {
                write!(f, "unexpected argument {a:?} (options are --key value)")
            }
            ArgsError::BadValue { key, value } => write!(f, "bad value {value:?} for --{key}"),
            ArgsError::Missing(key) => write!(f, "--{key} is required"),
        }
    }
}

impl std::error::Error for ArgsError {}

impl Args {
    /// Reads the process's arguments (without the program name).
    pub fn from_env() -> Result<Self, ArgsError> {
        Self::parse(std::env::args().skip(1))
    }

    /// Reads `--key value` pairs; a `--key` followed by another `--option` or nothing is a flag.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Self, ArgsError> {
        let mut values = HashMap::new();
        let mut it = args.into_iter().peekable();
        while let Some(arg) = it.next() {
            let key = arg
                .strip_prefix("--")
                .ok_or_else(|| ArgsError::Positional(arg.clone()))?;
            let value = match it.peek() {
                Some(next) if !next.starts_with("--") => it.next().unwrap_or_default(),
                _ => String::from("true"),
            };
            values.insert(key.to_owned(), value);
        }
        Ok(Args { values })
    }

    /// The value of `--key` parsed as `T`, or `default` when absent.
    pub fn get<T: FromStr>(&self, key: &str, default: T) -> Result<T, ArgsError> {
        match self.values.get(key) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| ArgsError::BadValue {
                key: key.into(),
                value: v.clone(),
            }),
        }
    }

    /// The value of `--key` parsed as `T`; an error when absent.
    pub fn require<T: FromStr>(&self, key: &str) -> Result<T, ArgsError> {
        let v = self
            .values
            .get(key)
            .ok_or_else(|| ArgsError::Missing(key.into()))?;
        v.parse().map_err(|_| ArgsError::BadValue {
            key: key.into(),
            value: v.clone(),
        })
    }

    /// Whether `--key` was given as a flag (or as `--key true`).
    pub fn flag(&self, key: &str) -> bool {
        self.values.get(key).is_some_and(|v| v == "true")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(a: &[&str]) -> Result<Args, ArgsError> {
        Args::parse(a.iter().map(|s| s.to_string()))
    }

    #[test]
    fn values_flags_and_defaults() {
        let a = parse(&["--mode", "rpc", "--batch", "--window", "16"]).unwrap();
        assert_eq!(a.require::<String>("mode").unwrap(), "rpc");
        assert!(a.flag("batch"));
        assert_eq!(a.get("window", 1u32).unwrap(), 16);
        assert_eq!(a.get("conns", 7u32).unwrap(), 7);
    }

    #[test]
    fn errors_name_the_option() {
        assert_eq!(
            parse(&["rpc"]).unwrap_err(),
            ArgsError::Positional("rpc".into())
        );
        let a = parse(&["--conns", "many"]).unwrap();
        assert!(matches!(
            a.get("conns", 1u32),
            Err(ArgsError::BadValue { .. })
        ));
        assert_eq!(
            a.require::<u32>("url").unwrap_err(),
            ArgsError::Missing("url".into())
        );
    }
}
