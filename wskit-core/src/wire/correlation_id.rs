//! [`CorrelationId`]: the `meta.correlationId` of an inbound frame.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use smol_str::SmolStr;

/// A request's `meta.correlationId`, as [`Meta`](super::Meta) holds it: a string that is kept
/// inline when it is short (up to 23 bytes, as the ids clients write are), so that decoding
/// a request allocates nothing for it. It reads as a `&str` (`Deref`, [`as_str`](Self::as_str)).
///
/// ```
/// use wskit::wire::CorrelationId;
/// let id = CorrelationId::from("c1-7");
/// assert_eq!(id.as_str(), "c1-7");
/// assert_eq!(id, "c1-7");
/// assert!(id.starts_with("c1"));
/// assert_eq!(String::from(id), "c1-7");
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CorrelationId(SmolStr);

impl CorrelationId {
    /// The id as a string slice.
    ///
    /// ```
    /// let id = wskit::wire::CorrelationId::from(String::from("r-1"));
    /// assert_eq!(id.as_str(), "r-1");
    /// ```
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl Deref for CorrelationId {
    type Target = str;

    fn deref(&self) -> &str {
        self.0.as_str()
    }
}

impl AsRef<str> for CorrelationId {
    fn as_ref(&self) -> &str {
        self.0.as_str()
    }
}

impl Borrow<str> for CorrelationId {
    fn borrow(&self) -> &str {
        self.0.as_str()
    }
}

impl From<&str> for CorrelationId {
    fn from(id: &str) -> Self {
        CorrelationId(SmolStr::new(id))
    }
}

impl From<String> for CorrelationId {
    fn from(id: String) -> Self {
        CorrelationId(SmolStr::from(id))
    }
}

impl From<CorrelationId> for String {
    fn from(id: CorrelationId) -> Self {
        id.0.into()
    }
}

impl PartialEq<str> for CorrelationId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for CorrelationId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for CorrelationId {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl fmt::Debug for CorrelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for CorrelationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
