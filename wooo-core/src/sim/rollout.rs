//! The rollout model: how replica counts and health move over simulated time.
//!
//! One replica of the new revision is created (and, unless it crash-loops, becomes ready and available) per
//! rollout step. Pods of the old revision stay ready until new ones replace them. A crash-looping revision never
//! becomes ready and fails when the progress deadline passes, as a Deployment with `progressDeadlineSeconds:
//! 600` does.

use std::time::Duration;

use tokio::time::Instant;

use crate::model::{AppSpec, Health};

/// The Deployment progress deadline (`progressDeadlineSeconds`, Kubernetes' default).
pub(crate) const PROGRESS_DEADLINE: Duration = Duration::from_secs(600);

/// The reason kstatus reports when the progress deadline passed.
pub(crate) const DEADLINE_REASON: &str = "ProgressDeadlineExceeded";

/// A rollout in progress (or finished): enough to compute replica counts at any instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rollout {
    /// When it started.
    pub(crate) started: Instant,
    /// Replicas already running the current revision when it started (a scale keeps them).
    pub(crate) base_updated: u32,
    /// Ready replicas of older revisions when it started.
    pub(crate) old_ready: u32,
}

/// Replica counts and health at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Observed {
    pub(crate) desired: u32,
    pub(crate) updated: u32,
    pub(crate) ready: u32,
    pub(crate) available: u32,
    /// The part of `ready` that runs an older revision.
    pub(crate) old_ready: u32,
    pub(crate) health: Health,
}

/// Replicas an app runs: the autoscaler's minimum when autoscaling, else its replica count.
pub(crate) fn desired_replicas(spec: &AppSpec) -> u32 {
    spec.autoscaling.as_ref().map_or_else(|| spec.effective_replicas(), |a| a.min_replicas)
}

/// Whether the image's tag says it crash-loops (the simulator's way to model a broken release).
pub(crate) fn crash_loops(image: &str) -> bool {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last_segment = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last_segment.split_once(':').is_some_and(|(_, tag)| tag.contains("crashloop"))
}

impl Rollout {
    /// A rollout of a whole new revision starting now, with `old_ready` replicas of the previous one serving.
    pub(crate) fn start(now: Instant, old_ready: u32) -> Self {
        Self { started: now, base_updated: 0, old_ready }
    }

    /// The counts and health at `now`.
    pub(crate) fn observe(&self, desired: u32, crash_loops: bool, now: Instant, step: Duration) -> Observed {
        let elapsed = now.saturating_duration_since(self.started);
        let steps = if step.is_zero() {
            u32::MAX
        } else {
            u32::try_from(elapsed.as_nanos() / step.as_nanos()).unwrap_or(u32::MAX)
        };
        let updated = self.base_updated.saturating_add(steps).min(desired);
        // Old pods are only removed as new ones become available, so a crash-looping rollout keeps them.
        let (new_ready, old_ready) = if crash_loops {
            (0, self.old_ready.min(desired))
        } else {
            (updated, self.old_ready.min(desired - updated))
        };
        let ready = new_ready + old_ready;
        let health = if crash_loops && desired > 0 {
            if elapsed >= PROGRESS_DEADLINE {
                Health::Failed { reason: DEADLINE_REASON.to_string() }
            } else {
                Health::InProgress { message: format!("0 of {desired} updated replicas are ready (crash loop)") }
            }
        } else if updated == desired && new_ready == desired {
            Health::Current
        } else {
            Health::InProgress { message: format!("{new_ready} of {desired} updated replicas are available") }
        };
        Observed { desired, updated, ready, available: ready, old_ready, health }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEP: Duration = Duration::from_millis(200);

    #[tokio::test(start_paused = true)]
    async fn one_replica_per_step_then_current() {
        let t0 = Instant::now();
        let r = Rollout::start(t0, 0);
        let at = |ms| r.observe(3, false, t0 + Duration::from_millis(ms), STEP);
        assert_eq!((at(0).updated, at(0).ready), (0, 0));
        assert!(matches!(at(0).health, Health::InProgress { .. }));
        assert_eq!((at(199).updated, at(200).updated, at(400).ready), (0, 1, 2));
        assert_eq!(at(600).health, Health::Current);
        assert_eq!((at(10_000).updated, at(10_000).available), (3, 3));
    }

    #[tokio::test(start_paused = true)]
    async fn old_replicas_keep_serving_until_replaced() {
        let t0 = Instant::now();
        let r = Rollout::start(t0, 3);
        let o = r.observe(3, false, t0 + STEP, STEP);
        assert_eq!((o.updated, o.old_ready, o.ready), (1, 2, 3));
        let o = r.observe(3, true, t0 + STEP * 10, STEP);
        assert_eq!((o.updated, o.old_ready, o.ready), (3, 3, 3), "a crash-looping revision keeps the old pods");
        assert!(matches!(o.health, Health::InProgress { .. }));
    }

    #[tokio::test(start_paused = true)]
    async fn crash_loop_fails_at_the_progress_deadline() {
        let t0 = Instant::now();
        let r = Rollout::start(t0, 0);
        let before = r.observe(2, true, t0 + PROGRESS_DEADLINE - Duration::from_secs(1), STEP);
        assert_eq!(before.ready, 0);
        assert!(matches!(before.health, Health::InProgress { .. }));
        let after = r.observe(2, true, t0 + PROGRESS_DEADLINE, STEP);
        assert_eq!(after.health, Health::Failed { reason: "ProgressDeadlineExceeded".into() });
        assert_eq!(r.observe(0, true, t0, STEP).health, Health::Current, "nothing to roll out");
    }

    #[tokio::test(start_paused = true)]
    async fn zero_step_is_instant_and_scale_keeps_updated_replicas() {
        let t0 = Instant::now();
        assert_eq!(Rollout::start(t0, 0).observe(4, false, t0, Duration::ZERO).health, Health::Current);
        let scaled = Rollout { started: t0, base_updated: 2, old_ready: 0 };
        let o = scaled.observe(4, false, t0, STEP);
        assert_eq!((o.updated, o.ready), (2, 2));
        assert_eq!(scaled.observe(1, false, t0, STEP).health, Health::Current, "scaling down is immediate");
    }

    #[test]
    fn crash_loop_is_read_from_the_tag_only() {
        assert!(crash_loops("registry.example/shop/web:v2-crashloop"));
        assert!(crash_loops("web:crashloop@sha256:abc"));
        assert!(!crash_loops("crashloop/web:v2"));
        assert!(!crash_loops("registry:5000/crashloop"));
        assert!(!crash_loops("nginx"));
    }
}
