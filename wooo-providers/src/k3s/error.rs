//! Error classification of the K3s provider, once: SSH failures and remote commands that failed.

use std::fmt;

use wooo_core::Error;
use wooo_core::model::SecretString;

/// The provider name in errors.
pub(crate) const PROVIDER: &str = "k3s";

/// What stands in for a secret in output that reaches an error.
const REDACTED: &str = "<redacted>";
/// How much of a command's output an error keeps (the end, where the reason usually is).
const KEEP: usize = 4000;

/// A remote command that failed: the source of the [`Error::Provider`] it becomes. Its fields say which host,
/// which command (its description: never a secret), the exit status and what the command printed (secrets
/// the session knows replaced by `<redacted>`; the output of commands that print secrets withheld).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandFailed {
    /// The host (its inventory name).
    pub host: String,
    /// What ran.
    pub command: String,
    /// The exit status; `None` when the command died of a signal or the channel closed without one.
    pub exit_status: Option<u32>,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl fmt::Display for CommandFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "host {}: `{}` ", self.host, self.command)?;
        match self.exit_status {
            Some(status) => write!(f, "exited with status {status}")?,
            None => write!(f, "ended without an exit status")?,
        }
        write!(f, "; stderr: {}", quoted(&self.stderr))?;
        if !self.stdout.trim().is_empty() {
            write!(f, "; stdout: {}", quoted(&self.stdout))?;
        }
        Ok(())
    }
}

impl std::error::Error for CommandFailed {}

fn quoted(s: &str) -> String {
    let t = s.trim();
    if t.is_empty() { "(empty)".to_string() } else { format!("{t:?}") }
}

impl CommandFailed {
    /// The error a failed command becomes.
    pub(crate) fn into_error(self) -> Error {
        Error::Provider { provider: PROVIDER, message: self.to_string(), source: Some(Box::new(self)) }
    }
}

/// `text` with every secret replaced by `<redacted>`, cut to its last [`KEEP`] characters.
pub(crate) fn redact(text: &str, secrets: &[SecretString]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().map(SecretString::expose).filter(|s| !s.is_empty()) {
        out = out.replace(s, REDACTED);
    }
    let chars = out.chars().count();
    if chars > KEEP {
        let tail: String = out.chars().skip(chars - KEEP).collect();
        out = format!("…{tail}");
    }
    out
}

/// An SSH failure (connecting, authenticating, a channel) on `host`.
pub(crate) fn ssh(host: &str, doing: &str, e: russh::Error) -> Error {
    use russh::Error as E;
    let message = format!("host {host}: {doing}: {e}");
    let source = Some(Box::new(e) as wooo_core::error::BoxError);
    match source.as_deref().and_then(|s| s.downcast_ref::<E>()) {
        Some(E::ConnectionTimeout | E::Disconnect | E::HUP | E::IO(_) | E::KeepaliveTimeout | E::InactivityTimeout) => {
            Error::Transient { provider: PROVIDER, message, source }
        }
        Some(E::NotAuthenticated | E::NoAuthMethod) => Error::Unauthenticated { provider: PROVIDER, message, source },
        _ => Error::Provider { provider: PROVIDER, message, source },
    }
}

/// A host whose key is not trusted: never connected to.
pub(crate) fn host_key(host: &str, why: &str) -> Error {
    Error::Unauthenticated {
        provider: PROVIDER,
        message: format!("host {host}: host key refused: {why}"),
        source: None,
    }
}

/// A host that refused every credential offered.
pub(crate) fn auth(host: &str, user: &str, why: &str) -> Error {
    Error::Unauthenticated { provider: PROVIDER, message: format!("host {host}: user {user}: {why}"), source: None }
}

/// A local file wooo needs and could not read (a key, an air-gap binary).
pub(crate) fn local_file(field: &str, path: &std::path::Path, e: impl fmt::Display) -> Error {
    Error::invalid_spec(field, format!("cannot read {}: {e}", path.display()))
}
