//! The host inventory of a K3s cluster: what a [`ClusterSpec`](wooo_core::model::ClusterSpec) cannot say (which
//! hosts, how to reach them, which K3s settings). Secrets (sudo passwords, key passphrases, an external datastore
//! URL) are [`SecretString`]s, redacted in `Debug`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use wooo_core::model::{Labels, SecretString, Taint};

/// The hosts of one K3s cluster and how to install K3s on them. Load it from YAML with
/// [`wooo_core::model::from_yaml`]; [`K3sBuilder::cluster`](super::K3sBuilder::cluster) takes it, and every call
/// of [`K3s`](super::K3s) validates it together with the cluster spec before the first connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct K3sInventory {
    /// The cluster these hosts form: the [`ClusterSpec::name`](wooo_core::model::ClusterSpec::name) they serve.
    pub cluster: String,
    /// The hosts, servers and agents. The first server in this list bootstraps the cluster (`cluster-init`);
    /// the agents of a node pool join in this order as the pool grows.
    pub hosts: Vec<HostSpec>,
    /// K3s settings shared by every node.
    #[serde(default)]
    pub k3s: K3sSettings,
    /// Where the installer and the binary come from.
    #[serde(default)]
    pub install: InstallMode,
    /// How hosts are reached and trusted.
    #[serde(default)]
    pub ssh: SshSettings,
}

/// One host the user already has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    /// The Kubernetes node name (DNS-1123 label), also the host's name in plans, progress and errors.
    pub name: String,
    /// IP address or DNS name SSH connects to.
    pub address: String,
    /// SSH port.
    #[serde(default = "default_ssh_port")]
    pub port: u16,
    /// Login user. Anyone but `root` runs the installer through `sudo`.
    pub user: String,
    /// How the user authenticates.
    pub auth: SshAuth,
    /// How `sudo` is used when `user` is not `root`.
    #[serde(default)]
    pub sudo: Sudo,
    /// Server (control plane, etcd member) or agent.
    pub role: Role,
    /// The node pool (of the cluster spec) an agent belongs to; may be left out when the spec has one pool.
    /// Servers belong to no pool.
    #[serde(default)]
    pub pool: Option<String>,
    /// Node labels of this host, on top of its pool's.
    #[serde(default)]
    pub labels: Labels,
    /// Node taints of this host, on top of its pool's.
    #[serde(default)]
    pub taints: Vec<Taint>,
    /// The host key's pinned SHA-256 fingerprint (`SHA256:…`, as `ssh-keygen -lf` prints it). When set it is
    /// the only key accepted, whatever known_hosts says.
    #[serde(default)]
    pub host_key: Option<String>,
}

fn default_ssh_port() -> u16 {
    22
}

/// How a host's user authenticates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SshAuth {
    /// A private key file (OpenSSH or PEM format).
    KeyFile {
        /// Path of the key on the machine running wooo.
        path: PathBuf,
        /// The key's passphrase, when it has one.
        #[serde(default)]
        passphrase: Option<SecretString>,
    },
    /// The keys of the SSH agent at `SSH_AUTH_SOCK`.
    Agent,
}

/// How `sudo` is used.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Sudo {
    /// `sudo -n` (no password) for every user but `root`; `root` runs commands directly.
    #[default]
    Passwordless,
    /// `sudo -S` with this password, sent on the command's standard input only (never on a command line).
    Password(SecretString),
}

/// A host's role in the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the control plane (and an etcd member with the embedded datastore).
    Server,
    /// Runs workloads only.
    Agent,
}

impl Role {
    /// `server` or `agent`, as the K3s installer's `INSTALL_K3S_EXEC` says.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Agent => "agent",
        }
    }
}

/// K3s settings shared by every node.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct K3sSettings {
    /// An exact K3s release (`v1.33.2+k3s1`); it must be of the cluster spec's Kubernetes version. Without it the
    /// release channel of the spec's minor (`v1.33`) is installed.
    #[serde(default)]
    pub version: Option<String>,
    /// A release channel; only `v1.<minor>` of the spec's minor is accepted (`stable` or `latest` would move
    /// the cluster off the version the spec pins).
    #[serde(default)]
    pub channel: Option<String>,
    /// Extra names and addresses in the API server's certificate (the API endpoint and every server's address
    /// are added).
    #[serde(default)]
    pub tls_san: Vec<String>,
    /// Packaged components not to deploy.
    #[serde(default)]
    pub disable: Vec<Component>,
    /// Where the cluster keeps its state.
    #[serde(default)]
    pub datastore: Datastore,
    /// The address clients reach the API server at (a load balancer, a DNS name); the first server's address
    /// when absent. Written into the returned kubeconfig, port 6443.
    #[serde(default)]
    pub api_endpoint: Option<String>,
}

/// A component K3s deploys unless disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Component {
    /// The Traefik ingress controller.
    Traefik,
    /// The service load balancer (klipper-lb).
    Servicelb,
    /// The local-path storage provisioner.
    LocalStorage,
    /// metrics-server.
    MetricsServer,
    /// CoreDNS.
    Coredns,
}

impl Component {
    /// The name K3s's `disable` setting takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Component::Traefik => "traefik",
            Component::Servicelb => "servicelb",
            Component::LocalStorage => "local-storage",
            Component::MetricsServer => "metrics-server",
            Component::Coredns => "coredns",
        }
    }
}

/// Where the cluster keeps its state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Datastore {
    /// Embedded etcd on the servers (HA with 3 or 5 servers; an odd number keeps a quorum).
    #[default]
    EmbeddedEtcd,
    /// An external datastore (`postgres://…`, `mysql://…`, `https://…` for etcd). The URL usually holds a
    /// password: it is a secret, written only into the servers' config file.
    External {
        /// The datastore URL.
        endpoint: SecretString,
    },
}

/// Where the installer and the K3s binary come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum InstallMode {
    /// The official install script, downloaded by each host from `url`, which downloads the release
    /// (`INSTALL_K3S_VERSION` or `INSTALL_K3S_CHANNEL`).
    Script {
        /// The install script's URL.
        #[serde(default = "default_script_url")]
        url: String,
    },
    /// Air-gap: nothing is downloaded (`INSTALL_K3S_SKIP_DOWNLOAD=true`). The binary and the install script
    /// are uploaded from the machine running wooo, or, when a path is left out, are already on the host
    /// (`/usr/local/bin/k3s`, [`REMOTE_INSTALL_SCRIPT`](super::REMOTE_INSTALL_SCRIPT)).
    AirGap {
        /// The K3s binary to upload to `/usr/local/bin/k3s`.
        #[serde(default)]
        binary: Option<PathBuf>,
        /// The install script to upload.
        #[serde(default)]
        script: Option<PathBuf>,
    },
}

fn default_script_url() -> String {
    "https://get.k3s.io".to_string()
}

impl Default for InstallMode {
    fn default() -> Self {
        InstallMode::Script { url: default_script_url() }
    }
}

/// How hosts are reached and trusted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshSettings {
    /// The known_hosts file host keys are checked against; `~/.ssh/known_hosts` when absent.
    #[serde(default)]
    pub known_hosts: Option<PathBuf>,
    /// Accept (and record in `known_hosts`) the key of a host known_hosts does not list yet. A key that differs
    /// from the recorded one is refused regardless. Off by default.
    #[serde(default)]
    pub accept_new_host_keys: bool,
    /// Seconds to wait for a connection.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
    /// How many agents join at once.
    #[serde(default = "default_parallel_agents")]
    pub parallel_agents: usize,
}

fn default_connect_timeout() -> u64 {
    15
}

fn default_parallel_agents() -> usize {
    4
}

impl Default for SshSettings {
    fn default() -> Self {
        Self {
            known_hosts: None,
            accept_new_host_keys: false,
            connect_timeout_secs: default_connect_timeout(),
            parallel_agents: default_parallel_agents(),
        }
    }
}

/// A cluster spec and its host inventory in one file (the shape of `examples/specs/k3s-cluster.yaml`):
/// `spec:` the [`ClusterSpec`](wooo_core::model::ClusterSpec), `inventory:` the [`K3sInventory`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct K3sSpecFile {
    /// The cluster.
    pub spec: wooo_core::model::ClusterSpec,
    /// Its hosts.
    pub inventory: K3sInventory,
}
