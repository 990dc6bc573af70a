//! Classification of kube-rs errors into wooo's error categories: the one place this happens.

use std::time::Duration;

use wooo_core::Error;

/// The provider name kube-based errors carry.
pub const PROVIDER: &str = "kube";

/// Turns a kube-rs error into a [`wooo_core::Error`] of the category a caller acts on, keeping the original as
/// its `source()`.
///
/// API statuses map by HTTP code and reason: 404 → `NotFound`; 409 `AlreadyExists` → `AlreadyExists`, other 409
/// → `Conflict`; 401 → `Unauthenticated`; 403 → `PermissionDenied`; 429 → `Throttled` (with the server's
/// `retryAfterSeconds`); 500, 502, 503, 504, 408 and 410 (an expired watch) → `Transient`; anything else →
/// `Provider`; a status without a code (kube-rs' reading of a watch line that is no event) is `Provider` with a
/// message saying so, never "HTTP 0". Connection-level failures are `Transient`; authentication plumbing failures are
/// `Unauthenticated`; a missing API resource in discovery (an absent CRD) is `NotFound`.
pub fn classify(err: kube::Error) -> Error {
    match &err {
        kube::Error::Api(status) => {
            let message = if status.message.is_empty() { status.reason.clone() } else { status.message.clone() };
            let resource = status
                .details
                .as_ref()
                .map(|d| format!("{} {:?}", if d.kind.is_empty() { "object" } else { &d.kind }, d.name))
                .unwrap_or_else(|| message.clone());
            let retry_after = status.details.as_ref().map(|d| Duration::from_secs(u64::from(d.retry_after_seconds)));
            let source = Some(Box::new(err) as wooo_core::BoxError);
            match status_code(&source) {
                404 => Error::NotFound { provider: PROVIDER, resource, source },
                409 if is_already_exists(&source) => Error::AlreadyExists { provider: PROVIDER, resource, source },
                409 => Error::Conflict { provider: PROVIDER, message, source },
                401 => Error::Unauthenticated { provider: PROVIDER, message, source },
                403 => Error::PermissionDenied { provider: PROVIDER, message, source },
                429 => Error::Throttled {
                    provider: PROVIDER,
                    message,
                    retry_after: retry_after.filter(|d| !d.is_zero()),
                    source,
                },
                408 | 410 | 500 | 502 | 503 | 504 => Error::Transient { provider: PROVIDER, message, source },
                // No HTTP status at all: kube-rs read a line of a watch that was neither an event nor a Status.
                0 => Error::Provider {
                    provider: PROVIDER,
                    message: "the API server answered with something that is neither a watch event nor an API \
                              Status (a server or proxy that does not serve watches?)"
                        .to_string(),
                    source,
                },
                code => Error::Provider { provider: PROVIDER, message: format!("HTTP {code}: {message}"), source },
            }
        }
        kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_) => {
            let message = err.to_string();
            Error::Transient { provider: PROVIDER, message, source: Some(Box::new(err)) }
        }
        kube::Error::Auth(_) => {
            let message = err.to_string();
            Error::Unauthenticated { provider: PROVIDER, message, source: Some(Box::new(err)) }
        }
        kube::Error::Discovery(_) => {
            let resource = err.to_string();
            Error::NotFound { provider: PROVIDER, resource, source: Some(Box::new(err)) }
        }
        _ => {
            let message = err.to_string();
            Error::Provider { provider: PROVIDER, message, source: Some(Box::new(err)) }
        }
    }
}

/// `err` with `context` (what was being done, e.g. "watching the Deployments of app shop/web") in front of its
/// message, keeping its kind and source.
pub(crate) fn with_context(err: Error, context: &str) -> Error {
    let prefix = |text: String| format!("{context}: {text}");
    match err {
        Error::NotFound { provider, resource, source } => {
            Error::NotFound { provider, resource: prefix(resource), source }
        }
        Error::AlreadyExists { provider, resource, source } => {
            Error::AlreadyExists { provider, resource: prefix(resource), source }
        }
        Error::Conflict { provider, message, source } => Error::Conflict { provider, message: prefix(message), source },
        Error::PermissionDenied { provider, message, source } => {
            Error::PermissionDenied { provider, message: prefix(message), source }
        }
        Error::Unauthenticated { provider, message, source } => {
            Error::Unauthenticated { provider, message: prefix(message), source }
        }
        Error::Throttled { provider, message, retry_after, source } => {
            Error::Throttled { provider, message: prefix(message), retry_after, source }
        }
        Error::Transient { provider, message, source } => {
            Error::Transient { provider, message: prefix(message), source }
        }
        Error::Provider { provider, message, source } => Error::Provider { provider, message: prefix(message), source },
        other => other,
    }
}

fn api_status(source: &Option<wooo_core::BoxError>) -> Option<&kube::core::Status> {
    match source.as_ref()?.downcast_ref::<kube::Error>()? {
        kube::Error::Api(status) => Some(status),
        _ => None,
    }
}

fn status_code(source: &Option<wooo_core::BoxError>) -> u16 {
    api_status(source).map(|s| s.code).unwrap_or_default()
}

fn is_already_exists(source: &Option<wooo_core::BoxError>) -> bool {
    api_status(source).is_some_and(|s| s.reason == "AlreadyExists")
}

#[cfg(test)]
mod tests {
    use kube::core::Status;
    use kube::core::response::StatusDetails;
    use wooo_core::ErrorKind;

    use super::*;

    fn api(code: u16, reason: &str) -> kube::Error {
        kube::Error::Api(Status::failure("boom", reason).with_code(code).boxed())
    }

    #[test]
    fn api_statuses_map_to_categories() {
        for (code, reason, kind) in [
            (404, "NotFound", ErrorKind::NotFound),
            (409, "AlreadyExists", ErrorKind::AlreadyExists),
            (409, "Conflict", ErrorKind::Conflict),
            (401, "Unauthorized", ErrorKind::Unauthenticated),
            (403, "Forbidden", ErrorKind::PermissionDenied),
            (429, "TooManyRequests", ErrorKind::Throttled),
            (500, "InternalError", ErrorKind::Transient),
            (503, "ServiceUnavailable", ErrorKind::Transient),
            (504, "Timeout", ErrorKind::Transient),
            (410, "Expired", ErrorKind::Transient),
            (422, "Invalid", ErrorKind::Provider),
            (400, "BadRequest", ErrorKind::Provider),
        ] {
            let err = classify(api(code, reason));
            assert_eq!(err.kind(), kind, "{code} {reason}");
            assert_eq!(err.provider(), Some(PROVIDER));
            let source = std::error::Error::source(&err).expect("source kept");
            assert!(source.downcast_ref::<kube::Error>().is_some(), "the kube error stays reachable");
        }
    }

    #[test]
    fn throttling_carries_retry_after_and_not_found_names_the_object() {
        // The shape the API server sends (a Status body), parsed as kube-rs parses it.
        let details: StatusDetails =
            serde_json::from_str(r#"{"name":"web","kind":"deployments","retryAfterSeconds":7}"#).unwrap();
        let throttled = classify(kube::Error::Api(
            Status::failure("slow down", "TooManyRequests").with_code(429).with_details(details.clone()).boxed(),
        ));
        assert_eq!(throttled.retry_after(), Some(Duration::from_secs(7)));
        assert!(throttled.is_retryable());
        let missing = classify(kube::Error::Api(
            Status::failure("gone", "NotFound").with_code(404).with_details(details).boxed(),
        ));
        assert_eq!(missing.to_string(), "kube: deployments \"web\" not found");
    }

    #[test]
    fn a_status_without_a_code_is_never_http_0() {
        // What kube-rs yields for a watch line that is neither an event nor a Status, e.g. a plain list.
        let garbage: Status = serde_json::from_str(r#"{"kind":"DeploymentList","items":[]}"#).unwrap();
        assert_eq!(garbage.code, 0);
        let err = classify(kube::Error::Api(garbage.boxed()));
        assert_eq!(err.kind(), ErrorKind::Provider);
        let text = err.to_string();
        assert!(!text.contains("HTTP 0"), "{text}");
        assert!(text.contains("neither a watch event nor an API Status"), "{text}");
    }

    #[test]
    fn context_names_what_was_being_done_and_keeps_the_kind() {
        let err = with_context(classify(api(403, "Forbidden")), "watching the Deployments of app shop/web");
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        assert_eq!(err.to_string(), "kube: permission denied: watching the Deployments of app shop/web: boom");
        assert!(std::error::Error::source(&err).is_some());
        let err = with_context(classify(api(404, "NotFound")), "watching x");
        assert_eq!(err.to_string(), "kube: watching x: boom not found");
    }

    #[test]
    fn non_api_errors() {
        let discovery =
            classify(kube::Error::Discovery(kube::error::DiscoveryError::MissingKind("VirtualService".into())));
        assert_eq!(discovery.kind(), ErrorKind::NotFound);
        let serde = classify(kube::Error::SerdeError(serde_json::from_str::<u8>("x").unwrap_err()));
        assert_eq!(serde.kind(), ErrorKind::Provider);
        assert!(!serde.is_retryable());
    }
}
