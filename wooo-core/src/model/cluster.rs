//! Clusters: `ClusterSpec` in, `Cluster` out, plus plans and access data.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::common::{CloudKind, ClusterId, Labels, SecretString};

/// What a cluster should be. Load it from YAML with [`crate::model::from_yaml`]; validate it with
/// [`crate::validate::cluster_spec`] (every provider does so before its first API call).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    /// Cluster name (DNS-1123 label, at most 40 characters so provider-derived names fit). It is the [`ClusterId`].
    pub name: String,
    /// The cloud.
    pub provider: CloudKind,
    /// AWS region, Azure location, GCP region or zone; for K3s a free-form site name.
    pub region: String,
    /// Kubernetes minor (`1.33`) or patch (`1.33.2`) version.
    pub kubernetes_version: String,
    /// Node pools (at least one).
    #[serde(default)]
    pub node_pools: Vec<NodePoolSpec>,
    /// Networking inputs.
    #[serde(default)]
    pub network: NetworkSpec,
    /// Cloud tags. wooo adds its ownership tag [`crate::model::OWNER_TAG`] itself.
    #[serde(default)]
    pub tags: Labels,
}

impl ClusterSpec {
    /// The id the cluster will have.
    pub fn id(&self) -> ClusterId {
        ClusterId::new(self.name.clone())
    }

    /// The node pool named `name`.
    pub fn node_pool(&self, name: &str) -> Option<&NodePoolSpec> {
        self.node_pools.iter().find(|p| p.name == name)
    }
}

/// One group of identical nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodePoolSpec {
    /// Pool name (DNS-1123 label).
    pub name: String,
    /// Instance types (VM sizes, machine types), most preferred first. Several allow spot diversification.
    pub instance_types: Vec<String>,
    /// Minimum node count.
    pub min: u32,
    /// Maximum node count.
    pub max: u32,
    /// Desired node count; `min` when absent.
    #[serde(default)]
    pub desired: Option<u32>,
    /// On-demand or spot capacity.
    #[serde(default)]
    pub capacity: Capacity,
    /// Kubernetes labels put on the nodes.
    #[serde(default)]
    pub labels: Labels,
    /// Taints put on the nodes.
    #[serde(default)]
    pub taints: Vec<Taint>,
    /// Root disk.
    #[serde(default)]
    pub disk: DiskSpec,
    /// Availability zones; empty lets the provider spread over the region's zones.
    #[serde(default)]
    pub zones: Vec<String>,
}

impl NodePoolSpec {
    /// The desired node count (`desired`, else `min`).
    pub fn desired_count(&self) -> u32 {
        self.desired.unwrap_or(self.min)
    }
}

/// How nodes are bought.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capacity {
    /// Regular, uninterruptible capacity.
    #[default]
    OnDemand,
    /// Spot / preemptible capacity: cheaper, may be reclaimed.
    Spot,
}

impl fmt::Display for Capacity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Capacity::OnDemand => "on-demand",
            Capacity::Spot => "spot",
        })
    }
}

/// A node taint.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Taint {
    /// Taint key (a label key).
    pub key: String,
    /// Taint value (a label value); may be absent.
    #[serde(default)]
    pub value: Option<String>,
    /// Effect.
    pub effect: TaintEffect,
}

/// A taint's effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TaintEffect {
    /// Pods that do not tolerate it are not scheduled.
    NoSchedule,
    /// The scheduler avoids the node.
    PreferNoSchedule,
    /// Running pods that do not tolerate it are evicted.
    NoExecute,
}

/// A node's root disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiskSpec {
    /// Size in GiB (20 to 16384).
    #[serde(default = "default_disk_gib")]
    pub size_gib: u32,
    /// Provider disk type (`gp3`, `Premium_LRS`, `pd-balanced`); the provider's default when absent.
    #[serde(default)]
    pub kind: Option<String>,
}

fn default_disk_gib() -> u32 {
    50
}

impl Default for DiskSpec {
    fn default() -> Self {
        Self { size_gib: default_disk_gib(), kind: None }
    }
}

/// Networking inputs. Everything is optional: providers create what is missing.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Existing VPC / VNet / network id to use; created when absent.
    #[serde(default)]
    pub network_id: Option<String>,
    /// Existing subnet ids to put nodes in.
    #[serde(default)]
    pub subnet_ids: Vec<String>,
    /// CIDR of a network wooo creates (IPv4, e.g. `10.0.0.0/16`).
    #[serde(default)]
    pub vpc_cidr: Option<String>,
    /// Pod CIDR (IPv4).
    #[serde(default)]
    pub pod_cidr: Option<String>,
    /// Service CIDR (IPv4).
    #[serde(default)]
    pub service_cidr: Option<String>,
    /// Where the API server can be reached.
    #[serde(default)]
    pub endpoint_access: EndpointAccess,
    /// CIDRs allowed to reach a public API endpoint; empty means anywhere.
    #[serde(default)]
    pub public_access_cidrs: Vec<String>,
}

/// API server endpoint exposure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointAccess {
    /// Public endpoint only.
    Public,
    /// Private endpoint only.
    Private,
    /// Both.
    #[default]
    PublicAndPrivate,
}

/// A cluster as the provider reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    /// Identity.
    pub id: ClusterId,
    /// The spec last applied (as far as the provider can tell).
    pub spec: ClusterSpec,
    /// Observed status.
    pub status: ClusterStatus,
}

impl Cluster {
    /// Whether the cluster is available (its `Available` condition is true).
    pub fn is_ready(&self) -> bool {
        self.status.condition(ConditionType::Available).is_some_and(|c| c.status)
    }

    /// The failure, when the `Failed` condition is true.
    pub fn failure(&self) -> Option<&Condition> {
        self.status.condition(ConditionType::Failed).filter(|c| c.status)
    }
}

/// Observed status of a cluster.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ClusterStatus {
    /// Conditions, one per type at most.
    pub conditions: Vec<Condition>,
    /// API server URL, once known.
    pub endpoint: Option<String>,
    /// Base64 PEM of the cluster CA, once known. Public data.
    pub ca_data: Option<String>,
    /// Kubernetes version actually running.
    pub kubernetes_version: Option<String>,
    /// Provider platform version (EKS platform version, AKS node image, GKE release channel version).
    pub platform_version: Option<String>,
    /// Per node pool status.
    pub node_pools: Vec<NodePoolStatus>,
    /// When the cluster was created.
    pub created_at: Option<Timestamp>,
    /// Whether the cluster carries wooo's ownership tag.
    pub owned: bool,
}

impl ClusterStatus {
    /// The condition of a type.
    pub fn condition(&self, kind: ConditionType) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.kind == kind)
    }

    /// Sets a condition, replacing the one of the same type; the transition time moves only when the status flips.
    pub fn set_condition(
        &mut self,
        kind: ConditionType,
        status: bool,
        reason: impl Into<String>,
        message: impl Into<String>,
        now: Timestamp,
    ) {
        let (reason, message) = (reason.into(), message.into());
        match self.conditions.iter_mut().find(|c| c.kind == kind) {
            Some(c) => {
                if c.status != status {
                    c.last_transition = now;
                }
                c.status = status;
                c.reason = reason;
                c.message = message;
            }
            None => self.conditions.push(Condition { kind, status, reason, message, last_transition: now }),
        }
    }
}

/// Status of one node pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodePoolStatus {
    /// Pool name.
    pub name: String,
    /// Nodes ready.
    pub ready_nodes: u32,
    /// Nodes desired.
    pub desired_nodes: u32,
    /// Whether the pool is being created, updated or deleted.
    pub updating: bool,
}

/// The type of a cluster condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConditionType {
    /// The cluster serves its API and its pools are at their desired size.
    Available,
    /// Creation or an update is in progress.
    Provisioning,
    /// Deletion is in progress.
    Deleting,
    /// The last operation failed; `reason` and `message` say why.
    Failed,
}

/// One condition of a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    /// Type.
    #[serde(rename = "type")]
    pub kind: ConditionType,
    /// Whether it holds.
    pub status: bool,
    /// Machine-readable CamelCase reason.
    pub reason: String,
    /// Human-readable message.
    pub message: String,
    /// When `status` last changed.
    pub last_transition: Timestamp,
}

/// What applying a spec would change, computed before anything changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterPlan {
    /// The cluster.
    pub cluster: ClusterId,
    /// Changes, in the order they would be made.
    pub changes: Vec<PlannedChange>,
}

impl ClusterPlan {
    /// Whether applying would change nothing.
    pub fn is_noop(&self) -> bool {
        self.changes.iter().all(|c| c.action == ChangeAction::NoOp)
    }

    /// Whether any change destroys something (replace or delete).
    pub fn is_destructive(&self) -> bool {
        self.changes.iter().any(|c| matches!(c.action, ChangeAction::Replace | ChangeAction::Delete))
    }
}

impl fmt::Display for ClusterPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "plan for cluster {}:", self.cluster)?;
        for c in &self.changes {
            writeln!(f, "  {c}")?;
        }
        Ok(())
    }
}

/// One change of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedChange {
    /// What is changed: `cluster` or `node_pool/<name>`.
    pub target: String,
    /// How.
    pub action: ChangeAction,
    /// The fields that differ (spec field paths), for updates and replacements.
    pub fields: Vec<String>,
    /// Why, in words.
    pub reason: String,
}

impl fmt::Display for PlannedChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = match self.action {
            ChangeAction::Create => "+",
            ChangeAction::UpdateInPlace => "~",
            ChangeAction::Replace => "-/+",
            ChangeAction::Delete => "-",
            ChangeAction::NoOp => "=",
        };
        write!(f, "{sign} {} ({:?}): {}", self.target, self.action, self.reason)?;
        if !self.fields.is_empty() {
            write!(f, " [{}]", self.fields.join(", "))?;
        }
        Ok(())
    }
}

/// How a plan changes a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeAction {
    /// Created.
    Create,
    /// Updated without replacing it.
    UpdateInPlace,
    /// Deleted and created again (the change cannot be made in place).
    Replace,
    /// Deleted.
    Delete,
    /// Already as asked.
    NoOp,
}

/// How to reach a ready cluster's API server. Turn it into a kubeconfig with
/// [`ClusterAccess::to_kubeconfig_yaml`], or into a `kube::Client` with `wooo_providers::kube`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterAccess {
    /// The cluster.
    pub cluster: ClusterId,
    /// API server URL.
    pub endpoint: String,
    /// Base64 PEM of the cluster CA.
    pub ca_data: Option<String>,
    /// How to authenticate.
    pub auth: ClusterAuth,
}

/// How a client authenticates to a cluster. Secrets are redacted in `Debug`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterAuth {
    /// A bearer token.
    Token(SecretString),
    /// An exec credential plugin (`aws eks get-token`, `kubelogin`, `gke-gcloud-auth-plugin`).
    Exec {
        /// Command.
        command: String,
        /// Arguments.
        args: Vec<String>,
        /// Extra environment.
        env: Vec<(String, String)>,
    },
    /// A client certificate and key (base64 PEM).
    ClientCertificate {
        /// Certificate.
        cert_data: String,
        /// Private key.
        key_data: SecretString,
    },
}

impl ClusterAccess {
    /// A kubeconfig (YAML) with one cluster, one user and one current context, all named after the cluster.
    ///
    /// ```
    /// use wooo_core::model::{ClusterAccess, ClusterAuth, ClusterId, SecretString};
    /// let access = ClusterAccess {
    ///     cluster: ClusterId::new("demo"),
    ///     endpoint: "https://127.0.0.1:6443".into(),
    ///     ca_data: None,
    ///     auth: ClusterAuth::Token(SecretString::new("t0ken")),
    /// };
    /// let yaml = access.to_kubeconfig_yaml().unwrap();
    /// assert!(yaml.contains("current-context: demo"));
    /// assert!(!format!("{access:?}").contains("t0ken"));
    /// ```
    ///
    /// # Errors
    /// Only when YAML serialization fails, which it does not for these types.
    pub fn to_kubeconfig_yaml(&self) -> crate::Result<String> {
        crate::model::to_yaml(&kubeconfig::Kubeconfig::from_access(self))
    }
}

mod kubeconfig {
    //! The kubeconfig file format (client-go's `clientcmd/api/v1`), just what one context needs.
    use serde::Serialize;

    use super::{ClusterAccess, ClusterAuth};

    #[derive(Serialize)]
    #[serde(rename_all = "kebab-case")]
    pub(super) struct Kubeconfig {
        api_version: &'static str,
        kind: &'static str,
        clusters: Vec<Named<ClusterEntry>>,
        users: Vec<Named<UserEntry>>,
        contexts: Vec<Named<ContextEntry>>,
        current_context: String,
    }

    #[derive(Serialize)]
    struct Named<T> {
        name: String,
        #[serde(flatten)]
        value: T,
    }

    #[derive(Serialize)]
    struct ClusterEntry {
        cluster: ClusterFields,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "kebab-case")]
    struct ClusterFields {
        server: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        certificate_authority_data: Option<String>,
    }

    #[derive(Serialize)]
    struct UserEntry {
        user: UserFields,
    }

    #[derive(Serialize, Default)]
    #[serde(rename_all = "kebab-case")]
    struct UserFields {
        #[serde(skip_serializing_if = "Option::is_none")]
        token: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_certificate_data: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_key_data: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        exec: Option<ExecFields>,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ExecFields {
        api_version: &'static str,
        command: String,
        args: Vec<String>,
        env: Vec<EnvVar>,
        interactive_mode: &'static str,
    }

    #[derive(Serialize)]
    struct EnvVar {
        name: String,
        value: String,
    }

    #[derive(Serialize)]
    struct ContextEntry {
        context: ContextFields,
    }

    #[derive(Serialize)]
    struct ContextFields {
        cluster: String,
        user: String,
    }

    impl Kubeconfig {
        pub(super) fn from_access(a: &ClusterAccess) -> Self {
            let name = a.cluster.to_string();
            let user = match &a.auth {
                ClusterAuth::Token(t) => UserFields { token: Some(t.expose().to_string()), ..Default::default() },
                ClusterAuth::ClientCertificate { cert_data, key_data } => UserFields {
                    client_certificate_data: Some(cert_data.clone()),
                    client_key_data: Some(key_data.expose().to_string()),
                    ..Default::default()
                },
                ClusterAuth::Exec { command, args, env } => UserFields {
                    exec: Some(ExecFields {
                        api_version: "client.authentication.k8s.io/v1",
                        command: command.clone(),
                        args: args.clone(),
                        env: env.iter().map(|(n, v)| EnvVar { name: n.clone(), value: v.clone() }).collect(),
                        interactive_mode: "Never",
                    }),
                    ..Default::default()
                },
            };
            Kubeconfig {
                api_version: "v1",
                kind: "Config",
                clusters: vec![Named {
                    name: name.clone(),
                    value: ClusterEntry {
                        cluster: ClusterFields {
                            server: a.endpoint.clone(),
                            certificate_authority_data: a.ca_data.clone(),
                        },
                    },
                }],
                users: vec![Named { name: name.clone(), value: UserEntry { user } }],
                contexts: vec![Named {
                    name: name.clone(),
                    value: ContextEntry { context: ContextFields { cluster: name.clone(), user: name.clone() } },
                }],
                current_context: name,
            }
        }
    }
}
