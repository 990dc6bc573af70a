//! Pure decisions of the K3s provider: validation of a cluster spec with its inventory, the node configuration
//! each host gets, what a host's probe reports, the steps a plan takes and in which order, version steps, and
//! the kubeconfig rewrite. No I/O here; every function is unit-tested in `shape_tests.rs`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;

use serde_json::Value;
use wooo_core::error::FieldViolation;
use wooo_core::model::{
    Capacity, ChangeAction, ClusterAccess, ClusterAuth, ClusterId, ClusterPlan, ClusterSpec, PlannedChange,
    SecretString, Taint, TaintEffect,
};
use wooo_core::validate::{KubernetesVersion, dns1123_label, label_key, label_value};
use wooo_core::{Error, Result};

use super::error::PROVIDER;
use super::spec::{Datastore, HostSpec, InstallMode, K3sInventory, Role};

/// The label every node wooo installs carries, naming its cluster: how a re-run tells its nodes from others.
pub const CLUSTER_LABEL: &str = "wooo.dev/cluster";
/// The label naming an agent's node pool.
pub const POOL_LABEL: &str = "wooo.dev/node-pool";
/// The first line of every config file wooo writes.
pub(crate) const CONFIG_HEADER: &str =
    "# Written by wooo: K3s reads it on every start, and re-running the installer keeps it.";
/// The API server's port.
pub(crate) const API_PORT: u16 = 6443;
/// Config keys left out of the comparison of a node's config with the desired one: the join token is read
/// from the first server when a node joins and never changes afterwards.
const UNCOMPARED_KEYS: &[&str] = &["token"];

// --- validation --------------------------------------------------------------------------------------------

/// A K3s release as `k3s --version` prints it (`v1.33.2+k3s1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct K3sVersion {
    /// The release text, `v1.33.2+k3s1`.
    pub text: String,
    /// The Kubernetes minor, 33.
    pub minor: u32,
    /// The Kubernetes patch, 2.
    pub patch: u32,
}

impl K3sVersion {
    /// Parses `v1.33.2+k3s1` (the `v` and the `+k3sN` suffix are optional).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let core = text.strip_prefix('v').unwrap_or(text);
        let core = core.split('+').next()?;
        let mut parts = core.split('.');
        if parts.next()? != "1" {
            return None;
        }
        let minor = parts.next()?.parse().ok()?;
        let patch = parts.next()?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(Self { text: text.to_string(), minor, patch })
    }

    /// The release of `k3s --version`'s first line (`k3s version v1.33.2+k3s1 (6c8a8f17)`).
    pub(crate) fn from_version_output(line: &str) -> Option<Self> {
        line.split_whitespace().find(|w| w.starts_with("v1.")).and_then(Self::parse)
    }
}

impl fmt::Display for K3sVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The version a cluster should run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// Kubernetes minor.
    pub minor: u32,
    /// Kubernetes patch, when the spec or the exact release names one.
    pub patch: Option<u32>,
    /// The exact K3s release, when pinned.
    pub exact: Option<String>,
}

impl Target {
    /// Whether a node running `v` runs this target.
    pub(crate) fn satisfied_by(&self, v: &K3sVersion) -> bool {
        match &self.exact {
            Some(exact) => &v.text == exact,
            None => v.minor == self.minor && self.patch.is_none_or(|p| v.patch == p),
        }
    }

    /// Whether `v` is newer than this target (a downgrade would be needed).
    pub(crate) fn older_than(&self, v: &K3sVersion) -> bool {
        v.minor > self.minor || (v.minor == self.minor && self.patch.is_some_and(|p| v.patch > p))
    }

    /// The installer variable and value for the release of `minor` (the target's exact release or patch on
    /// the target's minor, else the minor's channel).
    pub(crate) fn install_for(&self, minor: u32) -> (&'static str, String) {
        if minor == self.minor
            && let Some(exact) = &self.exact
        {
            return ("INSTALL_K3S_VERSION", exact.clone());
        }
        ("INSTALL_K3S_CHANNEL", format!("v1.{minor}"))
    }
}

/// A host with what validation decided about it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    /// Its place in the inventory.
    pub index: usize,
    /// The host.
    pub host: HostSpec,
    /// The node pool of an agent.
    pub pool: Option<String>,
    /// Whether the host should be in the cluster now (servers always; agents among the first `desired` of
    /// their pool).
    pub member: bool,
}

impl Node {
    /// The host's role.
    pub(crate) fn role(&self) -> Role {
        self.host.role
    }
    /// The host's name.
    pub(crate) fn name(&self) -> &str {
        &self.host.name
    }
}

/// A cluster spec and its inventory, validated together: the only input the provider acts on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Layout {
    /// The cluster spec.
    pub spec: ClusterSpec,
    /// The inventory.
    pub inventory: K3sInventory,
    /// Every host, in inventory order.
    pub nodes: Vec<Node>,
    /// Index (into `nodes`) of the server that bootstraps the cluster.
    pub first_server: usize,
    /// The version to run.
    pub target: Target,
    /// The address clients reach the API server at.
    pub api_endpoint: String,
}

impl Layout {
    /// The bootstrapping server.
    pub(crate) fn first(&self) -> &Node {
        &self.nodes[self.first_server]
    }

    /// The node named `name`.
    pub(crate) fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name() == name)
    }

    /// The URL joining nodes reach the first server at.
    pub(crate) fn join_url(&self) -> String {
        format!("https://{}:{API_PORT}", bracketed(&self.first().host.address))
    }
}

fn bracketed(address: &str) -> String {
    if address.contains(':') { format!("[{address}]") } else { address.to_string() }
}

/// Validates a cluster spec with its inventory, reporting every problem at once: the core rules of
/// [`wooo_core::validate::cluster_spec`] first (their fields as they are), then the K3s rules (fields under
/// `inventory.`).
///
/// # Errors
/// [`Error::InvalidSpec`] naming every invalid field.
pub(crate) fn validate(spec: &ClusterSpec, inventory: &K3sInventory) -> Result<Layout> {
    let spec = wooo_core::validate::cluster_spec(spec)?.into_inner();
    let mut v = Vec::new();
    let mut add = |field: String, reason: String| v.push(FieldViolation { field, reason });
    unsupported_fields(&spec, &mut add);
    if inventory.cluster != spec.name {
        add("inventory.cluster".into(), format!("names cluster `{}`, not `{}`", inventory.cluster, spec.name));
    }
    let target = target(&spec, inventory, &mut add);
    hosts(&spec, inventory, &mut add);
    settings(inventory, &mut add);
    if let Some(e) = Error::from_violations(v) {
        return Err(e);
    }
    let nodes = nodes(&spec, inventory);
    let first_server = nodes.iter().position(|n| n.role() == Role::Server).expect("validated: a server");
    let api_endpoint = inventory.k3s.api_endpoint.clone().unwrap_or_else(|| nodes[first_server].host.address.clone());
    Ok(Layout {
        spec,
        inventory: inventory.clone(),
        nodes,
        first_server,
        target: target.expect("validated: a target"),
        api_endpoint,
    })
}

fn unsupported_fields(spec: &ClusterSpec, add: &mut impl FnMut(String, String)) {
    let n = &spec.network;
    let why = "K3s runs on the hosts' own network; wooo creates no network for it";
    if n.network_id.is_some() {
        add("network.network_id".into(), why.into());
    }
    if !n.subnet_ids.is_empty() {
        add("network.subnet_ids".into(), why.into());
    }
    if n.vpc_cidr.is_some() {
        add("network.vpc_cidr".into(), why.into());
    }
    for (i, pool) in spec.node_pools.iter().enumerate() {
        if pool.capacity == Capacity::Spot {
            add(format!("node_pools[{i}].capacity"), "K3s hosts are the user's own: there is no spot capacity".into());
        }
        if !pool.zones.is_empty() {
            add(format!("node_pools[{i}].zones"), "K3s hosts have no zones; put a topology label on them".into());
        }
    }
}

fn target(spec: &ClusterSpec, inventory: &K3sInventory, add: &mut impl FnMut(String, String)) -> Option<Target> {
    let wanted = KubernetesVersion::parse(&spec.kubernetes_version).ok()?;
    let mut target = Target { minor: wanted.minor, patch: wanted.patch, exact: None };
    if let Some(version) = &inventory.k3s.version {
        match K3sVersion::parse(version) {
            Some(v) if !version.starts_with('v') || !version.contains("+k3s") => add(
                "inventory.k3s.version".into(),
                format!("must be a K3s release like v1.{}.{}+k3s1, got `{version}`", v.minor, v.patch),
            ),
            Some(v) if v.minor != wanted.minor || wanted.patch.is_some_and(|p| p != v.patch) => add(
                "inventory.k3s.version".into(),
                format!("{version} is not of the spec's Kubernetes version {}", spec.kubernetes_version),
            ),
            Some(v) => {
                target.patch = Some(v.patch);
                target.exact = Some(version.clone());
            }
            None => add(
                "inventory.k3s.version".into(),
                format!("must be a K3s release like v1.{}.0+k3s1, got `{version}`", wanted.minor),
            ),
        }
        if inventory.k3s.channel.is_some() {
            add("inventory.k3s.channel".into(), "give either a version or a channel, not both".into());
        }
    }
    if let Some(channel) = &inventory.k3s.channel {
        let expected = format!("v1.{}", wanted.minor);
        if channel != &expected {
            add(
                "inventory.k3s.channel".into(),
                format!(
                    "must be `{expected}`, the channel of the spec's Kubernetes version (a moving channel like \
                     `{channel}` would take the cluster off it)"
                ),
            );
        }
    }
    Some(target)
}

fn hosts(spec: &ClusterSpec, inventory: &K3sInventory, add: &mut impl FnMut(String, String)) {
    if inventory.hosts.is_empty() {
        add("inventory.hosts".into(), "must list at least one host".into());
        return;
    }
    let servers = inventory.hosts.iter().filter(|h| h.role == Role::Server).count();
    if servers == 0 {
        add("inventory.hosts".into(), "must list at least one server".into());
    } else if inventory.k3s.datastore == Datastore::EmbeddedEtcd && servers % 2 == 0 {
        add(
            "inventory.hosts".into(),
            format!(
                "embedded etcd needs an odd number of servers to keep a quorum (1, 3 or 5), got {servers}; add or \
                 remove a server, or use an external datastore"
            ),
        );
    }
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut endpoints: HashMap<(String, u16), usize> = HashMap::new();
    for (i, h) in inventory.hosts.iter().enumerate() {
        let p = format!("inventory.hosts[{i}]");
        if let Err(reason) = dns1123_label(&h.name, 63) {
            add(format!("{p}.name"), reason);
        }
        let first = *names.entry(&h.name).or_insert(i);
        if first != i {
            add(format!("{p}.name"), format!("duplicates the name of inventory.hosts[{first}]"));
        }
        if let Err(reason) = address(&h.address) {
            add(format!("{p}.address"), reason);
        }
        let first = *endpoints.entry((h.address.to_ascii_lowercase(), h.port)).or_insert(i);
        if first != i {
            add(format!("{p}.address"), format!("{}:{} is inventory.hosts[{first}] already", h.address, h.port));
        }
        if h.port == 0 {
            add(format!("{p}.port"), "must be 1 to 65535".into());
        }
        if h.user.is_empty()
            || !h.user.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
            || h.user.starts_with('-')
        {
            add(format!("{p}.user"), "must be a user name of letters, digits, '_', '-' and '.'".into());
        }
        if let super::spec::SshAuth::KeyFile { path, .. } = &h.auth
            && path.as_os_str().is_empty()
        {
            add(format!("{p}.auth.key_file.path"), "must not be empty".into());
        }
        if let Some(pin) = &h.host_key
            && let Err(reason) = fingerprint(pin)
        {
            add(format!("{p}.host_key"), reason);
        }
        host_pool(spec, h, &p, add);
        for (k, value) in &h.labels {
            let field = format!("{p}.labels[\"{k}\"]");
            if let Err(reason) = label_key(k).and_then(|()| label_value(value)) {
                add(field, reason);
            } else if k == CLUSTER_LABEL || k == POOL_LABEL {
                add(field, format!("`{k}` is set by wooo"));
            }
        }
        for (j, t) in h.taints.iter().enumerate() {
            if let Err(reason) = label_key(&t.key) {
                add(format!("{p}.taints[{j}].key"), reason);
            }
            if let Some(Err(reason)) = t.value.as_deref().map(label_value) {
                add(format!("{p}.taints[{j}].value"), reason);
            }
        }
    }
    for (i, pool) in spec.node_pools.iter().enumerate() {
        let members = inventory.hosts.iter().filter(|h| pool_of(spec, h).as_deref() == Some(&pool.name)).count();
        if pool.desired_count() as usize > members {
            add(
                format!("node_pools[{i}].desired"),
                format!(
                    "pool `{}` has {members} agent hosts in the inventory, fewer than the {} desired",
                    pool.name,
                    pool.desired_count()
                ),
            );
        }
    }
}

fn host_pool(spec: &ClusterSpec, h: &HostSpec, p: &str, add: &mut impl FnMut(String, String)) {
    match (h.role, &h.pool) {
        (Role::Server, Some(_)) => {
            add(format!("{p}.pool"), "servers belong to no node pool; only agents do".into());
        }
        (Role::Agent, Some(pool)) if spec.node_pool(pool).is_none() => {
            add(format!("{p}.pool"), format!("names no node pool of the spec: `{pool}`"));
        }
        (Role::Agent, None) if spec.node_pools.len() != 1 => {
            add(format!("{p}.pool"), "must name the agent's node pool when the spec has several".into());
        }
        _ => {}
    }
}

/// The node pool an agent belongs to.
fn pool_of(spec: &ClusterSpec, h: &HostSpec) -> Option<String> {
    match (h.role, &h.pool) {
        (Role::Server, _) => None,
        (Role::Agent, Some(pool)) => Some(pool.clone()),
        (Role::Agent, None) => (spec.node_pools.len() == 1).then(|| spec.node_pools[0].name.clone()),
    }
}

fn settings(inventory: &K3sInventory, add: &mut impl FnMut(String, String)) {
    let k = &inventory.k3s;
    for (i, san) in k.tls_san.iter().enumerate() {
        if let Err(reason) = address(san) {
            add(format!("inventory.k3s.tls_san[{i}]"), reason);
        }
    }
    for (i, c) in k.disable.iter().enumerate() {
        if k.disable[..i].contains(c) {
            add(format!("inventory.k3s.disable[{i}]"), format!("`{}` is listed twice", c.as_str()));
        }
    }
    if let Some(endpoint) = &k.api_endpoint
        && let Err(reason) = address(endpoint)
    {
        add("inventory.k3s.api_endpoint".into(), reason);
    }
    if let Datastore::External { endpoint } = &k.datastore {
        let url = endpoint.expose();
        let known = ["postgres://", "mysql://", "https://", "http://", "unix://"];
        // The URL is a secret: the reason never quotes it.
        if !known.iter().any(|s| url.starts_with(s)) || url.chars().any(char::is_whitespace) {
            add(
                "inventory.k3s.datastore.external.endpoint".into(),
                "must be a datastore URL starting with postgres://, mysql://, https://, http:// or unix://".into(),
            );
        }
    }
    match &inventory.install {
        InstallMode::Script { url } if !(url.starts_with("https://") || url.starts_with("http://")) => {
            add("inventory.install.script.url".into(), format!("must be an http(s) URL, got `{url}`"));
        }
        InstallMode::AirGap { binary, script } => {
            for (name, path) in [("binary", binary), ("script", script)] {
                if path.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
                    add(format!("inventory.install.air_gap.{name}"), "must not be empty when set".into());
                }
            }
        }
        InstallMode::Script { .. } => {}
    }
    if inventory.ssh.parallel_agents == 0 {
        add("inventory.ssh.parallel_agents".into(), "must be at least 1".into());
    }
    if inventory.ssh.connect_timeout_secs == 0 {
        add("inventory.ssh.connect_timeout_secs".into(), "must be at least 1".into());
    }
}

/// An IP address or a DNS name.
pub(crate) fn address(s: &str) -> std::result::Result<(), String> {
    if s.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    let lower = s.to_ascii_lowercase();
    let name_ok = !lower.is_empty()
        && lower.len() <= 253
        && lower.split('.').all(|part| dns1123_label(part, 63).is_ok() || part.bytes().all(|c| c.is_ascii_digit()));
    if name_ok { Ok(()) } else { Err(format!("must be an IP address or a DNS name, got `{s}`")) }
}

/// A pinned host key fingerprint: `SHA256:` and 43 characters of unpadded base64.
pub(crate) fn fingerprint(s: &str) -> std::result::Result<(), String> {
    let valid = s
        .strip_prefix("SHA256:")
        .is_some_and(|b| b.len() == 43 && b.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/'));
    if valid {
        Ok(())
    } else {
        Err("must be a SHA-256 host key fingerprint as `ssh-keygen -lf` prints it: `SHA256:` and 43 characters".into())
    }
}

fn nodes(spec: &ClusterSpec, inventory: &K3sInventory) -> Vec<Node> {
    let mut seen: HashMap<String, u32> = HashMap::new();
    inventory
        .hosts
        .iter()
        .enumerate()
        .map(|(index, host)| {
            let pool = pool_of(spec, host);
            let member = match &pool {
                None => true,
                Some(name) => {
                    let desired = spec.node_pool(name).map_or(0, |p| p.desired_count());
                    let n = seen.entry(name.clone()).or_insert(0);
                    *n += 1;
                    *n <= desired
                }
            };
            Node { index, host: host.clone(), pool, member }
        })
        .collect()
}

// --- node configuration --------------------------------------------------------------------------------

/// A node's `/etc/rancher/k3s/config.yaml`, as keys and values (K3s's flag names without `--`).
pub(crate) type NodeConfig = BTreeMap<String, Value>;

/// The configuration `node` should have, without the join token (see [`with_token`]).
pub(crate) fn node_config(layout: &Layout, node: &Node) -> NodeConfig {
    let mut c = NodeConfig::new();
    let spec = &layout.spec;
    c.insert("node-name".into(), node.name().into());
    let mut labels = vec![format!("{CLUSTER_LABEL}={}", spec.name)];
    let pool = node.pool.as_deref().and_then(|p| spec.node_pool(p));
    if let Some(pool) = pool {
        labels.push(format!("{POOL_LABEL}={}", pool.name));
        labels.extend(pool.labels.iter().map(|(k, v)| format!("{k}={v}")));
    }
    labels.extend(node.host.labels.iter().map(|(k, v)| format!("{k}={v}")));
    labels.sort();
    labels.dedup();
    c.insert("node-label".into(), strings(labels));
    let mut taints: Vec<String> = pool.map(|p| p.taints.iter().map(taint).collect()).unwrap_or_default();
    taints.extend(node.host.taints.iter().map(taint));
    taints.sort();
    taints.dedup();
    if !taints.is_empty() {
        c.insert("node-taint".into(), strings(taints));
    }
    let bootstraps = node.index == layout.first().index;
    if !bootstraps {
        c.insert("server".into(), layout.join_url().into());
    }
    if node.role() == Role::Server {
        server_config(layout, bootstraps, &mut c);
    }
    c
}

fn server_config(layout: &Layout, bootstraps: bool, c: &mut NodeConfig) {
    let k = &layout.inventory.k3s;
    match &k.datastore {
        Datastore::EmbeddedEtcd if bootstraps => {
            c.insert("cluster-init".into(), Value::Bool(true));
        }
        Datastore::EmbeddedEtcd => {}
        Datastore::External { endpoint } => {
            c.insert("datastore-endpoint".into(), endpoint.expose().into());
        }
    }
    let mut sans = vec![layout.api_endpoint.clone()];
    sans.extend(layout.nodes.iter().filter(|n| n.role() == Role::Server).map(|n| n.host.address.clone()));
    sans.extend(k.tls_san.iter().cloned());
    let mut seen = std::collections::BTreeSet::new();
    sans.retain(|s| seen.insert(s.clone()));
    c.insert("tls-san".into(), strings(sans));
    if !k.disable.is_empty() {
        let mut disable: Vec<&str> = k.disable.iter().map(|d| d.as_str()).collect();
        disable.sort();
        c.insert("disable".into(), strings(disable));
    }
    if let Some(cidr) = &layout.spec.network.pod_cidr {
        c.insert("cluster-cidr".into(), cidr.as_str().into());
    }
    if let Some(cidr) = &layout.spec.network.service_cidr {
        c.insert("service-cidr".into(), cidr.as_str().into());
    }
}

fn strings<S: Into<String>>(items: Vec<S>) -> Value {
    Value::Array(items.into_iter().map(|s| Value::String(s.into())).collect())
}

fn taint(t: &Taint) -> String {
    let effect = match t.effect {
        TaintEffect::NoSchedule => "NoSchedule",
        TaintEffect::PreferNoSchedule => "PreferNoSchedule",
        TaintEffect::NoExecute => "NoExecute",
    };
    match &t.value {
        Some(v) => format!("{}={v}:{effect}", t.key),
        None => format!("{}:{effect}", t.key),
    }
}

/// The configuration with the join token of the cluster (every node but the bootstrapping server).
pub(crate) fn with_token(mut config: NodeConfig, token: Option<&SecretString>) -> NodeConfig {
    if let Some(token) = token
        && config.contains_key("server")
    {
        config.insert("token".into(), token.expose().into());
    }
    config
}

/// The config file text: [`CONFIG_HEADER`], then one key per line, strings JSON-quoted (a JSON string is a
/// YAML double-quoted scalar, so no value can break the document), lists as block sequences.
pub(crate) fn render_config(config: &NodeConfig) -> String {
    let mut out = format!("{CONFIG_HEADER}\n");
    for (key, value) in config {
        match value {
            Value::Array(items) => {
                out.push_str(&format!("{key}:\n"));
                for item in items {
                    out.push_str(&format!("  - {item}\n"));
                }
            }
            other => out.push_str(&format!("{key}: {other}\n")),
        }
    }
    out
}

/// Parses a config file (any YAML a user or wooo wrote).
pub(crate) fn parse_config(text: &str) -> std::result::Result<NodeConfig, String> {
    match serde_saphyr::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map.into_iter().collect()),
        Ok(Value::Null) => Ok(NodeConfig::new()),
        Ok(_) => Err("the config file is not a mapping".into()),
        // The parser's message may quote the text, which holds the token: say only where.
        Err(_) => Err("the config file is not valid YAML".into()),
    }
}

/// The keys whose values differ between the desired and the observed config (join token excepted), sorted.
pub(crate) fn config_diff(desired: &NodeConfig, observed: &NodeConfig) -> Vec<String> {
    let mut keys: Vec<&String> = desired.keys().chain(observed.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| !UNCOMPARED_KEYS.contains(&k.as_str()))
        .filter(|k| normalized(desired.get(*k)) != normalized(observed.get(*k)))
        .cloned()
        .collect()
}

/// K3s takes a one-item list and a scalar alike.
fn normalized(v: Option<&Value>) -> Option<Value> {
    match v {
        Some(Value::Array(items)) if items.len() == 1 => Some(items[0].clone()),
        Some(Value::String(s)) if s == "true" || s == "false" => Some(Value::Bool(s == "true")),
        other => other.cloned(),
    }
}

// --- observation ---------------------------------------------------------------------------------------

/// What a host's probe found.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Observed {
    /// The release of `/usr/local/bin/k3s`, when there is one (installed or uploaded).
    pub version: Option<K3sVersion>,
    /// The role K3s is installed as (its uninstall script tells), when installed.
    pub installed: Option<Role>,
    /// The node's config file, when there is one.
    pub config: Option<NodeConfig>,
    /// Why the config file could not be read, when it could not.
    pub config_error: Option<String>,
    /// The cluster spec wooo last applied (kept on the bootstrapping server).
    pub applied: Option<ClusterSpec>,
}

impl Observed {
    /// The cluster the node's config says it belongs to ([`CLUSTER_LABEL`]).
    pub(crate) fn cluster(&self) -> Option<String> {
        let labels = self.config.as_ref()?.get("node-label")?;
        let items: Vec<&Value> = match labels {
            Value::Array(items) => items.iter().collect(),
            one => vec![one],
        };
        items
            .into_iter()
            .filter_map(Value::as_str)
            .find_map(|l| l.strip_prefix(CLUSTER_LABEL).and_then(|rest| rest.strip_prefix('=')).map(str::to_string))
    }
}

/// Marks the sections of the probe's output.
pub(crate) const PROBE_CONFIG: &str = "--- wooo:config";
/// Marks the applied-spec section of the probe's output.
pub(crate) const PROBE_APPLIED: &str = "--- wooo:applied";

/// Parses the probe's output ([`super::install::probe`]): `key=value` lines, then the config file and the
/// applied spec, each after its marker line.
pub(crate) fn parse_probe(stdout: &str) -> Observed {
    let mut o = Observed::default();
    let (head, config, applied) = sections(stdout);
    for line in head.lines() {
        match line.split_once('=') {
            Some(("version", v)) => o.version = K3sVersion::from_version_output(v),
            Some(("installed", "server")) => o.installed = Some(Role::Server),
            Some(("installed", "agent")) => o.installed = o.installed.or(Some(Role::Agent)),
            _ => {}
        }
    }
    if let Some(text) = config {
        match parse_config(&text) {
            Ok(c) => o.config = Some(c),
            Err(e) => o.config_error = Some(e),
        }
    }
    o.applied = applied.and_then(|text| serde_json::from_str(&text).ok());
    o
}

fn sections(stdout: &str) -> (String, Option<String>, Option<String>) {
    let mut head = String::new();
    let mut config: Option<String> = None;
    let mut applied: Option<String> = None;
    let mut current = 0;
    for line in stdout.lines() {
        match line {
            PROBE_CONFIG => {
                current = 1;
                config = Some(String::new());
            }
            PROBE_APPLIED => {
                current = 2;
                applied = Some(String::new());
            }
            _ => {
                let target = match current {
                    1 => config.as_mut(),
                    2 => applied.as_mut(),
                    _ => Some(&mut head),
                };
                if let Some(t) = target {
                    t.push_str(line);
                    t.push('\n');
                }
            }
        }
    }
    (head, config, applied)
}

// --- plan ----------------------------------------------------------------------------------------------

/// What happens to one host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HostAction {
    /// Install the bootstrapping server (`cluster-init`).
    Bootstrap,
    /// Install and join the cluster.
    Join,
    /// Write the config (these keys differ) and restart K3s.
    Reconfigure(Vec<String>),
    /// Upgrade through these Kubernetes minors, one at a time (the last is the target).
    Upgrade {
        /// The release running now.
        from: String,
        /// The minors to go through, in order.
        minors: Vec<u32>,
    },
    /// Remove K3s (drained first), running its uninstall script.
    Remove,
    /// Nothing to do.
    Keep,
}

/// One step of an apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Step {
    /// The host (its name).
    pub host: String,
    /// Its role.
    pub role: Role,
    /// What happens.
    pub action: HostAction,
}

/// What each host needs, in the order the steps run: the bootstrapping server; upgrades and reconfigurations
/// of servers one at a time; servers joining one at a time; then the same for agents (agents join in
/// parallel, see [`join_batches`]); removals of agents, then of servers. Hosts that need nothing come last,
/// as [`HostAction::Keep`].
///
/// # Errors
/// [`Error::Conflict`] when a host runs K3s wooo did not install, or another cluster's, or a newer version
/// than asked (K3s does not downgrade), or K3s as the other role; [`Error::Unsupported`] for an air-gap
/// upgrade of more than one minor (one binary is uploaded).
pub(crate) fn steps(layout: &Layout, observed: &[Observed]) -> Result<Vec<Step>> {
    let mut out: Vec<Step> = Vec::new();
    for (node, o) in layout.nodes.iter().zip(observed) {
        let action = host_action(layout, node, o)?;
        out.push(Step { host: node.name().to_string(), role: node.role(), action });
    }
    let first = layout.first().name().to_string();
    out.sort_by_key(|s| order_key(s, &first));
    Ok(out)
}

fn order_key(s: &Step, first: &str) -> (u8, u8) {
    let phase = match (&s.action, s.role) {
        (HostAction::Bootstrap, _) => 0,
        (HostAction::Upgrade { .. } | HostAction::Reconfigure(_), Role::Server) if s.host == first => 1,
        (HostAction::Upgrade { .. } | HostAction::Reconfigure(_), Role::Server) => 2,
        (HostAction::Join, Role::Server) => 3,
        (HostAction::Upgrade { .. } | HostAction::Reconfigure(_), Role::Agent) => 4,
        (HostAction::Join, Role::Agent) => 5,
        (HostAction::Remove, Role::Agent) => 6,
        (HostAction::Remove, Role::Server) => 7,
        (HostAction::Keep, _) => 8,
    };
    (phase, 0)
}

fn host_action(layout: &Layout, node: &Node, o: &Observed) -> Result<HostAction> {
    let name = node.name();
    let Some(installed) = o.installed else {
        if !node.member {
            return Ok(HostAction::Keep);
        }
        return Ok(if node.index == layout.first().index { HostAction::Bootstrap } else { HostAction::Join });
    };
    if let Some(e) = &o.config_error {
        return Err(Error::conflict(PROVIDER, format!("host {name}: K3s is installed but {e}")));
    }
    match o.cluster() {
        Some(c) if c == layout.spec.name => {}
        Some(other) => {
            return Err(Error::conflict(PROVIDER, format!("host {name} is a node of cluster {other}")));
        }
        None => {
            return Err(Error::conflict(PROVIDER, format!("host {name} runs a K3s that wooo did not install")));
        }
    }
    if !node.member {
        return Ok(HostAction::Remove);
    }
    if installed != node.role() {
        return Err(Error::conflict(
            PROVIDER,
            format!(
                "host {name} runs K3s as {}, the inventory says {}; remove it from the inventory, apply, and add \
                 it back",
                installed.as_str(),
                node.role().as_str()
            ),
        ));
    }
    let version = o.version.as_ref().ok_or_else(|| {
        Error::conflict(PROVIDER, format!("host {name}: K3s is installed but /usr/local/bin/k3s reports no version"))
    })?;
    if layout.target.older_than(version) {
        return Err(Error::conflict(
            PROVIDER,
            format!(
                "host {name} runs {version}, newer than the spec's {}; K3s does not downgrade",
                layout.spec.kubernetes_version
            ),
        ));
    }
    if !layout.target.satisfied_by(version) {
        let minors: Vec<u32> = if version.minor < layout.target.minor {
            (version.minor + 1..=layout.target.minor).collect()
        } else {
            vec![layout.target.minor]
        };
        if minors.len() > 1 && matches!(layout.inventory.install, InstallMode::AirGap { .. }) {
            return Err(Error::unsupported(
                PROVIDER,
                format!(
                    "air-gap upgrade of host {name} from {version} to 1.{}: K3s upgrades one minor at a time and \
                     one binary is uploaded; apply 1.{} first",
                    layout.target.minor, minors[0]
                ),
            ));
        }
        return Ok(HostAction::Upgrade { from: version.text.clone(), minors });
    }
    let desired = node_config(layout, node);
    let diff = config_diff(&desired, o.config.as_ref().unwrap_or(&NodeConfig::new()));
    Ok(if diff.is_empty() { HostAction::Keep } else { HostAction::Reconfigure(diff) })
}

/// The agents joining, in batches of at most `parallel` that join together.
pub(crate) fn join_batches(steps: &[Step], parallel: usize) -> Vec<Vec<String>> {
    let joining: Vec<String> = steps
        .iter()
        .filter(|s| s.role == Role::Agent && s.action == HostAction::Join)
        .map(|s| s.host.clone())
        .collect();
    joining.chunks(parallel.max(1)).map(<[String]>::to_vec).collect()
}

/// The plan of `steps`: the cluster first (created when the bootstrapping server is, upgraded when any node
/// is), then each host.
pub(crate) fn plan(layout: &Layout, steps: &[Step]) -> ClusterPlan {
    let bootstrap = steps.iter().any(|s| s.action == HostAction::Bootstrap);
    let upgrades: Vec<&Step> = steps.iter().filter(|s| matches!(s.action, HostAction::Upgrade { .. })).collect();
    let cluster = if bootstrap {
        PlannedChange {
            target: "cluster".into(),
            action: ChangeAction::Create,
            fields: Vec::new(),
            reason: format!("install K3s on {} with cluster-init", layout.first().name()),
        }
    } else if !upgrades.is_empty() {
        PlannedChange {
            target: "cluster".into(),
            action: ChangeAction::UpdateInPlace,
            fields: vec!["kubernetes_version".into()],
            reason: format!("upgrade {} nodes to Kubernetes {}", upgrades.len(), layout.spec.kubernetes_version),
        }
    } else {
        PlannedChange {
            target: "cluster".into(),
            action: ChangeAction::NoOp,
            fields: Vec::new(),
            reason: "the servers run the asked version".into(),
        }
    };
    let mut changes = vec![cluster];
    for s in steps {
        let target = format!("host/{}", s.host);
        let (action, fields, reason) = match &s.action {
            HostAction::Bootstrap => (ChangeAction::Create, vec![], "install the first server (cluster-init)".into()),
            HostAction::Join => (ChangeAction::Create, vec![], format!("install and join as {}", s.role.as_str())),
            HostAction::Reconfigure(keys) => (
                ChangeAction::UpdateInPlace,
                keys.iter().map(|k| format!("config.{k}")).collect(),
                "reconfigure and restart".into(),
            ),
            HostAction::Upgrade { from, minors } => (
                ChangeAction::UpdateInPlace,
                vec!["kubernetes_version".into()],
                format!(
                    "upgrade from {from} through {}",
                    minors.iter().map(|m| format!("1.{m}")).collect::<Vec<_>>().join(", ")
                ),
            ),
            HostAction::Remove => (ChangeAction::Delete, vec![], "drain and remove (uninstall K3s)".into()),
            HostAction::Keep => (ChangeAction::NoOp, vec![], "as asked".into()),
        };
        changes.push(PlannedChange { target, action, fields, reason });
    }
    ClusterPlan { cluster: ClusterId::new(layout.spec.name.clone()), changes }
}

// --- kubeconfig ----------------------------------------------------------------------------------------

/// The cluster's access data from the kubeconfig K3s writes (`/etc/rancher/k3s/k3s.yaml`), parsed, with the
/// server (K3s writes `https://127.0.0.1:6443`) moved to `endpoint`, keeping the port.
///
/// # Errors
/// [`Error::Provider`] when the file is not a kubeconfig with a current context, a server and a client
/// certificate (the parser's message is not repeated: it may quote the private key).
pub(crate) fn access_from_kubeconfig(cluster: &ClusterId, text: &str, endpoint: &str) -> Result<ClusterAccess> {
    let bad = |what: &str| Error::Provider {
        provider: PROVIDER,
        message: format!("the kubeconfig K3s wrote for cluster {cluster}: {what}"),
        source: None,
    };
    let config = ::kube::config::Kubeconfig::from_yaml(text).map_err(|_| bad("is not a kubeconfig"))?;
    let context_name = config.current_context.clone().ok_or_else(|| bad("has no current context"))?;
    let context = config
        .contexts
        .iter()
        .find(|c| c.name == context_name)
        .and_then(|c| c.context.clone())
        .ok_or_else(|| bad("its current context is missing"))?;
    let cluster_entry = config
        .clusters
        .iter()
        .find(|c| c.name == context.cluster)
        .and_then(|c| c.cluster.clone())
        .ok_or_else(|| bad("the current context's cluster is missing"))?;
    let server = cluster_entry.server.clone().ok_or_else(|| bad("its cluster has no server"))?;
    let port = server_port(&server).ok_or_else(|| bad("its server is not an https URL"))?;
    let user_name = context.user.clone().ok_or_else(|| bad("the current context names no user"))?;
    let user = config
        .auth_infos
        .iter()
        .find(|u| u.name == user_name)
        .and_then(|u| u.auth_info.clone())
        .ok_or_else(|| bad("the current context's user is missing"))?;
    let (Some(cert), Some(key)) = (user.client_certificate_data.clone(), user.client_key_data.clone()) else {
        return Err(bad("its user has no client certificate and key"));
    };
    use secrecy::ExposeSecret;
    Ok(ClusterAccess {
        cluster: cluster.clone(),
        endpoint: format!("https://{}:{port}", bracketed(endpoint)),
        ca_data: cluster_entry.certificate_authority_data.clone(),
        auth: ClusterAuth::ClientCertificate { cert_data: cert, key_data: SecretString::new(key.expose_secret()) },
    })
}

/// The port of an `https://host[:port][/]` URL (443 when absent).
fn server_port(server: &str) -> Option<u16> {
    let rest = server.strip_prefix("https://")?;
    let authority = rest.split('/').next()?;
    let port = if let Some(v6) = authority.strip_prefix('[') {
        let (_, after) = v6.split_once(']')?;
        after.strip_prefix(':')
    } else {
        authority.rsplit_once(':').map(|(_, p)| p)
    };
    match port {
        Some(p) => p.parse().ok(),
        None => Some(443),
    }
}
