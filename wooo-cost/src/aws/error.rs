//! AWS error classification, once: every failed Cost Explorer or EC2 call of this module becomes a
//! [`wooo_core::Error`] here, with provider [`PROVIDER`].
//!
//! [`classify`] is pure: it decides from what AWS answered (the error code, the HTTP status, the message, a
//! `Retry-After`) or from why no answer came. `super::sdk` turns the SDKs' errors into a [`Failure`] and calls it;
//! the SDK error stays reachable as the [`std::error::Error::source`].

use std::time::Duration;

use wooo_core::{BoxError, Error};

/// The provider name in the errors of [`super::CostExplorer`], [`super::Ec2Facts`] and
/// [`super::EksCostAnalyzer`].
pub const PROVIDER: &str = "aws-cost";

/// What went wrong with one AWS call, before classification.
#[derive(Debug)]
pub(crate) enum Failure {
    /// AWS answered with an error.
    Service {
        /// The error code (`ThrottlingException`, `DataUnavailableException`, …).
        code: Option<String>,
        /// The HTTP status.
        status: u16,
        /// The error message.
        message: Option<String>,
        /// `Retry-After`, when sent.
        retry_after: Option<Duration>,
    },
    /// No answer: a timeout, a refused or reset connection, an unreadable response.
    NoResponse {
        /// What happened.
        message: String,
    },
    /// The request was never sent: no credentials could be loaded.
    Credentials {
        /// What happened.
        message: String,
    },
    /// The request could not be built (an input the SDK refused before sending).
    Construction {
        /// What happened.
        message: String,
    },
}

/// Throttling codes of Cost Explorer and EC2. Cost Explorer says `LimitExceededException` when its request rate
/// is exceeded.
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "LimitExceededException",
];

/// Codes for credentials AWS does not accept.
const UNAUTHENTICATED: &[&str] = &[
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "AuthFailure",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "InvalidAccessKeyId",
    "RequestExpired",
];

/// Codes for valid credentials that may not do this.
const DENIED: &[&str] = &["AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedException"];

/// Service-side failures worth another try.
const TRANSIENT: &[&str] =
    &["ServerException", "ServiceUnavailableException", "ServiceUnavailable", "InternalError", "InternalFailure"];

/// Classifies one failed AWS call made while doing `what` (`get cost and usage of cluster "prod"`). `field` is
/// the input an [`Error::InvalidSpec`] names when AWS refuses the input.
pub(crate) fn classify(failure: Failure, what: &str, field: &str, source: Option<BoxError>) -> Error {
    match failure {
        Failure::NoResponse { message } => {
            Error::Transient { provider: PROVIDER, message: format!("{what}: no response: {message}"), source }
        }
        Failure::Credentials { message } => Error::Unauthenticated {
            provider: PROVIDER,
            message: format!("{what}: no usable AWS credentials ({message}); see `CostExplorer::from_env`"),
            source,
        },
        Failure::Construction { message } => {
            Error::invalid_spec(field, format!("{what}: the AWS request cannot be built: {message}"))
        }
        Failure::Service { code, status, message, retry_after } => {
            let code = code.unwrap_or_default();
            let message = message.unwrap_or_default();
            let text = if code.is_empty() {
                format!("{what}: HTTP {status}: {message}")
            } else {
                format!("{what}: {code}: {message}")
            };
            let is = |list: &[&str]| list.contains(&code.as_str());
            match code.as_str() {
                "DataUnavailableException" => {
                    return Error::Provider {
                        provider: PROVIDER,
                        message: format!(
                            "{what}: Cost Explorer has no data for this request yet (it is enabled per account and \
                             fills in within 24 hours; cost allocation tags apply from their activation on): {message}"
                        ),
                        source,
                    };
                }
                "BillExpirationException" => {
                    return Error::Provider {
                        provider: PROVIDER,
                        message: format!(
                            "{what}: the bill for this period has expired (Cost Explorer keeps 13 months, 38 with \
                             multi-year data enabled): {message}"
                        ),
                        source,
                    };
                }
                "InvalidNextTokenException" => {
                    return Error::invalid_spec(
                        "next_page_token",
                        format!("{what}: AWS refused the page token (the request changed between pages?): {text}"),
                    );
                }
                _ => {}
            }
            if is(THROTTLING) || status == 429 {
                Error::Throttled { provider: PROVIDER, message: text, retry_after, source }
            } else if is(UNAUTHENTICATED) {
                Error::Unauthenticated { provider: PROVIDER, message: text, source }
            } else if is(DENIED) || (status == 403 && code.is_empty()) {
                Error::PermissionDenied { provider: PROVIDER, message: text, source }
            } else if code == "ResourceNotFoundException" || (status == 404 && code.is_empty()) {
                Error::NotFound { provider: PROVIDER, resource: what.to_string(), source }
            } else if code == "RequestChangedException" {
                Error::Conflict { provider: PROVIDER, message: text, source }
            } else if is(TRANSIENT) || status >= 500 || status == 408 {
                Error::Transient { provider: PROVIDER, message: text, source }
            } else if code.starts_with("Invalid") || code.starts_with("Validation") || status == 400 {
                Error::invalid_spec(field, format!("AWS refused it: {text}"))
            } else {
                Error::Provider { provider: PROVIDER, message: text, source }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use wooo_core::ErrorKind;

    use super::*;

    fn service(code: &str, status: u16) -> Failure {
        Failure::Service {
            code: (!code.is_empty()).then(|| code.to_string()),
            status,
            message: Some("the message".into()),
            retry_after: None,
        }
    }

    fn classified(code: &str, status: u16) -> Error {
        classify(service(code, status), "get cost and usage", "window", None)
    }

    #[test]
    fn error_mapping_table() {
        let cases: &[(&str, u16, ErrorKind)] = &[
            ("ThrottlingException", 400, ErrorKind::Throttled),
            ("LimitExceededException", 400, ErrorKind::Throttled),
            ("RequestLimitExceeded", 503, ErrorKind::Throttled),
            ("", 429, ErrorKind::Throttled),
            ("AccessDeniedException", 403, ErrorKind::PermissionDenied),
            ("UnauthorizedOperation", 403, ErrorKind::PermissionDenied),
            ("", 403, ErrorKind::PermissionDenied),
            ("ExpiredTokenException", 403, ErrorKind::Unauthenticated),
            ("UnrecognizedClientException", 403, ErrorKind::Unauthenticated),
            ("InvalidClientTokenId", 403, ErrorKind::Unauthenticated),
            ("AuthFailure", 401, ErrorKind::Unauthenticated),
            ("DataUnavailableException", 400, ErrorKind::Provider),
            ("BillExpirationException", 400, ErrorKind::Provider),
            ("InvalidNextTokenException", 400, ErrorKind::InvalidSpec),
            ("RequestChangedException", 400, ErrorKind::Conflict),
            ("ResourceNotFoundException", 400, ErrorKind::NotFound),
            ("ServiceUnavailableException", 503, ErrorKind::Transient),
            ("InternalError", 500, ErrorKind::Transient),
            ("", 502, ErrorKind::Transient),
            ("", 408, ErrorKind::Transient),
            ("ValidationException", 400, ErrorKind::InvalidSpec),
            ("InvalidInstanceType", 400, ErrorKind::InvalidSpec),
            ("SomethingNew", 418, ErrorKind::Provider),
        ];
        for &(code, status, expected) in cases {
            let err = classified(code, status);
            assert_eq!(err.kind(), expected, "{code} / HTTP {status}: {err}");
            assert_eq!(err.is_retryable(), expected.is_retryable(), "{code}");
            if expected != ErrorKind::InvalidSpec {
                assert_eq!(err.provider(), Some(PROVIDER), "{code}");
            }
        }
    }

    #[test]
    fn cost_explorer_specific_errors_say_what_to_do() {
        let err = classified("DataUnavailableException", 400);
        assert!(err.to_string().contains("no data for this request yet"), "{err}");
        assert!(err.to_string().contains("the message"), "{err}");
        let err = classified("BillExpirationException", 400);
        assert!(err.to_string().contains("has expired"), "{err}");
        let err = classified("InvalidNextTokenException", 400);
        assert_eq!(err.violations()[0].field, "next_page_token");
    }

    #[test]
    fn throttling_keeps_retry_after() {
        let failure = Failure::Service {
            code: Some("ThrottlingException".into()),
            status: 400,
            message: Some("Rate exceeded".into()),
            retry_after: Some(Duration::from_secs(7)),
        };
        let err = classify(failure, "get cost and usage", "window", None);
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
        assert!(err.to_string().contains("get cost and usage: ThrottlingException: Rate exceeded"), "{err}");
    }

    #[test]
    fn no_response_is_transient_and_missing_credentials_unauthenticated() {
        let err = classify(Failure::NoResponse { message: "timed out".into() }, "x", "window", None);
        assert_eq!(err.kind(), ErrorKind::Transient);
        let err = classify(Failure::Credentials { message: "no providers in chain".into() }, "x", "window", None);
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        assert!(err.to_string().contains("CostExplorer::from_env"), "{err}");
        let err = classify(Failure::Construction { message: "bad date".into() }, "x", "window", None);
        assert_eq!(err.violations()[0].field, "window");
    }
}
