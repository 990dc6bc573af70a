//! The [`Deployer`] trait: applications on one cluster, and [`DeployerExt`], its conveniences.

use std::fmt::{self, Debug};
use std::sync::atomic::{AtomicI64, Ordering};

use async_trait::async_trait;
use jiff::Timestamp;

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
///
/// # Revisions
/// Revisions follow Helm's releases. A revision records a spec; the newest revision is the spec in force, and
/// its number is [`AppStatus::revision`]. A call that leaves the spec in force different from the newest
/// revision's writes exactly one new revision, numbered one past the newest: [`Deployer::apply`] (cause
/// `apply`), [`Deployer::scale`] (`scale to N`) and [`Deployer::rollback`] (`rollback to N`, holding revision
/// N's spec). A call whose target spec already equals the newest revision's writes none, whatever the objects
/// looked like before it. [`Deployer::restart`] and [`Deployer::delete`] write none.
///
/// # Repeating a call
/// Every mutating call may be repeated after a failure, including a failure *after* it took effect (a lost
/// response), without doing its effect twice; this is what lets [`crate::retry::Retrying`] retry them:
/// - `apply`, `scale` and `rollback(Some(n))` converge: a repeat finds the spec already in force and records
///   nothing.
/// - `rollback(None)` means "the revision before the newest" ([`previous_revision`]) *when it runs*, so a repeat
///   after it took effect goes back once more; resolve it to a number first to repeat it safely (the retry
///   decorator does).
/// - `restart_with` restarts once per [`RestartToken`]: a repeat with the same token finds the pods already
///   restarted for it. [`Deployer::restart`] draws a new token, so each call of it restarts again.
/// - `delete` fails with [`Error::NotFound`] when repeated after it took effect.
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

    /// Applies `app` (creating its namespace if needed), prunes objects it no longer renders, and records it as
    /// a revision unless it equals the newest revision's spec (see [Revisions](Deployer#revisions)). Objects are
    /// applied either way, so applying the spec in force repairs drift without a revision. Returns the status
    /// right after the apply; wait with [`Deployer::wait`].
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
    /// The scaled spec is recorded as a revision (`scale to N`) unless it is already the spec in force, so a
    /// repeat records nothing.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::InvalidSpec`] (field `replicas`) for zero with autoscaling; provider errors.
    async fn scale(&self, app: &AppRef, replicas: u32) -> Result<AppStatus>;

    /// Restarts every pod (rolling) with a new [`RestartToken`]: each call restarts again. Records no revision.
    ///
    /// To restart once however often the request is repeated, draw the token once and call
    /// [`Deployer::restart_with`].
    ///
    /// # Errors
    /// As [`Deployer::restart_with`].
    async fn restart(&self, app: &AppRef) -> Result<AppStatus> {
        self.restart_with(app, &RestartToken::now()).await
    }

    /// Restarts every pod (rolling) for `token`, unless the pods were already restarted for it: repeating the
    /// call with the same token, after a failure before or after it took effect, restarts once. Records no
    /// revision.
    ///
    /// Only the newest token counts: a token used again after a restart with another one restarts again.
    ///
    /// # Errors
    /// [`Error::NotFound`]; provider errors.
    async fn restart_with(&self, app: &AppRef, token: &RestartToken) -> Result<AppStatus>;

    /// Re-applies a stored revision's spec: revision `n` for `Some(n)`, the one before the newest for `None`
    /// ([`previous_revision`]).
    ///
    /// Recorded as a new revision (`rollback to N`) holding that spec, unless the spec in force already equals
    /// it: then nothing is recorded and the returned status names the newest revision. So `rollback(Some(n))`
    /// repeated records one revision, and a later `rollback(None)` goes back to the revision before it.
    /// `rollback(None)` is resolved when it runs: repeated after it took effect, it goes back further.
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

/// The revision "the one before the current" means, as [`Deployer::rollback`] with `None` goes back to: the
/// second newest by number (`history` in any order). `None` when fewer than two revisions are stored.
pub fn previous_revision(history: &[Revision]) -> Option<&Revision> {
    let newest = history.iter().map(|r| r.number).max()?;
    history.iter().filter(|r| r.number < newest).max_by_key(|r| r.number)
}

/// The revision [`Deployer::rollback`] goes back to: number `revision` when given, else
/// [`previous_revision`]. `None` when it is not stored.
pub fn rollback_target(history: &[Revision], revision: Option<u64>) -> Option<&Revision> {
    match revision {
        Some(n) => history.iter().find(|r| r.number == n),
        None => previous_revision(history),
    }
}

/// Names one requested restart, so that repeating the request restarts once (see [`Deployer::restart_with`]).
///
/// [`RestartToken::now`] is an RFC 3339 timestamp, as `kubectl rollout restart` writes: deployers on
/// Kubernetes put the token in the pod template's `kubectl.kubernetes.io/restartedAt` annotation, so a
/// repeat writes the same value and the Deployment controller rolls the pods once.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RestartToken(String);

/// The last timestamp [`RestartToken::now`] issued, in nanoseconds since the Unix epoch.
static LAST_TOKEN_NANOS: AtomicI64 = AtomicI64::new(i64::MIN);

impl RestartToken {
    /// A token for a new restart: the current time, later than every token drawn before in this process (two
    /// draws in the same nanosecond would otherwise be one restart).
    pub fn now() -> Self {
        let now = i64::try_from(Timestamp::now().as_nanosecond()).unwrap_or(i64::MAX);
        let previous = LAST_TOKEN_NANOS
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| Some(now.max(last.saturating_add(1))))
            .unwrap_or(now);
        let nanos = now.max(previous.saturating_add(1));
        let at = Timestamp::from_nanosecond(i128::from(nanos)).unwrap_or_else(|_| Timestamp::now());
        Self(at.to_string())
    }

    /// A token chosen by the host (for example, the id of a job that survives the host program's restarts).
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The token's value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RestartToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Framework;

    fn rev(number: u64) -> Revision {
        Revision {
            number,
            applied_at: Timestamp::UNIX_EPOCH,
            spec: AppSpec::new("ns", "a", format!("img:{number}"), Framework::Static),
            cause: "apply".into(),
        }
    }

    #[test]
    fn previous_revision_is_the_second_newest_by_number() {
        let number = |r: Option<&Revision>| r.map(|r| r.number);
        assert_eq!(number(previous_revision(&[rev(1), rev(2), rev(3)])), Some(2));
        assert_eq!(number(previous_revision(&[rev(4), rev(2), rev(9), rev(7)])), Some(7), "in any order");
        assert_eq!(number(previous_revision(&[rev(5)])), None);
        assert_eq!(number(previous_revision(&[])), None);
    }

    #[test]
    fn rollback_targets_a_number_or_the_previous() {
        let history = [rev(3), rev(4), rev(5)];
        assert_eq!(rollback_target(&history, Some(3)).map(|r| r.spec.image.as_str()), Some("img:3"));
        assert_eq!(rollback_target(&history, None).map(|r| r.number), Some(4));
        assert!(rollback_target(&history, Some(9)).is_none());
        assert!(rollback_target(&history[..1], None).is_none());
    }

    #[test]
    fn restart_tokens_are_distinct_increasing_timestamps() {
        let tokens: Vec<RestartToken> = (0..1000).map(|_| RestartToken::now()).collect();
        let times: Vec<Timestamp> = tokens.iter().map(|t| t.as_str().parse().expect("RFC 3339")).collect();
        assert!(times.windows(2).all(|w| w[0] < w[1]), "strictly increasing, so never one restart for two");
        assert_eq!(RestartToken::new("job-7").to_string(), "job-7");
        assert_eq!(RestartToken::new("job-7"), RestartToken::new("job-7"));
    }
}
