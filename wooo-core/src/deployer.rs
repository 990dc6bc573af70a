//! The [`Deployer`] trait: applications on one cluster, and [`DeployerExt`], its conveniences.

use std::fmt::Debug;

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::model::{AppDiff, AppRef, AppSpec, AppStatus, Health, Revision};
use crate::progress::{OperationGuard, Progress};
use crate::provisioner::{Look, WaitOptions};
use crate::render::Object;

/// What a deployer can do.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeployerCapabilities {
    /// Server-side dry-run diffs.
    pub diff: bool,
    /// Rollback to stored revisions.
    pub rollback: bool,
    /// Most revisions kept per app.
    pub history_limit: u32,
}

/// Applications on one cluster (a deployer is bound to a cluster).
///
/// Apply is declarative and idempotent: objects are server-side applied in dependency order, objects no longer
/// rendered are pruned, and each applied spec is kept as a revision for rollback.
#[cfg_attr(feature = "testing", mockall::automock)]
#[async_trait]
pub trait Deployer: Send + Sync + Debug + 'static {
    /// Short provider name used in errors.
    fn provider(&self) -> &'static str;

    /// What this deployer supports.
    fn capabilities(&self) -> DeployerCapabilities;

    /// The typed Kubernetes objects `app` becomes, in apply order. Pure: no API call.
    ///
    /// # Errors
    /// [`Error::InvalidSpec`] naming the field.
    fn render(&self, app: &AppSpec) -> Result<Vec<Object>>;

    /// Applies `app` (creating its namespace if needed), prunes objects it no longer renders, and records a
    /// revision when anything changed. Returns the status right after the apply; wait with
    /// [`Deployer::wait`].
    ///
    /// # Errors
    /// [`Error::InvalidSpec`] before any call; [`Error::Conflict`] when objects are owned by someone else;
    /// provider errors.
    async fn apply(&self, app: &AppSpec, progress: &Progress) -> Result<AppStatus>;

    /// kstatus health and replica counts.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown app; provider errors.
    async fn status(&self, app: &AppRef) -> Result<AppStatus>;

    /// Waits until the app is Current; fails fast when it is Failed.
    ///
    /// The default polls [`Deployer::status`]; implementations with watches override it.
    ///
    /// # Errors
    /// [`Error::Timeout`]; [`Error::Provider`] when the app is Failed; errors from `status`.
    async fn wait(&self, app: &AppRef, wait: &WaitOptions, progress: &Progress) -> Result<AppStatus> {
        let op = OperationGuard::start(progress, "app.wait", format!("app/{app}"));
        let what = format!("app {app} to become current");
        let result = wait
            .poll(self.provider(), &what, &op, || async move {
                let status = self.status(app).await?;
                Ok(match &status.health {
                    Health::Current => Look::Done(Ok(status)),
                    Health::Failed { reason } => {
                        let message = format!("app {app} failed: {reason}");
                        Look::Done(Err(Error::Provider { provider: self.provider(), message, source: None }))
                    }
                    Health::InProgress { message } => Look::Pending(message.clone()),
                })
            })
            .await;
        op.finish(result)
    }

    /// Sets the replica count. When an autoscaler manages the app, its minimum and maximum are moved to
    /// bracket `replicas` instead.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::InvalidSpec`] (field `replicas`) for zero with autoscaling; provider errors.
    async fn scale(&self, app: &AppRef, replicas: u32) -> Result<AppStatus>;

    /// Restarts every pod (rolling).
    ///
    /// # Errors
    /// [`Error::NotFound`]; provider errors.
    async fn restart(&self, app: &AppRef) -> Result<AppStatus>;

    /// Re-applies a stored revision (`None`: the one before the current). Recorded as a new revision.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown app or revision; provider errors.
    async fn rollback(&self, app: &AppRef, revision: Option<u64>) -> Result<AppStatus>;

    /// Stored revisions, oldest first.
    ///
    /// # Errors
    /// [`Error::NotFound`]; provider errors.
    async fn history(&self, app: &AppRef) -> Result<Vec<Revision>>;

    /// Every app this deployer manages on the cluster, sorted.
    ///
    /// # Errors
    /// Provider errors.
    async fn list(&self) -> Result<Vec<AppRef>>;

    /// Deletes every object of the app and its revision history. The namespace is kept.
    ///
    /// # Errors
    /// [`Error::NotFound`]; provider errors.
    async fn delete(&self, app: &AppRef) -> Result<()>;

    /// What [`Deployer::apply`] would change, object by object (server-side dry run where available).
    ///
    /// # Errors
    /// [`Error::InvalidSpec`]; provider errors.
    async fn diff(&self, app: &AppSpec) -> Result<AppDiff>;
}

/// Conveniences over any [`Deployer`]. Implemented for every deployer; do not implement it.
#[async_trait]
pub trait DeployerExt: Deployer {
    /// Applies and waits until Current.
    ///
    /// # Errors
    /// As [`Deployer::apply`] and [`Deployer::wait`].
    async fn deploy(&self, app: &AppSpec, wait: &WaitOptions, progress: &Progress) -> Result<AppStatus> {
        self.apply(app, progress).await?;
        self.wait(&app.app_ref(), wait, progress).await
    }
}

impl<T: Deployer + ?Sized> DeployerExt for T {}
