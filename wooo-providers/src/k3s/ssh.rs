//! SSH to the hosts, in pure Rust (russh on ring): host-key verification, authentication, remote commands with
//! their exit status, output and `sudo`, and uploads through a command's standard input (no SFTP needed).
//!
//! Host keys: a host's pinned fingerprint, when the inventory has one, is the only key accepted. Otherwise the
//! key must be in the known_hosts file; a key that differs from the recorded one of its type is refused, and a
//! host known_hosts does not list is refused unless the inventory accepts new keys (then its key is recorded).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use russh::{ChannelMsg, Disconnect};
use wooo_core::Result;
use wooo_core::model::SecretString;

use super::error::{self, CommandFailed};
use super::spec::{HostSpec, SshAuth, Sudo};

/// Where host keys are checked.
#[derive(Debug, Clone)]
pub(crate) struct HostKeyPolicy {
    /// The known_hosts file.
    pub known_hosts: PathBuf,
    /// Whether the key of a host known_hosts does not list is accepted (and recorded).
    pub accept_new: bool,
}

/// One remote command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Remote {
    /// What it does, in errors and progress. Never holds a secret.
    pub what: String,
    /// The shell script (run by `sh -c`). Never holds a secret: secrets travel in uploaded files.
    pub script: String,
    /// Whether it needs root.
    pub sudo: bool,
    /// Whether its output holds secrets (a token, a config file, a kubeconfig): then a failure's error
    /// withholds its standard output.
    pub secret_output: bool,
}

impl Remote {
    /// A command run as root.
    pub(crate) fn root(what: impl Into<String>, script: impl Into<String>) -> Self {
        Self { what: what.into(), script: script.into(), sudo: true, secret_output: false }
    }

    /// The same, its output secret.
    pub(crate) fn secret(mut self) -> Self {
        self.secret_output = true;
        self
    }
}

/// What a command that succeeded printed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Output {
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Quotes `s` for `sh`.
pub(crate) fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// How a command is wrapped for `sudo`, and what goes on its standard input.
pub(crate) fn wrap(script: &str, sudo: Option<&Sudo>) -> (String, Option<String>) {
    let sh = format!("sh -c {}", quote(script));
    match sudo {
        None => (sh, None),
        Some(Sudo::Passwordless) => (format!("sudo -n -- {sh}"), None),
        // -k: never a cached credential, so sudo always reads the password line and nothing else of stdin
        // reaches the command; -p '': no prompt in the output.
        Some(Sudo::Password(p)) => (format!("sudo -S -k -p '' -- {sh}"), Some(format!("{}\n", p.expose()))),
    }
}

/// Verifies the server's key during the key exchange and keeps why it refused one.
struct Verifier {
    host: String,
    address: String,
    port: u16,
    pin: Option<String>,
    policy: HostKeyPolicy,
    refusal: Arc<Mutex<Option<String>>>,
}

/// What the host key check decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyVerdict {
    /// Trusted.
    Trusted,
    /// Not known yet: record it (the inventory accepts new keys).
    Learn,
    /// Refused, and why.
    Refused(String),
}

/// The host key decision over what known_hosts lists for the host (pure).
pub(crate) fn verdict(
    key: &PublicKey,
    pin: Option<&str>,
    known: &[(usize, PublicKey)],
    accept_new: bool,
) -> KeyVerdict {
    let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
    if let Some(pin) = pin {
        return if fingerprint == pin {
            KeyVerdict::Trusted
        } else {
            KeyVerdict::Refused(format!("the host presented {fingerprint}, not the pinned {pin}"))
        };
    }
    if known.iter().any(|(_, k)| k == key) {
        return KeyVerdict::Trusted;
    }
    if let Some((line, _)) = known.iter().find(|(_, k)| k.algorithm() == key.algorithm()) {
        return KeyVerdict::Refused(format!(
            "the host presented {fingerprint}, which differs from the {} key on line {line} of known_hosts: \
             the host key CHANGED (a reinstalled host or someone in between); check it, then fix known_hosts",
            key.algorithm()
        ));
    }
    if !known.is_empty() {
        return KeyVerdict::Refused(format!(
            "known_hosts lists other key types for this host, not the {} key {fingerprint} it presented",
            key.algorithm()
        ));
    }
    if accept_new {
        KeyVerdict::Learn
    } else {
        KeyVerdict::Refused(format!(
            "the host is not in known_hosts (it presented {fingerprint}); add it there, pin it as the host's \
             `host_key`, or set `ssh.accept_new_host_keys`"
        ))
    }
}

impl client::Handler for Verifier {
    type Error = russh::Error;

    async fn check_server_key(&mut self, key: &PublicKeyOrCertificate) -> std::result::Result<bool, Self::Error> {
        let refuse = |why: String| {
            *self.refusal.lock().expect("not poisoned") = Some(why);
            Ok(false)
        };
        let PublicKeyOrCertificate::PublicKey { key, .. } = key else {
            return refuse("the host presented a certificate; pin or record its plain host key instead".into());
        };
        let known =
            match russh::keys::known_hosts::known_host_keys_path(&self.address, self.port, &self.policy.known_hosts) {
                Ok(known) => known,
                Err(e) => return refuse(format!("cannot read {}: {e}", self.policy.known_hosts.display())),
            };
        match verdict(key, self.pin.as_deref(), &known, self.policy.accept_new) {
            KeyVerdict::Trusted => Ok(true),
            KeyVerdict::Learn => {
                match russh::keys::known_hosts::learn_known_hosts_path(
                    &self.address,
                    self.port,
                    key,
                    &self.policy.known_hosts,
                ) {
                    Ok(()) => {
                        tracing::info!(host = %self.host, fingerprint = %key.fingerprint(HashAlg::Sha256), "recorded a new host key");
                        Ok(true)
                    }
                    Err(e) => refuse(format!("cannot record its key in {}: {e}", self.policy.known_hosts.display())),
                }
            }
            KeyVerdict::Refused(why) => refuse(why),
        }
    }
}

/// An authenticated SSH connection to one host.
pub(crate) struct Session {
    handle: Handle<Verifier>,
    host: String,
    sudo: Option<Sudo>,
    secrets: Vec<SecretString>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("host", &self.host).finish_non_exhaustive()
    }
}

impl Session {
    /// Connects to `host`, checks its key, and authenticates. `secrets` are scrubbed from any output that
    /// reaches an error.
    ///
    /// # Errors
    /// `Unauthenticated` for a refused host key or refused credentials (the connection is dropped before any
    /// credential is offered to a host whose key is refused); `Transient` when the host cannot be reached;
    /// `InvalidSpec` for an unreadable key file.
    pub(crate) async fn connect(
        host: &HostSpec,
        policy: &HostKeyPolicy,
        timeout: Duration,
        mut secrets: Vec<SecretString>,
    ) -> Result<Session> {
        let refusal = Arc::new(Mutex::new(None));
        let verifier = Verifier {
            host: host.name.clone(),
            address: host.address.clone(),
            port: host.port,
            pin: host.host_key.clone(),
            policy: policy.clone(),
            refusal: refusal.clone(),
        };
        let config = Arc::new(client::Config {
            inactivity_timeout: Some(Duration::from_secs(30 * 60)),
            keepalive_interval: Some(Duration::from_secs(15)),
            ..Default::default()
        });
        let address = (host.address.as_str(), host.port);
        let connecting = client::connect(config, address, verifier);
        let mut handle = match tokio::time::timeout(timeout, connecting).await {
            Err(_) => {
                return Err(wooo_core::Error::Transient {
                    provider: error::PROVIDER,
                    message: format!(
                        "host {}: no SSH connection to {}:{} within {timeout:?}",
                        host.name, host.address, host.port
                    ),
                    source: None,
                });
            }
            Ok(Err(e)) => {
                if let Some(why) = refusal.lock().expect("not poisoned").take() {
                    return Err(error::host_key(&host.name, &why));
                }
                return Err(error::ssh(&host.name, &format!("connecting to {}:{}", host.address, host.port), e));
            }
            Ok(Ok(handle)) => handle,
        };
        authenticate(&mut handle, host).await?;
        let sudo = (host.user != "root").then(|| host.sudo.clone());
        if let Sudo::Password(p) = &host.sudo {
            secrets.push(p.clone());
        }
        Ok(Session { handle, host: host.name.clone(), sudo, secrets })
    }

    /// The host's inventory name.
    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    /// Adds a secret to scrub from output (the join token, once read).
    pub(crate) fn add_secret(&mut self, secret: SecretString) {
        self.secrets.push(secret);
    }

    /// Runs `cmd` and returns its output.
    ///
    /// # Errors
    /// `Provider` with a [`CommandFailed`] source (host, command, exit status, standard error and, unless the
    /// command prints secrets, standard output) when it exits non-zero; SSH failures as classified.
    pub(crate) async fn run(&self, cmd: &Remote) -> Result<Output> {
        let sudo = if cmd.sudo { self.sudo.as_ref() } else { None };
        let (line, stdin) = wrap(&cmd.script, sudo);
        let (status, stdout, stderr) = self.exec(&line, stdin.map(String::into_bytes), &cmd.what).await?;
        if status == Some(0) {
            return Ok(Output { stdout, stderr });
        }
        let stdout = if cmd.secret_output { "(withheld: it may hold secrets)".to_string() } else { stdout };
        Err(CommandFailed {
            host: self.host.clone(),
            command: cmd.what.clone(),
            exit_status: status,
            stdout: error::redact(&stdout, &self.secrets),
            stderr: error::redact(&stderr, &self.secrets),
        }
        .into_error())
    }

    /// Writes `data` to `path` as root with `mode` (octal, `0600`), creating its directory: the data goes to
    /// a private temporary file of the login user on the command's standard input, then `install` moves it.
    ///
    /// # Errors
    /// As [`Session::run`].
    pub(crate) async fn upload(&self, path: &str, data: &[u8], mode: &str, what: &str) -> Result<()> {
        let stage = "umask 077; t=$(mktemp) && cat > \"$t\" && echo \"$t\"";
        let (status, stdout, stderr) = self.exec(&format!("sh -c {}", quote(stage)), Some(data.to_vec()), what).await?;
        if status != Some(0) {
            return Err(CommandFailed {
                host: self.host.clone(),
                command: format!("{what}: stage the file"),
                exit_status: status,
                stdout: String::new(),
                stderr: error::redact(&stderr, &self.secrets),
            }
            .into_error());
        }
        let staged = stdout.trim();
        let dir = Path::new(path).parent().map(|p| p.display().to_string()).unwrap_or_else(|| "/".into());
        let script = format!(
            "mkdir -p {dir} && install -m {mode} {staged} {path}; rc=$?; rm -f {staged}; exit $rc",
            dir = quote(&dir),
            staged = quote(staged),
            path = quote(path),
        );
        self.run(&Remote::root(what, script)).await.map(|_| ())
    }

    async fn exec(&self, line: &str, stdin: Option<Vec<u8>>, what: &str) -> Result<(Option<u32>, String, String)> {
        let ssh = |e| error::ssh(&self.host, what, e);
        let mut channel = self.handle.channel_open_session().await.map_err(ssh)?;
        channel.exec(true, line.as_bytes()).await.map_err(ssh)?;
        if let Some(data) = stdin {
            channel.data(&data[..]).await.map_err(ssh)?;
        }
        channel.eof().await.map_err(ssh)?;
        let (mut status, mut stdout, mut stderr) = (None, Vec::new(), Vec::new());
        while let Some(msg) = channel.wait().await {
            match msg {
                ChannelMsg::Data { data } => stdout.extend_from_slice(&data),
                ChannelMsg::ExtendedData { data, ext: 1 } => stderr.extend_from_slice(&data),
                ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
                _ => {}
            }
        }
        Ok((status, String::from_utf8_lossy(&stdout).into_owned(), String::from_utf8_lossy(&stderr).into_owned()))
    }

    /// Closes the connection.
    pub(crate) async fn close(self) {
        let _ = self.handle.disconnect(Disconnect::ByApplication, "", "en").await;
    }
}

async fn authenticate(handle: &mut Handle<Verifier>, host: &HostSpec) -> Result<()> {
    let name = host.name.as_str();
    let failed = |e| error::ssh(name, "authenticating", e);
    match &host.auth {
        SshAuth::KeyFile { path, passphrase } => {
            let path = &expand_home(path);
            let key = russh::keys::load_secret_key(path, passphrase.as_ref().map(SecretString::expose))
                .map_err(|e| error::local_file(&format!("host {name}: auth.key_file.path"), path, e))?;
            let hash = handle.best_supported_rsa_hash().await.map_err(failed)?.flatten();
            let result = handle
                .authenticate_publickey(&host.user, PrivateKeyWithHashAlg::new(Arc::new(key), hash))
                .await
                .map_err(failed)?;
            if result.success() {
                return Ok(());
            }
            Err(error::auth(name, &host.user, &format!("the key {} was refused", path.display())))
        }
        SshAuth::Agent => {
            let mut agent = russh::keys::agent::client::AgentClient::connect_env()
                .await
                .map_err(|e| error::auth(name, &host.user, &format!("no SSH agent: {e}")))?;
            let identities = agent
                .request_identities()
                .await
                .map_err(|e| error::auth(name, &host.user, &format!("the SSH agent lists no keys: {e}")))?;
            let hash = handle.best_supported_rsa_hash().await.map_err(failed)?.flatten();
            for identity in identities {
                let key = identity.public_key().into_owned();
                match handle.authenticate_publickey_with(&host.user, key, hash, &mut agent).await {
                    Ok(r) if r.success() => return Ok(()),
                    Ok(_) => continue,
                    Err(e) => return Err(error::auth(name, &host.user, &format!("the SSH agent failed: {e}"))),
                }
            }
            Err(error::auth(name, &host.user, "no key of the SSH agent was accepted"))
        }
    }
}

/// `path` with a leading `~/` replaced by the home directory.
pub(crate) fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), std::env::home_dir()) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => path.to_path_buf(),
    }
}

/// `~/.ssh/known_hosts`.
pub(crate) fn default_known_hosts() -> PathBuf {
    std::env::home_dir().unwrap_or_else(|| PathBuf::from("/")).join(".ssh").join("known_hosts")
}
