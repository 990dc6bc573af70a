//! A local AWS for tests (features `aws` and `testing`): a real [moto](https://docs.getmoto.org) server
//! (EKS, EC2, IAM, STS, Cost Explorer), started on 127.0.0.1 with a free port and stopped when dropped.
//!
//! wooo's own suites run against it; host programs can too. AWS-managed IAM policies are loaded
//! (`MOTO_IAM_LOAD_MANAGED_POLICIES=true`), as the EKS roles attach them. Point the SDK at
//! [`Moto::endpoint`] (`AWS_ENDPOINT_URL`, or `EksBuilder::endpoint_url`).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto server; killed on drop.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    port: u16,
}

/// The access key the suites sign with (moto accepts any).
pub const ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
/// The secret key the suites sign with.
pub const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/// moto's default account id.
pub const ACCOUNT_ID: &str = "123456789012";

impl Moto {
    /// Finds `moto_server` on `PATH` or in the peers folder scripts/test.sh installs into
    /// (`$WOOO_PEERS_DIR/moto-venv/bin`) and starts it, or returns `None` (after a loud SKIPPING line) when it is
    /// not installed and `WOOO_REQUIRE_PEERS` is not 1.
    ///
    /// # Panics
    /// When moto is missing under `WOOO_REQUIRE_PEERS=1`, or does not answer within 30 s.
    pub fn start() -> Option<Self> {
        match find_program() {
            Some(program) => Some(Self::start_program(&program)),
            None => {
                assert!(
                    std::env::var("WOOO_REQUIRE_PEERS").as_deref() != Ok("1"),
                    "peer `moto_server` is missing and WOOO_REQUIRE_PEERS=1: run scripts/test.sh, which installs it"
                );
                eprintln!("SKIPPING: peer `moto_server` is not installed (scripts/test.sh installs it)");
                None
            }
        }
    }

    /// Starts the `moto_server` program at `program`.
    ///
    /// # Panics
    /// When it cannot be started or does not answer within 30 s (three tries on fresh ports).
    pub fn start_program(program: &Path) -> Self {
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port();
            let child = Command::new(program)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
            let mut moto = Moto { child, port };
            match moto.wait_ready(Duration::from_secs(30)) {
                Ok(()) => return moto,
                Err(e) => last = e,
            }
        }
        panic!("moto_server did not start: {last}");
    }

    /// The endpoint URL the SDKs point at (`AWS_ENDPOINT_URL`).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Sends a raw HTTP request to moto and returns the status code and body (for moto's own `/moto-api`).
    ///
    /// # Panics
    /// When moto cannot be reached.
    pub fn request(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        http_request(self.port, method, path, body).unwrap_or_else(|e| panic!("moto {method} {path}: {e}"))
    }

    /// Forgets every resource (moto's `/moto-api/reset`).
    pub fn reset(&self) {
        let (status, body) = self.request("POST", "/moto-api/reset", "");
        assert_eq!(status, 200, "moto reset: {body}");
    }

    fn wait_ready(&mut self, within: Duration) -> Result<(), String> {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("moto_server exited with {status}"));
            }
            if let Ok((200, _)) = http_request(self.port, "GET", "/moto-api/data.json", "") {
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return Err(format!("no answer on port {} within {within:?}", self.port));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_program() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    if let Some(peers) = std::env::var_os("WOOO_PEERS_DIR") {
        dirs.push(PathBuf::from(peers).join("moto-venv").join("bin"));
    }
    dirs.into_iter().map(|d| d.join("moto_server")).find(|p| p.is_file())
}

/// An AWS configuration for a local AWS at `endpoint` (moto, or a proxy in front of it): region `us-east-1`,
/// the static test credentials [`ACCESS_KEY`] / [`SECRET_KEY`], and wooo's HTTPS client (which also speaks
/// plain HTTP).
pub fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    let credentials = aws_credential_types::Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "wooo-testing");
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(credentials))
        .http_client(super::sdk::https_client())
        .build()
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// One HTTP/1.1 request over a fresh connection; the status code and the body.
fn http_request(port: u16, method: &str, path: &str, body: &str) -> Result<(u16, String), String> {
    let mut sock = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(30))).map_err(|e| e.to_string())?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    sock.write_all(head.as_bytes()).and_then(|()| sock.write_all(body.as_bytes())).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    sock.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(|| format!("no HTTP head in {text:?}"))?;
    let status =
        head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| format!("no status in {head:?}"))?;
    let body =
        if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(body) } else { body.to_string() };
    Ok((status, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else { break };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}
