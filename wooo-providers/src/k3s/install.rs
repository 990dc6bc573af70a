//! The remote commands of the K3s provider, as data ([`Remote`]): the probe, the installer runs, the token and
//! kubeconfig reads, the node queries, drain and uncordon, and the uninstall scripts. Secrets never appear in a
//! command: the token and the datastore URL travel in the uploaded config file.

use super::shape::{Layout, PROBE_APPLIED, PROBE_CONFIG, Target};
use super::spec::{InstallMode, Role};
use super::ssh::{Remote, quote};

/// The K3s binary.
pub const K3S_BINARY: &str = "/usr/local/bin/k3s";
/// Where an air-gap install script is uploaded to (or expected).
pub const REMOTE_INSTALL_SCRIPT: &str = "/usr/local/bin/k3s-install.sh";
/// The node configuration K3s reads on every start.
pub const CONFIG_PATH: &str = "/etc/rancher/k3s/config.yaml";
/// The kubeconfig a K3s server writes.
pub const KUBECONFIG_PATH: &str = "/etc/rancher/k3s/k3s.yaml";
/// The secure join token (`K10…`) of a server.
pub const TOKEN_PATH: &str = "/var/lib/rancher/k3s/server/node-token";
/// The cluster spec wooo last applied, kept on the bootstrapping server (the uninstall script removes it).
pub const APPLIED_PATH: &str = "/var/lib/rancher/k3s/wooo/cluster.json";

fn uninstall_script(role: Role) -> &'static str {
    match role {
        Role::Server => "/usr/local/bin/k3s-uninstall.sh",
        Role::Agent => "/usr/local/bin/k3s-agent-uninstall.sh",
    }
}

/// Reads what is installed, without changing anything: the binary's version, the role (the uninstall script
/// the installer wrote), the config file and the applied spec. Its output holds the token.
pub(crate) fn probe() -> Remote {
    let script = format!(
        "if [ -x {bin} ]; then echo \"version=$({bin} --version 2>/dev/null | head -n 1)\"; fi\n\
         if [ -e {server} ]; then echo installed=server; fi\n\
         if [ -e {agent} ]; then echo installed=agent; fi\n\
         if [ -f {config} ]; then echo '{PROBE_CONFIG}'; cat {config}; fi\n\
         if [ -f {applied} ]; then echo '{PROBE_APPLIED}'; cat {applied}; fi\n\
         exit 0",
        bin = K3S_BINARY,
        server = uninstall_script(Role::Server),
        agent = uninstall_script(Role::Agent),
        config = CONFIG_PATH,
        applied = APPLIED_PATH,
    );
    Remote::root("probe the installed K3s", script).secret()
}

/// Which release an installer run installs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Release {
    /// The target's release of this Kubernetes minor (its exact release or its channel).
    Minor(u32),
    /// Exactly this release (a reconfiguration keeps the running one).
    Exact(String),
}

impl Release {
    /// The installer variable and its value.
    fn variable(&self, target: &Target) -> (&'static str, String) {
        match self {
            Release::Minor(minor) => target.install_for(*minor),
            Release::Exact(v) => ("INSTALL_K3S_VERSION", v.clone()),
        }
    }
}

/// Runs the installer for `role` at `release`: it installs or upgrades the binary (unless air-gap), writes the
/// service and (re)starts it, which makes K3s read the config file again.
pub(crate) fn installer(layout: &Layout, role: Role, release: &Release) -> Remote {
    let exec = format!("INSTALL_K3S_EXEC={}", role.as_str());
    let (var, value) = release.variable(&layout.target);
    let what = format!("K3s installer ({}, {value})", role.as_str());
    match &layout.inventory.install {
        InstallMode::Script { url } => {
            let script = format!(
                "set -e\nt=$(mktemp)\ntrap 'rm -f \"$t\"' EXIT\ncurl -sfL {url} -o \"$t\"\n\
                 env {exec} {var}={value} sh \"$t\"",
                url = quote(url),
                value = quote(&value),
            );
            Remote::root(what, script)
        }
        InstallMode::AirGap { .. } => {
            let script = format!("env INSTALL_K3S_SKIP_DOWNLOAD=true {exec} sh {REMOTE_INSTALL_SCRIPT}");
            Remote::root(what, script)
        }
    }
}

/// Reads the secure join token of a server (secret output).
pub(crate) fn read_token() -> Remote {
    Remote::root("read the join token", format!("cat {TOKEN_PATH}")).secret()
}

/// Reads the kubeconfig of a server (secret output).
pub(crate) fn read_kubeconfig() -> Remote {
    Remote::root("read the kubeconfig", format!("cat {KUBECONFIG_PATH}")).secret()
}

/// Lists the nodes as the API server sees them, one per line: name, Ready status, kubelet version.
pub(crate) fn nodes() -> Remote {
    let jsonpath = r#"{range .items[*]}{.metadata.name}{"\t"}{.status.conditions[?(@.type=="Ready")].status}{"\t"}{.status.nodeInfo.kubeletVersion}{"\n"}{end}"#;
    Remote::root("list the nodes", format!("{K3S_BINARY} kubectl get nodes -o jsonpath={}", quote(jsonpath)))
}

/// One node as [`nodes`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeRow {
    /// Node name.
    pub name: String,
    /// Whether its Ready condition is True.
    pub ready: bool,
    /// Its kubelet version (`v1.33.2+k3s1`).
    pub version: String,
}

/// Parses [`nodes`]' output.
pub(crate) fn parse_nodes(stdout: &str) -> Vec<NodeRow> {
    stdout
        .lines()
        .filter_map(|line| {
            let mut parts = line.split('\t');
            let name = parts.next()?.trim();
            if name.is_empty() {
                return None;
            }
            let ready = parts.next().map(str::trim) == Some("True");
            let version = parts.next().unwrap_or("").trim().to_string();
            Some(NodeRow { name: name.to_string(), ready, version })
        })
        .collect()
}

/// Drains a node before an upgrade or removal.
pub(crate) fn drain(node: &str) -> Remote {
    Remote::root(
        format!("drain node {node}"),
        format!("{K3S_BINARY} kubectl drain {} --ignore-daemonsets --delete-emptydir-data --timeout=300s", quote(node)),
    )
}

/// Lets pods back on a node after its upgrade.
pub(crate) fn uncordon(node: &str) -> Remote {
    Remote::root(format!("uncordon node {node}"), format!("{K3S_BINARY} kubectl uncordon {}", quote(node)))
}

/// Deletes a removed node's object (its kubelet is gone).
pub(crate) fn delete_node(node: &str) -> Remote {
    Remote::root(
        format!("delete node {node}"),
        format!("{K3S_BINARY} kubectl delete node {} --ignore-not-found", quote(node)),
    )
}

/// Runs the uninstall script the installer wrote for `role`.
pub(crate) fn uninstall(role: Role) -> Remote {
    let script = uninstall_script(role);
    Remote::root(format!("uninstall K3s ({})", role.as_str()), format!("if [ -e {script} ]; then {script}; fi"))
}
