//! The error codes of PROTOCOL.md section 3 and the error carried by `RPC_ERROR` / `ERROR` frames.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// An error code on the wire: one of the standard codes, or an application's own string.
///
/// ```
/// use wskit::ErrorCode;
/// assert_eq!(ErrorCode::NotFound.as_str(), "NOT_FOUND");
/// assert_eq!(ErrorCode::parse("QUOTA"), ErrorCode::Custom("QUOTA".into()));
/// assert_eq!(ErrorCode::ResourceExhausted.default_retry_after_ms(), Some(100));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// Auth token missing, expired, or invalid.
    Unauthenticated,
    /// Authenticated but lacks rights (authZ).
    PermissionDenied,
    /// Input validation or semantic violation.
    InvalidArgument,
    /// State requirement not met.
    FailedPrecondition,
    /// Target resource absent.
    NotFound,
    /// Uniqueness or idempotency replay violation.
    AlreadyExists,
    /// Feature not supported or deployed.
    Unimplemented,
    /// Call cancelled (client disconnect, timeout abort).
    Cancelled,
    /// RPC timed out.
    DeadlineExceeded,
    /// Rate limit, quota, or buffer overflow.
    ResourceExhausted,
    /// Transient infrastructure error.
    Unavailable,
    /// Concurrency conflict (race condition).
    Aborted,
    /// Unexpected server error (bug).
    Internal,
    /// An application-defined code.
    Custom(Cow<'static, str>),
}

impl ErrorCode {
    /// The standard codes of PROTOCOL.md section 3, in its order.
    ///
    /// ```
    /// assert_eq!(wskit::ErrorCode::STANDARD[0].as_str(), "UNAUTHENTICATED");
    /// assert_eq!(wskit::ErrorCode::STANDARD.len(), 13);
    /// ```
    pub const STANDARD: [ErrorCode; 13] = [
        ErrorCode::Unauthenticated,
        ErrorCode::PermissionDenied,
        ErrorCode::InvalidArgument,
        ErrorCode::FailedPrecondition,
        ErrorCode::NotFound,
        ErrorCode::AlreadyExists,
        ErrorCode::Unimplemented,
        ErrorCode::Cancelled,
        ErrorCode::DeadlineExceeded,
        ErrorCode::ResourceExhausted,
        ErrorCode::Unavailable,
        ErrorCode::Aborted,
        ErrorCode::Internal,
    ];

    /// The code as it is written on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::PermissionDenied => "PERMISSION_DENIED",
            ErrorCode::InvalidArgument => "INVALID_ARGUMENT",
            ErrorCode::FailedPrecondition => "FAILED_PRECONDITION",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::AlreadyExists => "ALREADY_EXISTS",
            ErrorCode::Unimplemented => "UNIMPLEMENTED",
            ErrorCode::Cancelled => "CANCELLED",
            ErrorCode::DeadlineExceeded => "DEADLINE_EXCEEDED",
            ErrorCode::ResourceExhausted => "RESOURCE_EXHAUSTED",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::Aborted => "ABORTED",
            ErrorCode::Internal => "INTERNAL",
            ErrorCode::Custom(code) => code,
        }
    }

    /// Reads a code from its wire form; unknown strings become [`ErrorCode::Custom`].
    pub fn parse(code: &str) -> ErrorCode {
        Self::STANDARD
            .iter()
            .find(|c| c.as_str() == code)
            .cloned()
            .unwrap_or_else(|| ErrorCode::Custom(Cow::Owned(code.to_owned())))
    }

    /// The message sent when none is given (PROTOCOL.md section 3).
    pub fn default_message(&self) -> &str {
        match self {
            ErrorCode::Unauthenticated => "Auth token missing, expired, or invalid",
            ErrorCode::PermissionDenied => "Authenticated but lacks rights (authZ)",
            ErrorCode::InvalidArgument => "Input validation or semantic violation",
            ErrorCode::FailedPrecondition => "State requirement not met",
            ErrorCode::NotFound => "Target resource absent",
            ErrorCode::AlreadyExists => "Uniqueness or idempotency replay violation",
            ErrorCode::Unimplemented => "Feature not supported or deployed",
            ErrorCode::Cancelled => "Call cancelled (client disconnect, timeout abort)",
            ErrorCode::DeadlineExceeded => "RPC timed out",
            ErrorCode::ResourceExhausted => "Rate limit, quota, or buffer overflow",
            ErrorCode::Unavailable => "Transient infrastructure error",
            ErrorCode::Aborted => "Concurrency conflict (race condition)",
            ErrorCode::Internal => "Unexpected server error (bug)",
            ErrorCode::Custom(code) => code,
        }
    }

    /// The `retryAfterMs` sent when none is given.
    pub fn default_retry_after_ms(&self) -> Option<u64> {
        match self {
            ErrorCode::DeadlineExceeded | ErrorCode::Aborted => Some(50),
            ErrorCode::ResourceExhausted | ErrorCode::Unavailable => Some(100),
            ErrorCode::Internal => Some(200),
            _ => None,
        }
    }

    /// Whether a client may retry an error of this code (`None`: app-specific, as for `INTERNAL`).
    pub fn is_retryable(&self) -> Option<bool> {
        match self {
            ErrorCode::DeadlineExceeded
            | ErrorCode::ResourceExhausted
            | ErrorCode::Unavailable
            | ErrorCode::Aborted => Some(true),
            ErrorCode::Internal | ErrorCode::Custom(_) => None,
            _ => Some(false),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = Cow::<'de, str>::deserialize(d)?;
        Ok(ErrorCode::parse(&code))
    }
}

/// The error a handler returns and a client receives: the payload of an `RPC_ERROR` or `ERROR` frame.
///
/// ```
/// use wskit::{Error, ErrorCode};
/// let err = Error::not_found("no such user").with_details(serde_json::json!({"userId": "u1"}));
/// assert_eq!(err.code, ErrorCode::NotFound);
/// assert_eq!(
///     serde_json::to_string(&err).unwrap(),
///     r#"{"code":"NOT_FOUND","message":"no such user","details":{"userId":"u1"}}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    /// The code.
    pub code: ErrorCode,
    /// A human-readable message; defaults to the code's description.
    pub message: String,
    /// Structured details; sent only when a non-empty object. Boxed to keep `Error` small, since
    /// it travels in every handler's `Result`.
    pub details: Option<Box<Map<String, Value>>>,
    /// How long a client should wait before retrying; defaults per code.
    pub retry_after_ms: Option<u64>,
    /// Whether retrying may succeed; sent only when set explicitly.
    pub retryable: Option<bool>,
}

macro_rules! constructors {
    ($($fn:ident => $code:ident),* $(,)?) => {
        $(
            #[doc = concat!("An error with code [`ErrorCode::", stringify!($code), "`] and this message.")]
            pub fn $fn(message: impl Into<String>) -> Self {
                Error::new(ErrorCode::$code, message)
            }
        )*
    };
}

impl Error {
    /// An error with a code and a message; `retryAfterMs` takes the code's default.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            retry_after_ms: code.default_retry_after_ms(),
            code,
            message: message.into(),
            details: None,
            retryable: None,
        }
    }

    /// An error with a code and the code's default message.
    pub fn from_code(code: ErrorCode) -> Self {
        let message = code.default_message().to_owned();
        Error::new(code, message)
    }

    constructors! {
        unauthenticated => Unauthenticated,
        permission_denied => PermissionDenied,
        invalid_argument => InvalidArgument,
        failed_precondition => FailedPrecondition,
        not_found => NotFound,
        already_exists => AlreadyExists,
        unimplemented => Unimplemented,
        cancelled => Cancelled,
        deadline_exceeded => DeadlineExceeded,
        resource_exhausted => ResourceExhausted,
        unavailable => Unavailable,
        aborted => Aborted,
        internal => Internal,
    }

    /// Sets `details`; anything but a non-empty JSON object is dropped.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = match details {
            Value::Object(map) if !map.is_empty() => Some(Box::new(map)),
            _ => None,
        };
        self
    }

    /// Sets `retryAfterMs`.
    pub fn with_retry_after_ms(mut self, ms: u64) -> Self {
        self.retry_after_ms = Some(ms);
        self
    }

    /// Sets `retryable` explicitly.
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.retryable = Some(retryable);
        self
    }

    /// The error as it answers a frame of type `wire_type` with correlationId
    /// `correlation_id`. An answer without a correlationId (an `ERROR` frame) gets
    /// `details.type` naming the frame's type, so a client can tell which of its sends failed
    /// (PROTOCOL.md section 3); details the error already has are kept, and a `type` the handler
    /// set itself wins. An `RPC_ERROR` (with a correlationId), or an answer to a frame whose type
    /// is unknown, is left as it is. The one place this rule lives: the server's error answers
    /// and a handler's `RpcContext::error` both go through it.
    #[doc(hidden)]
    pub fn answering(mut self, wire_type: Option<&str>, correlation_id: Option<&str>) -> Self {
        if let (Some(wire_type), None) = (wire_type, correlation_id) {
            let details = self.details.get_or_insert_with(Box::default);
            details
                .entry("type")
                .or_insert_with(|| Value::String(wire_type.to_owned()));
        }
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

#[derive(Serialize)]
struct ErrorPayloadOut<'a> {
    code: &'a ErrorCode,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a Map<String, Value>>,
    #[serde(rename = "retryAfterMs", skip_serializing_if = "Option::is_none")]
    retry_after_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retryable: Option<bool>,
}

impl Serialize for Error {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ErrorPayloadOut {
            code: &self.code,
            message: &self.message,
            details: self.details.as_deref().filter(|d| !d.is_empty()),
            retry_after_ms: self.retry_after_ms,
            retryable: self.retryable,
        }
        .serialize(s)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorPayloadIn {
    code: ErrorCode,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    details: Option<Value>,
    #[serde(default)]
    retry_after_ms: Option<f64>,
    #[serde(default)]
    retryable: Option<bool>,
}

impl<'de> Deserialize<'de> for Error {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let p = ErrorPayloadIn::deserialize(d)?;
        let message = p
            .message
            .unwrap_or_else(|| p.code.default_message().to_owned());
        Ok(Error {
            message,
            details: match p.details {
                Some(Value::Object(map)) if !map.is_empty() => Some(Box::new(map)),
                _ => None,
            },
            retry_after_ms: p
                .retry_after_ms
                .filter(|ms| ms.is_finite() && *ms >= 0.0)
                .map(|ms| ms as u64),
            retryable: p.retryable,
            code: p.code,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_table() {
        let e = Error::from_code(ErrorCode::DeadlineExceeded);
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"code":"DEADLINE_EXCEEDED","message":"RPC timed out","retryAfterMs":50}"#
        );
        let e = Error::not_found("x").with_details(serde_json::json!({}));
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"code":"NOT_FOUND","message":"x"}"#
        );
    }

    #[test]
    fn round_trips_custom_codes() {
        let e: Error = serde_json::from_str(r#"{"code":"QUOTA","retryable":true}"#).unwrap();
        assert_eq!(e.code, ErrorCode::Custom("QUOTA".into()));
        assert_eq!(e.message, "QUOTA");
        assert_eq!(e.retryable, Some(true));
    }
}
