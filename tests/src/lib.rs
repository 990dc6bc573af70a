//! Shared helpers of wooo's test suite.

use std::path::PathBuf;

#[cfg(feature = "azure")]
pub mod azure_arm;
pub mod discovery;
pub mod fault_proxy;
#[cfg(feature = "k3s")]
pub mod k3s_lab;
#[cfg(feature = "azure")]
pub mod openapi;

/// Finds an external peer program (a validator, a server) on `PATH` or in the peers folder the test script
/// installs into (`WOOO_PEERS_DIR`).
///
/// When it is missing, the test skips with a loud message, unless `WOOO_REQUIRE_PEERS=1` (set by the test
/// script and CI), where it panics: CI can never pass by skipping.
pub fn peer(program: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    if let Some(peers) = std::env::var_os("WOOO_PEERS_DIR") {
        let peers = PathBuf::from(peers);
        dirs.push(peers.join("bin"));
        dirs.push(peers.join("venv").join("bin"));
        dirs.push(peers.join("node_modules").join(".bin"));
    }
    if let Some(found) = dirs.into_iter().map(|d| d.join(program)).find(|p| p.is_file()) {
        return Some(found);
    }
    assert!(
        std::env::var("WOOO_REQUIRE_PEERS").as_deref() != Ok("1"),
        "peer `{program}` is missing and WOOO_REQUIRE_PEERS=1: run scripts/test.sh, which installs it"
    );
    eprintln!("SKIPPING: peer `{program}` is not installed (scripts/test.sh installs it)");
    None
}
