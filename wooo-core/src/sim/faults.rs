//! Fault injection shared by the four simulated traits.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::PROVIDER;
use super::state::State;
use crate::error::{Error, ErrorKind};

/// How long an injected [`Error::Throttled`] asks the caller to wait.
const THROTTLE_RETRY_AFTER: Duration = Duration::from_millis(10);

/// Makes calls to a [`super::SimCloud`] fail, slow down or lose their responses, to test retries, timeouts and
/// recovery. Cheap to clone; clones (and the cloud) share the settings.
///
/// Every method of the four traits is a counted call, except `provider`, `capabilities` and `render`. For each
/// call the injector decides one fault, in this order: a fault queued for that operation
/// ([`FaultInjector::fail_next_of`], [`FaultInjector::fail_next_after_effect_of`]), then a fault queued for any
/// call ([`FaultInjector::fail_next`], [`FaultInjector::fail_next_after_effect`], first queued first used), then
/// throttling
/// ([`FaultInjector::throttle_every`]), then a random failure ([`FaultInjector::fail_randomly`]). Latency
/// ([`FaultInjector::latency`]) is added to every call, failing or not. Injected errors name the provider `sim`.
///
/// ```
/// use wooo_core::sim::SimCloud;
/// use wooo_core::model::ClusterId;
/// use wooo_core::{ErrorKind, Provisioner};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let cloud = SimCloud::new();
/// cloud.faults().fail_next(1, ErrorKind::Transient);
/// let err = cloud.provisioner().list().await.unwrap_err();
/// assert!(err.is_retryable());
/// assert!(cloud.provisioner().list().await.is_ok());
/// assert_eq!(cloud.faults().injected(), 1);
/// # }
/// ```
#[derive(Clone)]
pub struct FaultInjector {
    state: Arc<Mutex<State>>,
}

/// The fault settings and counters, kept in the cloud's state.
#[derive(Debug, Default)]
pub(crate) struct FaultState {
    queue: VecDeque<(ErrorKind, When)>,
    /// Faults for one operation, by its name, first queued first used.
    targeted: VecDeque<(&'static str, ErrorKind, When)>,
    throttle: Option<Throttle>,
    random: Option<RandomFaults>,
    latency: Duration,
    injected: u64,
}

/// Whether an injected failure happens before the call has any effect or after (a lost response).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum When {
    Before,
    After,
}

#[derive(Debug)]
struct Throttle {
    every: u64,
    seen: u64,
}

#[derive(Debug)]
struct RandomFaults {
    rate: f64,
    kinds: Vec<ErrorKind>,
    rng: fastrand::Rng,
}

/// What happens to one call.
#[derive(Debug)]
pub(crate) struct CallEntry {
    /// Added before the call runs.
    pub(crate) latency: Duration,
    /// Returned instead of running the call.
    pub(crate) before: Option<Error>,
    /// Returned after the call ran (its effect stays).
    pub(crate) after: Option<Error>,
}

impl FaultState {
    /// Decides the fault of the next call.
    pub(crate) fn enter(&mut self, operation: &'static str) -> CallEntry {
        let mut entry = CallEntry { latency: self.latency, before: None, after: None };
        let throttled = self.throttle.as_mut().is_some_and(|t| {
            t.seen += 1;
            t.seen.is_multiple_of(t.every)
        });
        let targeted = self.targeted.iter().position(|(op, _, _)| *op == operation);
        let decided = if let Some((_, kind, when)) = targeted.and_then(|i| self.targeted.remove(i)) {
            Some((kind, when))
        } else if let Some((kind, when)) = self.queue.pop_front() {
            Some((kind, when))
        } else if throttled {
            Some((ErrorKind::Throttled, When::Before))
        } else if let Some(r) = &mut self.random {
            (r.rng.f64() < r.rate).then(|| {
                let kind =
                    if r.kinds.is_empty() { ErrorKind::Transient } else { r.kinds[r.rng.usize(..r.kinds.len())] };
                (kind, if r.rng.bool() { When::Before } else { When::After })
            })
        } else {
            None
        };
        if let Some((kind, when)) = decided {
            self.injected += 1;
            match when {
                When::Before => entry.before = Some(injected_error(kind, operation, "injected fault")),
                When::After => {
                    entry.after = Some(injected_error(kind, operation, "injected fault after the call took effect"))
                }
            }
        }
        entry
    }
}

fn injected_error(kind: ErrorKind, operation: &str, what: &str) -> Error {
    let message = format!("{what} ({operation})");
    match kind {
        ErrorKind::Throttled => {
            Error::Throttled { provider: PROVIDER, message, retry_after: Some(THROTTLE_RETRY_AFTER), source: None }
        }
        _ => Error::of_kind(kind, PROVIDER, message),
    }
}

impl FaultInjector {
    pub(crate) fn new(state: Arc<Mutex<State>>) -> Self {
        Self { state }
    }

    fn with<T>(&self, f: impl FnOnce(&mut FaultState) -> T) -> T {
        let mut st = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut st.faults)
    }

    /// The next `n` calls fail with `kind` before having any effect.
    pub fn fail_next(&self, n: u32, kind: ErrorKind) {
        self.with(|f| f.queue.extend(std::iter::repeat_n((kind, When::Before), n as usize)));
    }

    /// The next `n` calls take effect, then report `kind`: a lost response, as when a connection drops after
    /// the cloud accepted a request. Tests that callers re-read state instead of assuming failure.
    pub fn fail_next_after_effect(&self, n: u32, kind: ErrorKind) {
        self.with(|f| f.queue.extend(std::iter::repeat_n((kind, When::After), n as usize)));
    }

    /// The next `n` calls of `operation` fail with `kind` before having any effect; other calls are not
    /// affected. Operations are named as in [`crate::progress::ProgressEvent::Retrying`]: `app.apply`,
    /// `app.rollback`, `app.restart`, `app.scale`, `cluster.delete`, …
    pub fn fail_next_of(&self, operation: &'static str, n: u32, kind: ErrorKind) {
        self.with(|f| f.targeted.extend(std::iter::repeat_n((operation, kind, When::Before), n as usize)));
    }

    /// The next `n` calls of `operation` take effect, then report `kind` (a lost response); other calls are not
    /// affected. Operations are named as for [`FaultInjector::fail_next_of`].
    pub fn fail_next_after_effect_of(&self, operation: &'static str, n: u32, kind: ErrorKind) {
        self.with(|f| f.targeted.extend(std::iter::repeat_n((operation, kind, When::After), n as usize)));
    }

    /// Every `k`-th call from now on (the k-th, 2k-th, …) fails before any effect with [`Error::Throttled`]
    /// asking to retry after 10 ms. `0` turns throttling off.
    pub fn throttle_every(&self, k: u32) {
        self.with(|f| f.throttle = (k > 0).then_some(Throttle { every: u64::from(k), seen: 0 }));
    }

    /// Each call fails with probability `rate` (clamped to 0..=1), with a kind drawn from `kinds`
    /// ([`ErrorKind::Transient`] when empty), before or after its effect with equal odds. The draws come from
    /// a generator seeded with `seed`, so the same calls fail in the same way on every run.
    pub fn fail_randomly(&self, rate: f64, kinds: &[ErrorKind], seed: u64) {
        let rate = if rate.is_nan() { 0.0 } else { rate.clamp(0.0, 1.0) };
        let random = RandomFaults { rate, kinds: kinds.to_vec(), rng: fastrand::Rng::with_seed(seed) };
        self.with(|f| f.random = Some(random));
    }

    /// Adds `latency` to every call (a `tokio::time::sleep`, so paused-clock tests stay instant).
    pub fn latency(&self, latency: Duration) {
        self.with(|f| f.latency = latency);
    }

    /// Removes every fault setting (queued faults, throttling, random failures, latency). The count of
    /// injected faults is kept.
    pub fn clear(&self) {
        self.with(|f| {
            f.queue.clear();
            f.targeted.clear();
            f.throttle = None;
            f.random = None;
            f.latency = Duration::ZERO;
        });
    }

    /// How many faults have been injected so far (latency not counted).
    pub fn injected(&self) -> u64 {
        self.with(|f| f.injected)
    }
}

impl fmt::Debug for FaultInjector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.state.try_lock() {
            Ok(st) => f.debug_struct("FaultInjector").field("faults", &st.faults).finish(),
            Err(_) => f.debug_struct("FaultInjector").field("faults", &"<locked>").finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::SimCloud;
    use super::super::fixtures::*;
    use super::*;
    use crate::model::ClusterId;
    use crate::progress::Progress;
    use crate::{Deployer, Provisioner};

    #[tokio::test(start_paused = true)]
    async fn fail_next_fails_before_any_effect_and_counts() {
        let cloud = SimCloud::builder().provisioning_delay(Duration::ZERO).build();
        let prov = cloud.provisioner();
        cloud.faults().fail_next(2, ErrorKind::Transient);
        for _ in 0..2 {
            let err = prov.apply(&cluster_spec("c1"), &Progress::none()).await.unwrap_err();
            assert!(matches!(err, Error::Transient { provider: "sim", .. }), "{err:?}");
        }
        assert_eq!(cloud.faults().injected(), 2);
        assert!(prov.list().await.unwrap().is_empty(), "nothing was created");
        prov.apply(&cluster_spec("c1"), &Progress::none()).await.unwrap();
        assert_eq!(prov.list().await.unwrap().len(), 1);
        assert_eq!(cloud.faults().injected(), 2);
        assert_eq!(cloud.call_count(), 5);
    }

    #[tokio::test(start_paused = true)]
    async fn fail_after_effect_loses_the_response_but_keeps_the_change() {
        let cloud = SimCloud::builder().provisioning_delay(Duration::ZERO).build();
        let prov = cloud.provisioner();
        cloud.faults().fail_next_after_effect(1, ErrorKind::Timeout);
        let err = prov.apply(&cluster_spec("c1"), &Progress::none()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Timeout);
        assert_eq!(err.provider(), Some("sim"));
        let cluster = prov.get(&ClusterId::new("c1")).await.unwrap();
        assert!(cluster.is_ready(), "the apply took effect");
        assert_eq!(cloud.faults().injected(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn queued_faults_are_used_in_order() {
        let cloud = SimCloud::builder().provisioning_delay(Duration::ZERO).build();
        let prov = cloud.provisioner();
        cloud.faults().fail_next(1, ErrorKind::NotFound);
        cloud.faults().fail_next_after_effect(1, ErrorKind::Provider);
        assert_eq!(prov.list().await.unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(prov.list().await.unwrap_err().kind(), ErrorKind::Provider);
        assert!(prov.list().await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn targeted_faults_hit_only_their_operation_and_come_first() {
        let cloud = SimCloud::builder().provisioning_delay(Duration::ZERO).build();
        let cluster = ready_cluster(&cloud, "c1").await;
        let deployer = cloud.deployer(&cluster.id).unwrap();
        let app = web_app("shop", "web");
        cloud.faults().fail_next_after_effect_of("app.apply", 1, ErrorKind::Timeout);
        cloud.faults().fail_next(1, ErrorKind::Transient);
        cloud.faults().fail_next_of("app.status", 1, ErrorKind::Throttled);
        // Not an apply: the queue for any call serves it.
        assert_eq!(deployer.list().await.unwrap_err().kind(), ErrorKind::Transient);
        assert!(deployer.list().await.unwrap().is_empty());
        // The apply took effect before its answer was lost.
        assert_eq!(deployer.apply(&app, &Progress::none()).await.unwrap_err().kind(), ErrorKind::Timeout);
        assert_eq!(deployer.list().await.unwrap(), vec![app.app_ref()]);
        assert_eq!(deployer.status(&app.app_ref()).await.unwrap_err().kind(), ErrorKind::Throttled);
        assert_eq!(deployer.status(&app.app_ref()).await.unwrap().revision, 1);
        assert_eq!(cloud.faults().injected(), 3);
        cloud.faults().fail_next_of("app.status", 5, ErrorKind::Transient);
        cloud.faults().clear();
        assert!(deployer.status(&app.app_ref()).await.is_ok(), "clear drops targeted faults");
    }

    #[tokio::test(start_paused = true)]
    async fn throttle_hits_every_kth_call_with_retry_after() {
        let cloud = SimCloud::new();
        let prov = cloud.provisioner();
        cloud.faults().throttle_every(3);
        let mut throttled = Vec::new();
        for i in 1..=9 {
            if let Err(e) = prov.list().await {
                assert_eq!(e.retry_after(), Some(Duration::from_millis(10)));
                assert!(e.is_retryable());
                throttled.push(i);
            }
        }
        assert_eq!(throttled, vec![3, 6, 9]);
        assert_eq!(cloud.faults().injected(), 3);
        cloud.faults().throttle_every(0);
        for _ in 0..5 {
            prov.list().await.unwrap();
        }
    }

    async fn random_outcomes(seed: u64) -> (Vec<Option<ErrorKind>>, usize) {
        let cloud = SimCloud::builder().provisioning_delay(Duration::ZERO).build();
        let prov = cloud.provisioner();
        let cluster = ready_cluster(&cloud, "c1").await;
        let deployer = cloud.deployer(&cluster.id).unwrap();
        cloud.faults().fail_randomly(0.5, &[ErrorKind::Transient, ErrorKind::Throttled], seed);
        let mut outcomes = Vec::new();
        for i in 0..40u32 {
            let app = web_app("shop", &format!("app{i}"));
            outcomes.push(deployer.apply(&app, &Progress::none()).await.err().map(|e| e.kind()));
        }
        cloud.faults().clear();
        let deployed = deployer.list().await.unwrap().len();
        let _ = prov;
        (outcomes, deployed)
    }

    #[tokio::test(start_paused = true)]
    async fn fail_randomly_is_deterministic_per_seed_and_fails_both_ways() {
        let (a, deployed_a) = random_outcomes(42).await;
        let (b, deployed_b) = random_outcomes(42).await;
        assert_eq!(a, b);
        assert_eq!(deployed_a, deployed_b);
        let failed = a.iter().filter(|o| o.is_some()).count();
        assert!((8..=32).contains(&failed), "about half of 40 fail, got {failed}");
        assert!(a.iter().flatten().all(|k| matches!(k, ErrorKind::Transient | ErrorKind::Throttled)));
        assert!(a.contains(&Some(ErrorKind::Transient)) && a.contains(&Some(ErrorKind::Throttled)));
        // Failures after the effect still deployed their app; failures before did not.
        let succeeded = a.iter().filter(|o| o.is_none()).count();
        assert!(deployed_a > succeeded, "some failed calls took effect");
        assert!(deployed_a < 40, "some failed calls had no effect");
        let (c, _) = random_outcomes(43).await;
        assert_ne!(a, c, "another seed draws other failures");
    }

    #[tokio::test(start_paused = true)]
    async fn latency_adds_virtual_time_to_every_call() {
        let cloud = SimCloud::new();
        let prov = cloud.provisioner();
        cloud.faults().latency(Duration::from_secs(2));
        let start = tokio::time::Instant::now();
        prov.list().await.unwrap();
        let _ = prov.get(&ClusterId::new("missing")).await.unwrap_err();
        assert_eq!(start.elapsed(), Duration::from_secs(4));
        cloud.faults().clear();
        let start = tokio::time::Instant::now();
        prov.list().await.unwrap();
        assert_eq!(start.elapsed(), Duration::ZERO);
        assert_eq!(cloud.faults().injected(), 0, "latency is not a fault");
    }

    #[tokio::test(start_paused = true)]
    async fn clear_drops_queued_faults() {
        let cloud = SimCloud::new();
        cloud.faults().fail_next(3, ErrorKind::Transient);
        cloud.faults().throttle_every(1);
        cloud.faults().clear();
        assert!(cloud.provisioner().list().await.is_ok());
        assert!(format!("{:?}", cloud.faults()).contains("FaultInjector"));
    }
}
