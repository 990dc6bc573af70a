//! Typed progress events, so host programs can draw progress bars and logs.
//!
//! Long operations take a [`Progress`] handle and report [`ProgressEvent`]s through it. Every event is also
//! recorded as a `tracing` event (target `wooo::progress`), inside the operation's span.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// One step of a long operation.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum ProgressEvent {
    /// An operation started.
    Started {
        /// Operation (`cluster.apply`, `app.apply`, `cluster.delete`, …).
        operation: &'static str,
        /// What it acts on (`cluster/prod`, `app/shop/web`).
        target: String,
    },
    /// A step completed.
    Step {
        /// Operation.
        operation: &'static str,
        /// Target.
        target: String,
        /// What happened.
        message: String,
        /// Steps done so far.
        done: u32,
        /// Steps in all, when known.
        total: Option<u32>,
    },
    /// Still waiting for something.
    Waiting {
        /// Operation.
        operation: &'static str,
        /// Target.
        target: String,
        /// What the target reports now.
        status: String,
        /// Time waited so far.
        elapsed: Duration,
    },
    /// A failed attempt will be retried.
    Retrying {
        /// Operation.
        operation: &'static str,
        /// Attempt that failed (1-based).
        attempt: u32,
        /// Wait before the next attempt.
        delay: Duration,
        /// The error, as text.
        error: String,
    },
    /// An operation finished.
    Finished {
        /// Operation.
        operation: &'static str,
        /// Target.
        target: String,
        /// How long it took.
        elapsed: Duration,
        /// Whether it succeeded.
        success: bool,
    },
}

impl fmt::Display for ProgressEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProgressEvent::Started { operation, target } => {
                write!(f, "{operation} {target}: started")
            }
            ProgressEvent::Step { operation, target, message, done, total } => match total {
                Some(t) => write!(f, "{operation} {target}: [{done}/{t}] {message}"),
                None => write!(f, "{operation} {target}: [{done}] {message}"),
            },
            ProgressEvent::Waiting { operation, target, status, elapsed } => {
                write!(f, "{operation} {target}: waiting ({status}, {:.1}s)", elapsed.as_secs_f64())
            }
            ProgressEvent::Retrying { operation, attempt, delay, error } => {
                write!(f, "{operation}: attempt {attempt} failed ({error}); retrying in {delay:?}")
            }
            ProgressEvent::Finished { operation, target, elapsed, success } => {
                let verdict = if *success { "done" } else { "failed" };
                write!(f, "{operation} {target}: {verdict} in {:.1}s", elapsed.as_secs_f64())
            }
        }
    }
}

type Sink = Arc<dyn Fn(&ProgressEvent) + Send + Sync>;

/// Where progress events go. Cheap to clone; [`Progress::none`] discards them (tracing still sees them).
///
/// ```
/// use wooo_core::progress::{Progress, ProgressEvent};
/// let (progress, mut rx) = Progress::channel();
/// progress.emit(ProgressEvent::Started { operation: "demo", target: "x".into() });
/// assert!(matches!(rx.try_recv(), Ok(ProgressEvent::Started { .. })));
/// ```
#[derive(Clone, Default)]
pub struct Progress {
    sink: Option<Sink>,
}

impl Progress {
    /// Discards events.
    pub fn none() -> Self {
        Self { sink: None }
    }

    /// Calls `f` for every event, on the task that emits it. Keep `f` quick.
    pub fn new(f: impl Fn(&ProgressEvent) + Send + Sync + 'static) -> Self {
        Self { sink: Some(Arc::new(f)) }
    }

    /// Sends events to an unbounded channel.
    pub fn channel() -> (Self, tokio::sync::mpsc::UnboundedReceiver<ProgressEvent>) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        (Self::new(move |e| drop(tx.send(e.clone()))), rx)
    }

    /// Reports an event.
    pub fn emit(&self, event: ProgressEvent) {
        tracing::info!(target: "wooo::progress", "{event}");
        if let Some(sink) = &self.sink {
            sink(&event);
        }
    }

    /// Reports a step.
    pub fn step(
        &self,
        operation: &'static str,
        target: &str,
        message: impl Into<String>,
        done: u32,
        total: Option<u32>,
    ) {
        self.emit(ProgressEvent::Step { operation, target: target.to_string(), message: message.into(), done, total });
    }
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Progress").field("sink", &self.sink.as_ref().map(|_| "<fn>")).finish()
    }
}

/// Reports `Started` now and `Finished` when [`OperationGuard::finish`] is called (or failure when dropped
/// unfinished), timing the operation.
#[derive(Debug)]
pub struct OperationGuard<'a> {
    progress: &'a Progress,
    operation: &'static str,
    target: String,
    started: tokio::time::Instant,
    finished: bool,
    span: tracing::Span,
}

impl<'a> OperationGuard<'a> {
    /// Starts an operation.
    pub fn start(progress: &'a Progress, operation: &'static str, target: impl Into<String>) -> Self {
        let target = target.into();
        let span = tracing::info_span!("wooo.operation", operation, target = %target);
        span.in_scope(|| progress.emit(ProgressEvent::Started { operation, target: target.clone() }));
        Self { progress, operation, target, started: tokio::time::Instant::now(), finished: false, span }
    }

    /// The operation's `tracing` span (`wooo.operation`, with fields `operation` and `target`); every event of
    /// the operation is recorded inside it. Instrument sub-futures with it to nest their own spans.
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// Time since the start.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The target.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Reports a step of this operation.
    pub fn step(&self, message: impl Into<String>, done: u32, total: Option<u32>) {
        self.span.in_scope(|| self.progress.step(self.operation, &self.target, message, done, total));
    }

    /// Reports a wait.
    pub fn waiting(&self, status: impl Into<String>) {
        let event = ProgressEvent::Waiting {
            operation: self.operation,
            target: self.target.clone(),
            status: status.into(),
            elapsed: self.elapsed(),
        };
        self.span.in_scope(|| self.progress.emit(event));
    }

    /// Reports the end; returns `result` unchanged.
    pub fn finish<T, E>(mut self, result: Result<T, E>) -> Result<T, E> {
        self.finished = true;
        self.report(result.is_ok());
        result
    }

    fn report(&self, success: bool) {
        let event = ProgressEvent::Finished {
            operation: self.operation,
            target: self.target.clone(),
            elapsed: self.elapsed(),
            success,
        };
        self.span.in_scope(|| self.progress.emit(event));
    }
}

impl Drop for OperationGuard<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.report(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(rx: &mut tokio::sync::mpsc::UnboundedReceiver<ProgressEvent>) -> Vec<ProgressEvent> {
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn an_operation_reports_start_steps_waits_and_its_end_with_timing() {
        let (progress, mut rx) = Progress::channel();
        let op = OperationGuard::start(&progress, "demo.op", "thing/1");
        op.step("first", 1, Some(2));
        tokio::time::sleep(Duration::from_secs(3)).await;
        op.waiting("still going");
        let out: Result<u8, ()> = op.finish(Ok(7));
        assert_eq!(out, Ok(7));
        let events = drain(&mut rx);
        assert_eq!(events.len(), 4, "{events:?}");
        assert_eq!(events[0], ProgressEvent::Started { operation: "demo.op", target: "thing/1".into() });
        assert_eq!(events[1].to_string(), "demo.op thing/1: [1/2] first");
        assert!(matches!(&events[2], ProgressEvent::Waiting { elapsed, .. } if *elapsed == Duration::from_secs(3)));
        assert!(
            matches!(events[3], ProgressEvent::Finished { success: true, elapsed, .. } if elapsed == Duration::from_secs(3))
        );
    }

    #[tokio::test]
    async fn a_dropped_or_failed_operation_reports_failure() {
        let (progress, mut rx) = Progress::channel();
        drop(OperationGuard::start(&progress, "demo.op", "x"));
        let failed: Result<(), &str> = OperationGuard::start(&progress, "demo.op", "y").finish(Err("no"));
        assert!(failed.is_err());
        let ends: Vec<bool> = drain(&mut rx)
            .into_iter()
            .filter_map(|e| match e {
                ProgressEvent::Finished { success, .. } => Some(success),
                _ => None,
            })
            .collect();
        assert_eq!(ends, vec![false, false]);
    }

    #[test]
    fn progress_none_discards_and_debug_hides_the_sink() {
        Progress::none().emit(ProgressEvent::Started { operation: "x", target: "y".into() });
        assert_eq!(format!("{:?}", Progress::new(|_| {})), "Progress { sink: Some(\"<fn>\") }");
    }
}
