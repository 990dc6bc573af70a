//! K3s on hosts the user already has: [`K3s`], a [`Provisioner`] that installs, joins, reconfigures, upgrades
//! and removes K3s over SSH (feature `k3s`).
//!
//! ```no_run
//! # async fn demo() -> wooo_core::Result<()> {
//! use wooo_core::prelude::*;
//! use wooo_providers::k3s::{K3sBuilder, K3sInventory};
//!
//! let spec: ClusterSpec = from_yaml(&std::fs::read_to_string("cluster.yaml").unwrap())?;
//! let hosts: K3sInventory = from_yaml(&std::fs::read_to_string("hosts.yaml").unwrap())?;
//! let k3s = K3sBuilder::new().cluster(hosts).build()?;
//! println!("{}", k3s.plan(&spec).await?);
//! let cluster = k3s.ensure(&spec, &WaitOptions::default(), &Progress::none()).await?;
//! let kubeconfig = k3s.access(&cluster.id).await?.to_kubeconfig_yaml()?;
//! # Ok(()) }
//! ```
//!
//! What [`K3s`] does:
//! - **Input**: a [`ClusterSpec`] (name, Kubernetes version, node pools with labels and taints, pod and
//!   service CIDRs) and the cluster's [`K3sInventory`] (hosts with address, port, user, key file or agent,
//!   sudo, role and pool; K3s version or channel, `tls-san`, disabled components, datastore; install mode;
//!   host-key policy), validated together before any connection: an even number of servers with embedded
//!   etcd, duplicate hosts, bad addresses, a pool larger than its hosts are refused, naming the field.
//! - **SSH** in pure Rust (russh on ring). Host keys are checked against known_hosts or a pinned fingerprint;
//!   an unknown key is refused unless [`SshSettings::accept_new_host_keys`], a changed one always. A failed
//!   remote command's error ([`CommandFailed`]) names the host, the command, the exit status and its output.
//!   Secrets (join token, sudo password, datastore URL) never appear in a command line, an error, a log or a
//!   progress event: they travel in uploaded files or on `sudo`'s standard input.
//! - **Bootstrap** in the safe order: the first server with `cluster-init`, the other servers one at a time
//!   (each waited on until its node is Ready), then the agents, in parallel
//!   ([`SshSettings::parallel_agents`]), all with the secure `K10…` token read from the first server. Every
//!   setting is written to `/etc/rancher/k3s/config.yaml`, so it survives re-running the installer.
//! - **Install modes**: the official install script from a URL (`INSTALL_K3S_VERSION` / `INSTALL_K3S_CHANNEL`),
//!   or air-gap (`INSTALL_K3S_SKIP_DOWNLOAD=true`, binary and script uploaded or already on the host).
//! - **Idempotent**: each apply probes every host (binary version, role, config, the spec last applied) and
//!   does only what is missing; [`Provisioner::plan`] lists it per host: install, join, reconfigure and
//!   restart, upgrade, remove. A re-run with nothing to do runs no command that changes anything.
//! - **Node pools** are the agents of the pool, in inventory order: the first `desired` are in the cluster,
//!   so [`Provisioner::scale_node_pool`] joins or removes agents; a pool cannot want more agents than the
//!   inventory gives it. A cluster of servers only has a pool with `desired: 0`.
//! - **Upgrades**: servers one at a time, then agents, one Kubernetes minor at a time, each node drained
//!   before and uncordoned after through the API server (`k3s kubectl` on the first server). Air-gap upgrades
//!   go one minor per apply (one binary is uploaded). K3s does not downgrade: a newer node is a conflict.
//! - **Delete**: agents, then servers, each with the uninstall script the installer wrote; only clusters whose
//!   nodes carry wooo's [`CLUSTER_LABEL`] unless [`DeleteOptions::force_unowned`].
//! - **Access**: `/etc/rancher/k3s/k3s.yaml` is read from the first server, parsed as a kubeconfig, its server
//!   moved to [`K3sSettings::api_endpoint`] (or the first server's address) and returned as
//!   [`ClusterAccess`] for [`crate::kube::client`].
//!
//! Module shape: `mod.rs` the provider, `builder.rs` [`K3sBuilder`], `spec.rs` the inventory, `shape.rs` the
//! pure decisions (validation, config rendering, plan and order, kubeconfig rewrite), `install.rs` the remote
//! commands as data, `ssh.rs` the SSH seam, `error.rs` classification.

mod builder;
mod error;
mod install;
mod shape;
mod spec;
mod ssh;

#[cfg(test)]
mod shape_tests;

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use futures::future::{join_all, try_join_all};
use wooo_core::model::{
    Cluster, ClusterAccess, ClusterId, ClusterPlan, ClusterSpec, ClusterStatus, ConditionType, NodePoolStatus,
    SecretString,
};
use wooo_core::progress::{OperationGuard, Progress};
use wooo_core::{DeleteOptions, Error, ErrorKind, Look, Provisioner, ProvisionerCapabilities, Result, WaitOptions};

pub use self::builder::K3sBuilder;
pub use self::error::CommandFailed;
use self::error::PROVIDER;
pub use self::install::{APPLIED_PATH, CONFIG_PATH, K3S_BINARY, KUBECONFIG_PATH, REMOTE_INSTALL_SCRIPT, TOKEN_PATH};
use self::install::{NodeRow, Release};
pub use self::shape::{CLUSTER_LABEL, POOL_LABEL};
use self::shape::{HostAction, Layout, Node, Observed, Step};
pub use self::spec::{
    Component, Datastore, HostSpec, InstallMode, K3sInventory, K3sSettings, K3sSpecFile, Role, SshAuth, SshSettings,
    Sudo,
};
use self::ssh::{HostKeyPolicy, Session};

/// The K3s [`Provisioner`]: clusters on hosts the user already has, reached over SSH. Build it with
/// [`K3sBuilder`]; see the [module docs](self) for what it does.
pub struct K3s {
    inventories: BTreeMap<String, K3sInventory>,
    wait: WaitOptions,
}

impl fmt::Debug for K3s {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("K3s").field("clusters", &self.clusters()).field("wait", &self.wait).finish()
    }
}

/// Open sessions to every host of an inventory, in inventory order, and what each probe found.
struct Hosts {
    sessions: Vec<Session>,
    observed: Vec<Observed>,
}

impl Hosts {
    async fn close(self) {
        join_all(self.sessions.into_iter().map(Session::close)).await;
    }
}

impl K3s {
    /// A [`K3sBuilder`].
    pub fn builder() -> K3sBuilder {
        K3sBuilder::new()
    }

    /// The clusters this provisioner has an inventory for, sorted.
    pub fn clusters(&self) -> Vec<String> {
        self.inventories.keys().cloned().collect()
    }

    /// A `kube::Client` for the cluster, from [`Provisioner::access`].
    ///
    /// # Errors
    /// As [`Provisioner::access`] and [`crate::kube::client`].
    pub async fn kube_client(&self, id: &ClusterId) -> Result<::kube::Client> {
        crate::kube::client(&self.access(id).await?).await
    }

    /// Validates `spec` with its inventory, without connecting to any host: what every call checks first.
    ///
    /// # Errors
    /// [`Error::InvalidSpec`] naming every invalid field (inventory fields under `inventory.`).
    pub fn check(&self, spec: &ClusterSpec) -> Result<()> {
        self.layout(spec).map(|_| ())
    }

    fn inventory(&self, id: &ClusterId) -> Result<&K3sInventory> {
        self.inventories.get(id.as_str()).ok_or_else(|| Error::not_found(PROVIDER, format!("cluster {id}")))
    }

    fn layout(&self, spec: &ClusterSpec) -> Result<Layout> {
        let Some(inventory) = self.inventories.get(&spec.name) else {
            // Still report every problem of the spec itself first.
            wooo_core::validate::cluster_spec(spec)?;
            return Err(Error::invalid_spec(
                "name",
                format!("this K3s provisioner has no host inventory for cluster {}", spec.name),
            ));
        };
        shape::validate(spec, inventory)
    }

    // --- hosts ------------------------------------------------------------------------------------------

    /// Connects to every host (in parallel) and probes it.
    async fn hosts(&self, inventory: &K3sInventory) -> Result<Hosts> {
        let policy = HostKeyPolicy {
            known_hosts: inventory
                .ssh
                .known_hosts
                .as_deref()
                .map(ssh::expand_home)
                .unwrap_or_else(ssh::default_known_hosts),
            accept_new: inventory.ssh.accept_new_host_keys,
        };
        let timeout = std::time::Duration::from_secs(inventory.ssh.connect_timeout_secs);
        let mut secrets = Vec::new();
        if let Datastore::External { endpoint } = &inventory.k3s.datastore {
            secrets.push(endpoint.clone());
        }
        let connected =
            join_all(inventory.hosts.iter().map(|h| Session::connect(h, &policy, timeout, secrets.clone()))).await;
        let mut sessions = Vec::with_capacity(connected.len());
        let mut first_error = None;
        for c in connected {
            match c {
                Ok(s) => sessions.push(s),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            join_all(sessions.into_iter().map(Session::close)).await;
            return Err(e);
        }
        let probe = install::probe();
        let probes = try_join_all(sessions.iter().map(|s| s.run(&probe))).await;
        let observed = match probes {
            Ok(outputs) => outputs.iter().map(|o| shape::parse_probe(&o.stdout)).collect(),
            Err(e) => {
                join_all(sessions.into_iter().map(Session::close)).await;
                return Err(e);
            }
        };
        Ok(Hosts { sessions, observed })
    }

    async fn node_rows(&self, first: &Session) -> Result<Vec<NodeRow>> {
        Ok(install::parse_nodes(&first.run(&install::nodes()).await?.stdout))
    }

    /// Waits until the API server lists `node` Ready at Kubernetes minor `minor`.
    async fn wait_ready(&self, first: &Session, node: &str, minor: u32, op: &OperationGuard<'_>) -> Result<()> {
        let what = format!("node {node} to be Ready on 1.{minor}");
        self.wait
            .poll(PROVIDER, &what, op, || async {
                let rows = self.node_rows(first).await?;
                let row = rows.iter().find(|r| r.name == node);
                let on_minor = |r: &NodeRow| shape::K3sVersion::parse(&r.version).is_some_and(|v| v.minor == minor);
                Ok(match row {
                    Some(r) if r.ready && on_minor(r) => Look::Done(Ok(())),
                    Some(r) => Look::Pending(format!("node {node}: ready={} version={}", r.ready, r.version)),
                    None => Look::Pending(format!("node {node}: not registered yet")),
                })
            })
            .await
    }

    // --- apply ------------------------------------------------------------------------------------------

    async fn apply_inner(&self, layout: &Layout, op: &OperationGuard<'_>) -> Result<Cluster> {
        let mut hosts = self.hosts(&layout.inventory).await?;
        let result = self.apply_on(layout, &mut hosts, op).await;
        hosts.close().await;
        result?;
        self.get(&layout.spec.id()).await
    }

    async fn apply_on(&self, layout: &Layout, hosts: &mut Hosts, op: &OperationGuard<'_>) -> Result<()> {
        let steps = shape::steps(layout, &hosts.observed)?;
        let total = steps.iter().filter(|s| s.action != HostAction::Keep).count() as u32;
        let first = layout.first_server;
        let mut done = 0;
        let mut token = None;
        let mut agents_joined = false;
        if hosts.observed[first].installed.is_some() {
            self.record_applied(layout, hosts).await?;
        }
        // The steps come in their order (shape::steps); the agents' joins run together, in bounded batches.
        for step in steps.iter().filter(|s| s.action != HostAction::Keep) {
            if step.action != HostAction::Bootstrap && token.is_none() {
                token = Some(self.token(hosts, first).await?);
            }
            if step.action == HostAction::Join && step.role == Role::Agent {
                if !agents_joined {
                    done += self.join_agents(layout, hosts, &steps, token.as_ref(), op, done, total).await?;
                    agents_joined = true;
                }
                continue;
            }
            let node = layout.node(&step.host).expect("steps are of the layout's hosts");
            self.run_step(layout, hosts, node, step, token.as_ref(), op).await?;
            done += 1;
            op.step(format!("host {}: {}", step.host, step_word(&step.action)), done, Some(total));
            if step.action == HostAction::Bootstrap {
                self.record_applied(layout, hosts).await?;
                token = Some(self.token(hosts, first).await?);
            }
        }
        Ok(())
    }

    /// Records the spec on the first server (when it differs): before the first change on an existing
    /// cluster, right after the bootstrap on a new one, so a run that fails half-way leaves the cluster
    /// reporting what it still waits for.
    async fn record_applied(&self, layout: &Layout, hosts: &Hosts) -> Result<()> {
        let first = layout.first_server;
        if hosts.observed[first].applied.as_ref() == Some(&layout.spec) {
            return Ok(());
        }
        let applied = serde_json::to_vec_pretty(&layout.spec).expect("a spec serializes");
        hosts.sessions[first].upload(APPLIED_PATH, &applied, "0644", "record the applied spec").await
    }

    async fn token(&self, hosts: &mut Hosts, first: usize) -> Result<SecretString> {
        let out = hosts.sessions[first].run(&install::read_token()).await?;
        let token = SecretString::new(out.stdout.trim());
        if !token.expose().starts_with("K10") {
            return Err(Error::Provider {
                provider: PROVIDER,
                message: format!(
                    "host {}: {TOKEN_PATH} does not hold a secure K10… join token",
                    hosts.sessions[first].host()
                ),
                source: None,
            });
        }
        for s in &mut hosts.sessions {
            s.add_secret(token.clone());
        }
        Ok(token)
    }

    /// Writes the node's config, with the join token unless it bootstraps.
    async fn write_config(
        &self,
        layout: &Layout,
        session: &Session,
        node: &Node,
        token: Option<&SecretString>,
    ) -> Result<()> {
        let config = shape::with_token(shape::node_config(layout, node), token);
        session.upload(CONFIG_PATH, shape::render_config(&config).as_bytes(), "0600", "write the K3s config").await
    }

    /// In air-gap mode, uploads the binary and the install script the inventory names.
    async fn upload_artifacts(&self, layout: &Layout, session: &Session) -> Result<()> {
        let InstallMode::AirGap { binary, script } = &layout.inventory.install else { return Ok(()) };
        for (path, remote, field) in [
            (binary, K3S_BINARY, "inventory.install.air_gap.binary"),
            (script, REMOTE_INSTALL_SCRIPT, "inventory.install.air_gap.script"),
        ] {
            let Some(path) = path else { continue };
            let owned = path.clone();
            let data = tokio::task::spawn_blocking(move || std::fs::read(owned))
                .await
                .map_err(|e| error::local_file(field, path, e))?
                .map_err(|e| error::local_file(field, path, e))?;
            session.upload(remote, &data, "0755", &format!("upload {remote}")).await?;
        }
        Ok(())
    }

    /// Config, installer, and a wait until the node is Ready.
    async fn install_node(
        &self,
        layout: &Layout,
        hosts: &Hosts,
        node: &Node,
        release: &Release,
        token: Option<&SecretString>,
        op: &OperationGuard<'_>,
    ) -> Result<()> {
        let minor = match release {
            Release::Minor(minor) => *minor,
            Release::Exact(v) => shape::K3sVersion::parse(v).map_or(layout.target.minor, |v| v.minor),
        };
        let session = &hosts.sessions[node.index];
        self.upload_artifacts(layout, session).await?;
        self.write_config(layout, session, node, token).await?;
        session.run(&install::installer(layout, node.role(), release)).await?;
        self.wait_ready(&hosts.sessions[layout.first_server], node.name(), minor, op).await
    }

    async fn run_step(
        &self,
        layout: &Layout,
        hosts: &Hosts,
        node: &Node,
        step: &Step,
        token: Option<&SecretString>,
        op: &OperationGuard<'_>,
    ) -> Result<()> {
        let first = &hosts.sessions[layout.first_server];
        let target = layout.target.minor;
        match &step.action {
            HostAction::Bootstrap | HostAction::Join => {
                self.install_node(layout, hosts, node, &Release::Minor(target), token, op).await
            }
            HostAction::Reconfigure(_) => {
                let running = hosts.observed[node.index].version.clone().expect("installed nodes have a version");
                self.install_node(layout, hosts, node, &Release::Exact(running.text), token, op).await
            }
            HostAction::Upgrade { minors, .. } => {
                // Drained through the API server when it answers; a lone server is upgraded in place.
                let drained = first.run(&install::drain(node.name())).await;
                if let Err(e) = &drained {
                    tracing::warn!(host = node.name(), error = %e, "drain failed; upgrading without it");
                }
                for minor in minors {
                    self.install_node(layout, hosts, node, &Release::Minor(*minor), token, op).await?;
                    op.step(format!("host {}: on Kubernetes 1.{minor}", node.name()), 0, None);
                }
                first.run(&install::uncordon(node.name())).await.map(|_| ())
            }
            HostAction::Remove => {
                let session = &hosts.sessions[node.index];
                let drained = first.run(&install::drain(node.name())).await;
                if let Err(e) = &drained {
                    tracing::warn!(host = node.name(), error = %e, "drain failed; removing without it");
                }
                let role = hosts.observed[node.index].installed.unwrap_or(node.role());
                session.run(&install::uninstall(role)).await?;
                if node.index != layout.first_server {
                    first.run(&install::delete_node(node.name())).await?;
                }
                Ok(())
            }
            HostAction::Keep => Ok(()),
        }
    }

    /// Joins the agents, at most [`SshSettings::parallel_agents`] at once; how many joined.
    #[allow(clippy::too_many_arguments)]
    async fn join_agents(
        &self,
        layout: &Layout,
        hosts: &Hosts,
        steps: &[Step],
        token: Option<&SecretString>,
        op: &OperationGuard<'_>,
        done: u32,
        total: u32,
    ) -> Result<u32> {
        let mut joined = 0;
        for batch in shape::join_batches(steps, layout.inventory.ssh.parallel_agents) {
            let results = join_all(batch.iter().map(|name| {
                let node = layout.node(name).expect("steps are of the layout's hosts");
                let target = layout.target.minor;
                async move { self.install_node(layout, hosts, node, &Release::Minor(target), token, op).await }
            }))
            .await;
            let mut first_error = None;
            for (name, r) in batch.iter().zip(results) {
                match r {
                    Ok(()) => {
                        joined += 1;
                        op.step(format!("host {name}: joined as agent"), done + joined, Some(total));
                    }
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            if let Some(e) = first_error {
                return Err(e);
            }
        }
        Ok(joined)
    }

    // --- reading ----------------------------------------------------------------------------------------

    fn cluster_from(&self, inventory: &K3sInventory, hosts: &Hosts, rows: &[NodeRow]) -> Result<Cluster> {
        let id = ClusterId::new(inventory.cluster.clone());
        let first = inventory.hosts.iter().position(|h| h.role == Role::Server).unwrap_or(0);
        let o = &hosts.observed[first];
        let spec = o.applied.clone().ok_or_else(|| {
            Error::conflict(PROVIDER, format!("cluster {id}: the first server has no spec applied by wooo"))
        })?;
        let layout = shape::validate(&spec, inventory)?;
        let ready = |name: &str| rows.iter().any(|r| r.name == name && r.ready);
        let members: Vec<&Node> = layout.nodes.iter().filter(|n| n.member).collect();
        let missing: Vec<&str> = members.iter().filter(|n| !ready(n.name())).map(|n| n.name()).collect();
        let now = jiff::Timestamp::now();
        let mut status = ClusterStatus {
            endpoint: Some(format!("https://{}:{}", layout.api_endpoint, shape::API_PORT)),
            kubernetes_version: o.version.as_ref().map(|v| v.text.clone()),
            owned: o.cluster().as_deref() == Some(id.as_str()),
            ..ClusterStatus::default()
        };
        for pool in &spec.node_pools {
            let in_pool: Vec<&Node> =
                members.iter().copied().filter(|n| n.pool.as_deref() == Some(&pool.name)).collect();
            status.node_pools.push(NodePoolStatus {
                name: pool.name.clone(),
                ready_nodes: in_pool.iter().filter(|n| ready(n.name())).count() as u32,
                desired_nodes: pool.desired_count(),
                updating: false,
            });
        }
        if missing.is_empty() {
            status.set_condition(ConditionType::Available, true, "NodesReady", "every node is Ready", now);
        } else {
            status.set_condition(
                ConditionType::Available,
                false,
                "NodesNotReady",
                format!("not Ready: {}", missing.join(", ")),
                now,
            );
            status.set_condition(
                ConditionType::Provisioning,
                true,
                "Joining",
                format!("waiting for {}", missing.join(", ")),
                now,
            );
        }
        Ok(Cluster { id, spec, status })
    }

    async fn get_inner(&self, inventory: &K3sInventory) -> Result<Cluster> {
        let id = ClusterId::new(inventory.cluster.clone());
        let hosts = self.hosts(inventory).await?;
        let result = async {
            if hosts.observed.iter().all(|o| o.installed.is_none()) {
                return Err(Error::not_found(PROVIDER, format!("cluster {id}")));
            }
            let first = inventory.hosts.iter().position(|h| h.role == Role::Server).unwrap_or(0);
            let rows = match hosts.observed[first].installed {
                Some(_) => self.node_rows(&hosts.sessions[first]).await?,
                None => Vec::new(),
            };
            self.cluster_from(inventory, &hosts, &rows)
        }
        .await;
        hosts.close().await;
        result
    }

    async fn delete_inner(
        &self,
        inventory: &K3sInventory,
        options: &DeleteOptions,
        op: &OperationGuard<'_>,
    ) -> Result<()> {
        let id = inventory.cluster.as_str();
        let hosts = self.hosts(inventory).await?;
        let result = async {
            let installed: Vec<usize> =
                (0..hosts.observed.len()).filter(|&i| hosts.observed[i].installed.is_some()).collect();
            if installed.is_empty() {
                return Err(Error::not_found(PROVIDER, format!("cluster {id}")));
            }
            if !options.force_unowned
                && let Some(&i) = installed.iter().find(|&&i| hosts.observed[i].cluster().as_deref() != Some(id))
            {
                return Err(Error::conflict(
                    PROVIDER,
                    format!("host {} runs a K3s node wooo did not install for cluster {id}", inventory.hosts[i].name),
                ));
            }
            // Agents, then servers, the first server last.
            let first = inventory.hosts.iter().position(|h| h.role == Role::Server).unwrap_or(0);
            let mut order: Vec<usize> = installed.clone();
            order.sort_by_key(|&i| (hosts.observed[i].installed == Some(Role::Server), i == first, i));
            let total = order.len() as u32;
            for (n, i) in order.into_iter().enumerate() {
                let role = hosts.observed[i].installed.expect("installed");
                hosts.sessions[i].run(&install::uninstall(role)).await?;
                op.step(
                    format!("host {}: uninstalled K3s ({})", inventory.hosts[i].name, role.as_str()),
                    n as u32 + 1,
                    Some(total),
                );
            }
            Ok(())
        }
        .await;
        hosts.close().await;
        result
    }
}

fn step_word(action: &HostAction) -> &'static str {
    match action {
        HostAction::Bootstrap => "installed the first server (cluster-init)",
        HostAction::Join => "joined",
        HostAction::Reconfigure(_) => "reconfigured and restarted",
        HostAction::Upgrade { .. } => "upgraded",
        HostAction::Remove => "removed",
        HostAction::Keep => "as asked",
    }
}

#[async_trait]
impl Provisioner for K3s {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn capabilities(&self) -> ProvisionerCapabilities {
        let mut caps = ProvisionerCapabilities::default();
        caps.in_place_upgrade = true;
        caps
    }

    async fn plan(&self, spec: &ClusterSpec) -> Result<ClusterPlan> {
        let layout = self.layout(spec)?;
        let hosts = self.hosts(&layout.inventory).await?;
        let steps = shape::steps(&layout, &hosts.observed);
        hosts.close().await;
        Ok(shape::plan(&layout, &steps?))
    }

    async fn apply(&self, spec: &ClusterSpec, progress: &Progress) -> Result<Cluster> {
        let layout = self.layout(spec)?;
        let op = OperationGuard::start(progress, "cluster.apply", format!("cluster/{}", spec.name));
        let result = self.apply_inner(&layout, &op).await;
        op.finish(result)
    }

    async fn get(&self, id: &ClusterId) -> Result<Cluster> {
        self.get_inner(self.inventory(id)?).await
    }

    async fn list(&self) -> Result<Vec<Cluster>> {
        let mut out = Vec::new();
        for inventory in self.inventories.values() {
            match self.get_inner(inventory).await {
                Ok(c) => out.push(c),
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    async fn delete(&self, id: &ClusterId, options: &DeleteOptions) -> Result<()> {
        let inventory = self.inventory(id)?;
        let op = OperationGuard::start(&options.progress, "cluster.delete", format!("cluster/{id}"));
        let result = self.delete_inner(inventory, options, &op).await;
        op.finish(result)
    }

    async fn scale_node_pool(&self, id: &ClusterId, node_pool: &str, desired: u32) -> Result<Cluster> {
        let cluster = self.get(id).await?;
        let mut spec = cluster.spec;
        let Some(pool) = spec.node_pools.iter_mut().find(|p| p.name == node_pool) else {
            return Err(Error::not_found(PROVIDER, format!("node pool {node_pool} of cluster {id}")));
        };
        wooo_core::validate::node_pool_scale(pool, desired)?;
        pool.desired = Some(desired);
        self.apply(&spec, &Progress::none()).await
    }

    async fn access(&self, id: &ClusterId) -> Result<ClusterAccess> {
        let inventory = self.inventory(id)?;
        let cluster = self.get_inner(inventory).await?;
        if !cluster.is_ready() {
            return Err(Error::conflict(PROVIDER, format!("cluster {id} is not ready yet")));
        }
        let layout = shape::validate(&cluster.spec, inventory)?;
        let hosts = self.hosts(inventory).await?;
        let read = hosts.sessions[layout.first_server].run(&install::read_kubeconfig()).await;
        hosts.close().await;
        shape::access_from_kubeconfig(id, &read?.stdout, &layout.api_endpoint)
    }
}
