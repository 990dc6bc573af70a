//! GKE error classification, once: every failed Google call of the provider becomes a [`wooo_core::Error`] here.
//!
//! [`classify`] is pure: it decides from the `google.rpc.Status` Google answered with (its canonical code, the
//! HTTP status, the message) or from why no answer came. `super::sdk` turns the client library's errors into a
//! [`Failure`]; the library's error stays reachable as the [`std::error::Error::source`]. The same mapping
//! serves a finished operation's `error` ([`operation_error`]).

use std::time::Duration;

use wooo_core::{BoxError, Error};

/// The provider name in wooo's errors.
pub(crate) const PROVIDER: &str = "gke";

/// The canonical codes of `google.rpc.Code` wooo tells apart.
pub(crate) mod code {
    pub(crate) const CANCELLED: i32 = 1;
    pub(crate) const INVALID_ARGUMENT: i32 = 3;
    pub(crate) const DEADLINE_EXCEEDED: i32 = 4;
    pub(crate) const NOT_FOUND: i32 = 5;
    pub(crate) const ALREADY_EXISTS: i32 = 6;
    pub(crate) const PERMISSION_DENIED: i32 = 7;
    pub(crate) const RESOURCE_EXHAUSTED: i32 = 8;
    pub(crate) const FAILED_PRECONDITION: i32 = 9;
    pub(crate) const ABORTED: i32 = 10;
    pub(crate) const OUT_OF_RANGE: i32 = 11;
    pub(crate) const INTERNAL: i32 = 13;
    pub(crate) const UNAVAILABLE: i32 = 14;
    pub(crate) const UNAUTHENTICATED: i32 = 16;
}

/// What went wrong with one Google call, before classification.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Google answered with an error.
    Service {
        /// The `google.rpc.Code` of the `google.rpc.Status` body, when it had one.
        code: Option<i32>,
        /// The HTTP status.
        status: Option<u16>,
        /// The status message.
        message: String,
        /// `Retry-After`, when sent.
        retry_after: Option<Duration>,
    },
    /// No answer: a timeout, a refused or reset connection, an unreadable response.
    NoResponse {
        /// What happened.
        message: String,
    },
    /// No access token could be had (no Application Default Credentials, a refused key).
    Credentials {
        /// What happened.
        message: String,
    },
    /// The request could not be built or its answer not read.
    Construction {
        /// What happened.
        message: String,
    },
}

/// The canonical code an HTTP status stands for when the body carried none (`google.rpc.Code`'s mapping).
fn code_of_http(status: u16) -> Option<i32> {
    Some(match status {
        400 => code::INVALID_ARGUMENT,
        401 => code::UNAUTHENTICATED,
        403 => code::PERMISSION_DENIED,
        404 => code::NOT_FOUND,
        409 => code::ABORTED,
        429 => code::RESOURCE_EXHAUSTED,
        499 => code::CANCELLED,
        500 => code::INTERNAL,
        503 => code::UNAVAILABLE,
        504 => code::DEADLINE_EXCEEDED,
        _ => return None,
    })
}

/// Whether a RESOURCE_EXHAUSTED is a request-rate limit (worth waiting for) rather than a resource quota (CPUs,
/// addresses, node pools: no retry helps).
fn is_rate_limit(message: &str, status: Option<u16>) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("per minute") || m.contains("rate limit") || m.contains("too many requests") || {
        status == Some(429) && m.contains("requests")
    }
}

/// Classifies one failed call made while doing `what` (`get cluster "prod"`). `field` is the spec field the
/// call's input came from, named by an [`Error::InvalidSpec`] when Google refuses the input.
pub(crate) fn classify(failure: Failure, what: &str, field: &str, source: Option<BoxError>) -> Error {
    match failure {
        Failure::NoResponse { message } => {
            Error::Transient { provider: PROVIDER, message: format!("{what}: no response: {message}"), source }
        }
        Failure::Credentials { message } => Error::Unauthenticated {
            provider: PROVIDER,
            message: format!("{what}: no usable Google credentials ({message}); see `GkeBuilder::from_env`"),
            source,
        },
        Failure::Construction { message } => Error::Provider {
            provider: PROVIDER,
            message: format!("{what}: the request or its answer is malformed: {message}"),
            source,
        },
        Failure::Service { code, status, message, retry_after } => {
            let code = code.filter(|c| *c != 0 && *c != 2).or_else(|| status.and_then(code_of_http));
            let text = format!("{what}: {}: {message}", code_name(code, status));
            match code {
                Some(code::NOT_FOUND) => Error::NotFound { provider: PROVIDER, resource: what.to_string(), source },
                Some(code::ALREADY_EXISTS) => {
                    Error::AlreadyExists { provider: PROVIDER, resource: what.to_string(), source }
                }
                Some(code::FAILED_PRECONDITION | code::ABORTED) => {
                    Error::Conflict { provider: PROVIDER, message: text, source }
                }
                Some(code::RESOURCE_EXHAUSTED) if is_rate_limit(&message, status) => {
                    Error::Throttled { provider: PROVIDER, message: text, retry_after, source }
                }
                Some(code::RESOURCE_EXHAUSTED) => Error::Provider {
                    provider: PROVIDER,
                    message: format!(
                        "{text} (a Google Cloud quota is exhausted: trying again will not help; raise the quota \
                         in the project's IAM & Admin > Quotas page or ask for fewer resources)"
                    ),
                    source,
                },
                Some(code::UNAVAILABLE | code::INTERNAL | code::DEADLINE_EXCEEDED) => {
                    Error::Transient { provider: PROVIDER, message: text, source }
                }
                Some(code::PERMISSION_DENIED) => Error::PermissionDenied { provider: PROVIDER, message: text, source },
                Some(code::UNAUTHENTICATED) => Error::Unauthenticated { provider: PROVIDER, message: text, source },
                Some(code::INVALID_ARGUMENT | code::OUT_OF_RANGE) => {
                    Error::invalid_spec(field, format!("Google refused it: {text}"))
                }
                None if status.is_some_and(|s| s >= 500) => {
                    Error::Transient { provider: PROVIDER, message: text, source }
                }
                _ => Error::Provider { provider: PROVIDER, message: text, source },
            }
        }
    }
}

/// The `google.rpc.Code` name of a code (`NOT_FOUND`), else the HTTP status.
fn code_name(code: Option<i32>, status: Option<u16>) -> String {
    const NAMES: [&str; 17] = [
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    ];
    match (code.and_then(|c| usize::try_from(c).ok()).and_then(|c| NAMES.get(c)), status) {
        (Some(name), _) => (*name).to_string(),
        (None, Some(s)) => format!("HTTP {s}"),
        (None, None) => "UNKNOWN".to_string(),
    }
}

/// The error a finished operation carries (`Operation.error`), classified like a call's: a quota, a bad
/// argument, an internal failure. An operation that failed is never retried unchanged by the caller of
/// [`classify`] unless the code says so (UNAVAILABLE, INTERNAL).
pub(crate) fn operation_error(what: &str, field: &str, code: i32, message: &str) -> Error {
    classify(
        Failure::Service { code: Some(code), status: None, message: message.to_string(), retry_after: None },
        what,
        field,
        None,
    )
}

#[cfg(test)]
mod tests {
    use wooo_core::ErrorKind;

    use super::*;

    fn service(code: Option<i32>, status: Option<u16>, message: &str) -> ErrorKind {
        let failure = Failure::Service { code, status, message: message.to_string(), retry_after: None };
        classify(failure, "get cluster \"x\"", "name", None).kind()
    }

    #[test]
    fn every_canonical_code_maps_to_its_category() {
        let cases: &[(i32, u16, ErrorKind)] = &[
            (code::NOT_FOUND, 404, ErrorKind::NotFound),
            (code::ALREADY_EXISTS, 409, ErrorKind::AlreadyExists),
            (code::FAILED_PRECONDITION, 400, ErrorKind::Conflict),
            (code::ABORTED, 409, ErrorKind::Conflict),
            (code::UNAVAILABLE, 503, ErrorKind::Transient),
            (code::INTERNAL, 500, ErrorKind::Transient),
            (code::DEADLINE_EXCEEDED, 504, ErrorKind::Transient),
            (code::PERMISSION_DENIED, 403, ErrorKind::PermissionDenied),
            (code::UNAUTHENTICATED, 401, ErrorKind::Unauthenticated),
            (code::INVALID_ARGUMENT, 400, ErrorKind::InvalidSpec),
            (code::RESOURCE_EXHAUSTED, 429, ErrorKind::Provider),
            (12, 501, ErrorKind::Provider),
        ];
        for &(c, status, expected) in cases {
            assert_eq!(service(Some(c), Some(status), "the message"), expected, "code {c}");
            // The same from the HTTP status alone, where google.rpc.Code maps it.
            if code_of_http(status) == Some(c) {
                assert_eq!(service(None, Some(status), "the message"), expected, "HTTP {status}");
            }
        }
        assert_eq!(service(None, Some(502), "bad gateway"), ErrorKind::Transient);
        assert_eq!(service(Some(2), Some(503), "UNKNOWN with 503"), ErrorKind::Transient);
    }

    #[test]
    fn quota_is_not_retryable_and_says_so_but_a_rate_limit_is() {
        let quota = Failure::Service {
            code: Some(code::RESOURCE_EXHAUSTED),
            status: Some(429),
            message: "Insufficient regional quota to satisfy request: resource \"CPUS\": request requires '12.0' \
                      and is short '4.0'"
                .into(),
            retry_after: None,
        };
        let err = classify(quota, "create cluster \"x\"", "node_pools", None);
        assert!(!err.is_retryable());
        let text = err.to_string();
        assert!(text.contains("RESOURCE_EXHAUSTED") && text.contains("quota is exhausted"), "{text}");
        assert!(text.contains("CPUS"), "{text}");
        let rate = Failure::Service {
            code: Some(code::RESOURCE_EXHAUSTED),
            status: Some(429),
            message: "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute'".into(),
            retry_after: Some(Duration::from_secs(2)),
        };
        let err = classify(rate, "get cluster", "name", None);
        assert!(err.is_retryable());
        assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
    }

    #[test]
    fn invalid_argument_names_the_field_and_operation_errors_classify_alike() {
        let failure = Failure::Service {
            code: Some(code::INVALID_ARGUMENT),
            status: Some(400),
            message: "Master version \"1.99\" is unsupported.".into(),
            retry_after: None,
        };
        let err = classify(failure, "create cluster", "kubernetes_version", None);
        assert_eq!(err.violations()[0].field, "kubernetes_version");
        assert!(err.violations()[0].reason.contains("1.99"), "{err}");
        let err = operation_error("operation operation-1", "node_pools", code::RESOURCE_EXHAUSTED, "CPUS quota");
        assert_eq!(err.kind(), ErrorKind::Provider);
        assert!(err.to_string().contains("CPUS quota"));
        assert_eq!(operation_error("op", "name", code::UNAVAILABLE, "try later").kind(), ErrorKind::Transient);
    }

    #[test]
    fn no_response_is_transient_and_missing_credentials_unauthenticated() {
        let err = classify(Failure::NoResponse { message: "connection reset".into() }, "x", "name", None);
        assert!(err.is_retryable());
        let err = classify(Failure::Credentials { message: "no ADC".into() }, "x", "name", None);
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        assert!(err.to_string().contains("GkeBuilder::from_env"), "{err}");
    }
}
