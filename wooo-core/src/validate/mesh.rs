//! Mesh policy rules.

use super::checks::{ENVOY_RETRY_ON, dns1123_label, http_header_name, label_value};
use super::{Violations, at, index};
use crate::model::{
    ConnectionPool, MeshPolicy, OutlierDetection, Resilience, RetryPolicy, TrafficSplit, format_duration,
};

const MAX_RETRY_ATTEMPTS: u32 = 10;

pub(super) fn policy(v: &mut Violations, p: &MeshPolicy) {
    v.check("app.namespace", dns1123_label(&p.app.namespace, 63));
    v.check("app.name", dns1123_label(&p.app.name, 63));
    if let Some(t) = &p.traffic {
        traffic(v, t);
    }
    if let Some(r) = &p.resilience {
        resilience(v, r);
    }
    if let Some(t) = &p.tracing {
        // Written so NaN fails too.
        if !(t.sampling_percent >= 0.0 && t.sampling_percent <= 100.0) {
            v.add("tracing.sampling_percent", format!("must be 0 to 100, got {}", t.sampling_percent));
        }
    }
}

fn traffic(v: &mut Violations, t: &TrafficSplit) {
    if t.backends.is_empty() {
        v.add("traffic.backends", "must list at least one backend");
    }
    let mut weights_valid = true;
    for (i, b) in t.backends.iter().enumerate() {
        let p = index("traffic.backends", i);
        if b.version.is_empty() {
            v.add(at(&p, "version"), "must not be empty");
        } else if let Err(reason) = label_value(&b.version) {
            v.add(at(&p, "version"), reason);
        } else if let Some(first) = t.backends[..i].iter().position(|o| o.version == b.version) {
            v.add(at(&p, "version"), format!("duplicates backends[{first}].version"));
        }
        if b.weight > 100 {
            weights_valid = false;
            v.add(at(&p, "weight"), format!("must be 0 to 100, got {}", b.weight));
        }
    }
    // A weight above 100 already explains a wrong sum; report the sum only when each weight is in range.
    let sum: u64 = t.backends.iter().map(|b| u64::from(b.weight)).sum();
    if weights_valid && !t.backends.is_empty() && sum != 100 {
        v.add("traffic.backends", format!("weights must sum to 100, got {sum}"));
    }
    if let Some(h) = &t.header_match {
        v.check("traffic.header_match.header", http_header_name(&h.header));
        if h.value.is_empty() {
            v.add("traffic.header_match.value", "must not be empty");
        }
        if !t.backends.iter().any(|b| b.version == h.version) {
            v.add("traffic.header_match.version", format!("`{}` is not one of the backends' versions", h.version));
        }
    }
}

fn resilience(v: &mut Violations, r: &Resilience) {
    if let Some(o) = &r.outlier_detection {
        outlier_detection(v, o);
    }
    if let Some(c) = &r.connection_pool {
        connection_pool(v, c);
    }
    if let Some(retries) = &r.retries {
        retry_policy(v, retries);
    }
    if r.timeout.is_some_and(|t| t.is_zero()) {
        v.add("resilience.timeout", "must be greater than 0");
    }
    if let (Some(retries), Some(timeout)) = (&r.retries, r.timeout)
        && !timeout.is_zero()
        && retries.budget() > timeout
    {
        v.add(
            "resilience.retries",
            format!(
                "(attempts + 1) × per_try_timeout = {} exceeds the timeout {}: later tries would never run",
                format_duration(retries.budget()),
                format_duration(timeout)
            ),
        );
    }
}

fn outlier_detection(v: &mut Violations, o: &OutlierDetection) {
    let p = "resilience.outlier_detection";
    if o.consecutive_5xx_errors == 0 {
        v.add(at(p, "consecutive_5xx_errors"), "must be at least 1");
    }
    if o.interval.is_zero() {
        v.add(at(p, "interval"), "must be greater than 0");
    }
    if o.base_ejection_time.is_zero() {
        v.add(at(p, "base_ejection_time"), "must be greater than 0");
    }
    if o.max_ejection_percent > 100 {
        v.add(at(p, "max_ejection_percent"), format!("must be 0 to 100, got {}", o.max_ejection_percent));
    }
}

fn connection_pool(v: &mut Violations, c: &ConnectionPool) {
    for (name, value) in [
        ("max_connections", c.max_connections),
        ("http1_max_pending_requests", c.http1_max_pending_requests),
        ("http2_max_requests", c.http2_max_requests),
        ("max_requests_per_connection", c.max_requests_per_connection),
    ] {
        if value == Some(0) {
            v.add(at("resilience.connection_pool", name), "must be at least 1 when set");
        }
    }
}

fn retry_policy(v: &mut Violations, r: &RetryPolicy) {
    let p = "resilience.retries";
    if !(1..=MAX_RETRY_ATTEMPTS).contains(&r.attempts) {
        v.add(at(p, "attempts"), format!("must be 1 to {MAX_RETRY_ATTEMPTS}, got {}", r.attempts));
    }
    if r.per_try_timeout.is_zero() {
        v.add(at(p, "per_try_timeout"), "must be greater than 0");
    }
    for (i, cond) in r.retry_on.iter().enumerate() {
        if !ENVOY_RETRY_ON.contains(&cond.as_str()) {
            v.add(index(&at(p, "retry_on"), i), format!("must be one of {}", ENVOY_RETRY_ON.join(", ")));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::mesh_policy;
    use super::super::tests::fields;
    use crate::model::{AppRef, HeaderMatch, MeshKind, MeshPolicy, TrafficSplit, WeightedBackend, from_yaml};

    const VALID: &str = r#"
app: {namespace: shop, name: web}
kind: istio
traffic:
  backends:
    - {version: v1, weight: 80}
    - {version: v2, weight: 20}
  header_match: {header: x-canary, value: "true", version: v2}
resilience:
  outlier_detection: {consecutive_5xx_errors: 5, interval: 10s, base_ejection_time: 30s, max_ejection_percent: 50}
  connection_pool: {max_connections: 100, http1_max_pending_requests: 10, http2_max_requests: 100, max_requests_per_connection: 1}
  retries: {attempts: 2, per_try_timeout: 2s, retry_on: [5xx, reset, connect-failure]}
  timeout: 6s
mtls: strict
tracing: {sampling_percent: 10, provider: otel}
"#;

    fn valid() -> MeshPolicy {
        from_yaml(VALID).unwrap()
    }

    #[test]
    fn valid_policy_from_yaml_passes() {
        assert_eq!(fields(mesh_policy(&valid())), Vec::<String>::new());
        let canary =
            MeshPolicy::split(AppRef::new("shop", "web"), MeshKind::GatewayApi, TrafficSplit::canary("v1", "v2", 0));
        assert!(mesh_policy(&canary).is_ok());
    }

    type Case = (&'static str, fn(&mut MeshPolicy), &'static [&'static str]);

    fn traffic(p: &mut MeshPolicy) -> &mut TrafficSplit {
        p.traffic.as_mut().unwrap()
    }

    #[test]
    fn each_rule_names_its_field() {
        let cases: &[Case] = &[
            ("namespace", |p| p.app.namespace = "Shop".into(), &["app.namespace"]),
            ("name", |p| p.app.name = String::new(), &["app.name"]),
            ("no backends", |p| traffic(p).backends.clear(), &["traffic.backends", "traffic.header_match.version"]),
            ("version empty", |p| traffic(p).backends[0].version.clear(), &["traffic.backends[0].version"]),
            ("version invalid", |p| traffic(p).backends[0].version = "v 1".into(), &["traffic.backends[0].version"]),
            (
                "version duplicate",
                |p| traffic(p).backends[1].version = "v1".into(),
                &["traffic.backends[1].version", "traffic.header_match.version"],
            ),
            ("weight above 100", |p| traffic(p).backends[1].weight = 120, &["traffic.backends[1].weight"]),
            ("sum below 100", |p| traffic(p).backends[1].weight = 10, &["traffic.backends"]),
            (
                "header invalid",
                |p| traffic(p).header_match.as_mut().unwrap().header = "X-Canary".into(),
                &["traffic.header_match.header"],
            ),
            (
                "header value empty",
                |p| traffic(p).header_match.as_mut().unwrap().value.clear(),
                &["traffic.header_match.value"],
            ),
            (
                "header version unknown",
                |p| traffic(p).header_match.as_mut().unwrap().version = "v3".into(),
                &["traffic.header_match.version"],
            ),
            (
                "5xx errors zero",
                |p| p.resilience.as_mut().unwrap().outlier_detection.as_mut().unwrap().consecutive_5xx_errors = 0,
                &["resilience.outlier_detection.consecutive_5xx_errors"],
            ),
            (
                "interval zero",
                |p| p.resilience.as_mut().unwrap().outlier_detection.as_mut().unwrap().interval = Duration::ZERO,
                &["resilience.outlier_detection.interval"],
            ),
            (
                "ejection time zero",
                |p| {
                    p.resilience.as_mut().unwrap().outlier_detection.as_mut().unwrap().base_ejection_time =
                        Duration::ZERO
                },
                &["resilience.outlier_detection.base_ejection_time"],
            ),
            (
                "ejection percent",
                |p| p.resilience.as_mut().unwrap().outlier_detection.as_mut().unwrap().max_ejection_percent = 101,
                &["resilience.outlier_detection.max_ejection_percent"],
            ),
            (
                "max connections zero",
                |p| p.resilience.as_mut().unwrap().connection_pool.as_mut().unwrap().max_connections = Some(0),
                &["resilience.connection_pool.max_connections"],
            ),
            (
                "pending zero",
                |p| {
                    p.resilience.as_mut().unwrap().connection_pool.as_mut().unwrap().http1_max_pending_requests =
                        Some(0)
                },
                &["resilience.connection_pool.http1_max_pending_requests"],
            ),
            (
                "http2 zero",
                |p| p.resilience.as_mut().unwrap().connection_pool.as_mut().unwrap().http2_max_requests = Some(0),
                &["resilience.connection_pool.http2_max_requests"],
            ),
            (
                "per connection zero",
                |p| {
                    p.resilience.as_mut().unwrap().connection_pool.as_mut().unwrap().max_requests_per_connection =
                        Some(0)
                },
                &["resilience.connection_pool.max_requests_per_connection"],
            ),
            (
                "attempts zero",
                |p| p.resilience.as_mut().unwrap().retries.as_mut().unwrap().attempts = 0,
                &["resilience.retries.attempts"],
            ),
            (
                "attempts above 10",
                |p| {
                    let r = p.resilience.as_mut().unwrap();
                    r.timeout = None;
                    r.retries.as_mut().unwrap().attempts = 11;
                },
                &["resilience.retries.attempts"],
            ),
            (
                "per try zero",
                |p| p.resilience.as_mut().unwrap().retries.as_mut().unwrap().per_try_timeout = Duration::ZERO,
                &["resilience.retries.per_try_timeout"],
            ),
            (
                "retry on unknown",
                |p| p.resilience.as_mut().unwrap().retries.as_mut().unwrap().retry_on.push("503".into()),
                &["resilience.retries.retry_on[3]"],
            ),
            (
                "timeout zero",
                |p| p.resilience.as_mut().unwrap().timeout = Some(Duration::ZERO),
                &["resilience.timeout"],
            ),
            (
                "budget exceeds timeout",
                |p| p.resilience.as_mut().unwrap().timeout = Some(Duration::from_millis(5999)),
                &["resilience.retries"],
            ),
            (
                "sampling above 100",
                |p| p.tracing.as_mut().unwrap().sampling_percent = 100.5,
                &["tracing.sampling_percent"],
            ),
            (
                "sampling negative",
                |p| p.tracing.as_mut().unwrap().sampling_percent = -1.0,
                &["tracing.sampling_percent"],
            ),
            (
                "sampling nan",
                |p| p.tracing.as_mut().unwrap().sampling_percent = f64::NAN,
                &["tracing.sampling_percent"],
            ),
        ];
        for (name, mutate, expected) in cases {
            let mut policy = valid();
            mutate(&mut policy);
            assert_eq!(fields(mesh_policy(&policy)), *expected, "case `{name}`");
        }
    }

    #[test]
    fn sum_reason_says_the_actual_sum_and_budget_fits_exactly() {
        let mut p = valid();
        p.traffic = Some(TrafficSplit {
            backends: vec![
                WeightedBackend { version: "v1".into(), weight: 70 },
                WeightedBackend { version: "v2".into(), weight: 20 },
                WeightedBackend { version: "v3".into(), weight: 20 },
            ],
            header_match: Some(HeaderMatch { header: "x-v".into(), value: "3".into(), version: "v3".into() }),
        });
        let err = mesh_policy(&p).unwrap_err();
        assert_eq!(err.violations()[0].field, "traffic.backends");
        assert!(err.violations()[0].reason.contains("got 110"), "{err}");

        // (2 + 1) × 2s = 6s fits a 6s timeout exactly.
        let mut p = valid();
        p.resilience.as_mut().unwrap().timeout = Some(Duration::from_secs(6));
        assert!(mesh_policy(&p).is_ok());
        p.tracing.as_mut().unwrap().sampling_percent = 100.0;
        assert!(mesh_policy(&p).is_ok());
        p.traffic = Some(TrafficSplit::canary("v1", "v2", 100));
        assert!(mesh_policy(&p).is_ok());
    }

    #[test]
    fn three_problems_are_all_reported() {
        let mut p = valid();
        p.app.name = "Web".into();
        p.traffic.as_mut().unwrap().backends[0].weight = 50;
        p.tracing.as_mut().unwrap().sampling_percent = 200.0;
        assert_eq!(fields(mesh_policy(&p)), ["app.name", "traffic.backends", "tracing.sampling_percent"]);
    }
}
