//! ARM error classification, once: every failed Azure call of the provider becomes a [`wooo_core::Error`] here.
//!
//! [`classify`] is pure: it decides from what ARM answered (the HTTP status, the ARM error body's `code` and
//! `message`, a `Retry-After`) or from why no answer came. `super::sdk` turns azure_core's errors and raw
//! responses into a [`Failure`] and calls it; the ARM code and message are kept in the error's text.

use std::time::Duration;

use wooo_core::{BoxError, Error};

/// The provider name in wooo's errors.
pub(crate) const PROVIDER: &str = "aks";

/// What went wrong with one ARM call, before classification.
#[derive(Debug)]
pub(crate) enum Failure {
    /// ARM answered with an error status.
    Service {
        /// The HTTP status.
        status: u16,
        /// The ARM error code (`ResourceNotFound`, `OperationNotAllowed`, …), from the body or `x-ms-error-code`.
        code: Option<String>,
        /// The ARM error message.
        message: Option<String>,
        /// `Retry-After`, when sent.
        retry_after: Option<Duration>,
    },
    /// No answer: a timeout, a refused or reset connection, an unreadable response.
    NoResponse {
        /// What happened.
        message: String,
    },
    /// No token could be had for the request.
    Credentials {
        /// What happened.
        message: String,
    },
}

/// ARM codes for a missing resource.
const NOT_FOUND: &[&str] = &["ResourceNotFound", "ResourceGroupNotFound", "NotFound", "SubscriptionNotFound"];
/// ARM codes for a resource that is busy (an operation in progress) or in another state.
const CONFLICT: &[&str] =
    &["OperationNotAllowed", "Conflict", "AnotherOperationInProgress", "EtagMismatch", "ResourceGroupBeingDeleted"];
/// ARM codes for a token ARM does not accept.
const UNAUTHENTICATED: &[&str] = &["InvalidAuthenticationToken", "ExpiredAuthenticationToken", "AuthenticationFailed"];
/// ARM codes for input ARM refused.
const INVALID: &[&str] = &["InvalidParameter", "BadRequest", "InvalidTemplate", "PropertyChangeNotAllowed"];

/// Classifies one failed ARM call made while doing `what` (`get cluster "prod"`). `field` is the spec field the
/// call's input came from, named by an [`Error::InvalidSpec`] when ARM refuses the input.
pub(crate) fn classify(failure: Failure, what: &str, field: &str, source: Option<BoxError>) -> Error {
    match failure {
        Failure::NoResponse { message } => {
            Error::Transient { provider: PROVIDER, message: format!("{what}: no response: {message}"), source }
        }
        Failure::Credentials { message } => Error::Unauthenticated {
            provider: PROVIDER,
            message: format!("{what}: no Azure token ({message}); see `AksBuilder::from_env`"),
            source,
        },
        Failure::Service { status, code, message, retry_after } => {
            let code = code.unwrap_or_default();
            let message = message.unwrap_or_default();
            let text = if code.is_empty() {
                format!("{what}: HTTP {status}: {message}")
            } else {
                format!("{what}: {code}: {message}")
            };
            let is = |list: &[&str]| list.contains(&code.as_str());
            if status == 429 || code == "TooManyRequests" {
                Error::Throttled { provider: PROVIDER, message: text, retry_after, source }
            } else if status == 401 || is(UNAUTHENTICATED) {
                Error::Unauthenticated { provider: PROVIDER, message: text, source }
            } else if status == 403 {
                Error::PermissionDenied { provider: PROVIDER, message: text, source }
            } else if status == 404 || is(NOT_FOUND) {
                Error::NotFound { provider: PROVIDER, resource: what.to_string(), source }
            } else if status == 409 || is(CONFLICT) {
                Error::Conflict { provider: PROVIDER, message: text, source }
            } else if status >= 500 || status == 408 {
                Error::Transient { provider: PROVIDER, message: text, source }
            } else if status == 400 || is(INVALID) {
                Error::invalid_spec(field, format!("Azure refused it: {text}"))
            } else {
                Error::Provider { provider: PROVIDER, message: text, source }
            }
        }
    }
}

/// The `code` and `message` of an ARM error body (`{"error": {"code", "message"}}`, or the two at the top level
/// as some services send them).
pub(crate) fn arm_error(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else { return (None, None) };
    let inner = json.get("error").unwrap_or(&json);
    let text = |k: &str| inner.get(k).and_then(|v| v.as_str()).map(str::to_string);
    (text("code"), text("message"))
}

/// `Retry-After` in seconds (ARM sends seconds; an HTTP date is not used by ARM and is ignored).
pub(crate) fn retry_after(value: Option<&str>) -> Option<Duration> {
    value.and_then(|v| v.trim().parse::<u64>().ok()).map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use wooo_core::ErrorKind;

    use super::*;

    fn kind(status: u16, code: &str) -> ErrorKind {
        let failure = Failure::Service {
            status,
            code: (!code.is_empty()).then(|| code.to_string()),
            message: Some("the message".into()),
            retry_after: None,
        };
        classify(failure, "get cluster \"x\"", "name", None).kind()
    }

    #[test]
    fn statuses_and_codes_map_to_their_category() {
        let cases: &[(u16, &str, ErrorKind)] = &[
            (404, "ResourceNotFound", ErrorKind::NotFound),
            (404, "ResourceGroupNotFound", ErrorKind::NotFound),
            (404, "", ErrorKind::NotFound),
            (409, "OperationNotAllowed", ErrorKind::Conflict),
            (409, "", ErrorKind::Conflict),
            (400, "EtagMismatch", ErrorKind::Conflict),
            (429, "", ErrorKind::Throttled),
            (401, "InvalidAuthenticationToken", ErrorKind::Unauthenticated),
            (401, "", ErrorKind::Unauthenticated),
            (403, "AuthorizationFailed", ErrorKind::PermissionDenied),
            (500, "InternalServerError", ErrorKind::Transient),
            (503, "", ErrorKind::Transient),
            (400, "InvalidParameter", ErrorKind::InvalidSpec),
            (400, "", ErrorKind::InvalidSpec),
            (418, "Teapot", ErrorKind::Provider),
        ];
        for &(status, code, expected) in cases {
            assert_eq!(kind(status, code), expected, "HTTP {status} {code}");
        }
    }

    #[test]
    fn throttling_keeps_retry_after_and_the_arm_code_and_message() {
        let failure = Failure::Service {
            status: 429,
            code: Some("TooManyRequests".into()),
            message: Some("slow down".into()),
            retry_after: retry_after(Some("7")),
        };
        match classify(failure, "list clusters", "name", None) {
            Error::Throttled { retry_after, message, .. } => {
                assert_eq!(retry_after, Some(Duration::from_secs(7)));
                assert!(message.contains("list clusters: TooManyRequests: slow down"), "{message}");
            }
            other => panic!("expected Throttled, got {other:?}"),
        }
    }

    #[test]
    fn invalid_input_names_the_field_and_keeps_the_arm_message() {
        let failure = Failure::Service {
            status: 400,
            code: Some("InvalidParameter".into()),
            message: Some("vmSize is not available".into()),
            retry_after: None,
        };
        let err = classify(failure, "create agent pool", "node_pools[1].instance_types", None);
        assert_eq!(err.violations()[0].field, "node_pools[1].instance_types");
        assert!(err.to_string().contains("InvalidParameter: vmSize is not available"), "{err}");
    }

    #[test]
    fn arm_error_bodies_are_read_nested_or_flat() {
        let nested = br#"{"error":{"code":"Conflict","message":"busy"}}"#;
        assert_eq!(arm_error(nested), (Some("Conflict".into()), Some("busy".into())));
        let flat = br#"{"code":"NotFound","message":"gone"}"#;
        assert_eq!(arm_error(flat), (Some("NotFound".into()), Some("gone".into())));
        assert_eq!(arm_error(b"<html>"), (None, None));
        assert_eq!(retry_after(Some("x")), None);
    }

    #[test]
    fn no_token_is_unauthenticated_and_no_answer_transient() {
        let err = classify(Failure::Credentials { message: "az not logged in".into() }, "get", "name", None);
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        assert!(!err.is_retryable());
        let err = classify(Failure::NoResponse { message: "reset".into() }, "get", "name", None);
        assert!(err.is_retryable());
    }
}
