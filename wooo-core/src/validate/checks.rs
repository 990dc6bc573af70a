//! Reusable checks of single values (names, label keys, CIDRs, image references, versions).
//!
//! Each returns `Err(reason)` with a short sentence saying what is expected; the spec validators attach the
//! field path. They are hand-rolled rather than regular expressions so the crate needs no regex engine.

use std::fmt;
use std::net::Ipv4Addr;

/// The oldest Kubernetes minor version (`1.<minor>`) wooo accepts.
pub const MIN_KUBERNETES_MINOR: u32 = 28;
/// The newest Kubernetes minor version (`1.<minor>`) wooo accepts.
pub const MAX_KUBERNETES_MINOR: u32 = 36;

/// Retry conditions Envoy understands (`x-envoy-retry-on` and `x-envoy-retry-grpc-on`), the only values a
/// [`crate::model::RetryPolicy::retry_on`] may list.
pub const ENVOY_RETRY_ON: &[&str] = &[
    "5xx",
    "gateway-error",
    "reset",
    "connect-failure",
    "envoy-ratelimited",
    "retriable-4xx",
    "refused-stream",
    "retriable-status-codes",
    "retriable-headers",
    "cancelled",
    "deadline-exceeded",
    "internal",
    "resource-exhausted",
    "unavailable",
];

fn is_lower_alnum(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn is_dns_label(s: &str, max_len: usize) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(&first), Some(&last)) => {
            b.len() <= max_len
                && is_lower_alnum(first)
                && is_lower_alnum(last)
                && b.iter().all(|&c| is_lower_alnum(c) || c == b'-')
        }
        _ => false,
    }
}

/// A DNS-1123 label of at most `max_len` characters: lower-case alphanumerics and `-`, starting and ending with
/// an alphanumeric (Kubernetes namespace and most object names).
///
/// # Errors
/// The reason, when `s` is not such a label.
pub fn dns1123_label(s: &str, max_len: usize) -> Result<(), String> {
    if is_dns_label(s, max_len) {
        Ok(())
    } else {
        Err(format!(
            "must be a DNS-1123 label: lower-case alphanumerics and '-', start and end alphanumeric, at most \
             {max_len} characters"
        ))
    }
}

/// A DNS-1123 subdomain: at most 253 characters, dot-separated DNS-1123 labels (Kubernetes' rule for object
/// names and host names, which does not limit the length of each label).
///
/// # Errors
/// The reason, when `s` is not such a subdomain.
pub fn dns1123_subdomain(s: &str) -> Result<(), String> {
    if is_dns_subdomain(s) {
        Ok(())
    } else {
        Err("must be a DNS-1123 subdomain: dot-separated parts of lower-case alphanumerics and '-', each starting \
             and ending alphanumeric, at most 253 characters"
            .to_string())
    }
}

fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(|part| is_dns_label(part, 253))
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]` of at most `max_len` characters (label names and values).
fn is_qualified_name(s: &str, max_len: usize) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            b.len() <= max_len
                && first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && b.iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// A Kubernetes label (or annotation, or taint) key: an optional DNS-1123 subdomain prefix of at most 253
/// characters and `/`, then a name of at most 63 alphanumerics, `-`, `_` or `.`, starting and ending with an
/// alphanumeric.
///
/// # Errors
/// The reason, when `k` is not such a key.
pub fn label_key(k: &str) -> Result<(), String> {
    let valid = match k.split_once('/') {
        Some((prefix, name)) => !prefix.is_empty() && is_dns_subdomain(prefix) && is_qualified_name(name, 63),
        None => is_qualified_name(k, 63),
    };
    if valid {
        Ok(())
    } else {
        Err("must be a label key: an optional DNS-1123 subdomain prefix (at most 253 characters) and '/', then a \
             name of at most 63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric"
            .to_string())
    }
}

/// A Kubernetes label value: empty, or at most 63 alphanumerics, `-`, `_` or `.`, starting and ending with an
/// alphanumeric.
///
/// # Errors
/// The reason, when `v` is not such a value.
pub fn label_value(v: &str) -> Result<(), String> {
    if v.is_empty() || is_qualified_name(v, 63) {
        Ok(())
    } else {
        Err("must be a label value: empty, or at most 63 alphanumerics, '-', '_' or '.', starting and ending \
             alphanumeric"
            .to_string())
    }
}

/// Parses an IPv4 CIDR (`10.0.0.0/16`) into its network address and prefix length.
///
/// # Errors
/// The reason, when `s` is not an IPv4 CIDR with a prefix of 0 to 32 and no host bits set.
pub fn parse_ipv4_cidr(s: &str) -> Result<(Ipv4Addr, u8), String> {
    let shape = || format!("must be an IPv4 CIDR like 10.0.0.0/16, got `{s}`");
    let (addr, prefix) = s.split_once('/').ok_or_else(shape)?;
    let addr: Ipv4Addr = addr.parse().map_err(|_| shape())?;
    let prefix: u8 = parse_decimal(prefix).and_then(|p| u8::try_from(p).ok()).ok_or_else(shape)?;
    if prefix > 32 {
        return Err(format!("prefix length of `{s}` must be 0 to 32"));
    }
    if u32::from(addr) & !prefix_mask(prefix) != 0 {
        let network = Ipv4Addr::from(u32::from(addr) & prefix_mask(prefix));
        return Err(format!("host bits of `{s}` must be zero (did you mean {network}/{prefix}?)"));
    }
    Ok((addr, prefix))
}

/// An IPv4 CIDR (`10.0.0.0/16`): prefix 0 to 32, host bits zero.
///
/// # Errors
/// The reason, when `s` is not such a CIDR.
pub fn ipv4_cidr(s: &str) -> Result<(), String> {
    parse_ipv4_cidr(s).map(|_| ())
}

fn prefix_mask(prefix: u8) -> u32 {
    if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) }
}

/// Whether two parsed CIDRs share an address: the shorter prefix's network contains the other's start.
pub(super) fn cidrs_overlap(a: (Ipv4Addr, u8), b: (Ipv4Addr, u8)) -> bool {
    let mask = prefix_mask(a.1.min(b.1));
    u32::from(a.0) & mask == u32::from(b.0) & mask
}

/// Digits only, no sign, no leading zero (except `0` itself), fitting a u32.
fn parse_decimal(s: &str) -> Option<u32> {
    let plain = !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if plain { s.parse().ok() } else { None }
}

/// A Kubernetes version as wooo writes it: `1.<minor>` or `1.<minor>.<patch>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KubernetesVersion {
    /// Minor version (`33` in `1.33.2`).
    pub minor: u32,
    /// Patch version, when given (`2` in `1.33.2`).
    pub patch: Option<u32>,
}

impl KubernetesVersion {
    /// Parses `1.<minor>` or `1.<minor>.<patch>`, without checking that the minor is supported (see
    /// [`kubernetes_version`]).
    ///
    /// # Errors
    /// The reason, when `s` has another shape.
    pub fn parse(s: &str) -> Result<Self, String> {
        let shape = || format!("must be a Kubernetes version `1.<minor>` or `1.<minor>.<patch>`, got `{s}`");
        let mut parts = s.split('.');
        if parts.next() != Some("1") {
            return Err(shape());
        }
        let minor = parts.next().and_then(parse_decimal).ok_or_else(shape)?;
        let patch = match parts.next() {
            Some(p) => Some(parse_decimal(p).ok_or_else(shape)?),
            None => None,
        };
        if parts.next().is_some() {
            return Err(shape());
        }
        Ok(Self { minor, patch })
    }
}

impl fmt::Display for KubernetesVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.patch {
            Some(p) => write!(f, "1.{}.{p}", self.minor),
            None => write!(f, "1.{}", self.minor),
        }
    }
}

/// A supported Kubernetes version: `1.<minor>` or `1.<minor>.<patch>` with the minor in
/// [`MIN_KUBERNETES_MINOR`]`..=`[`MAX_KUBERNETES_MINOR`].
///
/// # Errors
/// The reason, when `s` is malformed or its minor is not supported.
pub fn kubernetes_version(s: &str) -> Result<(), String> {
    let v = KubernetesVersion::parse(s)?;
    if (MIN_KUBERNETES_MINOR..=MAX_KUBERNETES_MINOR).contains(&v.minor) {
        Ok(())
    } else {
        Err(format!(
            "Kubernetes 1.{} is not supported: use 1.{MIN_KUBERNETES_MINOR} to 1.{MAX_KUBERNETES_MINOR}",
            v.minor
        ))
    }
}

/// An environment variable name: `[A-Za-z_][A-Za-z0-9_]*`.
///
/// # Errors
/// The reason, when `s` is not such a name.
pub fn env_var_name(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    let valid = b.first().is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_');
    if valid {
        Ok(())
    } else {
        Err("must be an environment variable name: letters, digits and '_', not starting with a digit".to_string())
    }
}

/// A ConfigMap or Secret key: `[-._a-zA-Z0-9]+`, at most 253 characters, not `.` or `..`.
///
/// # Errors
/// The reason, when `s` is not such a key.
pub fn config_key(s: &str) -> Result<(), String> {
    let valid = !s.is_empty()
        && s.len() <= 253
        && s != "."
        && s != ".."
        && s.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_'));
    if valid {
        Ok(())
    } else {
        Err("must be a config key: 1 to 253 alphanumerics, '-', '_' or '.', and not '.' or '..'".to_string())
    }
}

/// A lower-case HTTP header name: a non-empty RFC 9110 token without upper-case letters (meshes match header
/// names lower-cased, so an upper-case name would never match).
///
/// # Errors
/// The reason, when `s` is not such a name.
pub fn http_header_name(s: &str) -> Result<(), String> {
    let tchar = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit() || b"!#$%&'*+-.^_`|~".contains(&c);
    if !s.is_empty() && s.bytes().all(tchar) {
        Ok(())
    } else {
        Err("must be a lower-case HTTP header name: letters a-z, digits and !#$%&'*+-.^_`|~".to_string())
    }
}

/// A container image reference: `[registry[:port]/]path[:tag][@algorithm:digest]`, following the
/// distribution reference grammar (lower-case path components separated by `/`, a tag of at most 128 word
/// characters, `.` and `-`, a digest such as `sha256:` and 64 hex digits). IPv6 registry hosts are not accepted.
///
/// # Errors
/// The reason, when `s` is not such a reference.
pub fn image_reference(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Err("must be an image reference like registry.example/team/app:1.2 (it is empty)".to_string());
    }
    let (rest, digest) = match s.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (s, None),
    };
    if let Some(digest) = digest {
        image_digest(digest)?;
    }
    // A `:` after the last `/` starts the tag; one before it belongs to a registry port.
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].find(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(tag) = tag {
        image_tag(tag)?;
    }
    image_name(name)
}

fn image_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 255 {
        return Err("image name must be 1 to 255 characters".to_string());
    }
    let mut components: Vec<&str> = name.split('/').collect();
    let first = components[0];
    if components.len() > 1
        && (first.contains(['.', ':']) || first == "localhost" || first.bytes().any(|c| c.is_ascii_uppercase()))
    {
        image_registry(first)?;
        components.remove(0);
    }
    if components.iter().all(|c| is_path_component(c)) {
        Ok(())
    } else {
        Err("image path must be '/'-separated components of lower-case alphanumerics, separated inside by '.', \
             '_', '__' or dashes"
            .to_string())
    }
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn is_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    if !(b.first().is_some_and(|&x| is_lower_alnum(x)) && b.last().is_some_and(|&x| is_lower_alnum(x))) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_lower_alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_lower_alnum(b[i]) {
            i += 1;
        }
        let sep = &b[start..i];
        let ok = sep == b"." || sep == b"_" || sep == b"__" || sep.iter().all(|&x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn image_registry(host_port: &str) -> Result<(), String> {
    let (host, port) = match host_port.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (host_port, None),
    };
    let host_ok = host.split('.').all(|part| {
        let b = part.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    });
    let port_ok = port.is_none_or(|p| parse_decimal(p).is_some_and(|n| (1..=65535).contains(&n)));
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(format!("image registry `{host_port}` must be a host name with an optional :port"))
    }
}

fn image_tag(tag: &str) -> Result<(), String> {
    let b = tag.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let valid =
        b.len() <= 128 && b.first().is_some_and(|&c| word(c)) && b.iter().all(|&c| word(c) || c == b'.' || c == b'-');
    if valid {
        Ok(())
    } else {
        Err("image tag must be 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'".to_string())
    }
}

fn image_digest(digest: &str) -> Result<(), String> {
    let shape = || "image digest must be `<algorithm>:<hex>`, e.g. sha256: and 64 lower-case hex digits".to_string();
    let (algorithm, encoded) = digest.split_once(':').ok_or_else(shape)?;
    let algorithm_ok = algorithm
        .split(['+', '.', '_', '-'])
        .all(|part| !part.is_empty() && part.bytes().all(is_lower_alnum) && part.as_bytes()[0].is_ascii_lowercase());
    let encoded_ok = if algorithm == "sha256" {
        encoded.len() == 64 && encoded.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    } else {
        encoded.len() >= 32 && encoded.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'=' | b'_' | b'-'))
    };
    if algorithm_ok && encoded_ok { Ok(()) } else { Err(shape()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        for ok in ["a", "web", "web-1", "0abc", &"a".repeat(63)] {
            assert!(dns1123_label(ok, 63).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "Web", "a_b", "a.b", "ä", &"a".repeat(64)] {
            assert!(dns1123_label(bad, 63).is_err(), "{bad}");
        }
        assert!(dns1123_label("abcde", 4).unwrap_err().contains("at most 4 characters"));
    }

    #[test]
    fn dns_subdomains() {
        for ok in ["a", "example.com", "a-b.c-d.e", &format!("{}.b", "a".repeat(100))] {
            assert!(dns1123_subdomain(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".a", "a.", "a..b", "A.b", "a_b.c", &format!("{}a", "a.".repeat(127))] {
            assert!(dns1123_subdomain(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn label_keys_and_values() {
        for ok in ["app", "app.kubernetes.io/name", "example.com/My_Key.v1", "A", &"k".repeat(63)] {
            assert!(label_key(ok).is_ok(), "{ok}");
        }
        let long_prefix = format!("{}/x", "a".repeat(254));
        for bad in ["", "/x", "x/", "a/b/c", "-x", "x-", "bad key", "Example.com/x", &"k".repeat(64), &long_prefix] {
            assert!(label_key(bad).is_err(), "{bad}");
        }
        for ok in ["", "v1", "A-b_c.d", &"v".repeat(63)] {
            assert!(label_value(ok).is_ok(), "{ok}");
        }
        for bad in ["-v", "v.", "has space", "a/b", &"v".repeat(64)] {
            assert!(label_value(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cidrs() {
        assert_eq!(parse_ipv4_cidr("10.0.0.0/16").unwrap(), (Ipv4Addr::new(10, 0, 0, 0), 16));
        for ok in ["0.0.0.0/0", "192.168.1.1/32", "172.16.0.0/12"] {
            assert!(ipv4_cidr(ok).is_ok(), "{ok}");
        }
        for bad in ["10.0.0.0", "10.0.0.0/33", "10.0.0/8", "10.0.0.0/-1", "10.0.0.0/08", "::/0", "010.0.0.0/8", ""] {
            assert!(ipv4_cidr(bad).is_err(), "{bad}");
        }
        let err = ipv4_cidr("10.0.1.0/16").unwrap_err();
        assert!(err.contains("host bits") && err.contains("10.0.0.0/16"), "{err}");
        let a = parse_ipv4_cidr("10.0.0.0/16").unwrap();
        assert!(cidrs_overlap(a, parse_ipv4_cidr("10.0.128.0/24").unwrap()));
        assert!(cidrs_overlap(parse_ipv4_cidr("0.0.0.0/0").unwrap(), a));
        assert!(!cidrs_overlap(a, parse_ipv4_cidr("10.1.0.0/16").unwrap()));
    }

    #[test]
    fn kubernetes_versions() {
        assert_eq!(KubernetesVersion::parse("1.33").unwrap(), KubernetesVersion { minor: 33, patch: None });
        assert_eq!(KubernetesVersion::parse("1.33.2").unwrap(), KubernetesVersion { minor: 33, patch: Some(2) });
        assert_eq!(KubernetesVersion::parse("1.33.2").unwrap().to_string(), "1.33.2");
        for ok in ["1.28", "1.36.0", "1.30.14"] {
            assert!(kubernetes_version(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1", "2.30", "v1.30", "1.30.", "1.30.1.1", "1.030", "1.x", "1.30-eks"] {
            assert!(kubernetes_version(bad).is_err(), "{bad}");
        }
        let old = kubernetes_version(&format!("1.{}", MIN_KUBERNETES_MINOR - 1)).unwrap_err();
        assert!(old.contains("not supported"), "{old}");
        assert!(kubernetes_version(&format!("1.{}", MAX_KUBERNETES_MINOR + 1)).is_err());
    }

    #[test]
    fn env_names_config_keys_headers() {
        for ok in ["A", "_x", "DATABASE_URL", "a1"] {
            assert!(env_var_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1A", "BAD KEY", "A-B", "A.B"] {
            assert!(env_var_name(bad).is_err(), "{bad}");
        }
        for ok in ["a", "app.properties", "-x_y.z", ".env"] {
            assert!(config_key(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "a b", &"k".repeat(254)] {
            assert!(config_key(bad).is_err(), "{bad}");
        }
        for ok in ["x-canary", "user-agent", "x_a.b~"] {
            assert!(http_header_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "X-Canary", "a b", "a:b", "é"] {
            assert!(http_header_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn image_references() {
        let sha = "a".repeat(64);
        for ok in [
            "nginx".to_string(),
            "nginx:1.27".to_string(),
            "library/nginx:1.27-alpine".to_string(),
            "registry.example.com/org/app:v1.2.3".to_string(),
            "localhost:5000/app".to_string(),
            "registry.example:443/team/my_app__x/a--b:latest".to_string(),
            format!("nginx@sha256:{sha}"),
            format!("registry.example.com/org/app:1.0@sha256:{sha}"),
            "Registry.Example/app:1".to_string(),
        ] {
            assert!(image_reference(&ok).is_ok(), "{ok}");
        }
        for bad in [
            "".to_string(),
            "Nginx:1".to_string(),
            "nginx:".to_string(),
            "nginx:-1".to_string(),
            "nginx:1 2".to_string(),
            "app/".to_string(),
            "/app".to_string(),
            "a..b".to_string(),
            "a_-b".to_string(),
            "nginx@sha256:abc".to_string(),
            format!("nginx@sha256:{}", "A".repeat(64)),
            "host:notaport/app".to_string(),
            format!("nginx:{}", "t".repeat(129)),
            "nginx latest".to_string(),
        ] {
            assert!(image_reference(&bad).is_err(), "{bad}");
        }
    }
}
