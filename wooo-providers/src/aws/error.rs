//! AWS error classification, once: every failed AWS call of the provider becomes a [`wooo_core::Error`] here.
//!
//! [`classify`] is pure: it decides from what AWS answered (the error code, the HTTP status, the message, a
//! `Retry-After`) or from why no answer came ([`Failure::NoResponse`]). `super::sdk` turns the SDKs' errors into
//! a [`Failure`] and calls it; the SDK error stays reachable as the [`std::error::Error::source`].

use std::time::Duration;

use wooo_core::{BoxError, Error};

/// The provider name in wooo's errors.
pub(crate) const PROVIDER: &str = "eks";

/// What went wrong with one AWS call, before classification.
#[derive(Debug)]
pub(crate) enum Failure {
    /// AWS answered with an error.
    Service {
        /// The error code (`ResourceNotFoundException`, `Throttling`, `NoSuchEntity`, …).
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
    /// The request was never sent: no credentials could be loaded, or they were refused locally.
    Credentials {
        /// What happened.
        message: String,
    },
    /// The request could not be built (a bad input the SDK refused before sending).
    Construction {
        /// What happened.
        message: String,
    },
}

/// Throttling codes across EKS, EC2, IAM, STS and Cost Explorer.
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "ProvisionedThroughputExceededException",
    "SlowDown",
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

/// Codes for a missing resource.
const NOT_FOUND: &[&str] = &["ResourceNotFoundException", "NoSuchEntity", "NotFoundException", "NotFound"];

/// Codes for a resource that is busy or in use.
const CONFLICT: &[&str] =
    &["ResourceInUseException", "DependencyViolation", "ConcurrentModification", "IncorrectState", "Conflict"];

/// Codes for input AWS refused.
const INVALID: &[&str] = &[
    "InvalidParameterException",
    "InvalidParameterValue",
    "InvalidParameterCombination",
    "InvalidRequestException",
    "ValidationError",
    "ValidationException",
    "MalformedPolicyDocument",
    "UnsupportedAvailabilityZoneException",
];

/// Service-side failures worth another try.
const TRANSIENT: &[&str] =
    &["ServerException", "ServiceUnavailableException", "ServiceUnavailable", "InternalError", "InternalFailure"];

/// Classifies one failed AWS call made while doing `what` (`describe cluster "prod"`). `field` is the spec
/// field the call's input came from, named by an [`Error::InvalidSpec`] when AWS refuses the input.
pub(crate) fn classify(failure: Failure, what: &str, field: &str, source: Option<BoxError>) -> Error {
    match failure {
        Failure::NoResponse { message } => {
            Error::Transient { provider: PROVIDER, message: format!("{what}: no response: {message}"), source }
        }
        Failure::Credentials { message } => Error::Unauthenticated {
            provider: PROVIDER,
            message: format!("{what}: no usable AWS credentials ({message}); see `EksBuilder::from_env`"),
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
            // EC2 spells missing resources `InvalidVpcID.NotFound`, `InvalidSubnetID.NotFound`, ….
            let ec2_not_found = code.ends_with(".NotFound") || code.ends_with(".Malformed") && status == 404;
            if is(THROTTLING) || status == 429 {
                Error::Throttled { provider: PROVIDER, message: text, retry_after, source }
            } else if is(UNAUTHENTICATED) {
                Error::Unauthenticated { provider: PROVIDER, message: text, source }
            } else if is(DENIED) || (status == 403 && code.is_empty()) {
                Error::PermissionDenied { provider: PROVIDER, message: text, source }
            } else if is(NOT_FOUND) || ec2_not_found || (status == 404 && code.is_empty()) {
                Error::NotFound { provider: PROVIDER, resource: what.to_string(), source }
            } else if code == "EntityAlreadyExists" || code == "ResourceAlreadyExistsException" {
                Error::AlreadyExists { provider: PROVIDER, resource: what.to_string(), source }
            } else if is(CONFLICT) || code.starts_with("IncorrectState") || status == 409 {
                Error::Conflict { provider: PROVIDER, message: text, source }
            } else if is(TRANSIENT) || status >= 500 || status == 408 {
                Error::Transient { provider: PROVIDER, message: text, source }
            } else if is(INVALID) || code.starts_with("Invalid") || status == 400 {
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

    fn kind(code: &str, status: u16) -> ErrorKind {
        classify(service(code, status), "describe cluster \"x\"", "name", None).kind()
    }

    #[test]
    fn every_code_family_maps_to_its_category() {
        let cases: &[(&str, u16, ErrorKind)] = &[
            ("ResourceNotFoundException", 404, ErrorKind::NotFound),
            ("NoSuchEntity", 404, ErrorKind::NotFound),
            ("InvalidVpcID.NotFound", 400, ErrorKind::NotFound),
            ("InvalidSubnetID.NotFound", 400, ErrorKind::NotFound),
            ("ResourceInUseException", 409, ErrorKind::Conflict),
            ("DependencyViolation", 400, ErrorKind::Conflict),
            ("IncorrectState", 400, ErrorKind::Conflict),
            ("Throttling", 400, ErrorKind::Throttled),
            ("ThrottlingException", 400, ErrorKind::Throttled),
            ("RequestLimitExceeded", 503, ErrorKind::Throttled),
            ("TooManyRequestsException", 429, ErrorKind::Throttled),
            ("", 429, ErrorKind::Throttled),
            ("ServerException", 500, ErrorKind::Transient),
            ("ServiceUnavailableException", 503, ErrorKind::Transient),
            ("", 502, ErrorKind::Transient),
            ("AccessDeniedException", 403, ErrorKind::PermissionDenied),
            ("UnauthorizedOperation", 403, ErrorKind::PermissionDenied),
            ("", 403, ErrorKind::PermissionDenied),
            ("ExpiredTokenException", 403, ErrorKind::Unauthenticated),
            ("UnrecognizedClientException", 403, ErrorKind::Unauthenticated),
            ("InvalidClientTokenId", 403, ErrorKind::Unauthenticated),
            ("AuthFailure", 401, ErrorKind::Unauthenticated),
            ("InvalidParameterException", 400, ErrorKind::InvalidSpec),
            ("InvalidParameterValue", 400, ErrorKind::InvalidSpec),
            ("EntityAlreadyExists", 409, ErrorKind::AlreadyExists),
            ("SomethingNew", 418, ErrorKind::Provider),
        ];
        for &(code, status, expected) in cases {
            assert_eq!(kind(code, status), expected, "{code} / HTTP {status}");
        }
    }

    #[test]
    fn throttling_keeps_retry_after_and_is_retryable() {
        let failure = Failure::Service {
            code: Some("Throttling".into()),
            status: 400,
            message: Some("Rate exceeded".into()),
            retry_after: Some(Duration::from_secs(3)),
        };
        let err = classify(failure, "list clusters", "name", None);
        assert!(err.is_retryable());
        match err {
            Error::Throttled { retry_after, message, .. } => {
                assert_eq!(retry_after, Some(Duration::from_secs(3)));
                assert!(message.contains("list clusters: Throttling: Rate exceeded"), "{message}");
            }
            other => panic!("expected Throttled, got {other:?}"),
        }
    }

    #[test]
    fn invalid_input_names_the_spec_field_and_keeps_the_message() {
        let err = classify(service("InvalidParameterException", 400), "create cluster", "kubernetes_version", None);
        assert_eq!(err.violations()[0].field, "kubernetes_version");
        assert!(err.violations()[0].reason.contains("the message"), "{err}");
        assert!(!err.is_retryable());
    }

    #[test]
    fn no_response_is_transient_and_missing_credentials_unauthenticated() {
        let err = classify(Failure::NoResponse { message: "connection reset".into() }, "x", "name", None);
        assert_eq!(err.kind(), ErrorKind::Transient);
        assert!(err.is_retryable());
        let err = classify(Failure::Credentials { message: "no providers in chain".into() }, "x", "name", None);
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        assert!(err.to_string().contains("EksBuilder::from_env"), "{err}");
        assert!(!err.is_retryable());
    }
}
