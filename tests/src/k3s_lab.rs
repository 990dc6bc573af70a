//! A lab of simulated K3s hosts for the K3s suite: one real OpenSSH server (Debian's `sshd`) per host on
//! 127.0.0.1, each in its own mount namespace (`unshare -m`) with private `/etc/rancher`, `/var/lib/rancher` and
//! `/usr/local/bin` (temporary directories bind-mounted over them), so what one host writes the others cannot
//! see. A host's login user is `root`, or `wooo`, a user that exists only inside its namespace (private
//! `/etc/passwd`, `/etc/shadow`, `/etc/group` and `/etc/sudoers`), with passwordless sudo or sudo with a password.
//! Host and user keys are generated per lab (`ssh-keygen`).
//!
//! No K3s binary can be downloaded here, so hosts get a stand-in `k3s` (a shell script, uploaded in air-gap mode
//! like a real binary) and a stand-in install script. They do what the real ones do that wooo relies on: the
//! installer refuses to run without `INSTALL_K3S_SKIP_DOWNLOAD=true` and a binary, writes the uninstall script
//! and starts `k3s server|agent`, which reads `/etc/rancher/k3s/config.yaml`; a bootstrapping server (with
//! `cluster-init`) writes the secure `K10…` token to `/var/lib/rancher/k3s/server/node-token` and
//! `/etc/rancher/k3s/k3s.yaml` (server `https://127.0.0.1:6443`); a joining node is refused unless its config
//! names the first server and holds that token. The cluster's shared state (the datastore, in a real cluster)
//! is a directory every namespace sees, `registry/`: the token, the nodes (`k3s kubectl get nodes` lists them
//! Ready) and `calls`, one line per invocation in order (host, what, effective uid, the `INSTALL_K3S_*`
//! variables).
//!
//! Every sshd is stopped when the lab is dropped, also when a test fails.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The login of a simulated host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// `root`, no sudo.
    Root,
    /// `wooo` with passwordless sudo.
    SudoNoPassword,
    /// `wooo` whose sudo asks for this password.
    SudoPassword(String),
}

impl Login {
    /// The user name.
    pub fn user(&self) -> &'static str {
        match self {
            Login::Root => "root",
            _ => "wooo",
        }
    }
}

/// One simulated host.
#[derive(Debug)]
pub struct LabHost {
    /// Its name (the node name the tests give it).
    pub name: String,
    /// Its SSH port on 127.0.0.1.
    pub port: u16,
    /// Its login.
    pub login: Login,
    /// Its folder: `etc-rancher`, `var-lib-rancher` and `usr-local-bin` are its private directories.
    pub dir: PathBuf,
    /// Its host key's known_hosts line (`[127.0.0.1]:port ssh-ed25519 …`).
    pub known_hosts_line: String,
    /// Its host key's SHA-256 fingerprint.
    pub fingerprint: String,
    child: Child,
}

impl LabHost {
    /// A file of the host's private `/etc/rancher`, `/var/lib/rancher` or `/usr/local/bin`, by its path on the
    /// host (`/etc/rancher/k3s/config.yaml`).
    pub fn file(&self, remote: &str) -> PathBuf {
        for (prefix, local) in [
            ("/etc/rancher/", "etc-rancher"),
            ("/var/lib/rancher/", "var-lib-rancher"),
            ("/usr/local/bin/", "usr-local-bin"),
        ] {
            if let Some(rest) = remote.strip_prefix(prefix) {
                return self.dir.join(local).join(rest);
            }
        }
        panic!("{remote} is not in a private directory of the host");
    }

    /// Makes the host's next install fail (exit 23, a message on stderr) until [`LabHost::heal`].
    pub fn break_installs(&self) {
        std::fs::write(self.file("/var/lib/rancher/fail-install"), "").expect("write fault marker");
    }

    /// Undoes [`LabHost::break_installs`].
    pub fn heal(&self) {
        let _ = std::fs::remove_file(self.file("/var/lib/rancher/fail-install"));
    }
}

/// A lab of simulated hosts; dropping it stops every sshd and removes its files.
#[derive(Debug)]
pub struct Lab {
    /// The lab's folder.
    pub root: PathBuf,
    /// The cluster's shared state (see the module docs).
    pub registry: PathBuf,
    /// The user's private key (ed25519, no passphrase).
    pub user_key: PathBuf,
    /// A known_hosts file listing every host's key.
    pub known_hosts: PathBuf,
    /// The hosts.
    pub hosts: Vec<LabHost>,
}

/// Whether the lab can run here: Debian's sshd, ssh-keygen, openssl and unshare present, and mount namespaces
/// allowed. When not, the test skips loudly, or fails under `WOOO_REQUIRE_PEERS=1`.
pub fn available() -> bool {
    let missing: Vec<&str> =
        ["/usr/sbin/sshd", "/usr/bin/ssh-keygen", "/usr/bin/unshare", "/usr/bin/openssl", "/usr/bin/sudo"]
            .into_iter()
            .filter(|p| !Path::new(p).exists())
            .collect();
    let namespaces = missing.is_empty()
        && Command::new("unshare").args(["-m", "true"]).status().map(|s| s.success()).unwrap_or(false);
    if missing.is_empty() && namespaces {
        return true;
    }
    let why = if missing.is_empty() {
        "mount namespaces (`unshare -m`) are not allowed here".to_string()
    } else {
        format!("{} missing (scripts/peers.sh installs openssh-server and sudo)", missing.join(", "))
    };
    assert!(
        std::env::var("WOOO_REQUIRE_PEERS").as_deref() != Ok("1"),
        "K3s lab cannot run and WOOO_REQUIRE_PEERS=1: {why}"
    );
    eprintln!("SKIPPING: K3s lab: {why}");
    false
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind").local_addr().expect("addr").port()
}

impl Lab {
    /// Starts one sshd per `(name, login)`.
    pub fn start(hosts: &[(&str, Login)]) -> Lab {
        let root = std::env::temp_dir().join(format!("wooo-k3s-lab-{}-{}", std::process::id(), fastrand::u64(..)));
        let registry = root.join("registry");
        std::fs::create_dir_all(registry.join("nodes")).expect("lab dir");
        std::fs::write(registry.join("calls"), "").expect("calls");
        for dir in ["/run/sshd", "/etc/rancher", "/var/lib/rancher"] {
            std::fs::create_dir_all(dir).expect("mount point");
        }
        let user_key = root.join("id_ed25519");
        run(Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-C", "wooo-lab", "-f"]).arg(&user_key));
        std::fs::copy(root.join("id_ed25519.pub"), root.join("authorized_keys")).expect("authorized_keys");
        let mut lab =
            Lab { known_hosts: root.join("known_hosts"), root: root.clone(), registry, user_key, hosts: Vec::new() };
        for (name, login) in hosts {
            let host = lab.start_host(name, login.clone());
            lab.hosts.push(host);
        }
        let lines: Vec<&str> = lab.hosts.iter().map(|h| h.known_hosts_line.as_str()).collect();
        std::fs::write(&lab.known_hosts, format!("{}\n", lines.join("\n"))).expect("known_hosts");
        lab
    }

    fn start_host(&self, name: &str, login: Login) -> LabHost {
        let dir = self.root.join(name);
        for sub in ["etc-rancher", "var-lib-rancher", "usr-local-bin", "home", "etc"] {
            std::fs::create_dir_all(dir.join(sub)).expect("host dir");
        }
        let key = dir.join("ssh_host_ed25519_key");
        run(Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"]).arg(&key));
        let public = std::fs::read_to_string(dir.join("ssh_host_ed25519_key.pub")).expect("host key");
        let fingerprint = run(Command::new("ssh-keygen").arg("-lf").arg(dir.join("ssh_host_ed25519_key.pub")))
            .split_whitespace()
            .nth(1)
            .expect("fingerprint")
            .to_string();
        let mut binds = vec![
            (dir.join("etc-rancher"), "/etc/rancher".to_string()),
            (dir.join("var-lib-rancher"), "/var/lib/rancher".to_string()),
            (dir.join("usr-local-bin"), "/usr/local/bin".to_string()),
        ];
        if login != Login::Root {
            self.private_user(&dir, &login);
            for f in ["passwd", "shadow", "group"] {
                binds.push((dir.join("etc").join(f), format!("/etc/{f}")));
            }
            binds.push((dir.join("etc").join("sudoers"), "/etc/sudoers".to_string()));
        }
        let port = free_port();
        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {key}\nPidFile none\nAuthorizedKeysFile {auth}\n\
                 StrictModes no\nUsePAM no\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nLogLevel VERBOSE\n",
                key = key.display(),
                auth = self.root.join("authorized_keys").display(),
            ),
        )
        .expect("sshd_config");
        let mounts: Vec<String> =
            binds.iter().map(|(from, to)| format!("mount --bind '{}' '{to}'", from.display())).collect();
        let script = format!("{} && exec /usr/sbin/sshd -D -e -f '{}'", mounts.join(" && "), config.display());
        let log = std::fs::File::create(dir.join("sshd.log")).expect("sshd log");
        let child = Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c", script.as_str()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("start sshd");
        let mut host = LabHost {
            name: name.to_string(),
            port,
            login,
            known_hosts_line: format!(
                "[127.0.0.1]:{port} {}",
                public.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
            ),
            fingerprint,
            dir,
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            if let Ok(Some(status)) = host.child.try_wait() {
                panic!(
                    "sshd of {name} exited ({status}): {}",
                    std::fs::read_to_string(host.dir.join("sshd.log")).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "sshd of {name} did not listen on {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        host
    }

    /// `/etc/passwd`, `/etc/shadow`, `/etc/group` and `/etc/sudoers` of a host whose login is `wooo`.
    fn private_user(&self, dir: &Path, login: &Login) {
        let etc = dir.join("etc");
        let home = dir.join("home").join("wooo");
        std::fs::create_dir_all(&home).expect("home");
        run(Command::new("chown").arg("4242:4242").arg(&home));
        let read = |f: &str| std::fs::read_to_string(Path::new("/etc").join(f)).expect("system file");
        let (hash, rule) = match login {
            Login::SudoPassword(pw) => {
                (run(Command::new("openssl").args(["passwd", "-6", pw])).trim().to_string(), "ALL")
            }
            _ => ("*".to_string(), "NOPASSWD: ALL"),
        };
        std::fs::write(etc.join("passwd"), format!("{}wooo:x:4242:4242::{}:/bin/sh\n", read("passwd"), home.display()))
            .expect("passwd");
        std::fs::write(etc.join("shadow"), format!("{}wooo:{hash}:19000:0:99999:7:::\n", read("shadow")))
            .expect("shadow");
        std::fs::write(etc.join("group"), format!("{}wooo:x:4242:\n", read("group"))).expect("group");
        std::fs::write(
            etc.join("sudoers"),
            format!(
                "Defaults secure_path=\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"\n\
                 root ALL=(ALL:ALL) ALL\nwooo ALL=(ALL:ALL) {rule}\n"
            ),
        )
        .expect("sudoers");
        run(Command::new("chmod").arg("0440").arg(etc.join("sudoers")));
    }

    /// The host named `name`.
    pub fn host(&self, name: &str) -> &LabHost {
        self.hosts.iter().find(|h| h.name == name).unwrap_or_else(|| panic!("no lab host {name}"))
    }

    /// Writes the stand-in `k3s` binary reporting `version` and the stand-in install script; their paths.
    pub fn standins(&self, version: &str) -> (PathBuf, PathBuf) {
        let binary = self.root.join(format!("k3s-{version}"));
        let script = self.root.join("install.sh");
        let registry = self.registry.display().to_string();
        std::fs::write(&binary, STANDIN_K3S.replace("@VERSION@", version).replace("@REGISTRY@", &registry))
            .expect("stand-in k3s");
        std::fs::write(&script, STANDIN_INSTALL.replace("@REGISTRY@", &registry)).expect("stand-in installer");
        (binary, script)
    }

    /// The calls the stand-ins recorded, in order: `<host> <what> uid=<uid> <INSTALL_K3S_… variables>`.
    pub fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.registry.join("calls")).unwrap_or_default().lines().map(str::to_string).collect()
    }

    /// The nodes the stand-in API server lists: `(name, version)`.
    pub fn nodes(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = std::fs::read_dir(self.registry.join("nodes"))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                        (name, text.split('\t').nth(1).unwrap_or("").trim().to_string())
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for host in &mut self.hosts {
            // The process group of the host's unshare/sshd (the test started it; its connections go with it).
            let _ = Command::new("kill").args(["-TERM", "--", &format!("-{}", host.child.id())]).status();
            let _ = host.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The stand-in `k3s` (see the module docs). `@VERSION@` and `@REGISTRY@` are filled in.
const STANDIN_K3S: &str = r#"#!/bin/sh
# Stand-in for the k3s binary in wooo's K3s lab.
VERSION='@VERSION@'
REG='@REGISTRY@'
CONFIG=/etc/rancher/k3s/config.yaml
value() { sed -n "s/^$1: *//p" "$CONFIG" 2>/dev/null | head -n 1 | sed 's/^"//; s/"$//'; }
node() { value node-name; }
log() { echo "$(node) $* uid=$(id -u)" >> "$REG/calls"; }
start() {
  role="$1"
  [ -f "$CONFIG" ] || { echo "no $CONFIG" >&2; exit 1; }
  name=$(node); server=$(value server); token=$(value token)
  if [ -z "$server" ]; then
    [ "$role" = server ] || { echo "an agent needs a server" >&2; exit 1; }
    [ "$(value cluster-init)" = true ] || { echo "the first server needs cluster-init" >&2; exit 1; }
    if [ ! -f /var/lib/rancher/k3s/server/node-token ]; then
      mkdir -p /var/lib/rancher/k3s/server
      secret=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
      echo "K10$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')::server:$secret" > /var/lib/rancher/k3s/server/node-token
      cp /var/lib/rancher/k3s/server/node-token "$REG/token"
    fi
  else
    [ "$server" = "https://127.0.0.1:6443" ] || { echo "unknown server $server" >&2; exit 1; }
    [ -n "$token" ] && [ "$token" = "$(cat "$REG/token" 2>/dev/null)" ] || { echo "token rejected by $server" >&2; exit 1; }
    if [ "$role" = server ]; then
      mkdir -p /var/lib/rancher/k3s/server; cp "$REG/token" /var/lib/rancher/k3s/server/node-token
    fi
  fi
  if [ "$role" = server ]; then
    cat > /etc/rancher/k3s/k3s.yaml <<EOF
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: U1RBTkQtSU4tQ0E=
    server: https://127.0.0.1:6443
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {}
users:
- name: default
  user:
    client-certificate-data: U1RBTkQtSU4tQ0VSVA==
    client-key-data: U1RBTkQtSU4tS0VZ
EOF
    chmod 600 /etc/rancher/k3s/k3s.yaml
  fi
  printf 'True\t%s\t%s\n' "$VERSION" "$role" > "$REG/nodes/$name"
  log "start $role $VERSION"
}
case "$1" in
  --version) echo "k3s version $VERSION (stand-in)"; echo "go version go1.24.4";;
  server|agent) start "$1";;
  kubectl)
    shift
    case "$1" in
      get)
        for f in "$REG"/nodes/*; do
          [ -f "$f" ] || continue
          printf '%s\t%s\t%s\n' "$(basename "$f")" "$(cut -f1 "$f")" "$(cut -f2 "$f")"
        done;;
      drain|uncordon) log "$1 $2";;
      delete) log "delete-node $3"; rm -f "$REG/nodes/$3";;
      *) echo "stand-in kubectl: unsupported $*" >&2; exit 1;;
    esac;;
  *) echo "stand-in k3s: unsupported $*" >&2; exit 1;;
esac
"#;

/// The stand-in install script (see the module docs). `@REGISTRY@` is filled in.
const STANDIN_INSTALL: &str = r#"#!/bin/sh
# Stand-in for the K3s install script in wooo's K3s lab (air-gap mode only).
set -e
REG='@REGISTRY@'
name=$(sed -n 's/^node-name: *//p' /etc/rancher/k3s/config.yaml 2>/dev/null | sed 's/^"//; s/"$//')
role=${INSTALL_K3S_EXEC%% *}
echo "$name install $role uid=$(id -u) $(env | grep '^INSTALL_K3S_' | sort | tr '\n' ' ')" >> "$REG/calls"
if [ -f /var/lib/rancher/fail-install ]; then echo "[ERROR] injected failure: no space left on device" >&2; exit 23; fi
[ "$INSTALL_K3S_SKIP_DOWNLOAD" = true ] || { echo "[ERROR] no download in the lab" >&2; exit 1; }
[ -x /usr/local/bin/k3s ] || { echo "[ERROR] /usr/local/bin/k3s is missing" >&2; exit 1; }
if [ "$role" = agent ]; then u=/usr/local/bin/k3s-agent-uninstall.sh; else u=/usr/local/bin/k3s-uninstall.sh; fi
cat > "$u" <<EOF
#!/bin/sh
echo "$name uninstall $role uid=\$(id -u)" >> "$REG/calls"
rm -f "$REG/nodes/$name"
rm -rf /etc/rancher/k3s /var/lib/rancher/k3s
rm -f /usr/local/bin/k3s "$u"
EOF
chmod 755 "$u"
/usr/local/bin/k3s "$role"
"#;
