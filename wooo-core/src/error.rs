//! The one public error type of wooo.
//!
//! Every provider classifies its SDK errors once, in one place, into these categories. SDK error types never
//! appear in a public signature; they stay reachable through [`std::error::Error::source`].

use std::fmt;
use std::time::Duration;

/// A boxed error from below wooo (an SDK, an HTTP client, the simulator's fault injector).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The result type of every fallible wooo call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One violation found while validating a spec: the exact field path and why it is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldViolation {
    /// Dotted field path, with list indexes in brackets, e.g. `node_pools[1].instance_types`.
    pub field: String,
    /// Human-readable reason.
    pub reason: String,
}

impl fmt::Display for FieldViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.field, self.reason)
    }
}

/// Everything that can go wrong in wooo, by the category a caller acts on.
///
/// Match on the variant (or ask [`Error::kind`]) to decide what to do; ask [`Error::is_retryable`] before trying
/// again. Each variant names the provider (`"sim"`, `"eks"`, `"aks"`, `"gke"`, `"k3s"`, `"kube"`, …) that raised
/// it, except [`Error::InvalidSpec`], which is raised before any provider is called.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The spec is invalid. Raised before the first API call; nothing was created.
    #[error("invalid spec: `{field}`: {reason}{}", more_suffix(.more))]
    InvalidSpec {
        /// Field path of the first violation, e.g. `node_pools[0].min`.
        field: String,
        /// Why the field is invalid.
        reason: String,
        /// Further violations found in the same spec, in field order.
        more: Vec<FieldViolation>,
    },
    /// The named resource does not exist.
    #[error("{provider}: {resource} not found")]
    NotFound {
        /// Provider that raised the error.
        provider: &'static str,
        /// What was looked for, e.g. `cluster "prod"`.
        resource: String,
        /// Underlying cause.
        #[source]
        source: Option<BoxError>,
    },
    /// A resource with that identity exists already and is not the one asked for.
    #[error("{provider}: {resource} already exists")]
    AlreadyExists {
        /// Provider that raised the error.
        provider: &'static str,
        /// What exists, e.g. `cluster "prod"`.
        resource: String,
        /// Underlying cause.
        #[source]
        source: Option<BoxError>,
    },
    /// The request conflicts with the current state (an operation in progress, a stale version, an object
    /// owned by someone else).
    #[error("{provider}: conflict: {message}")]
    Conflict {
        /// Provider that raised the error.
        provider: &'static str,
        /// What conflicts.
        message: String,
        /// Underlying cause.
        #[source]
        source: Option<BoxError>,
    },
    /// The credentials are valid but not allowed to do this.
    #[error("{provider}: permission denied: {message}")]
    PermissionDenied {
        /// Provider that raised the error.
        provider: &'static str,
        /// What was denied.
        message: String,
        /// Underlying cause.
        #[source]
        source: Option<BoxError>,
    },
    /// No credentials, or expired or invalid ones.
    #[error("{provider}: unauthenticated: {message}")]
    Unauthenticated {
        /// Provider that raised the error.
        provider: &'static str,
        /// Details.
        message: String,
        /// Underlying cause.
        #[source]
        source: Option<BoxError>,
    },
    /// The provider rate-limited the call. Retryable.
    #[error("{provider}: throttled: {message}")]
    Throttled {
        /// Provider that raised the error.
        provider: &'static str,
        /// Details.
        message: String,
        /// How long the provider asked us to wait, when it said.
        retry_after: Option<Duration>,
        /// Underlying cause.
        #[source]
        source: Option<BoxError>,
    },
    /// A passing failure (connection reset, 5xx, service unavailable). Retryable.
    #[error("{provider}: transient failure: {message}")]
    Transient {
        /// Provider that raised the error.
        provider: &'static str,
        /// Details.
        message: String,
        /// Underlying cause.
        #[source]
        source: Option<BoxError>,
    },
    /// The provider cannot do this (see its capabilities).
    #[error("{provider}: unsupported: {operation}")]
    Unsupported {
        /// Provider that raised the error.
        provider: &'static str,
        /// What was asked for.
        operation: String,
    },
    /// A wait or an operation did not finish before its deadline.
    #[error("{provider}: timed out after {after:?} waiting for {operation}")]
    Timeout {
        /// Provider that raised the error.
        provider: &'static str,
        /// What was waited for.
        operation: String,
        /// How long was waited.
        after: Duration,
    },
    /// The provider failed in a way none of the other categories describes. Not retryable.
    #[error("{provider}: {message}")]
    Provider {
        /// Provider that raised the error.
        provider: &'static str,
        /// Details.
        message: String,
        /// Underlying cause.
        #[source]
        source: Option<BoxError>,
    },
}

fn more_suffix(more: &[FieldViolation]) -> String {
    match more.len() {
        0 => String::new(),
        1 => format!(" (and 1 more: {})", more[0]),
        n => format!(" (and {n} more, first: {})", more[0]),
    }
}

/// The category of an [`Error`], without its payload: handy for matching, counting and fault injection.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// See [`Error::InvalidSpec`].
    InvalidSpec,
    /// See [`Error::NotFound`].
    NotFound,
    /// See [`Error::AlreadyExists`].
    AlreadyExists,
    /// See [`Error::Conflict`].
    Conflict,
    /// See [`Error::PermissionDenied`].
    PermissionDenied,
    /// See [`Error::Unauthenticated`].
    Unauthenticated,
    /// See [`Error::Throttled`].
    Throttled,
    /// See [`Error::Transient`].
    Transient,
    /// See [`Error::Unsupported`].
    Unsupported,
    /// See [`Error::Timeout`].
    Timeout,
    /// See [`Error::Provider`].
    Provider,
}

impl ErrorKind {
    /// Whether errors of this kind are worth retrying unchanged.
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::Throttled | ErrorKind::Transient)
    }
}

impl Error {
    /// The category of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidSpec { .. } => ErrorKind::InvalidSpec,
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::AlreadyExists { .. } => ErrorKind::AlreadyExists,
            Error::Conflict { .. } => ErrorKind::Conflict,
            Error::PermissionDenied { .. } => ErrorKind::PermissionDenied,
            Error::Unauthenticated { .. } => ErrorKind::Unauthenticated,
            Error::Throttled { .. } => ErrorKind::Throttled,
            Error::Transient { .. } => ErrorKind::Transient,
            Error::Unsupported { .. } => ErrorKind::Unsupported,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Provider { .. } => ErrorKind::Provider,
        }
    }

    /// Whether the same call may succeed if made again unchanged (throttling, passing failures).
    ///
    /// The retry decorators ([`crate::retry`]) ask only this.
    pub fn is_retryable(&self) -> bool {
        self.kind().is_retryable()
    }

    /// How long the provider asked the caller to wait before retrying, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Throttled { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The provider that raised the error; `None` for [`Error::InvalidSpec`].
    pub fn provider(&self) -> Option<&'static str> {
        match self {
            Error::InvalidSpec { .. } => None,
            Error::NotFound { provider, .. }
            | Error::AlreadyExists { provider, .. }
            | Error::Conflict { provider, .. }
            | Error::PermissionDenied { provider, .. }
            | Error::Unauthenticated { provider, .. }
            | Error::Throttled { provider, .. }
            | Error::Transient { provider, .. }
            | Error::Unsupported { provider, .. }
            | Error::Timeout { provider, .. }
            | Error::Provider { provider, .. } => Some(provider),
        }
    }

    /// For [`Error::InvalidSpec`], every violation (the first one included), in field order.
    pub fn violations(&self) -> Vec<FieldViolation> {
        match self {
            Error::InvalidSpec { field, reason, more } => {
                let mut all = vec![FieldViolation { field: field.clone(), reason: reason.clone() }];
                all.extend(more.iter().cloned());
                all
            }
            _ => Vec::new(),
        }
    }

    /// Builds an [`Error::InvalidSpec`] for one field.
    pub fn invalid_spec(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidSpec { field: field.into(), reason: reason.into(), more: Vec::new() }
    }

    /// Builds an [`Error::InvalidSpec`] from a non-empty list of violations; `None` when the list is empty.
    pub fn from_violations(mut violations: Vec<FieldViolation>) -> Option<Self> {
        if violations.is_empty() {
            return None;
        }
        let first = violations.remove(0);
        Some(Error::InvalidSpec { field: first.field, reason: first.reason, more: violations })
    }

    /// Builds an [`Error::NotFound`] with no underlying cause.
    pub fn not_found(provider: &'static str, resource: impl Into<String>) -> Self {
        Error::NotFound { provider, resource: resource.into(), source: None }
    }

    /// Builds an [`Error::AlreadyExists`] with no underlying cause.
    pub fn already_exists(provider: &'static str, resource: impl Into<String>) -> Self {
        Error::AlreadyExists { provider, resource: resource.into(), source: None }
    }

    /// Builds an [`Error::Conflict`] with no underlying cause.
    pub fn conflict(provider: &'static str, message: impl Into<String>) -> Self {
        Error::Conflict { provider, message: message.into(), source: None }
    }

    /// Builds an [`Error::Unsupported`].
    pub fn unsupported(provider: &'static str, operation: impl Into<String>) -> Self {
        Error::Unsupported { provider, operation: operation.into() }
    }

    /// Builds an error of the given kind with a message, for fault injection and for providers' classifiers.
    ///
    /// `InvalidSpec` uses `message` as the reason and `"<injected>"` as the field.
    pub fn of_kind(kind: ErrorKind, provider: &'static str, message: impl Into<String>) -> Self {
        let message = message.into();
        match kind {
            ErrorKind::InvalidSpec => Error::invalid_spec("<injected>", message),
            ErrorKind::NotFound => Error::NotFound { provider, resource: message, source: None },
            ErrorKind::AlreadyExists => Error::AlreadyExists { provider, resource: message, source: None },
            ErrorKind::Conflict => Error::Conflict { provider, message, source: None },
            ErrorKind::PermissionDenied => Error::PermissionDenied { provider, message, source: None },
            ErrorKind::Unauthenticated => Error::Unauthenticated { provider, message, source: None },
            ErrorKind::Throttled => Error::Throttled { provider, message, retry_after: None, source: None },
            ErrorKind::Transient => Error::Transient { provider, message, source: None },
            ErrorKind::Unsupported => Error::Unsupported { provider, operation: message },
            ErrorKind::Timeout => Error::Timeout { provider, operation: message, after: Duration::ZERO },
            ErrorKind::Provider => Error::Provider { provider, message, source: None },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_throttled_and_transient_are_retryable() {
        let retryable: Vec<ErrorKind> = ALL_KINDS.iter().copied().filter(|k| k.is_retryable()).collect();
        assert_eq!(retryable, vec![ErrorKind::Throttled, ErrorKind::Transient]);
        for kind in ALL_KINDS {
            let err = Error::of_kind(*kind, "sim", "x");
            assert_eq!(err.kind(), *kind);
            assert_eq!(err.is_retryable(), kind.is_retryable());
        }
    }

    const ALL_KINDS: &[ErrorKind] = &[
        ErrorKind::InvalidSpec,
        ErrorKind::NotFound,
        ErrorKind::AlreadyExists,
        ErrorKind::Conflict,
        ErrorKind::PermissionDenied,
        ErrorKind::Unauthenticated,
        ErrorKind::Throttled,
        ErrorKind::Transient,
        ErrorKind::Unsupported,
        ErrorKind::Timeout,
        ErrorKind::Provider,
    ];

    #[test]
    fn invalid_spec_display_names_field_and_counts_the_rest() {
        let err = Error::from_violations(vec![
            FieldViolation { field: "name".into(), reason: "must not be empty".into() },
            FieldViolation { field: "node_pools[0].min".into(), reason: "above max".into() },
        ])
        .expect("non-empty");
        assert_eq!(
            err.to_string(),
            "invalid spec: `name`: must not be empty (and 1 more: `node_pools[0].min`: above max)"
        );
        assert_eq!(err.violations().len(), 2);
        assert_eq!(err.provider(), None);
        assert!(Error::from_violations(Vec::new()).is_none());
    }

    #[test]
    fn provider_and_source_are_kept() {
        let cause = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let err = Error::Transient { provider: "eks", message: "network".into(), source: Some(Box::new(cause)) };
        assert_eq!(err.provider(), Some("eks"));
        let source = std::error::Error::source(&err).expect("source kept");
        assert_eq!(source.to_string(), "reset by peer");
    }

    #[test]
    fn throttled_carries_retry_after() {
        let err = Error::Throttled {
            provider: "gke",
            message: "quota".into(),
            retry_after: Some(Duration::from_secs(3)),
            source: None,
        };
        assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(Error::of_kind(ErrorKind::Transient, "gke", "x").retry_after(), None);
    }
}
