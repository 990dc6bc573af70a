//! The external validation harness: a matrix of sample AppSpecs (every framework × tier, with and without
//! autoscaling, ingress and TLS, isolation, monitoring, and each mesh) is rendered to files through the same
//! function as `cargo run --example render`, then checked by validators no one here wrote:
//!
//! - kubernetes-validate `--strict` (core kinds, Kubernetes 1.33 schemas; unknown fields are errors);
//! - the @kubernetes-models validators (Istio, Gateway API, Prometheus Operator, cert-manager) via
//!   `scripts/validate-crds.mjs`;
//! - checkov (no failed check except the allow-list in `tests/checkov-allow.txt`, each with its reason);
//! - `promtool check rules` and `promtool test rules` (every alert fires on series that should trigger it and stays
//!   silent on healthy ones);
//! - `amtool check-config` for the Alertmanager routing.
//!
//! Each validator is also shown a broken input, to prove it is really checking. A missing validator skips its
//! test loudly, and fails it under `WOOO_REQUIRE_PEERS=1` (the test script installs them all).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use serde::Serialize;
use wooo_core::model::{
    AlertThresholds, AppSpec, AutoscalingSpec, DatabaseEgress, Environment, Framework, IngressSpec, IsolationSpec,
    MeshKind, MonitoringSpec, PlanTier, SecretRef, TlsSpec, from_yaml_file, parse_duration,
};
use wooo_core::{render, validate};
use wooo_examples::{Written, write_manifests};
use wooo_tests::peer;

const FRAMEWORKS: [Framework; 5] =
    [Framework::Flask, Framework::Django, Framework::Nodejs, Framework::Nextjs, Framework::Static];
const TIERS: [PlanTier; 4] = [PlanTier::Basic, PlanTier::Standard, PlanTier::Advanced, PlanTier::Professional];

/// One rendered case of the matrix.
struct Case {
    app: AppSpec,
    dir: PathBuf,
    written: Written,
}

/// The matrix, rendered once per test run into a fresh folder under the system temp dir.
fn cases() -> &'static [Case] {
    static CASES: OnceLock<Vec<Case>> = OnceLock::new();
    CASES.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("wooo-manifests-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let mut cases: Vec<Case> = matrix()
            .into_iter()
            .map(|(app, mesh)| {
                let dir = root.join(format!("{}-{}", app.namespace, app.name));
                let written = write_manifests(&app, None, mesh, &dir).expect("render");
                Case { app, dir, written }
            })
            .collect();
        // The sample app of the quickstart, with its prod overlay.
        let sample: AppSpec =
            from_yaml_file(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/specs/employee-management.yaml"))
                .expect("sample spec");
        let dir = root.join("sample-prod");
        let written = write_manifests(&sample, Some(Environment::Prod), Some(MeshKind::Istio), &dir).expect("render");
        cases.push(Case { app: sample.for_environment(Environment::Prod), dir, written });
        cases
    })
}

fn matrix() -> Vec<(AppSpec, Option<MeshKind>)> {
    let mut out = Vec::new();
    for (f, framework) in FRAMEWORKS.into_iter().enumerate() {
        for (t, tier) in TIERS.into_iter().enumerate() {
            let name = format!("{}-{}", format!("{framework:?}").to_lowercase(), format!("{tier:?}").to_lowercase());
            let mut app =
                AppSpec::new("matrix", name.clone(), format!("registry.example.com/{name}:2.{t}.0"), framework);
            app.tier = tier;
            app.env.insert("LOG_LEVEL".into(), "info".into());
            app.config.insert("FEATURE_X".into(), "on".into());
            app.secrets.insert("API_TOKEN".into(), "not-a-real-token".into());
            // References to existing Secrets render as secretKeyRef and envFrom, which the validators see too.
            app.secret_refs = vec![SecretRef::key("payments", "api-key", "PAYMENTS_KEY"), SecretRef::all("db")];
            if t % 2 == 0 {
                app.autoscaling = Some(AutoscalingSpec {
                    min_replicas: 2,
                    max_replicas: 6,
                    cpu_target_percent: Some(70),
                    memory_target_percent: (t == 2).then_some(80),
                    scale_up: None,
                    scale_down: None,
                });
            }
            if t != 3 {
                app.ingress = Some(IngressSpec {
                    host: format!("{name}.example.com"),
                    path: "/".into(),
                    class_name: Some("nginx".into()),
                    tls: (t % 2 == 0).then(|| TlsSpec { issuer: "letsencrypt-prod".into(), secret_name: None }),
                });
            }
            if t % 2 == 1 {
                let custom = (f + t) % 2 == 0;
                app.monitoring = Some(MonitoringSpec {
                    metrics_port: (f == 2).then_some(9090),
                    metrics_path: "/metrics".into(),
                    alerts: if custom {
                        AlertThresholds {
                            memory_ratio: 0.8,
                            error_ratio_5xx: 0.1,
                            p95_latency: Duration::from_millis(250),
                            for_duration: Duration::from_secs(120),
                        }
                    } else {
                        AlertThresholds::default()
                    },
                });
            }
            if (f + t) % 3 == 0 {
                app.isolation = Some(IsolationSpec {
                    ingress_namespace: "ingress-nginx".into(),
                    monitoring_namespace: "monitoring".into(),
                    database: Some(DatabaseEgress { cidr: "10.20.0.0/24".into(), port: 5432 }),
                });
            }
            let mesh = [None, Some(MeshKind::Istio), Some(MeshKind::GatewayApi), Some(MeshKind::Linkerd)][(f + t) % 4];
            out.push((app, mesh));
        }
    }
    out
}

/// Whether a rendered JSON file holds a core kind (checked by kubernetes-validate) rather than a custom resource.
fn is_core(json: &Path) -> bool {
    let text = std::fs::read_to_string(json).expect("read");
    let value: serde_json::Value = serde_json::from_str(&text).expect("json");
    let api = value["apiVersion"].as_str().unwrap_or_default();
    matches!(api, "v1" | "apps/v1" | "autoscaling/v2" | "policy/v1" | "networking.k8s.io/v1")
}

fn core_yaml_files() -> Vec<PathBuf> {
    cases()
        .iter()
        .flat_map(|c| c.written.yaml.iter().zip(&c.written.json))
        .filter(|(_, json)| is_core(json))
        .map(|(yaml, _)| yaml.clone())
        .collect()
}

/// A folder for deliberately broken inputs, outside the rendered tree other validators scan.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wooo-manifests-{}-scratch", std::process::id())).join(name);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn the_matrix_covers_every_framework_tier_and_feature() {
    let cases = cases();
    assert_eq!(cases.len(), 21);
    for framework in FRAMEWORKS {
        let of = |pred: &dyn Fn(&Case) -> bool| cases.iter().filter(|c| c.app.framework == framework).any(pred);
        assert!(of(&|c| c.app.autoscaling.is_some()) && of(&|c| c.app.autoscaling.is_none()), "{framework:?} hpa");
        assert!(of(&|c| c.app.monitoring.is_some()), "{framework:?} monitoring");
        assert!(of(&|c| c.app.ingress.as_ref().is_some_and(|i| i.tls.is_some())), "{framework:?} tls");
    }
    let kinds: std::collections::BTreeSet<String> = cases
        .iter()
        .flat_map(|c| c.written.json.iter())
        .map(|p| {
            let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).expect("read")).expect("json");
            v["kind"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    for kind in [
        "Namespace",
        "ServiceAccount",
        "ConfigMap",
        "Secret",
        "Deployment",
        "Service",
        "Ingress",
        "Certificate",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "ServiceMonitor",
        "PrometheusRule",
        "VirtualService",
        "DestinationRule",
        "PeerAuthentication",
        "Telemetry",
        "HTTPRoute",
    ] {
        assert!(kinds.contains(kind), "the matrix renders a {kind}: {kinds:?}");
    }
}

#[test]
fn core_kinds_pass_kubernetes_validate_strict() {
    let Some(tool) = peer("kubernetes-validate") else { return };
    let files = core_yaml_files();
    assert!(files.len() > 150, "{} core files", files.len());
    let (ok, out) = run(Command::new(&tool).args(["--strict", "-k", "1.33.0"]).args(&files));
    assert!(ok, "kubernetes-validate failed:\n{out}");
    let passed = out.lines().filter(|l| l.contains(" passed for resource ")).count();
    assert_eq!(passed, files.len(), "every file reported as passed:\n{out}");
    eprintln!("kubernetes-validate --strict: {passed} core objects passed");

    // It really checks: an unknown field is rejected under --strict.
    let broken = scratch("kubernetes-validate").join("deployment.yaml");
    let deployment = files.iter().find(|f| f.to_string_lossy().contains("-deployment-")).expect("a deployment");
    let text = std::fs::read_to_string(deployment).expect("read").replacen("spec:\n", "spec:\n  replicaz: 3\n", 1);
    std::fs::write(&broken, text).expect("write");
    let (ok, out) = run(Command::new(&tool).args(["--strict", "-k", "1.33.0"]).arg(&broken));
    std::fs::remove_file(&broken).expect("cleanup");
    assert!(!ok, "kubernetes-validate must reject an unknown field:\n{out}");
}

#[test]
fn custom_resources_pass_the_kubernetes_models_validators() {
    let Some(node) = peer("node") else { return };
    let Some(peers) = std::env::var_os("WOOO_PEERS_DIR").filter(|p| Path::new(p).join("node_modules").is_dir()) else {
        assert!(
            std::env::var("WOOO_REQUIRE_PEERS").as_deref() != Ok("1"),
            "the @kubernetes-models validators are missing (WOOO_PEERS_DIR/node_modules): run scripts/test.sh"
        );
        eprintln!("SKIPPING: @kubernetes-models validators not installed (scripts/test.sh installs them)");
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/validate-crds.mjs");
    let dirs: Vec<&PathBuf> = cases().iter().map(|c| &c.dir).collect();
    let (ok, out) = run(Command::new(&node).env("WOOO_PEERS_DIR", &peers).arg(&script).args(&dirs));
    assert!(ok, "@kubernetes-models validation failed:\n{out}");
    let summary = out.lines().last().unwrap_or_default();
    let passed: usize = summary.split(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(passed >= 40, "custom resources checked: {summary}");
    eprintln!("@kubernetes-models: {summary}");

    // It really checks: a weight that is not an integer and an unknown mTLS mode are rejected.
    let broken = scratch("crds");
    let route = serde_json::json!({
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": "x", "namespace": "y"},
        "spec": {"hosts": ["x"], "http": [{"route": [{"destination": {"host": "x"}, "weight": "ten"}]}]}
    });
    std::fs::write(broken.join("vs.json"), route.to_string()).expect("write");
    let (ok, out) = run(Command::new(&node).env("WOOO_PEERS_DIR", &peers).arg(&script).arg(&broken));
    std::fs::remove_dir_all(&broken).expect("cleanup");
    assert!(!ok && out.contains("FAIL"), "the validator must reject a string weight:\n{out}");
}

/// `CKV_… reason` lines of `tests/checkov-allow.txt`.
fn checkov_allow_list() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("checkov-allow.txt")).expect("list");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (id, reason) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
            assert!(reason.trim().len() > 20, "{id} needs a reason in tests/checkov-allow.txt");
            (id.to_string(), reason.trim().to_string())
        })
        .collect()
}

#[test]
fn checkov_finds_nothing_outside_the_allow_list() {
    let Some(checkov) = peer("checkov") else { return };
    let allowed: Vec<String> = checkov_allow_list().into_iter().map(|(id, _)| id).collect();
    assert!(allowed.len() <= 6, "the allow-list stays short");
    let root = cases()[0].dir.parent().expect("root").to_path_buf();
    let (_, out) = run(Command::new(&checkov)
        .args(["--framework", "kubernetes", "--quiet", "--compact", "--skip-download", "-o", "json"])
        .args(["--skip-path", r".*\.json$", "--skip-path", "monitoring"])
        .arg("-d")
        .arg(&root)
        .env("BC_SKIP_MAPPING", "TRUE"));
    let start = out.find(['{', '[']).unwrap_or_else(|| panic!("checkov printed no JSON:\n{out}"));
    let report: serde_json::Value =
        serde_json::Deserializer::from_str(&out[start..]).into_iter().next().expect("json").expect("checkov json");
    let reports = if report.is_array() { report.as_array().cloned().unwrap_or_default() } else { vec![report] };
    let mut unexpected = Vec::new();
    let mut resources = 0;
    for r in &reports {
        resources += r["summary"]["resource_count"].as_u64().unwrap_or(0);
        for failed in r["results"]["failed_checks"].as_array().into_iter().flatten() {
            let id = failed["check_id"].as_str().unwrap_or_default().to_string();
            if !allowed.contains(&id) {
                unexpected.push(format!("{id} {} on {}", failed["check_name"], failed["resource"]));
            }
        }
    }
    assert!(resources > 150, "checkov scanned the rendered objects ({resources})");
    eprintln!("checkov: {resources} resources scanned, no failed check outside the {} allow-listed", allowed.len());
    assert!(unexpected.is_empty(), "checkov failed checks outside the allow-list:\n{}", unexpected.join("\n"));
}

#[test]
fn alert_rules_pass_promtool_check_and_unit_tests() {
    let Some(promtool) = peer("promtool") else { return };
    let monitored: Vec<&Case> = cases().iter().filter(|c| c.written.rule_file.is_some()).collect();
    assert!(monitored.len() >= 10, "{} apps with monitoring", monitored.len());
    let mut tested = 0;
    for case in monitored {
        let rules = case.written.rule_file.as_ref().expect("rules");
        let (ok, out) = run(Command::new(&promtool).args(["check", "rules"]).arg(rules));
        assert!(ok, "promtool check rules {}:\n{out}", rules.display());

        let tests = case.dir.join("monitoring").join("rules.test.yaml");
        let file = rule_tests(&case.app);
        std::fs::write(&tests, serde_json::to_string(&file).expect("json")).expect("write");
        let (ok, out) = run(Command::new(&promtool).args(["test", "rules"]).arg(&tests));
        assert!(ok, "promtool test rules for {}:\n{out}", case.app.name);
        assert!(out.contains("SUCCESS"), "{out}");
        tested += 1;
    }
    eprintln!("promtool: rules of {tested} apps checked, 12 unit tests each (6 alerts firing and silent) passed");
}

#[test]
fn promtool_unit_tests_can_fail() {
    let Some(promtool) = peer("promtool") else { return };
    let case = cases().iter().find(|c| c.written.rule_file.is_some()).expect("a monitored app");
    let mut file = rule_tests(&case.app);
    // Claim the healthy group fires: promtool must disagree.
    let healthy = file.tests.iter_mut().find(|t| t.alert_rule_test[0].exp_alerts.is_empty()).expect("healthy group");
    let firing = rule_tests(&case.app).tests.into_iter().find(|t| !t.alert_rule_test[0].exp_alerts.is_empty());
    healthy.alert_rule_test[0].exp_alerts = firing.expect("firing group").alert_rule_test[0].exp_alerts.clone();
    let dir = scratch("promtool");
    std::fs::copy(case.written.rule_file.as_ref().expect("rules"), dir.join("rules.yaml")).expect("copy");
    let tests = dir.join("rules.test.yaml");
    std::fs::write(&tests, serde_json::to_string(&file).expect("json")).expect("write");
    let (ok, out) = run(Command::new(&promtool).args(["test", "rules"]).arg(&tests));
    std::fs::remove_file(&tests).expect("cleanup");
    assert!(!ok, "promtool must fail a wrong expectation:\n{out}");
}

#[test]
fn alertmanager_routing_passes_amtool() {
    let Some(amtool) = peer("amtool") else { return };
    let configs: Vec<&PathBuf> = cases().iter().filter_map(|c| c.written.alertmanager.as_ref()).collect();
    assert!(configs.len() >= 10);
    for config in configs {
        let (ok, out) = run(Command::new(&amtool).arg("check-config").arg(config));
        assert!(ok && out.contains("SUCCESS"), "amtool check-config {}:\n{out}", config.display());
    }
    // Routing: every alert of each rule group reaches the receivers its labels call for, and other apps' alerts
    // stay with the default receiver.
    let mut routed = 0;
    for case in cases().iter().filter(|c| c.written.alertmanager.is_some()) {
        let config = case.written.alertmanager.as_ref().expect("config");
        let (ns, app) = (case.app.namespace.as_str(), case.app.name.as_str());
        for rule in render::alert_rules(&validate::app_spec(&case.app).expect("valid app")).expect("rules").rules {
            let mut expected = vec!["wooo-remediation".to_string()];
            if rule.labels.get("severity").map(String::as_str) == Some("critical") {
                expected.push(format!("{app}-oncall"));
            }
            let labels: Vec<String> = rule.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            routes_to(&amtool, config, &labels, &expected.join(","));
            routed += 1;
        }
        routes_to(&amtool, config, &[format!("namespace={ns}"), "app=someone-else".into()], "wooo-default");
    }
    eprintln!("amtool: {routed} alerts routed to the expected receivers");
    let broken = scratch("amtool").join("alertmanager.yaml");
    std::fs::write(&broken, "route:\n  receiver: nobody\nreceivers: []\n").expect("write");
    let (ok, _) = run(Command::new(&amtool).arg("check-config").arg(&broken));
    std::fs::remove_file(&broken).expect("cleanup");
    assert!(!ok, "amtool must reject a route to an undefined receiver");
}

/// Asserts that an alert with `labels` is routed to exactly `receivers` (comma separated, in order).
fn routes_to(amtool: &Path, config: &Path, labels: &[String], receivers: &str) {
    let (ok, out) = run(Command::new(amtool)
        .args(["config", "routes", "test"])
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--verify.receivers={receivers}"))
        .args(labels));
    assert!(ok, "alert {labels:?} should reach {receivers} in {}:\n{out}", config.display());
}

// ---------------------------------------------------------------------------------------------------------------
// promtool rule unit tests, generated from the app's own rules: for each alert one group whose series must make it
// fire (with the exact labels and annotations) and one whose healthy series must keep it silent.
// ---------------------------------------------------------------------------------------------------------------

#[derive(Serialize)]
struct RuleTestFile {
    rule_files: Vec<String>,
    evaluation_interval: String,
    tests: Vec<RuleTest>,
}

#[derive(Serialize, Clone)]
struct RuleTest {
    interval: String,
    input_series: Vec<Series>,
    alert_rule_test: Vec<AlertTest>,
}

#[derive(Serialize, Clone)]
struct Series {
    series: String,
    values: String,
}

#[derive(Serialize, Clone)]
struct AlertTest {
    eval_time: String,
    alertname: String,
    exp_alerts: Vec<ExpAlert>,
}

#[derive(Serialize, Clone)]
struct ExpAlert {
    exp_labels: BTreeMap<String, String>,
    exp_annotations: BTreeMap<String, String>,
}

/// Go's `%.4g` for the values the tests choose (humanizePercentage and humanizeDuration use it).
fn g4(x: f64) -> String {
    let s = format!("{:.*}", 3usize.saturating_sub(x.abs().log10().floor().max(0.0) as usize), x);
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

fn humanize_duration(seconds: f64) -> String {
    if seconds < 1.0 { format!("{}ms", g4(seconds * 1000.0)) } else { format!("{}s", g4(seconds)) }
}

/// Fills the template placeholders the rules use with the values the test series produce.
fn expand(template: &str, values: &[(&str, String)]) -> String {
    let mut out = template.to_string();
    for (placeholder, value) in values {
        out = out.replace(placeholder, value);
    }
    assert!(!out.contains("{{"), "a placeholder the harness does not know is left in `{out}`");
    out
}

fn labels(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{{{}}}", inner.join(","))
}

fn rule_tests(app: &AppSpec) -> RuleTestFile {
    let group = render::alert_rules(&validate::app_spec(app).expect("valid app")).expect("rules");
    let alerts = app.monitoring.as_ref().expect("monitoring").alerts.clone();
    let (ns, name) = (app.namespace.as_str(), app.name.as_str());
    // Django's pod-level alerts are fed the Celery worker's pods: the selectors must cover them too.
    let pod = match app.framework {
        Framework::Django => format!("{name}-worker-7f8b9c6d5-k4m2p"),
        _ => format!("{name}-5d9c7b6f4-x2x9q"),
    };
    let instance = "10.0.0.7:8080";
    let mut tests = Vec::new();
    for rule in &group.rules {
        let alert = rule.alert.clone().expect("alerting rule");
        let hold = rule.for_duration.as_deref().map(|d| parse_duration(d).expect("for")).unwrap_or_default();
        let eval_min = hold.as_secs() / 60 + 10;
        let n = eval_min + 6;
        let container = [("namespace", ns), ("pod", pod.as_str()), ("container", "app")];
        let suffix = alert.strip_prefix(&group_prefix(name)).unwrap_or(&alert).to_string();
        // (firing series, healthy series, labels the expression keeps, placeholder values)
        let (fire, calm, kept, values): Scenario<'_> = match suffix.as_str() {
            "TargetDown" => {
                let l = labels(&[("job", name), ("namespace", ns), ("instance", instance)]);
                (
                    vec![series(&format!("up{l}"), &format!("0x{n}"))],
                    vec![series(&format!("up{l}"), &format!("1x{n}"))],
                    vec![("job", name.into()), ("instance", instance.into())],
                    vec![("{{ $labels.instance }}", instance.into())],
                )
            }
            "MemoryNearLimit" => {
                let ratio = (alerts.memory_ratio + 1.0) / 2.0;
                let limit = 1_000_000_000f64;
                let ws = |r: f64| format!("{}x{n}", (limit * r).round());
                let used = format!("container_memory_working_set_bytes{}", labels(&container));
                let lim = format!(
                    "kube_pod_container_resource_limits{}",
                    labels(&[("namespace", ns), ("pod", &pod), ("container", "app"), ("resource", "memory")])
                );
                (
                    vec![series(&used, &ws(ratio)), series(&lim, &format!("{limit}x{n}"))],
                    vec![series(&used, &ws(alerts.memory_ratio / 2.0)), series(&lim, &format!("{limit}x{n}"))],
                    vec![("pod", pod.clone())],
                    vec![
                        ("{{ $labels.pod }}", pod.clone()),
                        ("{{ $value | humanizePercentage }}", format!("{}%", g4(ratio * 100.0))),
                    ],
                )
            }
            "OOMKilled" => {
                let restarts = format!("kube_pod_container_status_restarts_total{}", labels(&container));
                let reason = format!(
                    "kube_pod_container_status_last_terminated_reason{}",
                    labels(&[("namespace", ns), ("pod", &pod), ("container", "app"), ("reason", "OOMKilled")])
                );
                (
                    vec![series(&restarts, &format!("0x{} 1x{}", eval_min - 3, n)), series(&reason, &format!("1x{n}"))],
                    vec![series(&restarts, &format!("0x{n}")), series(&reason, &format!("1x{n}"))],
                    vec![("pod", pod.clone()), ("container", "app".into())],
                    vec![("{{ $labels.pod }}", pod.clone())],
                )
            }
            "CrashLooping" => {
                let waiting = format!(
                    "kube_pod_container_status_waiting_reason{}",
                    labels(&[("namespace", ns), ("pod", &pod), ("container", "app"), ("reason", "CrashLoopBackOff")])
                );
                (
                    vec![series(&waiting, &format!("1x{n}"))],
                    vec![series(&waiting, &format!("0x{n}"))],
                    vec![("pod", pod.clone()), ("container", "app".into()), ("reason", "CrashLoopBackOff".into())],
                    vec![("{{ $labels.pod }}", pod.clone())],
                )
            }
            "High5xxRatio" => {
                let req = |status: &str| {
                    format!("http_requests_total{}", labels(&[("namespace", ns), ("job", name), ("status", status)]))
                };
                (
                    vec![series(&req("500"), &format!("0+5x{n}")), series(&req("200"), &format!("0+5x{n}"))],
                    vec![series(&req("500"), &format!("0x{n}")), series(&req("200"), &format!("0+10x{n}"))],
                    vec![],
                    vec![("{{ $value | humanizePercentage }}", "50%".into())],
                )
            }
            "HighP95Latency" => {
                let t = alerts.p95_latency.as_millis() as f64 / 1000.0;
                let bucket = |le: String| {
                    format!(
                        "http_request_duration_seconds_bucket{}",
                        labels(&[("namespace", ns), ("job", name), ("le", &le)])
                    )
                };
                let le = |x: f64| format!("{x}");
                (
                    vec![
                        series(&bucket(le(t)), &format!("0x{n}")),
                        series(&bucket(le(2.0 * t)), &format!("0+10x{n}")),
                        series(&bucket("+Inf".into()), &format!("0+10x{n}")),
                    ],
                    vec![
                        series(&bucket(le(t / 10.0)), &format!("0+10x{n}")),
                        series(&bucket(le(t)), &format!("0+10x{n}")),
                        series(&bucket("+Inf".into()), &format!("0+10x{n}")),
                    ],
                    vec![],
                    // Linear interpolation in the (t, 2t] bucket: t + 0.95·t.
                    vec![("{{ $value | humanizeDuration }}", humanize_duration(1.95 * t))],
                )
            }
            "FailedPodsPiling" => {
                let phase = |p: &str| {
                    format!("kube_pod_status_phase{}", labels(&[("namespace", ns), ("pod", &pod), ("phase", p)]))
                };
                (
                    vec![series(&phase("Failed"), &format!("1x{n}")), series(&phase("Running"), &format!("0x{n}"))],
                    vec![series(&phase("Failed"), &format!("0x{n}")), series(&phase("Running"), &format!("1x{n}"))],
                    vec![],
                    vec![("{{ $value }}", "1".into())],
                )
            }
            other => panic!("the harness has no series for alert {other}: add them"),
        };
        let mut exp_labels: BTreeMap<String, String> = rule.labels.clone();
        exp_labels.insert("namespace".into(), ns.into());
        exp_labels.extend(kept.into_iter().map(|(k, v)| (k.to_string(), v)));
        let exp_annotations = rule.annotations.iter().map(|(k, v)| (k.clone(), expand(v, &values))).collect();
        let eval_time = format!("{eval_min}m");
        let test = |input_series: Vec<Series>, exp_alerts: Vec<ExpAlert>| RuleTest {
            interval: "1m".into(),
            input_series,
            alert_rule_test: vec![AlertTest { eval_time: eval_time.clone(), alertname: alert.clone(), exp_alerts }],
        };
        tests.push(test(fire, vec![ExpAlert { exp_labels, exp_annotations }]));
        tests.push(test(calm, vec![]));
    }
    assert_eq!(tests.len(), 14, "seven alerts, each firing and silent");
    RuleTestFile { rule_files: vec!["rules.yaml".into()], evaluation_interval: "1m".into(), tests }
}

/// Firing series, healthy series, the labels the alert's expression keeps, and the values of its annotation
/// placeholders.
type Scenario<'a> = (Vec<Series>, Vec<Series>, Vec<(&'a str, String)>, Vec<(&'a str, String)>);

fn series(series: &str, values: &str) -> Series {
    Series { series: series.into(), values: values.into() }
}

/// Alert names are the app name in CamelCase followed by the condition.
fn group_prefix(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut c = part.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect()
}

#[test]
fn go_number_formatting_matches_the_cases_used() {
    assert_eq!(g4(95.0), "95");
    assert_eq!(g4(92.5), "92.5");
    assert_eq!(humanize_duration(0.78), "780ms");
    assert_eq!(humanize_duration(0.4875), "487.5ms");
    assert_eq!(humanize_duration(1.95), "1.95s");
    assert_eq!(group_prefix("employee-management"), "EmployeeManagement");
}
