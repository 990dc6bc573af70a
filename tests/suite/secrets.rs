//! Secrets never reach logs or `Debug` output: a whole deploy on the simulator, with injected faults so that
//! retries and errors are logged too, under a `tracing` subscriber that records every event and span field.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use wooo_core::conformance::sample_cluster_spec;
use wooo_core::model::SecretString;
use wooo_core::prelude::*;

const SECRET: &str = "pg://app:S3cr3t-do-not-log@db:5432/app";

/// Records the text of every field of every span and event.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut line = String::new();
        span.record(&mut Fields(&mut line));
        let mut lines = self.0.lock().expect("lock");
        lines.push(line);
        Id::from_u64(lines.len() as u64)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        let mut line = String::new();
        values.record(&mut Fields(&mut line));
        self.0.lock().expect("lock").push(line);
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut line = String::new();
        event.record(&mut Fields(&mut line));
        self.0.lock().expect("lock").push(line);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn secrets_stay_out_of_logs_errors_and_debug_output() {
    let recorder = Recorder::default();
    let lines = recorder.0.clone();
    let debug_texts = tracing::subscriber::with_default(recorder, || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().expect("rt");
        rt.block_on(async {
            let cloud = SimCloud::builder().build();
            cloud.faults().throttle_every(4);
            let retry = RetryConfig { seed: Some(3), ..RetryConfig::default() };
            let (progress, mut events) = Progress::channel();
            let wait = WaitOptions::timeout(Duration::from_secs(600));
            let spec = sample_cluster_spec("secretive", CloudKind::Sim, "us-east-1", "m5.large");
            let provisioner = Retrying::new(cloud.provisioner(), retry.clone()).with_progress(progress.clone());
            let cluster = provisioner.ensure(&spec, &wait, &progress).await.expect("cluster");
            let deployer =
                Retrying::new(cloud.deployer(&cluster.id).expect("deployer"), retry).with_progress(progress.clone());
            let mut app = AppSpec::new("shop", "web", "registry.example.com/web:1.0.0", Framework::Django);
            app.secrets.insert("DATABASE_URL".into(), SecretString::new(SECRET));
            let status = deployer.deploy(&app, &wait, &progress).await.expect("deploy");
            let objects = deployer.render(&app).expect("render");
            // An invalid spec next to the secret: the error names the field, not the value.
            let mut bad = app.clone();
            bad.env.insert("DATABASE_URL".into(), "x".into());
            let err = deployer.apply(&bad, &progress).await.expect_err("env and secret clash");
            let access = provisioner.access(&cluster.id).await.expect("access");
            let history = deployer.history(&app.app_ref()).await.expect("history");
            // Positive control: the secret really is in the data these Debug strings describe.
            let rendered =
                serde_json::to_string(&objects.iter().map(|o| o.to_json().expect("json")).collect::<Vec<_>>())
                    .expect("json");
            assert!(rendered.contains(SECRET), "the rendered Secret carries the value");
            let mut texts = vec![
                format!("{app:?}"),
                format!("{status:?}"),
                format!("{objects:?}"),
                format!("{err:?} {err}"),
                format!("{access:?}"),
                format!("{history:?}"),
            ];
            while let Ok(event) = events.try_recv() {
                texts.push(format!("{event:?} {event}"));
            }
            texts
        })
    });
    let lines = lines.lock().expect("lock");
    assert!(lines.len() > 20, "the run was logged ({} lines)", lines.len());
    assert!(lines.iter().any(|l| l.contains("Retrying") || l.contains("retrying")), "faults were retried and logged");
    for text in lines.iter().chain(&debug_texts) {
        assert!(!text.contains("S3cr3t-do-not-log"), "a secret leaked: {text}");
    }
}
