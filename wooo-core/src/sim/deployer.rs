//! [`SimDeployer`]: applications on a simulated cluster, with revisions and modelled rollouts.

use std::collections::{BTreeMap, VecDeque};

use async_trait::async_trait;
use serde_json::Value;

use super::rollout::{Observed, Rollout, crash_loops, desired_replicas};
use super::state::State;
use super::{Ctx, PROVIDER, SimCloud};
use crate::deployer::{Deployer, DeployerCapabilities, RestartToken, rollback_target};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{AppDiff, AppRef, AppSpec, AppStatus, ChangeAction, ClusterId, ObjectChange, Revision};
use crate::progress::{OperationGuard, Progress};
use crate::render::{self, Object};
use crate::validate::{self, ValidApp};

/// Revisions kept per app; older ones are dropped.
const HISTORY_LIMIT: usize = 10;

/// The simulated [`Deployer`], bound to one cluster. Get one from [`SimCloud::deployer`].
///
/// Objects are rendered with [`crate::render::app`] and stored, never run. Every apply, scale or rollback that
/// changes the spec records a revision and starts a modelled rollout (see the [module documentation](super));
/// one to the spec in force records nothing, as the [`Deployer`] docs require. A restart starts a rollout once
/// per [`RestartToken`]. Mutating calls need the cluster to be available ([`Error::Conflict`] otherwise).
#[derive(Debug, Clone)]
pub struct SimDeployer {
    cloud: SimCloud,
    cluster: ClusterId,
}

/// One deployed app.
#[derive(Debug)]
pub(crate) struct AppRecord {
    /// The spec in force.
    pub(crate) spec: AppSpec,
    /// Stored objects by `Kind/name`, as JSON.
    objects: BTreeMap<String, Value>,
    /// Revisions, oldest first, at most [`HISTORY_LIMIT`].
    history: VecDeque<Revision>,
    /// The current revision's number.
    revision: u64,
    rollout: Rollout,
    /// The token of the last restart, which a repeated restart finds done.
    restarted_for: Option<RestartToken>,
    /// Restarts that took effect, for [`SimDeployer::restarts`].
    restarts: u64,
}

/// Renders an app to `(Kind/name, JSON)` pairs in apply order, with the simulator's rollout key so a changed
/// secret changes the pod template as it does on a cluster.
fn render_json(spec: &ValidApp) -> Result<Vec<(String, Value)>> {
    render::app_with(spec, &sim_secret_inputs()?)?.iter().map(|o: &Object| Ok((o.key(), o.to_json()?))).collect()
}

/// One random rollout key per process: the simulator holds no referenced Secrets (they count as unreadable).
fn sim_secret_inputs() -> Result<render::SecretInputs> {
    static KEY: std::sync::OnceLock<render::RolloutKey> = std::sync::OnceLock::new();
    if KEY.get().is_none() {
        // A lost race sets nothing and keeps the winner's key.
        let _ = KEY.set(render::RolloutKey::generate()?);
    }
    let key = KEY.get().cloned().ok_or_else(|| Error::of_kind(ErrorKind::Provider, PROVIDER, "no rollout key"))?;
    Ok(render::SecretInputs::with_key(key))
}

/// What storing `rendered` over `stored` changes, in apply order, then the objects pruned.
fn object_changes(stored: Option<&BTreeMap<String, Value>>, rendered: &[(String, Value)]) -> Vec<ObjectChange> {
    let empty = BTreeMap::new();
    let stored = stored.unwrap_or(&empty);
    let mut changes = Vec::new();
    for (key, value) in rendered {
        match stored.get(key) {
            None => {
                changes.push(ObjectChange { object: key.clone(), action: ChangeAction::Create, fields: Vec::new() })
            }
            Some(old) if old != value => changes.push(ObjectChange {
                object: key.clone(),
                action: ChangeAction::UpdateInPlace,
                fields: crate::render::changed_paths(old, value),
            }),
            Some(_) => {}
        }
    }
    for key in stored.keys().filter(|k| !rendered.iter().any(|(r, _)| r == *k)) {
        changes.push(ObjectChange { object: key.clone(), action: ChangeAction::Delete, fields: Vec::new() });
    }
    changes
}

fn step_message(change: &ObjectChange) -> String {
    let verb = match change.action {
        ChangeAction::Create => "created",
        ChangeAction::Delete => "pruned",
        _ => "updated",
    };
    format!("{verb} {}", change.object)
}

fn app_not_found(app: &AppRef, cluster: &ClusterId) -> Error {
    Error::not_found(PROVIDER, format!("app {app} on cluster {cluster}"))
}

impl AppRecord {
    fn new(spec: AppSpec, rendered: Vec<(String, Value)>, ctx: &Ctx<'_>) -> Self {
        let mut record = Self {
            spec,
            objects: rendered.into_iter().collect(),
            history: VecDeque::new(),
            revision: 0,
            rollout: Rollout::start(ctx.now, 0),
            restarted_for: None,
            restarts: 0,
        };
        record.record("apply".to_string(), ctx);
        record
    }

    fn observe(&self, ctx: &Ctx<'_>) -> Observed {
        let desired = desired_replicas(&self.spec);
        self.rollout.observe(desired, crash_loops(&self.spec.image), ctx.now, ctx.config.rollout_step)
    }

    fn status(&self, ctx: &Ctx<'_>) -> AppStatus {
        let o = self.observe(ctx);
        AppStatus {
            app: self.spec.app_ref(),
            health: o.health,
            revision: self.revision,
            desired_replicas: o.desired,
            updated_replicas: o.updated,
            ready_replicas: o.ready,
            available_replicas: o.available,
        }
    }

    /// Records the spec in force as a new revision.
    fn record(&mut self, cause: String, ctx: &Ctx<'_>) {
        self.revision += 1;
        let revision = Revision { number: self.revision, applied_at: ctx.now_ts(), spec: self.spec.clone(), cause };
        self.history.push_back(revision);
        while self.history.len() > HISTORY_LIMIT {
            self.history.pop_front();
        }
    }

    /// Stores a new spec and its objects as a revision; a full rollout starts when anything changed.
    fn replace(&mut self, spec: AppSpec, rendered: Vec<(String, Value)>, cause: String, ctx: &Ctx<'_>) {
        let objects: BTreeMap<String, Value> = rendered.into_iter().collect();
        let changed = self.spec != spec || self.objects != objects;
        let before = self.observe(ctx);
        self.spec = spec;
        self.objects = objects;
        self.record(cause, ctx);
        if changed {
            self.rollout = Rollout::start(ctx.now, before.ready);
        }
    }
}

fn apply_locked(st: &mut State, ctx: &Ctx<'_>, id: &ClusterId, spec: &AppSpec) -> Result<(AppStatus, Vec<String>)> {
    let rendered = render_json(&validate::app_spec(spec)?)?;
    let cluster = st.available_cluster_mut(id)?;
    let app = spec.app_ref();
    let changes = object_changes(cluster.apps.get(&app).map(|a| &a.objects), &rendered);
    let mut steps: Vec<String> = changes.iter().map(step_message).collect();
    match cluster.apps.get_mut(&app) {
        None => {
            let record = AppRecord::new(spec.clone(), rendered, ctx);
            let status = record.status(ctx);
            cluster.apps.insert(app, record);
            steps.push(format!("recorded revision {}", status.revision));
            Ok((status, steps))
        }
        Some(record) if record.spec == *spec && changes.is_empty() => Ok((record.status(ctx), Vec::new())),
        Some(record) => {
            record.replace(spec.clone(), rendered, "apply".to_string(), ctx);
            steps.push(format!("recorded revision {}", record.revision));
            Ok((record.status(ctx), steps))
        }
    }
}

fn scale_locked(st: &mut State, ctx: &Ctx<'_>, id: &ClusterId, app: &AppRef, replicas: u32) -> Result<AppStatus> {
    let cluster = st.available_cluster_mut(id)?;
    let record = cluster.apps.get_mut(app).ok_or_else(|| app_not_found(app, id))?;
    let mut spec = record.spec.clone();
    match &mut spec.autoscaling {
        Some(_) if replicas == 0 => {
            return Err(Error::invalid_spec("replicas", "an autoscaled app cannot be scaled to zero"));
        }
        // The autoscaler cannot go below its minimum: raising or lowering the minimum to `replicas` pins it.
        Some(auto) => {
            auto.min_replicas = replicas;
            auto.max_replicas = auto.max_replicas.max(replicas);
        }
        None => spec.replicas = Some(replicas),
    }
    let rendered = render_json(&validate::app_spec(&spec)?)?;
    if spec == record.spec {
        return Ok(record.status(ctx));
    }
    let before = record.observe(ctx);
    record.spec = spec;
    record.objects = rendered.into_iter().collect();
    record.record(format!("scale to {replicas}"), ctx);
    // Scaling adds or removes pods of the current revision: the ones already updated stay.
    record.rollout =
        Rollout { started: ctx.now, base_updated: before.updated.min(replicas), old_ready: before.old_ready };
    Ok(record.status(ctx))
}

fn restart_locked(
    st: &mut State,
    ctx: &Ctx<'_>,
    id: &ClusterId,
    app: &AppRef,
    token: &RestartToken,
) -> Result<AppStatus> {
    let cluster = st.available_cluster_mut(id)?;
    let record = cluster.apps.get_mut(app).ok_or_else(|| app_not_found(app, id))?;
    // As the restart annotation on Kubernetes: writing the value it already has rolls nothing.
    if record.restarted_for.as_ref() == Some(token) {
        return Ok(record.status(ctx));
    }
    let before = record.observe(ctx);
    record.rollout = Rollout::start(ctx.now, before.ready);
    record.restarted_for = Some(token.clone());
    record.restarts += 1;
    Ok(record.status(ctx))
}

fn rollback_locked(
    st: &mut State,
    ctx: &Ctx<'_>,
    id: &ClusterId,
    app: &AppRef,
    revision: Option<u64>,
) -> Result<AppStatus> {
    let cluster = st.available_cluster_mut(id)?;
    let record = cluster.apps.get_mut(app).ok_or_else(|| app_not_found(app, id))?;
    let Some(target) = rollback_target(record.history.make_contiguous(), revision) else {
        let what =
            revision.map_or_else(|| "a revision before the current one".to_string(), |n| format!("revision {n}"));
        return Err(Error::not_found(PROVIDER, format!("{what} of app {app} on cluster {id}")));
    };
    // The spec in force already: a repeat of a rollback that took effect, which records nothing.
    if target.spec == record.spec {
        return Ok(record.status(ctx));
    }
    let (number, spec) = (target.number, target.spec.clone());
    let rendered = render_json(&validate::app_spec(&spec)?)?;
    record.replace(spec, rendered, format!("rollback to {number}"), ctx);
    Ok(record.status(ctx))
}

fn delete_locked(st: &mut State, id: &ClusterId, app: &AppRef) -> Result<()> {
    let cluster = st.available_cluster_mut(id)?;
    cluster.apps.remove(app).ok_or_else(|| app_not_found(app, id))?;
    cluster.mesh.remove(app);
    Ok(())
}

impl SimDeployer {
    pub(crate) fn new(cloud: SimCloud, cluster: ClusterId) -> Self {
        Self { cloud, cluster }
    }

    /// The cluster this deployer is bound to.
    pub fn cluster(&self) -> &ClusterId {
        &self.cluster
    }

    /// How many restarts took effect on `app` since it was first applied: a restart repeated with the same
    /// [`RestartToken`] counts once. An inspection for tests, not a counted call: no fault is injected into it.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown cluster or app.
    pub fn restarts(&self, app: &AppRef) -> Result<u64> {
        let id = &self.cluster;
        self.cloud.with_state(|st, _| {
            let record = st.cluster(id)?.apps.get(app).ok_or_else(|| app_not_found(app, id))?;
            Ok(record.restarts)
        })
    }

    /// Runs `f` on one deployed app of the bound cluster.
    async fn read_app<T>(
        &self,
        operation: &'static str,
        app: &AppRef,
        f: impl FnOnce(&AppRecord, &Ctx<'_>) -> T,
    ) -> Result<T> {
        let id = &self.cluster;
        self.cloud
            .call(operation, |st, ctx| {
                let record = st.cluster(id)?.apps.get(app).ok_or_else(|| app_not_found(app, id))?;
                Ok(f(record, ctx))
            })
            .await
    }
}

#[async_trait]
impl Deployer for SimDeployer {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn capabilities(&self) -> DeployerCapabilities {
        DeployerCapabilities { diff: true, rollback: true, history_limit: HISTORY_LIMIT as u32 }
    }

    fn render(&self, app: &AppSpec) -> Result<Vec<Object>> {
        render::app(&validate::app_spec(app)?)
    }

    async fn apply(&self, app: &AppSpec, progress: &Progress) -> Result<AppStatus> {
        let op = OperationGuard::start(progress, "app.apply", format!("app/{}", app.app_ref()));
        let result = self.cloud.call("app.apply", |st, ctx| apply_locked(st, ctx, &self.cluster, app)).await;
        let (status, steps) = match result {
            Ok(ok) => ok,
            Err(e) => return op.finish(Err(e)),
        };
        let total = u32::try_from(steps.len()).unwrap_or(u32::MAX);
        for (done, step) in (1..=total).zip(steps) {
            op.step(step, done, Some(total));
        }
        op.finish(Ok(status))
    }

    async fn status(&self, app: &AppRef) -> Result<AppStatus> {
        self.read_app("app.status", app, |record, ctx| record.status(ctx)).await
    }

    async fn scale(&self, app: &AppRef, replicas: u32) -> Result<AppStatus> {
        self.cloud.call("app.scale", |st, ctx| scale_locked(st, ctx, &self.cluster, app, replicas)).await
    }

    async fn restart_with(&self, app: &AppRef, token: &RestartToken) -> Result<AppStatus> {
        self.cloud.call("app.restart", |st, ctx| restart_locked(st, ctx, &self.cluster, app, token)).await
    }

    async fn rollback(&self, app: &AppRef, revision: Option<u64>) -> Result<AppStatus> {
        self.cloud.call("app.rollback", |st, ctx| rollback_locked(st, ctx, &self.cluster, app, revision)).await
    }

    async fn history(&self, app: &AppRef) -> Result<Vec<Revision>> {
        self.read_app("app.history", app, |record, _| record.history.iter().cloned().collect()).await
    }

    async fn list(&self) -> Result<Vec<AppRef>> {
        let id = &self.cluster;
        self.cloud.call("app.list", |st, _| Ok(st.cluster(id)?.apps.keys().cloned().collect())).await
    }

    async fn delete(&self, app: &AppRef) -> Result<()> {
        self.cloud.call("app.delete", |st, _| delete_locked(st, &self.cluster, app)).await
    }

    async fn diff(&self, app: &AppSpec) -> Result<AppDiff> {
        let id = &self.cluster;
        self.cloud
            .call("app.diff", |st, _| {
                let rendered = render_json(&validate::app_spec(app)?)?;
                let app_ref = app.app_ref();
                let stored = st.cluster(id)?.apps.get(&app_ref).map(|a| &a.objects);
                Ok(AppDiff { app: app_ref, changes: object_changes(stored, &rendered) })
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::fixtures::*;
    use super::*;
    use crate::model::{AutoscalingSpec, Health, IngressSpec, MeshKind, MeshPolicy, TrafficSplit};
    use crate::retry::{RetryConfig, Retrying};
    use crate::{DeployerExt, ErrorKind, MeshConfigurator, Provisioner, WaitOptions};

    const STEP: Duration = Duration::from_millis(200);

    async fn setup() -> (SimCloud, SimDeployer) {
        let cloud = SimCloud::new();
        let cluster = ready_cluster(&cloud, "c1").await;
        let deployer = cloud.deployer(&cluster.id).unwrap();
        (cloud, deployer)
    }

    fn with_image(image: &str) -> AppSpec {
        let mut app = web_app("shop", "web");
        app.image = image.to_string();
        app
    }

    fn autoscaled(min: u32, max: u32) -> AppSpec {
        let mut app = web_app("shop", "web");
        app.autoscaling = Some(AutoscalingSpec {
            min_replicas: min,
            max_replicas: max,
            cpu_target_percent: Some(70),
            memory_target_percent: None,
            scale_up: None,
            scale_down: None,
        });
        app
    }

    fn counts(s: &AppStatus) -> (u32, u32, u32, u32) {
        (s.desired_replicas, s.updated_replicas, s.ready_replicas, s.available_replicas)
    }

    #[tokio::test(start_paused = true)]
    async fn rollout_progresses_one_replica_per_step() {
        let (_cloud, deployer) = setup().await;
        let app = web_app("shop", "web");
        let status = deployer.apply(&app, &Progress::none()).await.unwrap();
        assert_eq!(status.revision, 1);
        assert_eq!(counts(&status), (2, 0, 0, 0));
        assert!(matches!(status.health, Health::InProgress { .. }));
        tokio::time::sleep(STEP).await;
        let status = deployer.status(&app.app_ref()).await.unwrap();
        assert_eq!(counts(&status), (2, 1, 1, 1));
        tokio::time::sleep(STEP).await;
        let status = deployer.status(&app.app_ref()).await.unwrap();
        assert_eq!(counts(&status), (2, 2, 2, 2));
        assert_eq!(status.health, Health::Current);
        let history = deployer.history(&app.app_ref()).await.unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!((history[0].number, history[0].cause.as_str()), (1, "apply"));
    }

    #[tokio::test(start_paused = true)]
    async fn unchanged_apply_records_nothing_and_changes_roll_out() {
        let (_cloud, deployer) = setup().await;
        let app = web_app("shop", "web");
        deployer.deploy(&app, &WaitOptions::default(), &Progress::none()).await.unwrap();
        let (progress, mut rx) = Progress::channel();
        let again = deployer.apply(&app, &progress).await.unwrap();
        assert_eq!((again.revision, again.health.clone()), (1, Health::Current), "no new revision, no rollout");
        let events: Vec<_> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        assert!(!events.iter().any(|e| matches!(e, crate::progress::ProgressEvent::Step { .. })));

        let v2 = with_image("nginx:1.28");
        let status = deployer.apply(&v2, &Progress::none()).await.unwrap();
        assert_eq!(status.revision, 2);
        assert_eq!(counts(&status), (2, 0, 2, 2), "old replicas keep serving");
        assert!(matches!(status.health, Health::InProgress { .. }));
        let status = deployer.wait(&v2.app_ref(), &WaitOptions::default(), &Progress::none()).await.unwrap();
        assert_eq!(status.health, Health::Current);
    }

    #[tokio::test(start_paused = true)]
    async fn crash_looping_image_fails_after_the_progress_deadline() {
        let (_cloud, deployer) = setup().await;
        let app = with_image("registry.example/shop/web:v2-crashloop");
        deployer.apply(&app, &Progress::none()).await.unwrap();
        tokio::time::sleep(Duration::from_secs(599)).await;
        let status = deployer.status(&app.app_ref()).await.unwrap();
        assert_eq!(status.ready_replicas, 0);
        assert!(matches!(status.health, Health::InProgress { .. }));
        tokio::time::sleep(Duration::from_secs(1)).await;
        let status = deployer.status(&app.app_ref()).await.unwrap();
        assert_eq!(status.health, Health::Failed { reason: "ProgressDeadlineExceeded".into() });
        let err = deployer.wait(&app.app_ref(), &WaitOptions::default(), &Progress::none()).await.unwrap_err();
        assert!(err.to_string().contains("ProgressDeadlineExceeded"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn scale_without_autoscaling_sets_replicas() {
        let (_cloud, deployer) = setup().await;
        let app = web_app("shop", "web");
        deployer.deploy(&app, &WaitOptions::default(), &Progress::none()).await.unwrap();
        let status = deployer.scale(&app.app_ref(), 4).await.unwrap();
        assert_eq!(status.revision, 2);
        assert_eq!(counts(&status), (4, 2, 2, 2), "existing replicas stay");
        tokio::time::sleep(STEP * 2).await;
        assert_eq!(deployer.status(&app.app_ref()).await.unwrap().health, Health::Current);
        let history = deployer.history(&app.app_ref()).await.unwrap();
        let last = history.last().unwrap();
        assert_eq!((last.cause.as_str(), last.spec.replicas), ("scale to 4", Some(4)));
        let status = deployer.scale(&app.app_ref(), 0).await.unwrap();
        assert_eq!((status.desired_replicas, status.health), (0, Health::Current));
        assert_eq!(deployer.scale(&AppRef::new("shop", "nope"), 1).await.unwrap_err().kind(), ErrorKind::NotFound);
    }

    #[tokio::test(start_paused = true)]
    async fn scale_with_autoscaling_moves_the_bounds() {
        let (_cloud, deployer) = setup().await;
        let app = autoscaled(2, 5);
        deployer.apply(&app, &Progress::none()).await.unwrap();
        let status = deployer.scale(&app.app_ref(), 3).await.unwrap();
        assert_eq!(status.desired_replicas, 3);
        let spec = deployer.history(&app.app_ref()).await.unwrap().pop().unwrap().spec;
        let auto = spec.autoscaling.unwrap();
        assert_eq!((auto.min_replicas, auto.max_replicas, spec.replicas), (3, 5, None));
        deployer.scale(&app.app_ref(), 8).await.unwrap();
        let auto = deployer.history(&app.app_ref()).await.unwrap().pop().unwrap().spec.autoscaling.unwrap();
        assert_eq!((auto.min_replicas, auto.max_replicas), (8, 8));
        let err = deployer.scale(&app.app_ref(), 0).await.unwrap_err();
        assert_eq!(err.violations()[0].field, "replicas");
        assert_eq!(deployer.history(&app.app_ref()).await.unwrap().len(), 3, "the invalid scale recorded nothing");
    }

    #[tokio::test(start_paused = true)]
    async fn restart_rolls_every_replica_without_a_revision() {
        let (_cloud, deployer) = setup().await;
        let app = web_app("shop", "web");
        deployer.deploy(&app, &WaitOptions::default(), &Progress::none()).await.unwrap();
        let status = deployer.restart(&app.app_ref()).await.unwrap();
        assert_eq!(status.revision, 1);
        assert_eq!(counts(&status), (2, 0, 2, 2));
        assert!(matches!(status.health, Health::InProgress { .. }));
        tokio::time::sleep(STEP * 2).await;
        assert_eq!(deployer.status(&app.app_ref()).await.unwrap().health, Health::Current);
        assert_eq!(deployer.history(&app.app_ref()).await.unwrap().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn rollback_to_the_previous_and_to_a_number() {
        let (_cloud, deployer) = setup().await;
        let app = AppRef::new("shop", "web");
        let err = deployer.rollback(&app, None).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "unknown app");
        for tag in ["1", "2", "3"] {
            deployer.apply(&with_image(&format!("web:{tag}")), &Progress::none()).await.unwrap();
        }
        let status = deployer.rollback(&app, None).await.unwrap();
        assert_eq!(status.revision, 4);
        let history = deployer.history(&app).await.unwrap();
        let last = history.last().unwrap();
        assert_eq!((last.spec.image.as_str(), last.cause.as_str()), ("web:2", "rollback to 2"));
        deployer.rollback(&app, Some(1)).await.unwrap();
        let last = deployer.history(&app).await.unwrap().pop().unwrap();
        assert_eq!((last.number, last.spec.image.as_str(), last.cause.as_str()), (5, "web:1", "rollback to 1"));
        assert_eq!(deployer.rollback(&app, Some(99)).await.unwrap_err().kind(), ErrorKind::NotFound);
        let numbers: Vec<u64> = deployer.history(&app).await.unwrap().iter().map(|r| r.number).collect();
        assert_eq!(numbers, vec![1, 2, 3, 4, 5], "oldest first");
    }

    fn retrying(deployer: &SimDeployer) -> Retrying<SimDeployer> {
        Retrying::new(deployer.clone(), RetryConfig { seed: Some(3), ..RetryConfig::default() })
    }

    fn causes(history: &[Revision]) -> Vec<&str> {
        history.iter().map(|r| r.cause.as_str()).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn rollback_twice_to_the_same_revision_records_one() {
        let (_cloud, deployer) = setup().await;
        let app = AppRef::new("shop", "web");
        for tag in ["1", "2"] {
            deployer
                .deploy(&with_image(&format!("web:{tag}")), &WaitOptions::default(), &Progress::none())
                .await
                .unwrap();
        }
        assert_eq!(deployer.rollback(&app, Some(1)).await.unwrap().revision, 3);
        deployer.wait(&app, &WaitOptions::default(), &Progress::none()).await.unwrap();
        let again = deployer.rollback(&app, Some(1)).await.unwrap();
        assert_eq!((again.revision, again.health), (3, Health::Current), "no revision, no new rollout");
        let history = deployer.history(&app).await.unwrap();
        assert_eq!(causes(&history), ["apply", "apply", "rollback to 1"]);
        assert_eq!(history[2].spec.image, "web:1");
        // A rollback to a revision holding the spec in force is the same no-op.
        assert_eq!(deployer.rollback(&app, Some(3)).await.unwrap().revision, 3);
        assert_eq!(deployer.history(&app).await.unwrap().len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn rollback_none_after_a_retried_rollback_goes_to_the_revision_before_it() {
        let (cloud, deployer) = setup().await;
        let app = AppRef::new("shop", "web");
        for tag in ["1", "2", "3"] {
            deployer.apply(&with_image(&format!("web:{tag}")), &Progress::none()).await.unwrap();
        }
        let retried = retrying(&deployer);
        cloud.faults().fail_next_after_effect_of("app.rollback", 1, ErrorKind::Transient);
        assert_eq!(retried.rollback(&app, Some(1)).await.unwrap().revision, 4, "the retry found it done");
        assert_eq!(cloud.faults().injected(), 1);
        // Back to the revision before the rollback (3), not to the rollback again.
        cloud.faults().fail_next_after_effect_of("app.rollback", 2, ErrorKind::Transient);
        assert_eq!(retried.rollback(&app, None).await.unwrap().revision, 5);
        let history = deployer.history(&app).await.unwrap();
        assert_eq!(causes(&history), ["apply", "apply", "apply", "rollback to 1", "rollback to 3"]);
        assert_eq!(history[4].spec.image, "web:3");
        assert_eq!(cloud.faults().injected(), 3, "the attempts after the first found it done");
    }

    #[tokio::test(start_paused = true)]
    async fn a_retried_restart_restarts_once() {
        let (cloud, deployer) = setup().await;
        let app = web_app("shop", "web");
        deployer.deploy(&app, &WaitOptions::default(), &Progress::none()).await.unwrap();
        let r = app.app_ref();
        cloud.faults().fail_next_after_effect_of("app.restart", 2, ErrorKind::Transient);
        retrying(&deployer).restart(&r).await.unwrap();
        assert_eq!((deployer.restarts(&r).unwrap(), cloud.faults().injected()), (1, 2), "three attempts, one restart");

        let token = RestartToken::new("job-1");
        deployer.restart_with(&r, &token).await.unwrap();
        tokio::time::sleep(STEP).await;
        let repeat = deployer.restart_with(&r, &token).await.unwrap();
        assert_eq!(repeat.updated_replicas, 1, "the repeat did not start the rollout over");
        assert_eq!(deployer.restarts(&r).unwrap(), 2);
        deployer.restart(&r).await.unwrap();
        deployer.restart(&r).await.unwrap();
        assert_eq!(deployer.restarts(&r).unwrap(), 4, "restart draws a new token each call");
        assert_eq!(deployer.history(&r).await.unwrap().len(), 1, "restarts record no revision");
        assert_eq!(deployer.restarts(&AppRef::new("shop", "nope")).unwrap_err().kind(), ErrorKind::NotFound);
    }

    #[tokio::test(start_paused = true)]
    async fn a_retried_scale_records_one_revision() {
        let (cloud, deployer) = setup().await;
        let app = web_app("shop", "web");
        deployer.apply(&app, &Progress::none()).await.unwrap();
        cloud.faults().fail_next_after_effect_of("app.scale", 2, ErrorKind::Throttled);
        assert_eq!(retrying(&deployer).scale(&app.app_ref(), 5).await.unwrap().revision, 2);
        assert_eq!(causes(&deployer.history(&app.app_ref()).await.unwrap()), ["apply", "scale to 5"]);
    }

    #[tokio::test(start_paused = true)]
    async fn history_keeps_the_last_ten_revisions() {
        let (_cloud, deployer) = setup().await;
        for i in 1..=12 {
            deployer.apply(&with_image(&format!("web:{i}")), &Progress::none()).await.unwrap();
        }
        let app = AppRef::new("shop", "web");
        let history = deployer.history(&app).await.unwrap();
        assert_eq!(history.len(), 10);
        assert_eq!((history[0].number, history[9].number), (3, 12));
        assert_eq!(history[0].spec.image, "web:3");
        assert_eq!(deployer.rollback(&app, Some(2)).await.unwrap_err().kind(), ErrorKind::NotFound, "dropped");
        assert_eq!(deployer.capabilities().history_limit, 10);
    }

    #[tokio::test(start_paused = true)]
    async fn delete_removes_the_app_and_its_mesh_policy() {
        let (cloud, deployer) = setup().await;
        deployer.apply(&web_app("shop", "web"), &Progress::none()).await.unwrap();
        deployer.apply(&web_app("admin", "panel"), &Progress::none()).await.unwrap();
        let listed = deployer.list().await.unwrap();
        assert_eq!(listed, vec![AppRef::new("admin", "panel"), AppRef::new("shop", "web")], "sorted");
        let mesh = cloud.mesh(deployer.cluster()).unwrap();
        let app = AppRef::new("shop", "web");
        mesh.apply(&MeshPolicy::split(app.clone(), MeshKind::Istio, TrafficSplit::canary("v1", "v2", 10)))
            .await
            .unwrap();
        deployer.delete(&app).await.unwrap();
        assert_eq!(deployer.status(&app).await.unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(deployer.history(&app).await.unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(mesh.get(&app).await.unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(deployer.delete(&app).await.unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(deployer.list().await.unwrap(), vec![AppRef::new("admin", "panel")]);
        // Applying again starts a new history.
        assert_eq!(deployer.apply(&web_app("shop", "web"), &Progress::none()).await.unwrap().revision, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn mutating_calls_need_an_available_cluster() {
        let cloud = SimCloud::new();
        let cluster = cloud.provisioner().apply(&cluster_spec("c1"), &Progress::none()).await.unwrap();
        let deployer = cloud.deployer(&cluster.id).unwrap();
        let err = deployer.apply(&web_app("shop", "web"), &Progress::none()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Conflict);
        assert!(deployer.list().await.unwrap().is_empty(), "reads work while provisioning");
        assert_eq!(deployer.status(&AppRef::new("shop", "web")).await.unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(deployer.provider(), "sim");
    }

    #[tokio::test(start_paused = true)]
    async fn diff_lists_created_updated_and_pruned_objects() {
        let (cloud, deployer) = setup().await;
        let mut app = web_app("shop", "web");
        let diff = deployer.diff(&app).await.unwrap();
        assert!(!diff.is_empty());
        assert!(diff.changes.iter().all(|c| c.action == ChangeAction::Create));
        assert!(diff.changes.iter().any(|c| c.object == "Deployment/web"));

        app.ingress =
            Some(IngressSpec { host: "shop.example.com".into(), path: "/".into(), class_name: None, tls: None });
        deployer.apply(&app, &Progress::none()).await.unwrap();
        assert!(deployer.diff(&app).await.unwrap().is_empty(), "nothing to change after apply");

        let mut next = app.clone();
        next.image = "nginx:1.28".into();
        next.ingress = None;
        let diff = deployer.diff(&next).await.unwrap();
        let deployment = diff.changes.iter().find(|c| c.object == "Deployment/web").expect("deployment changes");
        assert_eq!(deployment.action, ChangeAction::UpdateInPlace);
        assert!(deployment.fields.contains(&"/spec/template/spec/containers/0/image".to_string()), "{diff:?}");
        let ingress = diff.changes.iter().find(|c| c.object == "Ingress/web").expect("ingress pruned");
        assert_eq!(ingress.action, ChangeAction::Delete);

        deployer.apply(&next, &Progress::none()).await.unwrap();
        let keys: Vec<String> = cloud.with_state(|st, _| {
            st.clusters.values().flat_map(|c| c.apps.values()).flat_map(|a| a.objects.keys().cloned()).collect()
        });
        assert!(!keys.contains(&"Ingress/web".to_string()), "pruned: {keys:?}");
        assert!(keys.contains(&"Deployment/web".to_string()));
    }

    #[tokio::test(start_paused = true)]
    async fn invalid_app_is_rejected_before_anything_is_stored() {
        let (_cloud, deployer) = setup().await;
        let mut app = web_app("shop", "web");
        app.name = "Not A DNS Label".into();
        assert_eq!(deployer.apply(&app, &Progress::none()).await.unwrap_err().kind(), ErrorKind::InvalidSpec);
        assert!(deployer.list().await.unwrap().is_empty());
        assert!(deployer.render(&web_app("shop", "web")).unwrap().iter().any(|o| o.kind() == "Deployment"));
    }
}
