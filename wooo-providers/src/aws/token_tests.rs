//! Tests of the EKS bearer token: its format, its signature recomputed from the SigV4 specification, the
//! source's caching, a real STS (moto) accepting it, and a kube client sending it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};
use base64::Engine as _;
use wooo_core::ErrorKind;

use super::*;

const AKID: &str = "AKIDEXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const SESSION: &str = "FwoGZXIvYXdzE+session/token==";
const REGION: &str = "eu-west-1";
const CLUSTER: &str = "prod-eu";
/// 2024-01-02T03:04:05Z.
const T0: u64 = 1_704_164_645;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn creds(session: Option<&str>) -> Credentials {
    Credentials::new(AKID, SECRET, session.map(str::to_string), None, "test")
}

/// A decoded token: the URL's `scheme://host`, its path, and its query parameters (percent-decoded).
#[derive(Debug)]
struct Decoded {
    origin: String,
    host: String,
    path: String,
    params: BTreeMap<String, String>,
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("percent escape");
                out.push(u8::from_str_radix(hex, 16).expect("hex escape"));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).expect("utf-8")
}

fn decode(token: &str) -> Decoded {
    let encoded = token.strip_prefix(TOKEN_PREFIX).unwrap_or_else(|| panic!("no {TOKEN_PREFIX} prefix: {token}"));
    assert!(!encoded.contains('='), "padding in {token}");
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded).expect("base64url without padding");
    let url = String::from_utf8(url).expect("utf-8 URL");
    let (scheme, rest) = url.split_once("://").expect("scheme");
    let (host, rest) = rest.split_once('/').expect("path");
    let (path, query) = rest.split_once('?').expect("query");
    let mut params = BTreeMap::new();
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').expect("key=value");
        assert!(params.insert(percent_decode(k), percent_decode(v)).is_none(), "{k} twice in {url}");
    }
    Decoded { origin: format!("{scheme}://{host}"), host: host.to_string(), path: format!("/{path}"), params }
}

fn param<'a>(d: &'a Decoded, key: &str) -> &'a str {
    d.params.get(key).unwrap_or_else(|| panic!("no {key} in {d:?}"))
}

#[test]
fn the_token_is_a_presigned_get_caller_identity_url() {
    let token =
        presign_token(&creds(Some(SESSION)), REGION, CLUSTER, &default_sts_endpoint(REGION), at(T0)).expect("token");
    let d = decode(token.expose());
    assert_eq!(d.origin, "https://sts.eu-west-1.amazonaws.com");
    assert_eq!(d.path, "/");
    assert_eq!(param(&d, "Action"), "GetCallerIdentity");
    assert_eq!(param(&d, "Version"), "2011-06-15");
    assert_eq!(param(&d, "X-Amz-Algorithm"), "AWS4-HMAC-SHA256");
    assert_eq!(param(&d, "X-Amz-Credential"), "AKIDEXAMPLE/20240102/eu-west-1/sts/aws4_request");
    assert_eq!(param(&d, "X-Amz-Date"), "20240102T030405Z");
    assert_eq!(param(&d, "X-Amz-Expires"), "60");
    assert_eq!(param(&d, "X-Amz-SignedHeaders"), "host;x-k8s-aws-id");
    assert_eq!(param(&d, "X-Amz-Security-Token"), SESSION);
    let signature = param(&d, "X-Amz-Signature");
    assert_eq!(signature.len(), 64, "{signature}");
    assert!(signature.bytes().all(|b| b.is_ascii_hexdigit()), "{signature}");
    let keys: Vec<&str> = d.params.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "Action",
            "Version",
            "X-Amz-Algorithm",
            "X-Amz-Credential",
            "X-Amz-Date",
            "X-Amz-Expires",
            "X-Amz-Security-Token",
            "X-Amz-Signature",
            "X-Amz-SignedHeaders"
        ],
        "only the parameters aws-iam-authenticator allows"
    );
}

#[test]
fn without_a_session_token_there_is_no_security_token() {
    let token =
        presign_token(&creds(None), "us-east-2", CLUSTER, &default_sts_endpoint("us-east-2"), at(T0)).expect("token");
    let d = decode(token.expose());
    assert_eq!(d.origin, "https://sts.us-east-2.amazonaws.com");
    assert_eq!(param(&d, "X-Amz-Credential"), "AKIDEXAMPLE/20240102/us-east-2/sts/aws4_request");
    assert!(!d.params.contains_key("X-Amz-Security-Token"), "{d:?}");
    assert!(!token.expose().contains('='));
}

#[test]
fn the_default_endpoint_is_regional_and_an_override_is_normalized_or_refused() {
    assert_eq!(default_sts_endpoint("cn-north-1"), "https://sts.cn-north-1.amazonaws.com.cn/");
    for endpoint in ["http://127.0.0.1:5000", "http://127.0.0.1:5000/"] {
        let token = presign_token(&creds(None), REGION, CLUSTER, endpoint, at(T0)).expect("token");
        let d = decode(token.expose());
        assert_eq!((d.origin.as_str(), d.path.as_str()), ("http://127.0.0.1:5000", "/"), "{endpoint}");
    }
    for bad in ["ftp://sts.example.com/", "https://sts.example.com/path", "https://sts.example.com/?x=1", "nope"] {
        let err = presign_token(&creds(None), REGION, CLUSTER, bad, at(T0)).expect_err(bad);
        assert_eq!(err.violations()[0].field, "sts_endpoint", "{bad}: {err}");
        let provider = SharedCredentialsProvider::new(creds(None));
        let Err(err) = EksTokenSource::new(provider, REGION, CLUSTER).with_sts_endpoint(bad) else {
            panic!("{bad} accepted")
        };
        assert_eq!(err.kind(), ErrorKind::InvalidSpec, "{bad}");
    }
}

#[test]
fn a_cluster_name_that_is_no_header_value_is_an_invalid_spec() {
    let err = presign_token(&creds(None), REGION, "bad\nname", &default_sts_endpoint(REGION), at(T0))
        .expect_err("a newline cannot be signed into a header");
    assert_eq!(err.kind(), ErrorKind::InvalidSpec, "{err}");
}

// --- SigV4, recomputed from the specification -------------------------------------------------------------

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_hex(data: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, data).as_ref())
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key), data).as_ref().to_vec()
}

/// SigV4's URI encoding: every byte but the unreserved `A-Z a-z 0-9 - _ . ~` as `%XX` (upper-case hex).
fn uri_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The signature of the presigned `GET /` that `d` is, for `cluster` and `secret`, computed step by step as
/// the SigV4 documentation describes it: canonical request, string to sign, derived key, HMAC.
fn expected_signature(d: &Decoded, cluster: &str, secret: &str) -> String {
    let mut query: Vec<(String, String)> = d
        .params
        .iter()
        .filter(|(k, _)| k.as_str() != "X-Amz-Signature")
        .map(|(k, v)| (uri_encode(k), uri_encode(v)))
        .collect();
    query.sort();
    let query: Vec<String> = query.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    let canonical_request = format!(
        "GET\n/\n{}\nhost:{}\nx-k8s-aws-id:{cluster}\n\nhost;x-k8s-aws-id\n{}",
        query.join("&"),
        d.host,
        sha256_hex(b"")
    );
    let amz_date = param(d, "X-Amz-Date");
    let scope = param(d, "X-Amz-Credential").split_once('/').expect("credential scope").1;
    let string_to_sign = format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", sha256_hex(canonical_request.as_bytes()));
    let parts: Vec<&str> = scope.split('/').collect();
    let (date, region, service) = (parts[0], parts[1], parts[2]);
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    hex(&hmac(&k_signing, string_to_sign.as_bytes()))
}

#[test]
fn the_signature_matches_sigv4_recomputed_from_the_specification() {
    for (session, endpoint) in [
        (Some(SESSION), default_sts_endpoint(REGION)),
        (None, default_sts_endpoint(REGION)),
        (None, "http://127.0.0.1:4566/".into()),
    ] {
        let token = presign_token(&creds(session), REGION, CLUSTER, &endpoint, at(T0)).expect("token");
        let d = decode(token.expose());
        assert_eq!(param(&d, "X-Amz-Signature"), expected_signature(&d, CLUSTER, SECRET), "{session:?} {endpoint}");
        // The same computation with another secret disagrees: the check can fail.
        assert_ne!(param(&d, "X-Amz-Signature"), expected_signature(&d, CLUSTER, "another-secret"));
    }
}

#[test]
fn the_cluster_name_is_signed() {
    let endpoint = default_sts_endpoint(REGION);
    let a = decode(presign_token(&creds(None), REGION, "cluster-a", &endpoint, at(T0)).expect("a").expose());
    let b = decode(presign_token(&creds(None), REGION, "cluster-b", &endpoint, at(T0)).expect("b").expose());
    let mut unsigned_a = a.params.clone();
    let mut unsigned_b = b.params.clone();
    unsigned_a.remove("X-Amz-Signature");
    unsigned_b.remove("X-Amz-Signature");
    assert_eq!(unsigned_a, unsigned_b, "the URLs differ only in their signature");
    assert_ne!(param(&a, "X-Amz-Signature"), param(&b, "X-Amz-Signature"));
    // A's URL presented for cluster B does not verify.
    assert_eq!(param(&a, "X-Amz-Signature"), expected_signature(&a, "cluster-a", SECRET));
    assert_ne!(param(&a, "X-Amz-Signature"), expected_signature(&a, "cluster-b", SECRET));
}

#[test]
fn presigning_is_deterministic() {
    let endpoint = default_sts_endpoint(REGION);
    let one = presign_token(&creds(Some(SESSION)), REGION, CLUSTER, &endpoint, at(T0)).expect("one");
    let two = presign_token(&creds(Some(SESSION)), REGION, CLUSTER, &endpoint, at(T0)).expect("two");
    let later = presign_token(&creds(Some(SESSION)), REGION, CLUSTER, &endpoint, at(T0 + 1)).expect("later");
    assert_eq!(one, two);
    assert_ne!(one, later);
}

// --- The source ------------------------------------------------------------------------------------------

/// A settable clock (seconds since the epoch).
#[derive(Clone)]
struct TestClock(Arc<AtomicU64>);

impl TestClock {
    fn new(secs: u64) -> Self {
        Self(Arc::new(AtomicU64::new(secs)))
    }
    fn set(&self, secs: u64) {
        self.0.store(secs, Ordering::SeqCst);
    }
    fn reader(&self) -> impl Fn() -> SystemTime + Send + Sync + 'static {
        let secs = Arc::clone(&self.0);
        move || at(secs.load(Ordering::SeqCst))
    }
}

/// A provider giving `AKID1`, `AKID2`, … (one per call), each expiring `lifetime` after the clock's now (never
/// when `None`), and counting its calls.
#[derive(Debug)]
struct Rotating {
    calls: Arc<AtomicUsize>,
    clock: Arc<AtomicU64>,
    lifetime: Option<Duration>,
}

impl ProvideCredentials for Rotating {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let now = at(self.clock.load(Ordering::SeqCst));
        let expiry = self.lifetime.map(|l| now + l);
        future::ProvideCredentials::ready(Ok(Credentials::new(
            format!("AKID{n}"),
            SECRET,
            Some(SESSION.to_string()),
            expiry,
            "rotating",
        )))
    }
}

fn rotating_source(clock: &TestClock, lifetime: Option<Duration>) -> (EksTokenSource, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let provider = Rotating { calls: Arc::clone(&calls), clock: Arc::clone(&clock.0), lifetime };
    let source =
        EksTokenSource::new(SharedCredentialsProvider::new(provider), REGION, CLUSTER).with_clock(clock.reader());
    (source, calls)
}

#[tokio::test]
async fn the_source_caches_within_the_window_and_refreshes_after_it() {
    let clock = TestClock::new(T0);
    let (source, calls) = rotating_source(&clock, None);
    let first = source.token().await.expect("first");
    assert_eq!(param(&decode(first.expose()), "X-Amz-Date"), "20240102T030405Z");
    clock.set(T0 + 14 * 60 - 1);
    assert_eq!(source.token().await.expect("cached"), first, "reused within 14 minutes");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "no credentials asked for a cached token");
    clock.set(T0 + 14 * 60);
    let second = source.token().await.expect("refreshed");
    assert_ne!(second, first, "made anew one minute before the 15 minutes the server allows");
    let d = decode(second.expose());
    assert_eq!(param(&d, "X-Amz-Date"), "20240102T031805Z");
    assert_eq!(param(&d, "X-Amz-Credential"), "AKID2/20240102/eu-west-1/sts/aws4_request");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(source.token().await.expect("cached again"), second);
}

#[tokio::test]
async fn the_source_refreshes_early_when_the_credentials_expire_first() {
    let clock = TestClock::new(T0);
    let (source, calls) = rotating_source(&clock, Some(Duration::from_secs(5 * 60)));
    let first = source.token().await.expect("first");
    clock.set(T0 + 4 * 60 - 1);
    assert_eq!(source.token().await.expect("cached"), first);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // One minute before the credentials expire (long before the token's own 14 minutes).
    clock.set(T0 + 4 * 60);
    let second = source.token().await.expect("refreshed");
    assert_ne!(second, first);
    assert_eq!(param(&decode(second.expose()), "X-Amz-Credential"), "AKID2/20240102/eu-west-1/sts/aws4_request");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn credentials_about_to_expire_are_not_cached() {
    let clock = TestClock::new(T0);
    let (source, calls) = rotating_source(&clock, Some(Duration::from_secs(30)));
    let first = source.token().await.expect("first");
    let second = source.token().await.expect("second");
    assert_eq!(calls.load(Ordering::SeqCst), 2, "a token of credentials expiring within the margin is not reused");
    assert_ne!(first, second, "signed with the new credentials");
}

#[derive(Debug)]
struct NoCredentials;

impl ProvideCredentials for NoCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::ready(Err(CredentialsError::not_loaded("no profile named `prod`")))
    }
}

#[tokio::test]
async fn missing_credentials_are_unauthenticated() {
    let source = EksTokenSource::new(SharedCredentialsProvider::new(NoCredentials), REGION, CLUSTER);
    let err = source.token().await.expect_err("no credentials");
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    assert!(err.to_string().contains("no profile named `prod`"), "{err}");
    assert!(err.to_string().contains(CLUSTER), "{err}");
}

#[tokio::test]
async fn debug_shows_no_secret() {
    let provider = SharedCredentialsProvider::new(creds(Some(SESSION)));
    let source = EksTokenSource::new(provider, REGION, CLUSTER).with_clock(|| at(T0));
    let token = source.token().await.expect("token");
    let debug = format!("{source:?}");
    assert!(debug.contains(CLUSTER) && debug.contains(REGION), "{debug}");
    for secret in [SECRET, SESSION, token.expose(), &token.expose()[TOKEN_PREFIX.len()..]] {
        assert!(!debug.contains(secret), "{debug} shows a secret");
    }
    assert!(!debug.contains("k8s-aws-v1"), "{debug}");
}

// --- Over the network --------------------------------------------------------------------------------------

/// Sends one HTTP/1.1 request to `127.0.0.1:port` over a fresh connection and returns the raw response.
async fn raw_http(port: u16, request: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut sock = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.expect("connect");
    sock.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), sock.read_to_end(&mut raw))
        .await
        .expect("an answer within 30 s")
        .expect("read");
    String::from_utf8_lossy(&raw).into_owned()
}

/// moto's STS answers the presigned URL, sent as aws-iam-authenticator's verifier sends it (a GET of the URL
/// with the `x-k8s-aws-id` header). moto picks the service of a request from the credential scope of its
/// `Authorization` header and sends requests without one to S3, so the scope of the URL's `X-Amz-Credential` is
/// repeated there as a routing hint; moto checks no signature (the signature tests above do).
#[cfg(feature = "testing")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_sts_answers_the_presigned_url() {
    let Some(moto) = crate::aws::testing::Moto::start() else { return };
    let provider = SharedCredentialsProvider::new(Credentials::new(
        crate::aws::testing::ACCESS_KEY,
        crate::aws::testing::SECRET_KEY,
        None,
        None,
        "moto",
    ));
    let source = EksTokenSource::new(provider, "us-east-1", CLUSTER)
        .with_sts_endpoint(format!("{}/", moto.endpoint()))
        .expect("endpoint");
    let token = source.token().await.expect("token");
    let d = decode(token.expose());
    assert_eq!(d.origin, moto.endpoint());
    let query: Vec<String> = d.params.iter().map(|(k, v)| format!("{}={}", uri_encode(k), uri_encode(v))).collect();
    assert!(param(&d, "X-Amz-Credential").ends_with("/us-east-1/sts/aws4_request"), "{d:?}");
    let routing = format!(
        "AWS4-HMAC-SHA256 Credential={}, SignedHeaders={}, Signature={}",
        param(&d, "X-Amz-Credential"),
        param(&d, "X-Amz-SignedHeaders"),
        param(&d, "X-Amz-Signature")
    );
    let request = format!(
        "GET /?{} HTTP/1.1\r\nhost: {}\r\n{CLUSTER_ID_HEADER}: {CLUSTER}\r\nauthorization: {routing}\r\n\
         connection: close\r\n\r\n",
        query.join("&"),
        d.host
    );
    let response = raw_http(moto.port(), request).await;
    let status = response.split_whitespace().nth(1).unwrap_or_default();
    assert_eq!(status, "200", "{response}");
    assert!(response.contains("GetCallerIdentityResponse"), "{response}");
    assert!(response.contains(crate::aws::testing::ACCOUNT_ID), "{response}");
}

/// Serves `n` HTTP requests (one per connection) with `body`, returning their heads.
async fn serve(listener: tokio::net::TcpListener, n: usize, body: &'static str) -> Vec<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut heads = Vec::new();
    for _ in 0..n {
        let (mut sock, _) = listener.accept().await.expect("accept");
        let mut buf = vec![0u8; 16384];
        let mut head = String::new();
        while !head.contains("\r\n\r\n") {
            let read = sock.read(&mut buf).await.expect("read");
            assert!(read > 0, "client closed early");
            head.push_str(&String::from_utf8_lossy(&buf[..read]));
        }
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        sock.write_all(response.as_bytes()).await.expect("write");
        heads.push(head);
    }
    heads
}

/// The bearer token of a request head.
fn bearer(head: &str) -> String {
    head.lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("authorization").then(|| value.trim().to_string())
        })
        .and_then(|v| v.strip_prefix("Bearer ").map(str::to_string))
        .unwrap_or_else(|| panic!("no bearer token in {head}"))
}

#[tokio::test]
async fn a_token_source_client_sends_a_fresh_eks_token() {
    use wooo_core::model::{ClusterAccess, ClusterAuth, ClusterId};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let version = r#"{"major":"1","minor":"33","gitVersion":"v1.33.2","gitCommit":"","gitTreeState":"clean","buildDate":"2025-06-17T00:00:00Z","goVersion":"go1.24","compiler":"gc","platform":"linux/amd64"}"#;
    let server = tokio::spawn(serve(listener, 2, version));
    let clock = TestClock::new(T0);
    let (source, _calls) = rotating_source(&clock, None);
    let access = ClusterAccess {
        cluster: ClusterId::new(CLUSTER),
        endpoint: format!("http://{addr}"),
        ca_data: None,
        auth: ClusterAuth::Exec { command: "aws".into(), args: vec!["eks".into(), "get-token".into()], env: vec![] },
    };
    let client = crate::kube::client_with_token_source(&access, Arc::new(source)).await.expect("client");
    assert_eq!(client.apiserver_version().await.expect("first").git_version, "v1.33.2");
    clock.set(T0 + 15 * 60);
    client.apiserver_version().await.expect("second");
    let heads = server.await.expect("server");
    let (first, second) = (bearer(&heads[0]), bearer(&heads[1]));
    assert!(first.starts_with(TOKEN_PREFIX) && second.starts_with(TOKEN_PREFIX), "{heads:?}");
    assert_ne!(first, second, "the second request carries the token made after the window");
    assert_eq!(param(&decode(&first), "X-Amz-Date"), "20240102T030405Z");
    assert_eq!(param(&decode(&second), "X-Amz-Date"), "20240102T031905Z");
    let d = decode(&second);
    assert_eq!(param(&d, "X-Amz-Signature"), expected_signature(&d, CLUSTER, SECRET));
}
