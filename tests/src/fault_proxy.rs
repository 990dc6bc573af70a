//! An HTTP proxy between an SDK and a peer server (moto) that fails a share of requests, before or after
//! forwarding them, and records every request's action.
//!
//! Before forwarding, a faulted request gets a 429 (throttling), a 500, or a dropped connection; after
//! forwarding (the effect happened on the peer), its answer is replaced by a 500 or a dropped connection. Each
//! response closes its connection, so every request is a new one. Faults are drawn from a seeded generator:
//! a run is repeatable for the same request sequence.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy did to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forwarded and answered.
    None,
    /// Answered 429 without forwarding.
    ThrottledBefore,
    /// Answered 500 without forwarding.
    ErrorBefore,
    /// Connection dropped without forwarding.
    ResetBefore,
    /// Forwarded, then answered 500 instead of the peer's answer.
    ErrorAfter,
    /// Forwarded, then the connection dropped instead of the peer's answer.
    ResetAfter,
}

impl Fault {
    /// Whether the peer saw the request.
    pub fn forwarded(self) -> bool {
        matches!(self, Fault::None | Fault::ErrorAfter | Fault::ResetAfter)
    }
}

/// One request through the proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The API action: `X-Amz-Target`'s operation, a query protocol's `Action`, or `METHOD /path` for REST
    /// APIs (EKS).
    pub action: String,
    /// What the proxy did.
    pub fault: Fault,
}

#[derive(Debug)]
struct Shared {
    upstream: SocketAddr,
    percent: u8,
    rng: fastrand::Rng,
    seen: Vec<Seen>,
}

/// A running proxy; it stops when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on 127.0.0.1 and forwards to `upstream`, faulting `percent` % of requests (half before, half
    /// after forwarding), drawn from `seed`.
    ///
    /// # Panics
    /// When it cannot listen.
    pub async fn start(upstream: SocketAddr, percent: u8, seed: u64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy listens");
        let addr = listener.local_addr().expect("proxy address");
        let shared = Arc::new(Mutex::new(Shared {
            upstream,
            percent: percent.min(100),
            rng: fastrand::Rng::with_seed(seed),
            seen: Vec::new(),
        }));
        let state = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(serve(sock, state.clone()));
            }
        });
        Self { addr, shared, task }
    }

    /// The URL to point the SDK at.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Changes the share of faulted requests from now on.
    pub fn set_percent(&self, percent: u8) {
        self.shared.lock().expect("proxy state").percent = percent.min(100);
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.lock().expect("proxy state").seen.clone()
    }

    /// Forgets the requests seen so far.
    pub fn clear(&self) {
        self.shared.lock().expect("proxy state").seen.clear();
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Whether an action changes something (anything but Describe*, List*, Get*, and `GET` on a REST API).
pub fn is_write(action: &str) -> bool {
    let op = action.rsplit('.').next().unwrap_or(action);
    !(op.starts_with("Describe") || op.starts_with("List") || op.starts_with("Get") || action.starts_with("GET "))
}

async fn serve(mut client: TcpStream, shared: Arc<Mutex<Shared>>) {
    let Some(request) = read_request(&mut client).await else { return };
    let action = action_of(&request);
    let (fault, upstream) = {
        let mut s = shared.lock().expect("proxy state");
        let roll = s.rng.u8(0..100);
        let fault = if roll >= s.percent {
            Fault::None
        } else {
            match s.rng.u8(0..5) {
                0 => Fault::ThrottledBefore,
                1 => Fault::ErrorBefore,
                2 => Fault::ResetBefore,
                3 => Fault::ErrorAfter,
                _ => Fault::ResetAfter,
            }
        };
        s.seen.push(Seen { action, fault });
        (fault, s.upstream)
    };
    match fault {
        Fault::ThrottledBefore => {
            let body = r#"{"__type":"ThrottlingException","message":"Rate exceeded (fault proxy)"}"#;
            respond(&mut client, 429, body).await;
        }
        Fault::ErrorBefore => respond(&mut client, 500, "internal error (fault proxy)").await,
        Fault::ResetBefore => {}
        Fault::None | Fault::ErrorAfter | Fault::ResetAfter => {
            let Some(answer) = forward(upstream, &request).await else { return };
            match fault {
                Fault::None => {
                    let _ = client.write_all(&answer).await;
                }
                Fault::ErrorAfter => respond(&mut client, 500, "internal error after the effect (fault proxy)").await,
                _ => {}
            }
        }
    }
    let _ = client.shutdown().await;
}

async fn respond(client: &mut TcpStream, status: u16, body: &str) {
    let reason = if status == 429 { "Too Many Requests" } else { "Internal Server Error" };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = client.write_all(head.as_bytes()).await;
    let _ = client.write_all(body.as_bytes()).await;
}

/// A whole request: head and body (by content-length, or chunked to its last chunk).
async fn read_request(sock: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length =
        head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse::<usize>().ok());
    let chunked = head.contains("transfer-encoding: chunked");
    loop {
        let body = &buf[head_end..];
        let complete = match length {
            Some(n) => body.len() >= n,
            None if chunked => find(body, b"0\r\n\r\n").is_some(),
            None => true,
        };
        if complete {
            return Some(buf);
        }
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Sends the request upstream on a fresh connection that closes after the answer; the raw answer.
async fn forward(upstream: SocketAddr, request: &[u8]) -> Option<Vec<u8>> {
    let head_end = find(request, b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&request[..head_end]);
    let mut rewritten = String::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        if line.to_ascii_lowercase().starts_with("connection:") {
            continue;
        }
        rewritten.push_str(line);
        rewritten.push_str("\r\n");
    }
    rewritten.push_str("connection: close\r\n\r\n");
    let mut up = TcpStream::connect(upstream).await.ok()?;
    up.write_all(rewritten.as_bytes()).await.ok()?;
    up.write_all(&request[head_end..]).await.ok()?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer).await.ok()?;
    (!answer.is_empty()).then_some(answer)
}

fn action_of(request: &[u8]) -> String {
    let text = String::from_utf8_lossy(request);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    if let Some(target) = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("x-amz-target").then(|| value.trim().to_string())
    }) {
        return target.rsplit('.').next().unwrap_or(&target).to_string();
    }
    let request_line = head.lines().next().unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or_default();
    for pairs in [body, query] {
        if let Some(action) = pairs.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
            return action.to_string();
        }
    }
    let path = target.split('?').next().unwrap_or(target);
    format!("{method} {path}")
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
