//! App spec rules, overlays included.

use std::collections::BTreeMap;
use std::time::Duration;

use super::checks::{
    config_key, dns1123_label, dns1123_subdomain, env_var_name, image_reference, ipv4_cidr, label_key, label_value,
};
use super::{Violations, at, index, key};
use crate::error::FieldViolation;
use crate::model::{
    AppOverlay, AppSpec, AutoscalingSpec, DisruptionBudgetSpec, Environment, IngressSpec, IntOrPercent, IsolationSpec,
    Labels, MANAGED_BY_LABEL, MonitoringSpec, ProbesSpec, Resources, ScalingRule, SecuritySpec, format_duration,
};

/// App names stay short so derived object names (`<name>-worker`, `<name>-tls`, `<name>-metrics`) fit in 63.
const MAX_APP_NAME: usize = 47;
const MAX_REPLICAS: u32 = 1000;
const MAX_STARTUP_SECONDS: u32 = 3600;
const MAX_STABILIZATION: Duration = Duration::from_secs(3600);
const MIN_PERIOD: Duration = Duration::from_secs(1);
const MAX_PERIOD: Duration = Duration::from_secs(1800);
/// Labels wooo sets on every object to find and own them; a user value would break selection or ownership.
const RESERVED_LABELS: &[&str] = &["app.kubernetes.io/name", MANAGED_BY_LABEL];
/// The control plane's own namespaces: an app there could relabel them (Pod Security `restricted` on
/// `kube-system` stops privileged system pods from being recreated) or be mistaken for a system component.
const SYSTEM_NAMESPACES: &[&str] = &["kube-system", "kube-public", "kube-node-lease"];

pub(super) fn app(v: &mut Violations, spec: &AppSpec) {
    let mut base = Violations::default();
    spec_fields(&mut base, spec);
    let mut per_env = Vec::new();
    for (env, overlay) in &spec.overlays {
        let prefix = format!("overlays.{}", env_name(*env));
        let mut own = Violations::default();
        overlay_fields(&mut own, &prefix, overlay);
        // The merged spec catches what only the combination breaks (a request above an inherited limit, a PDB
        // against the environment's replicas). What the base spec already breaks is reported once, under the
        // base field; what the overlay's own check reported is not repeated.
        let mut merged = Violations::default();
        spec_fields(&mut merged, &spec.for_environment(*env));
        for m in merged.list.into_iter().filter(|m| !base.contains(m)) {
            let prefixed = FieldViolation { field: at(&prefix, &m.field), reason: m.reason };
            if !own.contains(&prefixed) {
                own.list.push(prefixed);
            }
        }
        per_env.push(own);
    }
    v.list.extend(base.list);
    for own in per_env {
        v.list.extend(own.list);
    }
}

fn env_name(env: Environment) -> &'static str {
    match env {
        Environment::Dev => "dev",
        Environment::Staging => "staging",
        Environment::Prod => "prod",
    }
}

/// Every rule of a spec except its overlays, with top-level field paths.
fn spec_fields(v: &mut Violations, spec: &AppSpec) {
    v.check("name", dns1123_label(&spec.name, MAX_APP_NAME));
    v.check("namespace", dns1123_label(&spec.namespace, 63));
    if SYSTEM_NAMESPACES.contains(&spec.namespace.as_str()) {
        v.add("namespace", format!("`{}` is a system namespace; apps get a namespace of their own", spec.namespace));
    }
    v.check("image", image_reference(&spec.image));
    if spec.port == Some(0) {
        v.add("port", "must be 1 to 65535");
    }
    if let Some(r) = spec.replicas {
        replicas(v, "replicas", r);
    }
    if let Some(r) = &spec.resources {
        resources(v, "resources", r);
    }
    command(v, spec.command.as_deref());
    env_names(v, "env", &spec.env);
    config_keys(v, "config", spec.config.keys());
    config_keys(v, "secrets", spec.secrets.keys());
    for k in spec.secrets.keys().filter(|k| spec.env.contains_key(*k)) {
        v.add(key("secrets", k), format!("conflicts with env[{k:?}]: a variable is either plain or secret, not both"));
    }
    if spec.secrets.contains_key(crate::render::ROLLOUT_KEY_DATA_KEY) {
        v.add(key("secrets", crate::render::ROLLOUT_KEY_DATA_KEY), "is reserved for wooo's rollout key");
    }
    secret_refs(v, spec);
    if let Some(p) = &spec.probes {
        probes(v, p);
    }
    if let Some(i) = &spec.ingress {
        ingress(v, "ingress", i);
    }
    if let Some(a) = &spec.autoscaling {
        autoscaling(v, "autoscaling", a);
    }
    if let Some(d) = &spec.disruption_budget {
        disruption_budget(v, "disruption_budget", d);
        disruption_budget_vs_replicas(v, spec, d);
    }
    if let Some(i) = &spec.isolation {
        isolation(v, i);
    }
    if let Some(m) = &spec.monitoring {
        monitoring(v, "monitoring", m);
    }
    security(v, &spec.security);
    labels(v, "labels", &spec.labels);
    for k in spec.annotations.keys() {
        v.check(key("annotations", k), label_key(k));
    }
}

/// References to existing Secrets: valid names and keys, `key` and `env` together, and no variable defined twice.
fn secret_refs(v: &mut Violations, spec: &AppSpec) {
    let mut seen: BTreeMap<&str, String> = BTreeMap::new();
    for (i, r) in spec.secret_refs.iter().enumerate() {
        let p = index("secret_refs", i);
        v.check(at(&p, "secret"), dns1123_subdomain(&r.secret));
        if r.secret == spec.secret_name() {
            v.add(at(&p, "secret"), "is the Secret wooo writes for `secrets`; reference a Secret of your own");
        }
        match (&r.key, &r.env) {
            (Some(k), Some(e)) => {
                v.check(at(&p, "key"), config_key(k));
                v.check(at(&p, "env"), env_var_name(e));
                let taken = spec.env.contains_key(e) || spec.config.contains_key(e) || spec.secrets.contains_key(e);
                if taken {
                    v.add(at(&p, "env"), format!("`{e}` is already set by env, config or secrets"));
                } else if let Some(first) = seen.insert(e.as_str(), p.clone()) {
                    v.add(at(&p, "env"), format!("`{e}` is already set by {first}"));
                }
            }
            (Some(_), None) => v.add(at(&p, "env"), "is required with `key`: name the variable the key becomes"),
            (None, Some(_)) => v.add(at(&p, "key"), "is required with `env`: name the key of the Secret"),
            (None, None) => {}
        }
    }
}

/// The rules an overlay's own fields must meet on their own, under `overlays.<env>.…`.
fn overlay_fields(v: &mut Violations, p: &str, o: &AppOverlay) {
    if let Some(image) = &o.image {
        v.check(at(p, "image"), image_reference(image));
    }
    if let Some(r) = o.replicas {
        replicas(v, &at(p, "replicas"), r);
    }
    if let Some(r) = &o.resources {
        resources(v, &at(p, "resources"), r);
    }
    env_names(v, &at(p, "env"), &o.env);
    config_keys(v, &at(p, "config"), o.config.keys());
    labels(v, &at(p, "labels"), &o.labels);
    if let Some(i) = &o.ingress {
        ingress(v, &at(p, "ingress"), i);
    }
    if let Some(a) = &o.autoscaling {
        autoscaling(v, &at(p, "autoscaling"), a);
    }
    if let Some(d) = &o.disruption_budget {
        disruption_budget(v, &at(p, "disruption_budget"), d);
    }
    if let Some(m) = &o.monitoring {
        monitoring(v, &at(p, "monitoring"), m);
    }
}

fn replicas(v: &mut Violations, field: &str, r: u32) {
    if r > MAX_REPLICAS {
        v.add(field, format!("must be at most {MAX_REPLICAS}, got {r}"));
    }
}

fn resources(v: &mut Violations, p: &str, r: &Resources) {
    if r.cpu_request.millis() == 0 {
        v.add(at(p, "cpu_request"), "must be greater than 0");
    } else if let Some(limit) = r.cpu_limit
        && r.cpu_request > limit
    {
        v.add(at(p, "cpu_request"), format!("{} must not exceed cpu_limit ({limit})", r.cpu_request));
    }
    if r.memory_request.bytes() == 0 {
        v.add(at(p, "memory_request"), "must be greater than 0");
    } else if r.memory_request > r.memory_limit {
        v.add(
            at(p, "memory_request"),
            format!("{} must not exceed memory_limit ({})", r.memory_request, r.memory_limit),
        );
    }
}

fn command(v: &mut Violations, command: Option<&[String]>) {
    let Some(args) = command else { return };
    if args.is_empty() {
        v.add("command", "must list at least the program when set");
    }
    for (i, arg) in args.iter().enumerate() {
        if arg.is_empty() {
            v.add(index("command", i), "must not be empty");
        }
    }
}

fn env_names(v: &mut Violations, p: &str, env: &BTreeMap<String, String>) {
    for k in env.keys() {
        v.check(key(p, k), env_var_name(k));
    }
}

fn config_keys<'a>(v: &mut Violations, p: &str, keys: impl Iterator<Item = &'a String>) {
    for k in keys {
        v.check(key(p, k), config_key(k));
    }
}

fn probes(v: &mut Violations, p: &ProbesSpec) {
    for (name, path) in [("liveness_path", &p.liveness_path), ("readiness_path", &p.readiness_path)] {
        if let Some(path) = path
            && !path.starts_with('/')
        {
            v.add(at("probes", name), "must be an HTTP path starting with '/'");
        }
    }
    if let Some(s) = p.startup_seconds
        && !(1..=MAX_STARTUP_SECONDS).contains(&s)
    {
        v.add("probes.startup_seconds", format!("must be 1 to {MAX_STARTUP_SECONDS} seconds, got {s}"));
    }
}

fn ingress(v: &mut Violations, p: &str, i: &IngressSpec) {
    let host = i.host.strip_prefix("*.").unwrap_or(&i.host);
    if dns1123_subdomain(host).is_err() {
        v.add(
            at(p, "host"),
            "must be a DNS-1123 subdomain host name (lower-case, dot-separated), optionally starting with '*.'",
        );
    }
    if !i.path.starts_with('/') {
        v.add(at(p, "path"), "must start with '/'");
    }
    if let Some(class) = &i.class_name {
        v.check(at(p, "class_name"), dns1123_label(class, 63));
    }
    if let Some(tls) = &i.tls {
        v.check(at(p, "tls.issuer"), dns1123_subdomain(&tls.issuer));
        if let Some(secret) = &tls.secret_name {
            v.check(at(p, "tls.secret_name"), dns1123_subdomain(secret));
        }
    }
}

fn autoscaling(v: &mut Violations, p: &str, a: &AutoscalingSpec) {
    if a.min_replicas == 0 {
        v.add(at(p, "min_replicas"), "must be at least 1");
    } else if a.min_replicas > a.max_replicas {
        v.add(at(p, "min_replicas"), format!("must not exceed max_replicas ({})", a.max_replicas));
    }
    if a.max_replicas > MAX_REPLICAS {
        v.add(at(p, "max_replicas"), format!("must be at most {MAX_REPLICAS}, got {}", a.max_replicas));
    }
    if a.cpu_target_percent.is_none() && a.memory_target_percent.is_none() {
        v.add(p, "set cpu_target_percent, memory_target_percent or both");
    }
    if let Some(t) = a.cpu_target_percent
        && !(1..=100).contains(&t)
    {
        v.add(at(p, "cpu_target_percent"), format!("must be 1 to 100, got {t}"));
    }
    if let Some(t) = a.memory_target_percent
        && !(1..=1000).contains(&t)
    {
        v.add(at(p, "memory_target_percent"), format!("must be 1 to 1000, got {t}"));
    }
    for (name, rule) in [("scale_up", &a.scale_up), ("scale_down", &a.scale_down)] {
        if let Some(rule) = rule {
            scaling_rule(v, &at(p, name), rule);
        }
    }
}

fn scaling_rule(v: &mut Violations, p: &str, r: &ScalingRule) {
    if r.stabilization_window > MAX_STABILIZATION {
        v.add(
            at(p, "stabilization_window"),
            format!("must be at most 1h, got {}", format_duration(r.stabilization_window)),
        );
    }
    if !(MIN_PERIOD..=MAX_PERIOD).contains(&r.period) {
        v.add(at(p, "period"), format!("must be 1s to 30m, got {}", format_duration(r.period)));
    }
    if r.max_pods_per_period.is_none() && r.max_percent_per_period.is_none() {
        v.add(p, "set max_pods_per_period, max_percent_per_period or both");
    }
    for (name, value) in
        [("max_pods_per_period", r.max_pods_per_period), ("max_percent_per_period", r.max_percent_per_period)]
    {
        if value == Some(0) {
            v.add(at(p, name), "must be at least 1");
        }
    }
}

/// `N%` with 0 ≤ N ≤ 100.
fn percent(s: &str) -> Option<u32> {
    let digits = s.strip_suffix('%')?;
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|n| *n <= 100)
}

fn disruption_budget(v: &mut Violations, p: &str, d: &DisruptionBudgetSpec) {
    match (&d.min_available, &d.max_unavailable) {
        (Some(_), Some(_)) | (None, None) => v.add(p, "set exactly one of min_available and max_unavailable"),
        _ => {}
    }
    const BLOCKS: &str = "leaves no pod that may be evicted, so node drains block";
    if let Some(min) = &d.min_available {
        match min {
            IntOrPercent::Percent(s) => match percent(s) {
                None => v.add(at(p, "min_available"), "must be a count or a percentage `N%` with N from 0 to 100"),
                Some(100) => v.add(at(p, "min_available"), format!("100% {BLOCKS}")),
                Some(_) => {}
            },
            IntOrPercent::Int(_) => {}
        }
    }
    if let Some(max) = &d.max_unavailable {
        match max {
            IntOrPercent::Percent(s) => match percent(s) {
                None => v.add(at(p, "max_unavailable"), "must be a count or a percentage `N%` with N from 0 to 100"),
                Some(0) => v.add(at(p, "max_unavailable"), format!("0% {BLOCKS}")),
                Some(_) => {}
            },
            IntOrPercent::Int(0) => v.add(at(p, "max_unavailable"), format!("0 {BLOCKS}")),
            IntOrPercent::Int(_) => {}
        }
    }
}

/// A fixed-size app whose budget demands every replica stays up can never be drained off a node.
fn disruption_budget_vs_replicas(v: &mut Violations, spec: &AppSpec, d: &DisruptionBudgetSpec) {
    if spec.autoscaling.is_some() {
        return;
    }
    if let Some(IntOrPercent::Int(n)) = d.min_available {
        let replicas = spec.effective_replicas();
        if n > 0 && n >= replicas {
            v.add(
                "disruption_budget.min_available",
                format!(
                    "{n} with {replicas} replicas leaves no pod that may be evicted, so node drains block; use at \
                     most {} or max_unavailable",
                    replicas.saturating_sub(1)
                ),
            );
        }
    }
}

fn isolation(v: &mut Violations, i: &IsolationSpec) {
    v.check("isolation.ingress_namespace", dns1123_label(&i.ingress_namespace, 63));
    v.check("isolation.monitoring_namespace", dns1123_label(&i.monitoring_namespace, 63));
    if let Some(db) = &i.database {
        v.check("isolation.database.cidr", ipv4_cidr(&db.cidr));
        if db.port == 0 {
            v.add("isolation.database.port", "must be 1 to 65535");
        }
    }
}

fn monitoring(v: &mut Violations, p: &str, m: &MonitoringSpec) {
    if m.metrics_port == Some(0) {
        v.add(at(p, "metrics_port"), "must be 1 to 65535");
    }
    if !m.metrics_path.starts_with('/') {
        v.add(at(p, "metrics_path"), "must be an HTTP path starting with '/'");
    }
    for (name, ratio) in [("memory_ratio", m.alerts.memory_ratio), ("error_ratio_5xx", m.alerts.error_ratio_5xx)] {
        // Written so NaN fails too.
        if !(ratio > 0.0 && ratio <= 1.0) {
            v.add(at(p, &format!("alerts.{name}")), format!("must be a ratio above 0 and at most 1, got {ratio}"));
        }
    }
    if m.alerts.p95_latency.is_zero() {
        v.add(at(p, "alerts.p95_latency"), "must be greater than 0");
    }
}

fn security(v: &mut Violations, s: &SecuritySpec) {
    match s.run_as_user {
        Some(uid) if uid < 0 => v.add("security.run_as_user", format!("must be 0 or more, got {uid}")),
        Some(0) if s.run_as_non_root => {
            v.add("security.run_as_user", "0 is root, which run_as_non_root forbids; pick another UID")
        }
        _ => {}
    }
}

fn labels(v: &mut Violations, p: &str, labels: &Labels) {
    for (k, value) in labels {
        let field = key(p, k);
        if RESERVED_LABELS.contains(&k.as_str()) {
            v.add(field, "is reserved: wooo sets it to select and own the app's objects");
        } else if let Err(reason) = label_key(k) {
            v.add(field, reason);
        } else {
            v.check(field, label_value(value));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::app_spec;
    use super::super::tests::fields;
    use crate::model::{
        AppOverlay, AppSpec, Cpu, DisruptionBudgetSpec, Environment, IntOrPercent, Memory, PlanTier, Resources,
        SecretRef, SecretString, from_yaml,
    };

    /// Every section set, everything valid; autoscaling on, so the PDB is not checked against replicas.
    const VALID: &str = r#"
name: web
namespace: shop
image: registry.example.com/acme/shop-web:1.4.2
framework: django
port: 8000
replicas: 3
tier: advanced
resources: {cpu_request: 250m, memory_request: 256Mi, cpu_limit: "1", memory_limit: 512Mi}
command: [gunicorn, config.wsgi]
env: {LOG_LEVEL: info, _PRIVATE: "1"}
config: {app.properties: "a=b", feature-flags: "x"}
secrets: {DATABASE_URL: "postgres://u:p@db/shop"}
probes: {liveness_path: /healthz, readiness_path: /readyz, startup_seconds: 120}
ingress:
  host: shop.example.com
  path: /
  class_name: nginx
  tls: {issuer: letsencrypt-prod, secret_name: shop-web-tls}
autoscaling:
  min_replicas: 2
  max_replicas: 10
  cpu_target_percent: 70
  memory_target_percent: 150
  scale_up: {stabilization_window: 0s, max_pods_per_period: 4, period: 15s}
  scale_down: {stabilization_window: 5m, max_percent_per_period: 50, period: 1m}
disruption_budget: {min_available: 1}
isolation:
  ingress_namespace: ingress-nginx
  monitoring_namespace: monitoring
  database: {cidr: 10.20.0.0/24, port: 5432}
monitoring:
  metrics_port: 9100
  metrics_path: /metrics
  alerts: {memory_ratio: 0.9, error_ratio_5xx: 0.05, p95_latency: 300ms, for_duration: 5m}
security: {read_only_root_filesystem: true, run_as_non_root: true, run_as_user: 10001}
labels: {team: shop, "example.com/cost-center": "42"}
annotations: {"example.com/owner": "someone@example.com"}
overlays:
  dev: {replicas: 1, tier: basic, env: {LOG_LEVEL: debug}}
  prod:
    replicas: 5
    image: registry.example.com/acme/shop-web:1.4.1
    labels: {stage: prod}
    disruption_budget: {max_unavailable: "25%"}
"#;

    fn valid() -> AppSpec {
        from_yaml(VALID).unwrap()
    }

    /// A fixed-size app (no autoscaling), for the PDB-versus-replicas rules.
    fn fixed() -> AppSpec {
        let mut s = valid();
        s.autoscaling = None;
        s.overlays.clear();
        s
    }

    #[test]
    fn valid_spec_from_yaml_passes() {
        assert_eq!(fields(app_spec(&valid())), Vec::<String>::new());
        assert!(app_spec(&fixed()).is_ok());
        assert!(app_spec(&AppSpec::new("shop", "web", "nginx:1.27", Default::default())).is_ok());
    }

    fn res(cpu_req: u64, mem_req_mib: u64, cpu_lim: Option<u64>, mem_lim_mib: u64) -> Resources {
        Resources {
            cpu_request: Cpu::from_millis(cpu_req),
            memory_request: Memory::from_mib(mem_req_mib),
            cpu_limit: cpu_lim.map(Cpu::from_millis),
            memory_limit: Memory::from_mib(mem_lim_mib),
        }
    }

    type Case = (&'static str, fn(&mut AppSpec), &'static [&'static str]);

    fn run(cases: &[Case], base: fn() -> AppSpec) {
        for (name, mutate, expected) in cases {
            let mut spec = base();
            mutate(&mut spec);
            assert_eq!(fields(app_spec(&spec)), *expected, "case `{name}`");
        }
    }

    #[test]
    fn base_field_rules_name_their_field() {
        run(
            &[
                ("name invalid", |s| s.name = "Web".into(), &["name"]),
                ("name too long", |s| s.name = "w".repeat(48), &["name"]),
                ("namespace invalid", |s| s.namespace = "shop_ns".into(), &["namespace"]),
                ("namespace kube-system", |s| s.namespace = "kube-system".into(), &["namespace"]),
                ("namespace kube-public", |s| s.namespace = "kube-public".into(), &["namespace"]),
                ("namespace kube-node-lease", |s| s.namespace = "kube-node-lease".into(), &["namespace"]),
                ("namespace default is allowed", |s| s.namespace = "default".into(), &[]),
                ("secret ref whole", |s| s.secret_refs.push(SecretRef::all("db-credentials")), &[]),
                ("secret ref key", |s| s.secret_refs.push(SecretRef::key("stripe", "api.key", "STRIPE")), &[]),
                ("secret ref name", |s| s.secret_refs.push(SecretRef::all("Db")), &["secret_refs[0].secret"]),
                (
                    "secret ref key without env",
                    |s| s.secret_refs.push(SecretRef { env: None, ..SecretRef::key("a", "k", "E") }),
                    &["secret_refs[0].env"],
                ),
                (
                    "secret ref env without key",
                    |s| s.secret_refs.push(SecretRef { key: None, ..SecretRef::key("a", "k", "E") }),
                    &["secret_refs[0].key"],
                ),
                (
                    "secret ref bad key",
                    |s| s.secret_refs.push(SecretRef::key("a", "k/1", "E")),
                    &["secret_refs[0].key"],
                ),
                ("secret ref bad env", |s| s.secret_refs.push(SecretRef::key("a", "k", "1E")), &["secret_refs[0].env"]),
                (
                    "secret ref env twice",
                    |s| s.secret_refs.extend([SecretRef::key("a", "k", "E"), SecretRef::key("b", "k", "E")]),
                    &["secret_refs[1].env"],
                ),
                (
                    "secret ref env taken by env",
                    |s| {
                        s.env.insert("E".into(), "plain".into());
                        s.secret_refs.push(SecretRef::key("a", "k", "E"));
                    },
                    &["secret_refs[0].env"],
                ),
                (
                    "secret ref to wooo's own Secret",
                    |s| s.secret_refs.push(SecretRef::all(format!("{}-secrets", s.name))),
                    &["secret_refs[0].secret"],
                ),
                (
                    "secret key reserved",
                    |s| _ = s.secrets.insert("wooo.rollout-key".into(), SecretString::new("x")),
                    &[r#"secrets["wooo.rollout-key"]"#],
                ),
                ("image invalid", |s| s.image = "registry.example.com/Acme/web:1".into(), &["image"]),
                ("image empty", |s| s.image.clear(), &["image"]),
                ("port zero", |s| s.port = Some(0), &["port"]),
                ("replicas too many", |s| s.replicas = Some(1001), &["replicas"]),
                ("cpu request zero", |s| s.resources = Some(res(0, 256, Some(1000), 512)), &["resources.cpu_request"]),
                ("memory request zero", |s| s.resources = Some(res(250, 0, None, 512)), &["resources.memory_request"]),
                (
                    "cpu request above limit",
                    |s| s.resources = Some(res(2000, 256, Some(1000), 512)),
                    &["resources.cpu_request"],
                ),
                (
                    "memory request above limit",
                    |s| s.resources = Some(res(250, 1024, None, 512)),
                    &["resources.memory_request"],
                ),
                ("command empty list", |s| s.command = Some(Vec::new()), &["command"]),
                ("command empty arg", |s| s.command = Some(vec!["run".into(), String::new()]), &["command[1]"]),
                ("env name invalid", |s| _ = s.env.insert("BAD KEY".into(), "x".into()), &[r#"env["BAD KEY"]"#]),
                ("env name digit first", |s| _ = s.env.insert("1X".into(), "x".into()), &[r#"env["1X"]"#]),
                ("config key invalid", |s| _ = s.config.insert("a/b".into(), "x".into()), &[r#"config["a/b"]"#]),
                ("config key dots", |s| _ = s.config.insert("..".into(), "x".into()), &[r#"config[".."]"#]),
                (
                    "secret key invalid",
                    |s| _ = s.secrets.insert("a b".into(), SecretString::new("x")),
                    &[r#"secrets["a b"]"#],
                ),
                (
                    "env and secret conflict",
                    |s| _ = s.env.insert("DATABASE_URL".into(), "x".into()),
                    &[r#"secrets["DATABASE_URL"]"#],
                ),
                (
                    "liveness path",
                    |s| s.probes.as_mut().unwrap().liveness_path = Some("healthz".into()),
                    &["probes.liveness_path"],
                ),
                (
                    "readiness path",
                    |s| s.probes.as_mut().unwrap().readiness_path = Some("".into()),
                    &["probes.readiness_path"],
                ),
                ("startup zero", |s| s.probes.as_mut().unwrap().startup_seconds = Some(0), &["probes.startup_seconds"]),
                (
                    "startup too long",
                    |s| s.probes.as_mut().unwrap().startup_seconds = Some(3601),
                    &["probes.startup_seconds"],
                ),
                ("ingress host", |s| s.ingress.as_mut().unwrap().host = "Shop.example.com".into(), &["ingress.host"]),
                (
                    "ingress host bad wildcard",
                    |s| s.ingress.as_mut().unwrap().host = "*shop.example.com".into(),
                    &["ingress.host"],
                ),
                ("ingress path", |s| s.ingress.as_mut().unwrap().path = "shop".into(), &["ingress.path"]),
                (
                    "ingress class",
                    |s| s.ingress.as_mut().unwrap().class_name = Some("nginx.internal".into()),
                    &["ingress.class_name"],
                ),
                (
                    "tls issuer",
                    |s| s.ingress.as_mut().unwrap().tls.as_mut().unwrap().issuer = "Lets Encrypt".into(),
                    &["ingress.tls.issuer"],
                ),
                (
                    "tls secret name",
                    |s| s.ingress.as_mut().unwrap().tls.as_mut().unwrap().secret_name = Some("tls_secret".into()),
                    &["ingress.tls.secret_name"],
                ),
                ("hpa min zero", |s| s.autoscaling.as_mut().unwrap().min_replicas = 0, &["autoscaling.min_replicas"]),
                (
                    "hpa min above max",
                    |s| s.autoscaling.as_mut().unwrap().min_replicas = 11,
                    &["autoscaling.min_replicas"],
                ),
                (
                    "hpa max too large",
                    |s| s.autoscaling.as_mut().unwrap().max_replicas = 1001,
                    &["autoscaling.max_replicas"],
                ),
                (
                    "hpa no target",
                    |s| {
                        let a = s.autoscaling.as_mut().unwrap();
                        a.cpu_target_percent = None;
                        a.memory_target_percent = None;
                    },
                    &["autoscaling"],
                ),
                (
                    "hpa cpu zero",
                    |s| s.autoscaling.as_mut().unwrap().cpu_target_percent = Some(0),
                    &["autoscaling.cpu_target_percent"],
                ),
                (
                    "hpa cpu above 100",
                    |s| s.autoscaling.as_mut().unwrap().cpu_target_percent = Some(101),
                    &["autoscaling.cpu_target_percent"],
                ),
                (
                    "hpa memory above 1000",
                    |s| s.autoscaling.as_mut().unwrap().memory_target_percent = Some(1001),
                    &["autoscaling.memory_target_percent"],
                ),
                (
                    "stabilization too long",
                    |s| {
                        s.autoscaling.as_mut().unwrap().scale_down.as_mut().unwrap().stabilization_window =
                            Duration::from_secs(3601)
                    },
                    &["autoscaling.scale_down.stabilization_window"],
                ),
                (
                    "period too short",
                    |s| s.autoscaling.as_mut().unwrap().scale_up.as_mut().unwrap().period = Duration::from_millis(500),
                    &["autoscaling.scale_up.period"],
                ),
                (
                    "period too long",
                    |s| s.autoscaling.as_mut().unwrap().scale_up.as_mut().unwrap().period = Duration::from_secs(1801),
                    &["autoscaling.scale_up.period"],
                ),
                (
                    "no policy",
                    |s| s.autoscaling.as_mut().unwrap().scale_up.as_mut().unwrap().max_pods_per_period = None,
                    &["autoscaling.scale_up"],
                ),
                (
                    "pods per period zero",
                    |s| s.autoscaling.as_mut().unwrap().scale_up.as_mut().unwrap().max_pods_per_period = Some(0),
                    &["autoscaling.scale_up.max_pods_per_period"],
                ),
                (
                    "percent per period zero",
                    |s| s.autoscaling.as_mut().unwrap().scale_down.as_mut().unwrap().max_percent_per_period = Some(0),
                    &["autoscaling.scale_down.max_percent_per_period"],
                ),
                (
                    "ingress namespace",
                    |s| s.isolation.as_mut().unwrap().ingress_namespace = "Ingress".into(),
                    &["isolation.ingress_namespace"],
                ),
                (
                    "monitoring namespace",
                    |s| s.isolation.as_mut().unwrap().monitoring_namespace = String::new(),
                    &["isolation.monitoring_namespace"],
                ),
                (
                    "database cidr",
                    |s| s.isolation.as_mut().unwrap().database.as_mut().unwrap().cidr = "10.20.0.1/24".into(),
                    &["isolation.database.cidr"],
                ),
                (
                    "database port",
                    |s| s.isolation.as_mut().unwrap().database.as_mut().unwrap().port = 0,
                    &["isolation.database.port"],
                ),
                (
                    "metrics port",
                    |s| s.monitoring.as_mut().unwrap().metrics_port = Some(0),
                    &["monitoring.metrics_port"],
                ),
                (
                    "metrics path",
                    |s| s.monitoring.as_mut().unwrap().metrics_path = "metrics".into(),
                    &["monitoring.metrics_path"],
                ),
                (
                    "memory ratio zero",
                    |s| s.monitoring.as_mut().unwrap().alerts.memory_ratio = 0.0,
                    &["monitoring.alerts.memory_ratio"],
                ),
                (
                    "memory ratio above 1",
                    |s| s.monitoring.as_mut().unwrap().alerts.memory_ratio = 1.5,
                    &["monitoring.alerts.memory_ratio"],
                ),
                (
                    "error ratio nan",
                    |s| s.monitoring.as_mut().unwrap().alerts.error_ratio_5xx = f64::NAN,
                    &["monitoring.alerts.error_ratio_5xx"],
                ),
                (
                    "p95 zero",
                    |s| s.monitoring.as_mut().unwrap().alerts.p95_latency = Duration::ZERO,
                    &["monitoring.alerts.p95_latency"],
                ),
                ("uid negative", |s| s.security.run_as_user = Some(-1), &["security.run_as_user"]),
                ("uid root while non-root", |s| s.security.run_as_user = Some(0), &["security.run_as_user"]),
                ("label key", |s| _ = s.labels.insert("x/y/z".into(), "v".into()), &[r#"labels["x/y/z"]"#]),
                ("label value", |s| _ = s.labels.insert("team".into(), "a b".into()), &[r#"labels["team"]"#]),
                (
                    "label app name reserved",
                    |s| _ = s.labels.insert("app.kubernetes.io/name".into(), "x".into()),
                    &[r#"labels["app.kubernetes.io/name"]"#],
                ),
                (
                    "label managed-by reserved",
                    |s| _ = s.labels.insert("app.kubernetes.io/managed-by".into(), "helm".into()),
                    &[r#"labels["app.kubernetes.io/managed-by"]"#],
                ),
                (
                    "annotation key",
                    |s| _ = s.annotations.insert("bad key".into(), "v".into()),
                    &[r#"annotations["bad key"]"#],
                ),
            ],
            valid,
        );
    }

    #[test]
    fn edge_values_pass() {
        let mut s = valid();
        s.name = "w".repeat(47);
        s.replicas = Some(1000);
        s.ingress.as_mut().unwrap().host = "*.example.com".into();
        s.probes.as_mut().unwrap().startup_seconds = Some(3600);
        s.monitoring.as_mut().unwrap().alerts.memory_ratio = 1.0;
        s.security.run_as_non_root = false;
        s.security.run_as_user = Some(0);
        s.resources = Some(res(1000, 512, None, 512));
        let a = s.autoscaling.as_mut().unwrap();
        a.min_replicas = 10;
        a.cpu_target_percent = None;
        a.memory_target_percent = Some(1000);
        a.scale_up.as_mut().unwrap().period = Duration::from_secs(1800);
        a.scale_down.as_mut().unwrap().stabilization_window = Duration::from_secs(3600);
        assert_eq!(fields(app_spec(&s)), Vec::<String>::new());
    }

    #[test]
    fn disruption_budget_rules() {
        let pdb = |min: Option<IntOrPercent>, max: Option<IntOrPercent>| DisruptionBudgetSpec {
            min_available: min,
            max_unavailable: max,
        };
        let pct = |s: &str| IntOrPercent::Percent(s.into());
        let cases: Vec<(DisruptionBudgetSpec, &[&str])> = vec![
            (pdb(None, None), &["disruption_budget"]),
            (pdb(Some(IntOrPercent::Int(1)), Some(IntOrPercent::Int(1))), &["disruption_budget"]),
            (pdb(Some(pct("50")), None), &["disruption_budget.min_available"]),
            (pdb(Some(pct("101%")), None), &["disruption_budget.min_available"]),
            (pdb(Some(pct("-5%")), None), &["disruption_budget.min_available"]),
            (pdb(Some(pct("100%")), None), &["disruption_budget.min_available"]),
            (pdb(None, Some(pct("x%"))), &["disruption_budget.max_unavailable"]),
            (pdb(None, Some(pct("0%"))), &["disruption_budget.max_unavailable"]),
            (pdb(None, Some(IntOrPercent::Int(0))), &["disruption_budget.max_unavailable"]),
            // replicas is 3 in `fixed()`.
            (pdb(Some(IntOrPercent::Int(3)), None), &["disruption_budget.min_available"]),
            (pdb(Some(IntOrPercent::Int(4)), None), &["disruption_budget.min_available"]),
            (pdb(Some(IntOrPercent::Int(2)), None), &[]),
            (pdb(Some(pct("0%")), None), &[]),
            (pdb(Some(pct("99%")), None), &[]),
            (pdb(None, Some(pct("100%"))), &[]),
            (pdb(None, Some(IntOrPercent::Int(1))), &[]),
        ];
        for (budget, expected) in cases {
            let mut s = fixed();
            s.disruption_budget = Some(budget.clone());
            assert_eq!(fields(app_spec(&s)), expected, "{budget:?}");
        }
        // With autoscaling the replica count moves, so an int min_available is not held against it.
        let mut s = valid();
        s.disruption_budget = Some(pdb(Some(IntOrPercent::Int(3)), None));
        s.overlays.clear();
        assert!(app_spec(&s).is_ok());
        // Without explicit replicas, the tier decides (advanced: 3).
        let mut s = fixed();
        s.replicas = None;
        s.disruption_budget = Some(pdb(Some(IntOrPercent::Int(3)), None));
        let err = app_spec(&s).unwrap_err();
        assert!(err.to_string().contains("3 with 3 replicas"), "{err}");
    }

    #[test]
    fn three_problems_are_all_reported() {
        let mut s = valid();
        s.namespace = "Shop".into();
        s.env.insert("BAD KEY".into(), "x".into());
        s.monitoring.as_mut().unwrap().metrics_path = "metrics".into();
        assert_eq!(fields(app_spec(&s)), ["namespace", r#"env["BAD KEY"]"#, "monitoring.metrics_path"]);
    }

    #[test]
    fn overlay_fields_are_checked_under_their_environment() {
        run(
            &[
                (
                    "image",
                    |s| s.overlays.get_mut(&Environment::Prod).unwrap().image = Some("Bad Image".into()),
                    &["overlays.prod.image"],
                ),
                (
                    "replicas",
                    |s| s.overlays.get_mut(&Environment::Prod).unwrap().replicas = Some(1001),
                    &["overlays.prod.replicas"],
                ),
                (
                    "resources",
                    |s| s.overlays.get_mut(&Environment::Dev).unwrap().resources = Some(res(0, 64, None, 128)),
                    &["overlays.dev.resources.cpu_request"],
                ),
                (
                    "env",
                    |s| _ = s.overlays.get_mut(&Environment::Dev).unwrap().env.insert("A-B".into(), "x".into()),
                    &[r#"overlays.dev.env["A-B"]"#],
                ),
                (
                    "config",
                    |s| _ = s.overlays.get_mut(&Environment::Dev).unwrap().config.insert("a b".into(), "x".into()),
                    &[r#"overlays.dev.config["a b"]"#],
                ),
                (
                    "labels",
                    |s| {
                        _ = s
                            .overlays
                            .get_mut(&Environment::Prod)
                            .unwrap()
                            .labels
                            .insert("app.kubernetes.io/name".into(), "x".into())
                    },
                    &[r#"overlays.prod.labels["app.kubernetes.io/name"]"#],
                ),
                (
                    "ingress",
                    |s| {
                        let mut i = s.ingress.clone().unwrap();
                        i.path = "x".into();
                        s.overlays.get_mut(&Environment::Prod).unwrap().ingress = Some(i);
                    },
                    &["overlays.prod.ingress.path"],
                ),
                (
                    "autoscaling",
                    |s| {
                        let mut a = s.autoscaling.clone().unwrap();
                        a.max_replicas = 2000;
                        s.overlays.get_mut(&Environment::Prod).unwrap().autoscaling = Some(a);
                    },
                    &["overlays.prod.autoscaling.max_replicas"],
                ),
                (
                    "disruption budget",
                    |s| {
                        s.overlays.get_mut(&Environment::Prod).unwrap().disruption_budget =
                            Some(DisruptionBudgetSpec { min_available: None, max_unavailable: None })
                    },
                    &["overlays.prod.disruption_budget"],
                ),
                (
                    "monitoring",
                    |s| {
                        let mut m = s.monitoring.clone().unwrap();
                        m.metrics_port = Some(0);
                        s.overlays.entry(Environment::Staging).or_default().monitoring = Some(m);
                    },
                    &["overlays.staging.monitoring.metrics_port"],
                ),
            ],
            valid,
        );
    }

    #[test]
    fn merged_spec_rules_are_reported_under_the_overlay() {
        // An overlay replaces resources as a whole, so merging cannot break request ≤ limit by itself; what it
        // can break is the PDB against the environment's replicas.
        let mut s = fixed();
        s.disruption_budget =
            Some(DisruptionBudgetSpec { min_available: Some(IntOrPercent::Int(2)), max_unavailable: None });
        s.overlays.insert(Environment::Dev, AppOverlay { replicas: Some(2), ..Default::default() });
        s.overlays.insert(Environment::Prod, AppOverlay { replicas: Some(6), ..Default::default() });
        let err = app_spec(&s).unwrap_err();
        assert_eq!(
            err.violations().iter().map(|v| v.field.as_str()).collect::<Vec<_>>(),
            ["overlays.dev.disruption_budget.min_available"]
        );
        assert!(err.violations()[0].reason.contains("2 with 2 replicas"), "{err}");

        // A tier switch changes the effective replicas too (basic: 1).
        let mut s = fixed();
        s.replicas = None;
        s.disruption_budget =
            Some(DisruptionBudgetSpec { min_available: Some(IntOrPercent::Int(1)), max_unavailable: None });
        s.overlays.insert(Environment::Staging, AppOverlay { tier: Some(PlanTier::Basic), ..Default::default() });
        assert_eq!(fields(app_spec(&s)), ["overlays.staging.disruption_budget.min_available"]);

        // An overlay env key that collides with a base secret.
        let mut s = valid();
        s.overlays.get_mut(&Environment::Dev).unwrap().env.insert("DATABASE_URL".into(), "x".into());
        assert_eq!(fields(app_spec(&s)), [r#"overlays.dev.secrets["DATABASE_URL"]"#]);
    }

    #[test]
    fn base_violations_are_not_repeated_per_overlay() {
        let mut s = valid();
        s.name = "Web".into();
        s.env.insert("BAD KEY".into(), "x".into());
        s.resources = Some(res(2000, 256, Some(1000), 512));
        // Both overlays inherit all three; each is reported once, under the base field.
        assert_eq!(fields(app_spec(&s)), ["name", "resources.cpu_request", r#"env["BAD KEY"]"#]);

        // A base PDB violation stays a base violation in an overlay that keeps the replicas.
        let mut s = fixed();
        s.disruption_budget =
            Some(DisruptionBudgetSpec { min_available: Some(IntOrPercent::Int(3)), max_unavailable: None });
        s.overlays.insert(Environment::Dev, AppOverlay { image: Some("nginx:1.28".into()), ..Default::default() });
        // The prod overlay raises replicas and so fixes it there; dev inherits it and repeats nothing.
        s.overlays.insert(Environment::Prod, AppOverlay { replicas: Some(5), ..Default::default() });
        assert_eq!(fields(app_spec(&s)), ["disruption_budget.min_available"]);

        // An overlay's own bad field is reported once, not again through the merged spec.
        let mut s = valid();
        s.overlays.get_mut(&Environment::Prod).unwrap().replicas = Some(5000);
        assert_eq!(fields(app_spec(&s)), ["overlays.prod.replicas"]);
    }
}
