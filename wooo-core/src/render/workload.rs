//! The app's Deployments: the web server, and the background worker for frameworks that have one.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMapKeySelector, Container, ContainerPort, EmptyDirVolumeSource, EnvFromSource,
    EnvVar, EnvVarSource, ExecAction, HTTPGetAction, PodAffinityTerm, PodAntiAffinity, PodSecurityContext, PodSpec,
    PodTemplateSpec, Probe, ResourceRequirements, SeccompProfile, SecretEnvSource, SecretKeySelector, SecurityContext,
    TopologySpreadConstraint, Volume, VolumeMount, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::meta::{AppContext, Component, match_labels, to_i32};
use super::secrets::{SECRET_HASH_ANNOTATION, secret_hash};
use crate::error::Result;
use crate::model::{AppSpec, Labels};

/// The container's name in every pod.
pub(super) const CONTAINER_NAME: &str = "app";
/// The name of the container port the Service, probes and Ingress target.
pub(super) const HTTP_PORT_NAME: &str = "http";
/// The name of the separate metrics port.
pub(super) const METRICS_PORT_NAME: &str = "metrics";
/// UID used when the spec asks for a non-root user without naming one; above 10000 so it matches no host user.
const DEFAULT_UID: i64 = 10001;
/// Pod annotation whose change rolls the pods when `config` changes (env from a ConfigMap is read only at start).
pub(super) const CONFIG_HASH_ANNOTATION: &str = "wooo.dev/config-hash";

const STARTUP_PERIOD_SECONDS: u32 = 5;
const LIVENESS_PERIOD_SECONDS: i32 = 10;
const READINESS_PERIOD_SECONDS: i32 = 5;
const PROBE_FAILURE_THRESHOLD: i32 = 3;
const PROGRESS_DEADLINE_SECONDS: i32 = 600;
const REVISION_HISTORY_LIMIT: i32 = 5;
const TERMINATION_GRACE_SECONDS: i64 = 30;
const ZONE_KEY: &str = "topology.kubernetes.io/zone";
const HOSTNAME_KEY: &str = "kubernetes.io/hostname";
const TMP_VOLUME: &str = "tmp";

/// The web Deployment, then the worker Deployment when the framework has a worker.
pub(super) fn deployments(ctx: &AppContext<'_>) -> Result<Vec<Deployment>> {
    let spec = ctx.spec;
    let replicas = match &spec.autoscaling {
        // The HPA owns the count; a `replicas` here would fight it on every apply.
        Some(_) => None,
        None => Some(to_i32("replicas", spec.effective_replicas())?),
    };
    let web = deployment(ctx, ctx.name().to_string(), Component::Web, replicas, web_container(spec)?);
    let mut out = vec![web];
    if let Some(command) = spec.framework.defaults().worker_command {
        let health = spec.framework.defaults().worker_health_command.map(worker_probe);
        let worker = Container {
            name: CONTAINER_NAME.to_string(),
            command: Some(command.iter().map(|s| s.to_string()).collect()),
            liveness_probe: health.clone(),
            readiness_probe: health,
            ..base_container(spec)
        };
        // No autoscaler targets the worker, so it always has one replica of its own.
        out.push(deployment(ctx, ctx.worker_name(), Component::Worker, Some(1), worker));
    }
    Ok(out)
}

fn deployment(
    ctx: &AppContext<'_>,
    name: String,
    component: Component,
    replicas: Option<i32>,
    container: Container,
) -> Deployment {
    let rollout_replicas = if component == Component::Web { ctx.baseline_replicas() } else { 1 };
    Deployment {
        metadata: ctx.meta(name),
        spec: Some(DeploymentSpec {
            replicas,
            selector: match_labels(ctx.selector(component)),
            strategy: Some(strategy(rollout_replicas)),
            progress_deadline_seconds: Some(PROGRESS_DEADLINE_SECONDS),
            revision_history_limit: Some(REVISION_HISTORY_LIMIT),
            template: pod_template(ctx, component, container),
            ..DeploymentSpec::default()
        }),
        status: None,
    }
}

/// Never takes a pod down before its replacement is ready; with several replicas, surges a quarter at a time.
fn strategy(replicas: u32) -> DeploymentStrategy {
    let max_surge = if replicas >= 2 { IntOrString::String("25%".to_string()) } else { IntOrString::Int(1) };
    DeploymentStrategy {
        type_: Some("RollingUpdate".to_string()),
        rolling_update: Some(RollingUpdateDeployment {
            max_surge: Some(max_surge),
            max_unavailable: Some(IntOrString::Int(0)),
        }),
    }
}

fn pod_template(ctx: &AppContext<'_>, component: Component, container: Container) -> PodTemplateSpec {
    let spec = ctx.spec;
    let mut annotations = spec.annotations.clone();
    if !spec.config.is_empty() {
        annotations.insert(CONFIG_HASH_ANNOTATION.to_string(), config_hash(&spec.config));
    }
    if let Some(hash) = secret_hash(spec, ctx.secrets) {
        annotations.insert(SECRET_HASH_ANNOTATION.to_string(), hash);
    }
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(ctx.pod_labels(component)),
            annotations: (!annotations.is_empty()).then_some(annotations),
            ..ObjectMeta::default()
        }),
        spec: Some(PodSpec {
            service_account_name: Some(ctx.name().to_string()),
            automount_service_account_token: Some(false),
            security_context: Some(pod_security(spec)),
            termination_grace_period_seconds: Some(TERMINATION_GRACE_SECONDS),
            topology_spread_constraints: Some(spread(ctx.selector(component))),
            affinity: Some(anti_affinity(ctx.selector(component))),
            volumes: Some(vec![Volume {
                name: TMP_VOLUME.to_string(),
                empty_dir: Some(EmptyDirVolumeSource::default()),
                ..Volume::default()
            }]),
            containers: vec![container],
            ..PodSpec::default()
        }),
    }
}

/// Spreads pods over zones, then nodes, without ever blocking scheduling (small clusters may have one zone).
fn spread(selector: Labels) -> Vec<TopologySpreadConstraint> {
    [ZONE_KEY, HOSTNAME_KEY]
        .into_iter()
        .map(|key| TopologySpreadConstraint {
            max_skew: 1,
            topology_key: key.to_string(),
            when_unsatisfiable: "ScheduleAnyway".to_string(),
            label_selector: Some(match_labels(selector.clone())),
            ..TopologySpreadConstraint::default()
        })
        .collect()
}

fn anti_affinity(selector: Labels) -> Affinity {
    Affinity {
        pod_anti_affinity: Some(PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![WeightedPodAffinityTerm {
                weight: 100,
                pod_affinity_term: PodAffinityTerm {
                    topology_key: HOSTNAME_KEY.to_string(),
                    label_selector: Some(match_labels(selector)),
                    ..PodAffinityTerm::default()
                },
            }]),
            ..PodAntiAffinity::default()
        }),
        ..Affinity::default()
    }
}

/// The container both Deployments share: image, env, resources, security, the writable `/tmp`.
fn base_container(spec: &AppSpec) -> Container {
    Container {
        name: CONTAINER_NAME.to_string(),
        image: Some(spec.image.clone()),
        env: Some(env(spec)).filter(|e| !e.is_empty()),
        env_from: Some(env_from(spec)).filter(|e| !e.is_empty()),
        resources: Some(resources(spec)),
        security_context: Some(container_security(spec)),
        volume_mounts: Some(vec![VolumeMount {
            name: TMP_VOLUME.to_string(),
            mount_path: "/tmp".to_string(),
            ..VolumeMount::default()
        }]),
        ..Container::default()
    }
}

fn web_container(spec: &AppSpec) -> Result<Container> {
    let port = spec.effective_port();
    let mut ports = vec![ContainerPort {
        name: Some(HTTP_PORT_NAME.to_string()),
        container_port: i32::from(port),
        protocol: Some("TCP".to_string()),
        ..ContainerPort::default()
    }];
    if let Some(metrics) = separate_metrics_port(spec) {
        ports.push(ContainerPort {
            name: Some(METRICS_PORT_NAME.to_string()),
            container_port: i32::from(metrics),
            protocol: Some("TCP".to_string()),
            ..ContainerPort::default()
        });
    }
    let (startup, liveness, readiness) = probes(spec)?;
    Ok(Container {
        command: command(spec),
        ports: Some(ports),
        startup_probe: Some(startup),
        liveness_probe: Some(liveness),
        readiness_probe: Some(readiness),
        ..base_container(spec)
    })
}

/// The metrics port when it differs from the app port (then it needs its own container and Service port).
pub(super) fn separate_metrics_port(spec: &AppSpec) -> Option<u16> {
    let metrics = spec.monitoring.as_ref()?.metrics_port?;
    (metrics != spec.effective_port()).then_some(metrics)
}

/// The explicit command, else the framework's; none leaves the image's entrypoint.
fn command(spec: &AppSpec) -> Option<Vec<String>> {
    if let Some(command) = &spec.command {
        return (!command.is_empty()).then(|| command.clone());
    }
    let defaults = spec.framework.defaults();
    if defaults.command.is_empty() {
        return None;
    }
    // The default commands bind the default port; a custom port must be bound too, or every probe fails.
    let default_bind = format!("0.0.0.0:{}", defaults.port);
    let bind = format!("0.0.0.0:{}", spec.effective_port());
    Some(defaults.command.iter().map(|arg| if *arg == default_bind { bind.clone() } else { arg.to_string() }).collect())
}

/// Plain env first, then config keys from the ConfigMap, then secret keys from the Secret, each sorted by name.
fn env(spec: &AppSpec) -> Vec<EnvVar> {
    let ctx = AppContext::offline(spec);
    let plain = spec.env.iter().map(|(name, value)| EnvVar {
        name: name.clone(),
        value: Some(value.clone()),
        value_from: None,
    });
    let config = spec.config.keys().map(|key| EnvVar {
        name: key.clone(),
        value: None,
        value_from: Some(EnvVarSource {
            config_map_key_ref: Some(ConfigMapKeySelector {
                name: ctx.config_map_name(),
                key: key.clone(),
                optional: None,
            }),
            ..EnvVarSource::default()
        }),
    });
    let secrets = spec.secrets.keys().map(|key| EnvVar {
        name: key.clone(),
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector { name: ctx.secret_name(), key: key.clone(), optional: None }),
            ..EnvVarSource::default()
        }),
    });
    let referenced = spec.secret_refs.iter().filter_map(|r| {
        let (key, env) = (r.key.as_ref()?, r.env.as_ref()?);
        Some(EnvVar {
            name: env.clone(),
            value: None,
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector { name: r.secret.clone(), key: key.clone(), optional: None }),
                ..EnvVarSource::default()
            }),
        })
    });
    plain.chain(config).chain(secrets).chain(referenced).collect()
}

/// Whole Secrets the app references, each key a variable. `env` entries win over these on a name clash, as
/// Kubernetes defines.
fn env_from(spec: &AppSpec) -> Vec<EnvFromSource> {
    spec.secret_refs
        .iter()
        .filter(|r| r.key.is_none())
        .map(|r| EnvFromSource {
            secret_ref: Some(SecretEnvSource { name: r.secret.clone(), optional: None }),
            ..EnvFromSource::default()
        })
        .collect()
}

/// Requests and limits; no CPU limit unless one is set, so the container can burst instead of being throttled.
fn resources(spec: &AppSpec) -> ResourceRequirements {
    let r = spec.effective_resources();
    let requests = BTreeMap::from([
        ("cpu".to_string(), Quantity(r.cpu_request.to_string())),
        ("memory".to_string(), Quantity(r.memory_request.to_string())),
    ]);
    let mut limits = BTreeMap::from([("memory".to_string(), Quantity(r.memory_limit.to_string()))]);
    if let Some(cpu) = r.cpu_limit {
        limits.insert("cpu".to_string(), Quantity(cpu.to_string()));
    }
    ResourceRequirements { requests: Some(requests), limits: Some(limits), claims: None }
}

/// Startup, liveness and readiness probes over HTTP on the `http` port.
fn probes(spec: &AppSpec) -> Result<(Probe, Probe, Probe)> {
    let defaults = spec.framework.defaults();
    let overrides = spec.probes.clone().unwrap_or_default();
    let liveness_path = overrides.liveness_path.unwrap_or_else(|| defaults.liveness_path.to_string());
    let readiness_path = overrides.readiness_path.unwrap_or_else(|| defaults.readiness_path.to_string());
    let startup_seconds = overrides.startup_seconds.unwrap_or(defaults.startup_seconds);
    // The startup probe holds liveness off for the whole budget, polled every few seconds; at least one try.
    let startup_failures = to_i32("probes.startup_seconds", startup_seconds.div_ceil(STARTUP_PERIOD_SECONDS).max(1))?;
    let http = |path: &str, period: i32, failures: i32| Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_string()),
            port: IntOrString::String(HTTP_PORT_NAME.to_string()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        failure_threshold: Some(failures),
        ..Probe::default()
    };
    Ok((
        http(&readiness_path, STARTUP_PERIOD_SECONDS as i32, startup_failures),
        http(&liveness_path, LIVENESS_PERIOD_SECONDS, PROBE_FAILURE_THRESHOLD),
        http(&readiness_path, READINESS_PERIOD_SECONDS, PROBE_FAILURE_THRESHOLD),
    ))
}

/// An exec probe for a worker: slow and patient, since a ping waits for the broker.
fn worker_probe(command: &[&str]) -> Probe {
    Probe {
        exec: Some(ExecAction { command: Some(command.iter().map(|s| s.to_string()).collect()) }),
        initial_delay_seconds: Some(30),
        period_seconds: Some(60),
        timeout_seconds: Some(20),
        failure_threshold: Some(PROBE_FAILURE_THRESHOLD),
        ..Probe::default()
    }
}

/// The user the pod runs as: the spec's, else a fixed unprivileged one when non-root is required.
fn run_as_user(spec: &AppSpec) -> Option<i64> {
    spec.security.run_as_user.or(spec.security.run_as_non_root.then_some(DEFAULT_UID))
}

fn pod_security(spec: &AppSpec) -> PodSecurityContext {
    let user = run_as_user(spec);
    PodSecurityContext {
        run_as_non_root: spec.security.run_as_non_root.then_some(true),
        run_as_user: user,
        fs_group: user,
        seccomp_profile: Some(SeccompProfile { type_: "RuntimeDefault".to_string(), localhost_profile: None }),
        ..PodSecurityContext::default()
    }
}

/// Everything the restricted Pod Security Standard asks of a container; read-only root and non-root as the
/// spec says.
fn container_security(spec: &AppSpec) -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities { drop: Some(vec!["ALL".to_string()]), add: None }),
        read_only_root_filesystem: Some(spec.security.read_only_root_filesystem),
        run_as_non_root: spec.security.run_as_non_root.then_some(true),
        ..SecurityContext::default()
    }
}

/// A stable digest of `config` (FNV-1a, 64-bit): only change detection is needed, not secrecy.
fn config_hash(config: &BTreeMap<String, String>) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for (key, value) in config {
        // A separator byte that cannot occur in keys keeps `a=bc` and `ab=c` apart.
        for byte in key.bytes().chain([0]).chain(value.bytes()).chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Framework, MonitoringSpec, ProbesSpec, SecretString};

    fn spec(framework: Framework) -> AppSpec {
        AppSpec::new("shop", "web", "registry.example/web:1.0", framework)
    }

    fn web(spec: &AppSpec) -> Container {
        let deployments = deployments(&AppContext::offline(spec)).unwrap();
        deployments[0].spec.clone().unwrap().template.spec.unwrap().containers[0].clone()
    }

    #[test]
    fn env_is_plain_then_config_then_secrets_each_sorted() {
        let mut s = spec(Framework::Flask);
        s.env.insert("Z_PLAIN".into(), "z".into());
        s.env.insert("A_PLAIN".into(), "a".into());
        s.config.insert("LOG_LEVEL".into(), "info".into());
        s.config.insert("FEATURE".into(), "on".into());
        s.secrets.insert("TOKEN".into(), SecretString::new("t0ps3cret"));
        s.secrets.insert("API_KEY".into(), SecretString::new("k3y"));
        let env = env(&s);
        let names: Vec<&str> = env.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["A_PLAIN", "Z_PLAIN", "FEATURE", "LOG_LEVEL", "API_KEY", "TOKEN"]);
        let cm = env[2].value_from.as_ref().unwrap().config_map_key_ref.as_ref().unwrap();
        assert_eq!((cm.name.as_str(), cm.key.as_str()), ("web-config", "FEATURE"));
        let secret = env[5].value_from.as_ref().unwrap().secret_key_ref.as_ref().unwrap();
        assert_eq!((secret.name.as_str(), secret.key.as_str()), ("web-secrets", "TOKEN"));
        assert!(env[5].value.is_none());
    }

    #[test]
    fn no_env_renders_no_env_field() {
        assert!(web(&spec(Framework::Static)).env.is_none());
    }

    #[test]
    fn explicit_command_wins_and_static_keeps_the_entrypoint() {
        let mut s = spec(Framework::Nodejs);
        s.command = Some(vec!["node".into(), "dist/main.js".into()]);
        assert_eq!(web(&s).command.unwrap(), ["node", "dist/main.js"]);
        assert!(web(&spec(Framework::Static)).command.is_none());
    }

    #[test]
    fn a_custom_port_is_bound_by_the_default_command() {
        let mut s = spec(Framework::Flask);
        s.port = Some(8080);
        let container = web(&s);
        assert!(container.command.unwrap().contains(&"0.0.0.0:8080".to_string()));
        assert_eq!(container.ports.unwrap()[0].container_port, 8080);
    }

    #[test]
    fn probe_overrides_apply_and_startup_budget_rounds_up() {
        let mut s = spec(Framework::Django);
        s.probes =
            Some(ProbesSpec { liveness_path: Some("/alive".into()), readiness_path: None, startup_seconds: Some(12) });
        let (startup, liveness, readiness) = probes(&s).unwrap();
        assert_eq!(startup.failure_threshold, Some(3));
        assert_eq!(startup.period_seconds, Some(5));
        assert_eq!(startup.http_get.unwrap().path.as_deref(), Some("/readyz"));
        assert_eq!(liveness.http_get.unwrap().path.as_deref(), Some("/alive"));
        assert_eq!((liveness.period_seconds, liveness.failure_threshold), (Some(10), Some(3)));
        assert_eq!((readiness.period_seconds, readiness.failure_threshold), (Some(5), Some(3)));
        s.probes = Some(ProbesSpec { startup_seconds: Some(0), ..ProbesSpec::default() });
        assert_eq!(probes(&s).unwrap().0.failure_threshold, Some(1));
    }

    #[test]
    fn separate_metrics_port_gets_a_named_container_port() {
        let mut s = spec(Framework::Nodejs);
        s.monitoring = Some(MonitoringSpec {
            metrics_port: Some(9100),
            metrics_path: "/metrics".into(),
            alerts: Default::default(),
        });
        let ports = web(&s).ports.unwrap();
        assert_eq!(ports.len(), 2);
        assert_eq!((ports[1].name.as_deref(), ports[1].container_port), (Some("metrics"), 9100));
        s.monitoring.as_mut().unwrap().metrics_port = Some(3000);
        assert_eq!(web(&s).ports.unwrap().len(), 1);
    }

    #[test]
    fn strategy_surges_by_replica_count() {
        let one = strategy(1).rolling_update.unwrap();
        assert_eq!((one.max_surge, one.max_unavailable), (Some(IntOrString::Int(1)), Some(IntOrString::Int(0))));
        let many = strategy(3).rolling_update.unwrap();
        assert_eq!(many.max_surge, Some(IntOrString::String("25%".into())));
        assert_eq!(many.max_unavailable, Some(IntOrString::Int(0)));
    }

    #[test]
    fn config_changes_change_the_pod_annotation() {
        let mut a = BTreeMap::from([("K".to_string(), "v1".to_string())]);
        let first = config_hash(&a);
        assert_eq!(first, config_hash(&a.clone()));
        a.insert("K".into(), "v2".into());
        assert_ne!(first, config_hash(&a));
        let split_one = BTreeMap::from([("a".to_string(), "bc".to_string())]);
        let split_two = BTreeMap::from([("ab".to_string(), "c".to_string())]);
        assert_ne!(config_hash(&split_one), config_hash(&split_two));
    }

    #[test]
    fn an_explicit_user_is_kept_even_without_non_root() {
        let mut s = spec(Framework::Static);
        s.security.run_as_non_root = false;
        assert_eq!(pod_security(&s).run_as_user, None);
        s.security.run_as_user = Some(2000);
        let pod = pod_security(&s);
        assert_eq!((pod.run_as_user, pod.fs_group, pod.run_as_non_root), (Some(2000), Some(2000), None));
    }
}
