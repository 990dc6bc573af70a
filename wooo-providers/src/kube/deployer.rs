//! [`KubeDeployer`]: wooo's [`Deployer`] over any Kubernetes API server, through kube-rs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, ListParams, Patch, PatchParams, WatchEvent, WatchParams};
use serde_json::json;
use wooo_core::model::{
    AppDiff, AppRef, AppSpec, AppStatus, ChangeAction, Health, MANAGED_BY_LABEL, MANAGED_BY_VALUE, ObjectChange,
    Revision,
};
use wooo_core::progress::{OperationGuard, Progress};
use wooo_core::render::Object;
use wooo_core::{Deployer, DeployerCapabilities, Error, Look, RestartToken, Result, WaitOptions};

use super::apply::{Desired, Resolver, changed_paths, missing_paths, owned_by};
use super::error::{PROVIDER, classify, with_context};
use super::health::{app_health, replica_counts};
use super::inventory::{
    APPLYSET_OF_LABEL, ApplySet, GroupKind, ID_LABEL, PARENT_PREFIX, Parent, TOOLING, TOOLING_ANNOTATION,
};
use super::revisions::{RevisionStore, rollback_target};
use super::sync::{SetSync, to_value};

#[cfg(test)]
#[path = "deployer_retry_tests.rs"]
mod retry_tests;
#[cfg(test)]
#[path = "deployer_tests.rs"]
pub(crate) mod tests;

/// The pod template annotation `kubectl rollout restart` sets; changing it rolls every pod. `restart_with` writes
/// its [`RestartToken`] there, so a repeat writes the value it already has and rolls nothing.
pub const RESTARTED_AT_ANNOTATION: &str = "kubectl.kubernetes.io/restartedAt";

/// Longest server-side watch timeout asked for; the API server caps watches near five minutes anyway.
const WATCH_TIMEOUT_SECS: u32 = 290;

/// How [`Deployer::wait`] follows an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WaitStrategy {
    /// One LIST, then a watch on the app's Deployments, resumed, relisted and backed off as kube-runtime's
    /// watcher does: reacts at once, with one open request instead of repeated polls.
    #[default]
    Watch,
    /// Repeated LISTs at the [`WaitOptions`] intervals, for API servers or proxies without watch support
    /// (`Watch` copes with them too, by relisting after each refused watch, but spends a request on each).
    Poll,
}

/// How [`Deployer::diff`] computes an object's changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DiffStrategy {
    /// A server-side dry-run apply of each object (`dryRun=All`), compared with the live object: exactly what
    /// the apply would do, admission webhooks and defaulting included.
    #[default]
    ServerDryRun,
    /// The rendered object compared with the live one, field by field, without sending it: for API servers that
    /// do not support dry runs (an in-memory test server that ignores `dryRun` would apply for real). Fields
    /// dropped from the configuration show as the configuration hash annotation.
    Local,
}

/// Options of a [`KubeDeployer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeDeployerOptions {
    /// The server-side apply field manager (default `wooo`). `restart` uses `<field_manager>-restart`, so the
    /// restart annotation survives later applies.
    pub field_manager: String,
    /// Most revisions kept per app (default 10; at least 1 is always kept).
    pub history_limit: u32,
    /// How `wait` follows the app (default [`WaitStrategy::Watch`]).
    pub wait: WaitStrategy,
    /// How `diff` computes changes (default [`DiffStrategy::ServerDryRun`]).
    pub diff: DiffStrategy,
}

impl Default for KubeDeployerOptions {
    fn default() -> Self {
        Self {
            field_manager: "wooo".to_string(),
            history_limit: 10,
            wait: WaitStrategy::default(),
            diff: DiffStrategy::default(),
        }
    }
}

/// wooo's [`Deployer`] for any Kubernetes cluster, bound to one `kube::Client` (provider name `kube`).
///
/// # How an apply works
/// 1. The spec is validated and rendered (`wooo_core::render::app`); nothing is sent for an invalid spec.
/// 2. Every kind is resolved to its API resource: the kinds wooo renders today from a built-in table, any
///    other kind (custom resources) by discovery, all of them before the first write. A kind the server does
///    not serve fails the apply with [`Error::Unsupported`] and nothing is applied.
/// 3. The app's inventory is read: its ApplySet parent and, for every group-kind recorded there or rendered
///    now, the objects labelled as members (one LIST per group-kind).
/// 4. Objects are server-side applied in render order with the field manager `wooo`. An object already in the
///    inventory is applied with `force` (wooo owns it); any other object without, so a field owned by another
///    manager surfaces as [`Error::Conflict`] instead of being taken over. An object whose live copy already
///    holds every field of the configuration, and whose configuration hash annotation
///    (`wooo.dev/config-hash`) matches, is not sent at all.
/// 5. Members no longer rendered are deleted (never a Namespace), and the parent is updated.
/// 6. When the spec differs from the newest revision's (or there is none), it is recorded as a revision (see
///    [`crate::kube::revisions`]); the same spec records nothing, even when step 4 repaired drifted objects,
///    as the [`Deployer`] rules on revisions say. Each call reads the revisions afresh, so a call repeated
///    after a lost answer finds the revision the first one wrote.
///
/// # Change detection
/// An object counts as changed when it was created, or when the server-side apply answered with a
/// resourceVersion different from the one listed before: the API server keeps the resourceVersion of an apply
/// that changes nothing. Objects skipped in step 4 are unchanged without a request. The skip is what keeps an
/// unchanged apply to reads only (and it keeps in-memory API servers that bump the version on every write
/// honest); the resourceVersion comparison is what makes a sent-but-no-op apply count as unchanged on a real
/// API server, e.g. a Secret, whose `stringData` the server folds into `data`.
///
/// # A shared namespace
/// The Namespace is rendered with the app, but an existing namespace that is not a member of the app's
/// ApplySet (created by hand, or by another app) is left as it is: several apps can share one namespace, and
/// one namespace can carry only one ApplySet label.
///
/// # Example
/// ```no_run
/// use wooo_core::prelude::*;
/// use wooo_providers::kube::{KubeDeployer, KubeDeployerOptions};
///
/// # async fn demo(access: ClusterAccess) -> wooo_core::Result<()> {
/// let client = wooo_providers::kube::client(&access).await?;
/// let deployer = KubeDeployer::new(client)
///     .with_options(KubeDeployerOptions { history_limit: 5, ..KubeDeployerOptions::default() });
/// let app = AppSpec::new("shop", "web", "registry.example.com/web:1.0.0", Framework::Flask);
/// let status = deployer.deploy(&app, &WaitOptions::default(), &Progress::none()).await?;
/// assert_eq!(status.health, Health::Current);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct KubeDeployer {
    client: kube::Client,
    options: KubeDeployerOptions,
    resolver: Arc<Resolver>,
}

impl fmt::Debug for KubeDeployer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KubeDeployer").field("options", &self.options).finish_non_exhaustive()
    }
}

fn app_not_found(app: &AppRef) -> Error {
    Error::not_found(PROVIDER, format!("app {app}"))
}

/// The status of `app` at `revision` from its Deployments: health over all of them, replica counts of the main
/// one (named like the app; Django's worker is the other).
fn app_status(app: &AppRef, revision: u64, deployments: &[Deployment]) -> AppStatus {
    let main = deployments
        .iter()
        .find(|d| d.metadata.name.as_deref() == Some(app.name.as_str()))
        .or_else(|| deployments.first());
    let counts = main.map(replica_counts).unwrap_or_default();
    AppStatus {
        app: app.clone(),
        health: app_health(deployments),
        revision,
        desired_replicas: counts.desired,
        updated_replicas: counts.updated,
        ready_replicas: counts.ready,
        available_replicas: counts.available,
    }
}

/// The token of the last restart of `deployment`'s pods, from its pod template.
fn restarted_for(deployment: &Deployment) -> Option<&str> {
    let template = deployment.spec.as_ref()?.template.metadata.as_ref()?;
    template.annotations.as_ref()?.get(RESTARTED_AT_ANNOTATION).map(String::as_str)
}

/// `Some` when `status` ends a wait: Current is success, Failed an error.
fn settled(app: &AppRef, status: AppStatus) -> Option<Result<AppStatus>> {
    match &status.health {
        Health::Current => Some(Ok(status)),
        Health::Failed { reason } => Some(Err(Error::Provider {
            provider: PROVIDER,
            message: format!("app {app} failed: {reason}"),
            source: None,
        })),
        Health::InProgress { .. } => None,
    }
}

/// The spec `scale` applies: the fixed count, or an autoscaler floor raised or lowered to `replicas` (and the
/// ceiling raised to it when needed).
///
/// # Errors
/// [`Error::InvalidSpec`] (field `replicas`) for zero with autoscaling.
pub fn scaled_spec(spec: &AppSpec, replicas: u32) -> Result<AppSpec> {
    let mut out = spec.clone();
    match &mut out.autoscaling {
        Some(_) if replicas == 0 => {
            return Err(Error::invalid_spec("replicas", "an autoscaled app cannot be scaled to zero"));
        }
        Some(auto) => {
            auto.min_replicas = replicas;
            auto.max_replicas = auto.max_replicas.max(replicas);
        }
        None => out.replicas = Some(replicas),
    }
    Ok(out)
}

impl KubeDeployer {
    /// A deployer over `client` with the default options.
    pub fn new(client: kube::Client) -> Self {
        Self { client, options: KubeDeployerOptions::default(), resolver: Arc::new(Resolver::default()) }
    }

    /// The same deployer with `options`.
    pub fn with_options(mut self, options: KubeDeployerOptions) -> Self {
        self.options = options;
        self
    }

    /// The options in use.
    pub fn options(&self) -> &KubeDeployerOptions {
        &self.options
    }

    /// Validates `spec` (once), reads what rendering needs of its secrets, renders it and turns the objects
    /// into the app's ApplySet members.
    async fn desired(&self, spec: &AppSpec) -> Result<(ApplySet, Vec<Desired>)> {
        let valid = wooo_core::validate::app_spec(spec)?;
        let inputs = super::secrets::secret_inputs(&self.client, &valid).await?;
        let objects = wooo_core::render::app_with(&valid, &inputs)?;
        let set = ApplySet::of(&spec.app_ref());
        let mut desired = objects.iter().map(|o| Desired::from_object(o, &set.id)).collect::<Result<Vec<_>>>()?;
        for d in desired.iter_mut().filter(|d| d.group_kind.is_namespace()) {
            d.manage_existing = spec.manage_namespace;
        }
        Ok((set, desired))
    }

    fn sync(&self) -> SetSync<'_> {
        SetSync { client: &self.client, resolver: &self.resolver, field_manager: &self.options.field_manager }
    }

    /// Applies `spec`, recording a revision with `cause` when it differs from the newest revision's spec.
    async fn apply_spec(&self, spec: &AppSpec, cause: &str, progress: &Progress) -> Result<AppStatus> {
        let op = OperationGuard::start(progress, "app.apply", format!("app/{}", spec.app_ref()));
        let result = self.apply_inner(spec, cause, &op).await;
        op.finish(result)
    }

    async fn apply_inner(&self, spec: &AppSpec, cause: &str, op: &OperationGuard<'_>) -> Result<AppStatus> {
        let (set, desired) = self.desired(spec).await?;
        self.apply_desired(spec, &set, &desired, cause, op).await
    }

    async fn apply_desired(
        &self,
        spec: &AppSpec,
        set: &ApplySet,
        desired: &[Desired],
        cause: &str,
        op: &OperationGuard<'_>,
    ) -> Result<AppStatus> {
        let applied = self.sync().apply(set, desired, op).await?.applied;
        let revision = self.record_revision(&set.app, spec, cause).await?;
        let deployments: Vec<Deployment> = applied
            .into_iter()
            .filter(|(gk, _)| gk.group == "apps" && gk.kind == "Deployment")
            .filter_map(|(_, v)| serde_json::from_value(v).ok())
            .collect();
        Ok(app_status(&set.app, revision, &deployments))
    }

    /// Records `spec` as a revision unless the newest revision holds it already (a repeat, or a spec that
    /// did not change), and prunes the history to its limit either way. Returns the newest revision's number.
    async fn record_revision(&self, app: &AppRef, spec: &AppSpec, cause: &str) -> Result<u64> {
        let store = RevisionStore::new(&self.client, app);
        let revisions = store.list().await?;
        let limit = self.options.history_limit;
        match revisions.last() {
            Some(latest) if latest.spec == *spec => {
                store.prune(&revisions, 0, limit).await?;
                Ok(latest.number)
            }
            _ => Ok(store.record(&revisions, spec, cause, limit, &self.options.field_manager).await?.number),
        }
    }

    /// The app's ApplySet and revisions; NotFound when it has no inventory.
    async fn existing(&self, app: &AppRef) -> Result<(ApplySet, Parent, Vec<Revision>)> {
        let set = ApplySet::of(app);
        let parent = set.read_parent(&self.client).await?.ok_or_else(|| app_not_found(app))?;
        let revisions = RevisionStore::new(&self.client, app).list().await?;
        Ok((set, parent, revisions))
    }

    async fn deployments(&self, set: &ApplySet) -> Result<Vec<Deployment>> {
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), &set.app.namespace);
        let list = api.list(&ListParams::default().labels(&set.member_selector())).await.map_err(classify)?;
        Ok(list.items)
    }

    async fn poll_until_settled(
        &self,
        set: &ApplySet,
        revision: u64,
        wait: &WaitOptions,
        op: &OperationGuard<'_>,
    ) -> Result<AppStatus> {
        let what = format!("app {} to become current", set.app);
        wait.poll(PROVIDER, &what, op, || async move {
            let status = app_status(&set.app, revision, &self.deployments(set).await?);
            let pending = match &status.health {
                Health::InProgress { message } => message.clone(),
                _ => String::new(),
            };
            Ok(settled(&set.app, status).map_or(Look::Pending(pending), Look::Done))
        })
        .await
    }

    /// Follows the app's Deployments the way kube-runtime's watcher does: LIST, then watch from the list's
    /// resourceVersion, applying each event, until they settle. A watch the server ends is resumed from the
    /// last version seen; a 410 Gone lists again at once; a refused or broken watch (an error, an answer that
    /// is not a watch event, a server that serves no watch) lists again after a backoff that grows from
    /// `wait.interval` to `wait.max_interval`, so a server without watches is still followed, by relisting.
    /// Errors no retry can fix (permission, authentication, an unserved resource) end the wait at once, naming
    /// what was watched.
    async fn watch_until_settled(
        &self,
        set: &ApplySet,
        revision: u64,
        wait: &WaitOptions,
        op: &OperationGuard<'_>,
    ) -> Result<AppStatus> {
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), &set.app.namespace);
        let selector = set.member_selector();
        let watched = format!("watching the Deployments of app {}", set.app);
        let check = |deployments: &BTreeMap<String, Deployment>| {
            let list: Vec<Deployment> = deployments.values().cloned().collect();
            let status = app_status(&set.app, revision, &list);
            if let Health::InProgress { message } = &status.health {
                op.waiting(message.clone());
            }
            settled(&set.app, status)
        };
        let fail = |e: kube::Error| with_context(classify(e), &watched);
        let mut current: BTreeMap<String, Deployment> = BTreeMap::new();
        let mut version = String::new();
        let mut backoff = wait.interval;
        let mut next = Next::List;
        loop {
            match next {
                Next::Fail => unreachable!("a failure returns at once"),
                Next::Backoff => {
                    tokio::time::sleep(backoff).await;
                    backoff = wait.next_interval(backoff);
                    next = Next::List;
                    continue;
                }
                Next::List => match api.list(&ListParams::default().labels(&selector)).await {
                    Ok(list) => {
                        version = list.metadata.resource_version.clone().unwrap_or_default();
                        current = list.items.into_iter().map(|d| (name_of(&d), d)).collect();
                        if let Some(done) = check(&current) {
                            return done;
                        }
                    }
                    Err(e) => match after_error(&e) {
                        Next::Fail => return Err(fail(e)),
                        step => {
                            tracing::debug!(error = %e, "{watched}: list failed");
                            next = step;
                            continue;
                        }
                    },
                },
                Next::Watch => {}
            }
            let params = WatchParams::default().labels(&selector).timeout(WATCH_TIMEOUT_SECS);
            let mut events = match api.watch(&params, &version).await {
                Ok(events) => events.boxed(),
                Err(e) => match after_error(&e) {
                    Next::Fail => return Err(fail(e)),
                    step => {
                        tracing::debug!(error = %e, "{watched}: watch refused");
                        next = step;
                        continue;
                    }
                },
            };
            // A watch the server closes normally resumes from the last version seen; one closed before any
            // event (a server that answers watches with nothing) is treated as broken, so it cannot spin.
            next = Next::Backoff;
            while let Some(event) = events.next().await {
                let error = match event {
                    Ok(WatchEvent::Added(d) | WatchEvent::Modified(d)) => {
                        version = d.metadata.resource_version.clone().unwrap_or(version);
                        current.insert(name_of(&d), d);
                        None
                    }
                    Ok(WatchEvent::Deleted(d)) => {
                        version = d.metadata.resource_version.clone().unwrap_or(version);
                        current.remove(&name_of(&d));
                        None
                    }
                    Ok(WatchEvent::Bookmark(b)) => {
                        version = b.metadata.resource_version;
                        continue;
                    }
                    Ok(WatchEvent::Error(status)) => Some(kube::Error::Api(status)),
                    Err(e) => Some(e),
                };
                if let Some(e) = error {
                    next = after_error(&e);
                    if next == Next::Fail {
                        return Err(fail(e));
                    }
                    tracing::debug!(error = %e, "{watched}: watch broken");
                    break;
                }
                backoff = wait.interval;
                next = Next::Watch;
                if let Some(done) = check(&current) {
                    return done;
                }
            }
        }
    }
}

fn name_of(d: &Deployment) -> String {
    d.metadata.name.clone().unwrap_or_default()
}

/// The watch loop's next move (the moves of kube-runtime's watcher).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// List again, at once: the first step, or after a 410 Gone (the version is too old to resume from).
    List,
    /// Watch again from the last version seen: the server ended the watch (its timeout, a proxy's).
    Watch,
    /// Wait, then list again: the watch or list failed in a way a retry may fix.
    Backoff,
    /// Give up: no retry fixes it.
    Fail,
}

/// The move after a failed list, a refused watch or an error in a watch stream.
///
/// A 410 Gone lists again at once. A status code 0 is no answer of the API server at all but kube-rs' reading
/// of a line that is not a watch event (a server or proxy that does not serve watches), so it backs off and
/// lists again, as do unreadable lines, dropped connections and the retryable statuses (429, 5xx). Statuses a
/// retry does not change (401, 403, 404, other 4xx) and authentication failures give up.
pub(crate) fn after_error(e: &kube::Error) -> Next {
    match e {
        kube::Error::Api(status) if status.code == 410 => Next::List,
        kube::Error::Api(status) if status.code == 0 => Next::Backoff,
        kube::Error::Api(status) if (400..500).contains(&status.code) && ![408, 429].contains(&status.code) => {
            Next::Fail
        }
        kube::Error::Api(_) => Next::Backoff,
        kube::Error::Auth(_) | kube::Error::Discovery(_) => Next::Fail,
        _ => Next::Backoff,
    }
}

#[async_trait]
impl Deployer for KubeDeployer {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn capabilities(&self) -> DeployerCapabilities {
        let mut caps = DeployerCapabilities::default();
        caps.diff = true;
        caps.rollback = true;
        caps.history_limit = self.options.history_limit.max(1);
        caps
    }

    fn render(&self, app: &AppSpec) -> Result<Vec<Object>> {
        wooo_core::render::app(&wooo_core::validate::app_spec(app)?)
    }

    async fn apply(&self, app: &AppSpec, progress: &Progress) -> Result<AppStatus> {
        self.apply_spec(app, "apply", progress).await
    }

    async fn status(&self, app: &AppRef) -> Result<AppStatus> {
        let (set, _, revisions) = self.existing(app).await?;
        let revision = revisions.last().map_or(0, |r| r.number);
        Ok(app_status(app, revision, &self.deployments(&set).await?))
    }

    /// Follows the app's Deployments with a watch ([`WaitStrategy::Watch`], the default) or by polling
    /// ([`WaitStrategy::Poll`]) until they are Current or one is Failed.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown app; [`Error::Timeout`] after `wait.timeout`; [`Error::Provider`]
    /// when the app is Failed; API errors, classified.
    async fn wait(&self, app: &AppRef, wait: &WaitOptions, progress: &Progress) -> Result<AppStatus> {
        let op = OperationGuard::start(progress, "app.wait", format!("app/{app}"));
        let follow = async {
            let (set, _, revisions) = self.existing(app).await?;
            let revision = revisions.last().map_or(0, |r| r.number);
            match self.options.wait {
                WaitStrategy::Watch => self.watch_until_settled(&set, revision, wait, &op).await,
                WaitStrategy::Poll => self.poll_until_settled(&set, revision, wait, &op).await,
            }
        };
        let result = match tokio::time::timeout(wait.timeout, follow).await {
            Ok(result) => result,
            Err(_) => Err(Error::Timeout {
                provider: PROVIDER,
                operation: format!("app {app} to become current"),
                after: wait.timeout,
            }),
        };
        op.finish(result)
    }

    async fn scale(&self, app: &AppRef, replicas: u32) -> Result<AppStatus> {
        let (_, _, revisions) = self.existing(app).await?;
        let latest = revisions.last().ok_or_else(|| app_not_found(app))?;
        let spec = scaled_spec(&latest.spec, replicas)?;
        if spec == latest.spec {
            return self.status(app).await;
        }
        self.apply_spec(&spec, &format!("scale to {replicas}"), &Progress::none()).await
    }

    /// Writes `token` into each Deployment's pod template annotation [`RESTARTED_AT_ANNOTATION`], skipping the
    /// Deployments that carry it already (restarted by an earlier attempt of the same restart), so a repeat
    /// sends no write.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown app; API errors, classified.
    async fn restart_with(&self, app: &AppRef, token: &RestartToken) -> Result<AppStatus> {
        let (set, _, revisions) = self.existing(app).await?;
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), &app.namespace);
        // Its own field manager: were it `wooo`'s, the next apply (which does not carry the annotation) would
        // remove it again and roll the pods a second time.
        let params = PatchParams::apply(&format!("{}-restart", self.options.field_manager)).force();
        let mut restarted = Vec::new();
        for d in self.deployments(&set).await? {
            if restarted_for(&d) == Some(token.as_str()) {
                restarted.push(d);
                continue;
            }
            let name = d.metadata.name.clone().unwrap_or_default();
            let body = json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": app.namespace},
                "spec": {"template": {"metadata": {"annotations": {RESTARTED_AT_ANNOTATION: token.as_str()}}}},
            });
            restarted.push(api.patch(&name, &params, &Patch::Apply(&body)).await.map_err(classify)?);
        }
        Ok(app_status(app, revisions.last().map_or(0, |r| r.number), &restarted))
    }

    async fn rollback(&self, app: &AppRef, revision: Option<u64>) -> Result<AppStatus> {
        let (_, _, revisions) = self.existing(app).await?;
        let target = rollback_target(app, &revisions, revision)?;
        // Recorded unless the spec in force is the target already: a repeat after a lost answer records nothing.
        self.apply_spec(&target.spec, &format!("rollback to {}", target.number), &Progress::none()).await
    }

    async fn history(&self, app: &AppRef) -> Result<Vec<Revision>> {
        Ok(self.existing(app).await?.2)
    }

    async fn list(&self) -> Result<Vec<AppRef>> {
        let api: Api<k8s_openapi::api::core::v1::Secret> = Api::all(self.client.clone());
        let selector = format!("{MANAGED_BY_LABEL}={MANAGED_BY_VALUE},{ID_LABEL}");
        let parents = api.list(&ListParams::default().labels(&selector)).await.map_err(classify)?;
        let mut apps: Vec<AppRef> = parents
            .items
            .iter()
            .filter(|s| s.metadata.name.as_deref().is_some_and(|n| n.starts_with(PARENT_PREFIX)))
            .filter(|s| {
                s.metadata.annotations.as_ref().and_then(|a| a.get(TOOLING_ANNOTATION)).map(String::as_str)
                    == Some(TOOLING)
            })
            .filter_map(|s| {
                let app = s.metadata.labels.as_ref()?.get(APPLYSET_OF_LABEL)?;
                Some(AppRef::new(s.metadata.namespace.clone()?, app.clone()))
            })
            .collect();
        apps.sort();
        apps.dedup();
        Ok(apps)
    }

    async fn delete(&self, app: &AppRef) -> Result<()> {
        let set = ApplySet::of(app);
        let parent = set.read_parent(&self.client).await?.ok_or_else(|| app_not_found(app))?;
        self.sync().delete_members(&set, &parent).await?;
        // The app's mesh objects route to the Service just deleted: they go too.
        let mesh = super::mesh::mesh_applyset(app);
        if let Some(mesh_parent) = mesh.read_parent(&self.client).await? {
            self.sync().delete_members(&mesh, &mesh_parent).await?;
            mesh.delete_parent(&self.client).await?;
        }
        RevisionStore::new(&self.client, app).delete_all().await?;
        set.delete_parent(&self.client).await
    }

    async fn diff(&self, app: &AppSpec) -> Result<AppDiff> {
        let (set, desired) = self.desired(app).await?;
        let kinds: Vec<(&str, &str)> =
            desired.iter().map(|d| (d.api_version.as_str(), d.group_kind.kind.as_str())).collect();
        let resolved = self.resolver.resolve_all(&self.client, &kinds).await?;
        let live = self.sync().load_live(&set, &desired, &resolved).await?;
        let mut changes = Vec::new();
        for (d, resource) in desired.iter().zip(&resolved) {
            let key = (d.group_kind.clone(), d.name.clone());
            if live.foreign.contains(&key) && d.group_kind.is_namespace() && !d.manage_existing {
                continue;
            }
            let api = resource.api(&self.client, d.namespace.as_deref().unwrap_or(&app.namespace));
            let current = match live.members.get(&key) {
                Some(v) => Some(v.clone()),
                // Not a member, but it may exist (made by someone else): apply would adopt it, or conflict.
                None => api.get_opt(&d.name).await.map_err(classify)?.map(|o| to_value(&o)).transpose()?,
            };
            let Some(current) = current else {
                changes.push(ObjectChange { object: d.key(), action: ChangeAction::Create, fields: Vec::new() });
                continue;
            };
            let fields = match self.options.diff {
                DiffStrategy::Local => missing_paths(&d.body, &current),
                DiffStrategy::ServerDryRun => {
                    let params = self.sync().apply_params(owned_by(&current, &set.id)).dry_run();
                    let would_be = api.patch(&d.name, &params, &Patch::Apply(&d.body)).await.map_err(classify)?;
                    changed_paths(&current, &to_value(&would_be)?)
                }
            };
            if !fields.is_empty() {
                changes.push(ObjectChange { object: d.key(), action: ChangeAction::UpdateInPlace, fields });
            }
        }
        let wanted: BTreeSet<(GroupKind, String)> =
            desired.iter().map(|d| (d.group_kind.clone(), d.name.clone())).collect();
        for (gk, name) in live.members.keys() {
            let prunable = live.resources.get(gk).is_some_and(|r| r.namespaced) && !gk.is_namespace();
            if prunable && !wanted.contains(&(gk.clone(), name.clone())) {
                changes.push(ObjectChange {
                    object: format!("{}/{name}", gk.kind),
                    action: ChangeAction::Delete,
                    fields: Vec::new(),
                });
            }
        }
        Ok(AppDiff { app: app.app_ref(), changes })
    }
}
