//! Applications: `AppSpec` in, typed Kubernetes objects and `AppStatus` out.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::common::{AppRef, Labels, SecretString};
use super::units::{Cpu, Memory};

/// What an application should be. Load it from YAML with [`crate::model::from_yaml`]; validate it with
/// [`crate::validate::app_spec`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppSpec {
    /// Application name (DNS-1123 label).
    pub name: String,
    /// Namespace (DNS-1123 label).
    pub namespace: String,
    /// Container image reference (`registry/repo:tag` or `…@sha256:…`).
    pub image: String,
    /// Framework: decides the port, health paths and command when they are not given.
    #[serde(default)]
    pub framework: Framework,
    /// Container port; the framework's default when absent.
    #[serde(default)]
    pub port: Option<u16>,
    /// Replicas; the tier's default when absent. Ignored (no `spec.replicas`) when autoscaling is on.
    #[serde(default)]
    pub replicas: Option<u32>,
    /// Plan tier: decides requests and limits when `resources` is absent.
    #[serde(default)]
    pub tier: PlanTier,
    /// Explicit requests and limits, overriding the tier.
    #[serde(default)]
    pub resources: Option<Resources>,
    /// Container command override.
    #[serde(default)]
    pub command: Option<Vec<String>>,
    /// Plain environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Configuration data, mounted from a ConfigMap and exposed as environment variables.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    /// Secret values, stored in the Secret `<app>-secrets` and exposed as environment variables. Redacted in
    /// `Debug`. Specs kept in git should use [`AppSpec::secret_refs`] instead.
    #[serde(default)]
    pub secrets: BTreeMap<String, SecretString>,
    /// Existing Secrets the app reads (made by External Secrets, sealed-secrets, a vault operator or by hand):
    /// a whole Secret as environment variables, or single keys. wooo never writes them; a change to one rolls
    /// the pods when the deployer can read it (see [`crate::render::SecretInputs`]).
    #[serde(default)]
    pub secret_refs: Vec<SecretRef>,
    /// Whether wooo manages the namespace's labels even when the namespace was not created by wooo. Off by
    /// default: a namespace that exists already (made by hand, or by another tool) is left exactly as it is, and
    /// only a namespace wooo creates gets its Pod Security labels.
    #[serde(default)]
    pub manage_namespace: bool,
    /// Probe overrides; the framework's defaults otherwise.
    #[serde(default)]
    pub probes: Option<ProbesSpec>,
    /// Public HTTP(S) exposure.
    #[serde(default)]
    pub ingress: Option<IngressSpec>,
    /// Horizontal autoscaling.
    #[serde(default)]
    pub autoscaling: Option<AutoscalingSpec>,
    /// Pod disruption budget.
    #[serde(default)]
    pub disruption_budget: Option<DisruptionBudgetSpec>,
    /// Tenant network isolation.
    #[serde(default)]
    pub isolation: Option<IsolationSpec>,
    /// Metrics scraping and alerting.
    #[serde(default)]
    pub monitoring: Option<MonitoringSpec>,
    /// Pod security opt-outs (restricted by default).
    #[serde(default)]
    pub security: SecuritySpec,
    /// Extra labels on every object.
    #[serde(default)]
    pub labels: Labels,
    /// Extra annotations on the pods.
    #[serde(default)]
    pub annotations: Labels,
    /// Per environment deltas, merged with [`AppSpec::for_environment`].
    #[serde(default)]
    pub overlays: BTreeMap<Environment, AppOverlay>,
}

impl AppSpec {
    /// A minimal spec: the framework's and tier's defaults for everything else.
    pub fn new(
        namespace: impl Into<String>,
        name: impl Into<String>,
        image: impl Into<String>,
        framework: Framework,
    ) -> Self {
        Self {
            name: name.into(),
            namespace: namespace.into(),
            image: image.into(),
            framework,
            port: None,
            replicas: None,
            tier: PlanTier::default(),
            resources: None,
            command: None,
            env: BTreeMap::new(),
            config: BTreeMap::new(),
            secrets: BTreeMap::new(),
            secret_refs: Vec::new(),
            manage_namespace: false,
            probes: None,
            ingress: None,
            autoscaling: None,
            disruption_budget: None,
            isolation: None,
            monitoring: None,
            security: SecuritySpec::default(),
            labels: Labels::new(),
            annotations: Labels::new(),
            overlays: BTreeMap::new(),
        }
    }

    /// The app's reference (namespace and name).
    pub fn app_ref(&self) -> AppRef {
        AppRef::new(self.namespace.clone(), self.name.clone())
    }

    /// The Secret wooo writes for the app: the inline `secrets` and the rollout key.
    pub fn secret_name(&self) -> String {
        format!("{}-secrets", self.name)
    }

    /// Whether the pods read anything from Secrets (inline `secrets` or `secret_refs`).
    pub fn reads_secrets(&self) -> bool {
        !self.secrets.is_empty() || !self.secret_refs.is_empty()
    }

    /// The effective container port.
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or_else(|| self.framework.defaults().port)
    }

    /// The effective replica count (explicit, else the tier's).
    pub fn effective_replicas(&self) -> u32 {
        self.replicas.unwrap_or_else(|| self.tier.defaults().replicas)
    }

    /// The effective requests and limits (explicit, else the tier's).
    pub fn effective_resources(&self) -> Resources {
        self.resources.clone().unwrap_or_else(|| self.tier.defaults().resources)
    }

    /// This spec with the overlay for `env` merged on top (scalars replace, maps merge key by key, an overlay
    /// section replaces the base section). The result has no overlays left.
    pub fn for_environment(&self, env: Environment) -> AppSpec {
        let mut out = self.clone();
        out.overlays.clear();
        let Some(o) = self.overlays.get(&env) else {
            return out;
        };
        if let Some(image) = &o.image {
            out.image = image.clone();
        }
        if let Some(r) = o.replicas {
            out.replicas = Some(r);
        }
        if let Some(t) = o.tier {
            out.tier = t;
        }
        if let Some(r) = &o.resources {
            out.resources = Some(r.clone());
        }
        out.env.extend(o.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        out.config.extend(o.config.iter().map(|(k, v)| (k.clone(), v.clone())));
        out.labels.extend(o.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        if let Some(i) = &o.ingress {
            out.ingress = Some(i.clone());
        }
        if let Some(a) = &o.autoscaling {
            out.autoscaling = Some(a.clone());
        }
        if let Some(d) = &o.disruption_budget {
            out.disruption_budget = Some(d.clone());
        }
        if let Some(m) = &o.monitoring {
            out.monitoring = Some(m.clone());
        }
        out
    }
}

/// Deployment environments overlays are keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// Development.
    Dev,
    /// Staging.
    Staging,
    /// Production.
    Prod,
}

/// Deltas for one environment. Every field is optional; see [`AppSpec::for_environment`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppOverlay {
    /// Image override.
    #[serde(default)]
    pub image: Option<String>,
    /// Replicas override.
    #[serde(default)]
    pub replicas: Option<u32>,
    /// Tier override.
    #[serde(default)]
    pub tier: Option<PlanTier>,
    /// Resources override.
    #[serde(default)]
    pub resources: Option<Resources>,
    /// Environment variables added or replaced.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Config entries added or replaced.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    /// Labels added or replaced.
    #[serde(default)]
    pub labels: Labels,
    /// Ingress replacement.
    #[serde(default)]
    pub ingress: Option<IngressSpec>,
    /// Autoscaling replacement.
    #[serde(default)]
    pub autoscaling: Option<AutoscalingSpec>,
    /// Disruption budget replacement.
    #[serde(default)]
    pub disruption_budget: Option<DisruptionBudgetSpec>,
    /// Monitoring replacement.
    #[serde(default)]
    pub monitoring: Option<MonitoringSpec>,
}

/// Container requests and limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// CPU request.
    pub cpu_request: Cpu,
    /// Memory request.
    pub memory_request: Memory,
    /// CPU limit; none lets the container burst (the default in the tiers, to avoid CFS throttling).
    #[serde(default)]
    pub cpu_limit: Option<Cpu>,
    /// Memory limit.
    pub memory_limit: Memory,
}

/// A reference to an existing Secret in the app's namespace.
///
/// ```yaml
/// secret_refs:
///   - secret: db-credentials      # every key of the Secret becomes an environment variable (envFrom)
///   - secret: stripe              # one key, under a variable name of the app's choosing
///     key: api-key
///     env: STRIPE_API_KEY
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    /// The Secret's name (DNS-1123 subdomain), in the app's namespace.
    pub secret: String,
    /// One key of the Secret; absent: every key, each as a variable of the same name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The variable the key is exposed as; required with `key`, refused without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
}

impl SecretRef {
    /// Every key of `secret`, as environment variables.
    pub fn all(secret: impl Into<String>) -> Self {
        Self { secret: secret.into(), key: None, env: None }
    }

    /// One key of `secret`, as the variable `env`.
    pub fn key(secret: impl Into<String>, key: impl Into<String>, env: impl Into<String>) -> Self {
        Self { secret: secret.into(), key: Some(key.into()), env: Some(env.into()) }
    }
}

/// Plan tiers: sized packages of requests, limits and replicas.
///
/// The requests are the platform's published tiers (basic 250m / 256Mi, standard 500m / 512Mi, advanced 1 CPU /
/// 1Gi, professional 2 CPU / 2Gi). Limits are wooo's choice: memory limit = 2 × the request (memory is not
/// compressible, so headroom avoids OOM kills on short peaks), CPU limit = 4 × the request (CPU is throttled,
/// never killed; the cap only stops one pod from starving its neighbours).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlanTier {
    /// 1 replica, 250m / 256Mi requested, limits 1 CPU / 512Mi.
    Basic,
    /// The default: 2 replicas, 500m / 512Mi requested, limits 2 CPU / 1Gi.
    #[default]
    Standard,
    /// 3 replicas, 1 CPU / 1Gi requested, limits 4 CPU / 2Gi.
    Advanced,
    /// 3 replicas, 2 CPU / 2Gi requested, limits 8 CPU / 4Gi.
    Professional,
}

/// What a tier stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierDefaults {
    /// Replicas.
    pub replicas: u32,
    /// Requests and limits.
    pub resources: Resources,
}

impl PlanTier {
    /// The tier's replicas, requests and limits.
    pub fn defaults(self) -> TierDefaults {
        let (replicas, cpu_req, mem_req, cpu_lim, mem_lim) = match self {
            PlanTier::Basic => (1, 250, 256, 1000, 512),
            PlanTier::Standard => (2, 500, 512, 2000, 1024),
            PlanTier::Advanced => (3, 1000, 1024, 4000, 2048),
            PlanTier::Professional => (3, 2000, 2048, 8000, 4096),
        };
        TierDefaults {
            replicas,
            resources: Resources {
                cpu_request: Cpu::from_millis(cpu_req),
                memory_request: Memory::from_mib(mem_req),
                cpu_limit: Some(Cpu::from_millis(cpu_lim)),
                memory_limit: Memory::from_mib(mem_lim),
            },
        }
    }
}

/// Application frameworks with known conventions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Framework {
    /// Flask behind gunicorn, port 5000.
    Flask,
    /// Django behind gunicorn, port 8000, plus a Celery worker Deployment.
    Django,
    /// Node.js, port 3000.
    Nodejs,
    /// Next.js, port 3000.
    Nextjs,
    /// Static files served by an unprivileged nginx, port 8080.
    #[default]
    Static,
}

/// What a framework stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameworkDefaults {
    /// Container port.
    pub port: u16,
    /// Liveness probe path.
    pub liveness_path: &'static str,
    /// Readiness probe path.
    pub readiness_path: &'static str,
    /// Seconds the app may take to start (startup probe budget).
    pub startup_seconds: u32,
    /// Default command; the image's entrypoint when empty.
    pub command: &'static [&'static str],
    /// Command of the background worker Deployment, for frameworks that have one.
    pub worker_command: Option<&'static [&'static str]>,
    /// Health check of the worker (an exec probe), for frameworks that have one.
    pub worker_health_command: Option<&'static [&'static str]>,
}

impl Framework {
    /// The framework's conventions.
    pub fn defaults(self) -> FrameworkDefaults {
        match self {
            Framework::Flask => FrameworkDefaults {
                port: 5000,
                liveness_path: "/health",
                readiness_path: "/ready",
                startup_seconds: 60,
                command: &["gunicorn", "--bind", "0.0.0.0:5000", "--workers", "2", "app:app"],
                worker_command: None,
                worker_health_command: None,
            },
            Framework::Django => FrameworkDefaults {
                port: 8000,
                liveness_path: "/healthz",
                readiness_path: "/readyz",
                startup_seconds: 120,
                command: &["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "3", "config.wsgi:application"],
                worker_command: Some(&["celery", "-A", "config", "worker", "--loglevel=INFO"]),
                // Celery's own liveness check: the worker on this pod answers a broadcast ping.
                worker_health_command: Some(&[
                    "sh",
                    "-c",
                    "celery -A config inspect ping --destination celery@$HOSTNAME --timeout 10",
                ]),
            },
            Framework::Nodejs => FrameworkDefaults {
                port: 3000,
                liveness_path: "/health",
                readiness_path: "/ready",
                startup_seconds: 60,
                command: &["node", "server.js"],
                worker_command: None,
                worker_health_command: None,
            },
            Framework::Nextjs => FrameworkDefaults {
                port: 3000,
                liveness_path: "/api/health",
                readiness_path: "/api/health",
                startup_seconds: 90,
                command: &["npm", "run", "start"],
                worker_command: None,
                worker_health_command: None,
            },
            Framework::Static => FrameworkDefaults {
                port: 8080,
                liveness_path: "/",
                readiness_path: "/",
                startup_seconds: 30,
                command: &[],
                worker_command: None,
                worker_health_command: None,
            },
        }
    }
}

/// Probe overrides.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbesSpec {
    /// Liveness HTTP path.
    #[serde(default)]
    pub liveness_path: Option<String>,
    /// Readiness HTTP path.
    #[serde(default)]
    pub readiness_path: Option<String>,
    /// Startup budget in seconds.
    #[serde(default)]
    pub startup_seconds: Option<u32>,
}

/// Public HTTP(S) exposure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngressSpec {
    /// Host name (DNS-1123 subdomain).
    pub host: String,
    /// Path prefix.
    #[serde(default = "default_path")]
    pub path: String,
    /// Ingress class.
    #[serde(default)]
    pub class_name: Option<String>,
    /// TLS; plain HTTP when absent.
    #[serde(default)]
    pub tls: Option<TlsSpec>,
}

fn default_path() -> String {
    "/".to_string()
}

/// TLS via cert-manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSpec {
    /// cert-manager ClusterIssuer name.
    pub issuer: String,
    /// Secret that holds the certificate; `<app>-tls` when absent.
    #[serde(default)]
    pub secret_name: Option<String>,
}

/// Horizontal autoscaling (rendered as autoscaling/v2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoscalingSpec {
    /// Minimum replicas (≥ 1).
    pub min_replicas: u32,
    /// Maximum replicas.
    pub max_replicas: u32,
    /// Target average CPU utilisation, percent of request.
    #[serde(default)]
    pub cpu_target_percent: Option<u32>,
    /// Target average memory utilisation, percent of request.
    #[serde(default)]
    pub memory_target_percent: Option<u32>,
    /// Scale-up behaviour.
    #[serde(default)]
    pub scale_up: Option<ScalingRule>,
    /// Scale-down behaviour.
    #[serde(default)]
    pub scale_down: Option<ScalingRule>,
}

/// HPA behaviour for one direction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScalingRule {
    /// Stabilization window.
    #[serde(with = "super::units::duration_str")]
    pub stabilization_window: Duration,
    /// At most this many pods per period.
    #[serde(default)]
    pub max_pods_per_period: Option<u32>,
    /// At most this percent of current pods per period.
    #[serde(default)]
    pub max_percent_per_period: Option<u32>,
    /// The period policies are measured over (1s to 30m).
    #[serde(with = "super::units::duration_str", default = "default_period")]
    pub period: Duration,
}

fn default_period() -> Duration {
    Duration::from_secs(60)
}

/// A count or a percentage (`2` or `"50%"`), as PodDisruptionBudget takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IntOrPercent {
    /// A count.
    Int(u32),
    /// A percentage written `"50%"`.
    Percent(String),
}

/// Pod disruption budget. Exactly one of the two.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisruptionBudgetSpec {
    /// Pods that must stay available.
    #[serde(default)]
    pub min_available: Option<IntOrPercent>,
    /// Pods that may be unavailable.
    #[serde(default)]
    pub max_unavailable: Option<IntOrPercent>,
}

/// Tenant isolation: ingress only from the ingress controller and monitoring namespaces, egress only to DNS
/// and the app's own database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IsolationSpec {
    /// Namespace of the ingress controller.
    #[serde(default = "default_ingress_ns")]
    pub ingress_namespace: String,
    /// Namespace of the monitoring stack.
    #[serde(default = "default_monitoring_ns")]
    pub monitoring_namespace: String,
    /// The app's database, allowed as egress.
    #[serde(default)]
    pub database: Option<DatabaseEgress>,
}

fn default_ingress_ns() -> String {
    "ingress-nginx".to_string()
}

fn default_monitoring_ns() -> String {
    "monitoring".to_string()
}

/// The database an isolated app may reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseEgress {
    /// IPv4 CIDR of the database.
    pub cidr: String,
    /// Port.
    pub port: u16,
}

/// Metrics scraping and alerting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitoringSpec {
    /// Port serving metrics; the app port when absent.
    #[serde(default)]
    pub metrics_port: Option<u16>,
    /// Metrics path.
    #[serde(default = "default_metrics_path")]
    pub metrics_path: String,
    /// Alert thresholds.
    #[serde(default)]
    pub alerts: AlertThresholds,
}

fn default_metrics_path() -> String {
    "/metrics".to_string()
}

/// Alert thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertThresholds {
    /// Memory working set above this share of the limit (0 to 1).
    #[serde(default = "default_memory_ratio")]
    pub memory_ratio: f64,
    /// 5xx responses above this share of all responses (0 to 1).
    #[serde(default = "default_error_ratio")]
    pub error_ratio_5xx: f64,
    /// p95 latency above this.
    #[serde(with = "super::units::duration_str", default = "default_p95")]
    pub p95_latency: Duration,
    /// How long a condition must hold before the alert fires.
    #[serde(with = "super::units::duration_str", default = "default_for")]
    pub for_duration: Duration,
}

fn default_memory_ratio() -> f64 {
    0.9
}
fn default_error_ratio() -> f64 {
    0.05
}
fn default_p95() -> Duration {
    Duration::from_millis(500)
}
fn default_for() -> Duration {
    Duration::from_secs(300)
}

impl Default for AlertThresholds {
    fn default() -> Self {
        Self {
            memory_ratio: default_memory_ratio(),
            error_ratio_5xx: default_error_ratio(),
            p95_latency: default_p95(),
            for_duration: default_for(),
        }
    }
}

/// Pod security: restricted unless opted out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySpec {
    /// Read-only root filesystem (a writable `/tmp` is mounted).
    #[serde(default = "yes")]
    pub read_only_root_filesystem: bool,
    /// Run as a non-root user.
    #[serde(default = "yes")]
    pub run_as_non_root: bool,
    /// UID to run as.
    #[serde(default)]
    pub run_as_user: Option<i64>,
}

fn yes() -> bool {
    true
}

impl Default for SecuritySpec {
    fn default() -> Self {
        Self { read_only_root_filesystem: true, run_as_non_root: true, run_as_user: None }
    }
}

/// kstatus health of an application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Health {
    /// Fully rolled out and available.
    Current,
    /// Rolling out.
    InProgress {
        /// What is still happening.
        message: String,
    },
    /// Failed (e.g. progress deadline exceeded).
    Failed {
        /// Why.
        reason: String,
    },
}

impl Health {
    /// Whether nothing more will happen without a change (Current or Failed).
    pub fn is_terminal(&self) -> bool {
        !matches!(self, Health::InProgress { .. })
    }
}

/// Observed status of an application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppStatus {
    /// The app.
    pub app: AppRef,
    /// Health.
    pub health: Health,
    /// Current revision number (1 for the first apply).
    pub revision: u64,
    /// Replicas wanted.
    pub desired_replicas: u32,
    /// Replicas running the current revision.
    pub updated_replicas: u32,
    /// Replicas ready.
    pub ready_replicas: u32,
    /// Replicas available (ready for at least minReadySeconds).
    pub available_replicas: u32,
}

/// One stored revision of an application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revision {
    /// Revision number, increasing.
    pub number: u64,
    /// When it was applied.
    pub applied_at: Timestamp,
    /// The spec applied.
    pub spec: AppSpec,
    /// Why (`apply`, `rollback to 2`, `scale`).
    pub cause: String,
}

/// What applying an app would change, object by object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppDiff {
    /// The app.
    pub app: AppRef,
    /// Per object changes; objects that would not change are left out.
    pub changes: Vec<ObjectChange>,
}

impl AppDiff {
    /// Whether applying would change nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// A change to one Kubernetes object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectChange {
    /// `Kind/name`.
    pub object: String,
    /// How.
    pub action: super::cluster::ChangeAction,
    /// Changed field paths (JSON pointer style).
    pub fields: Vec<String>,
}
