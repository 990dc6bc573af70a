//! Rendering: specs become typed Kubernetes objects (k8s-openapi structs), never string templates.
//!
//! Rendering is pure. [`app`] turns an [`crate::model::AppSpec`] into its objects in apply order; the Kubernetes
//! deployer in `wooo-providers` applies exactly these, and the simulator stores them. [`mesh`] renders a
//! [`crate::model::MeshPolicy`] for Istio, the Gateway API or Linkerd; [`monitoring`], [`certificate`],
//! [`prometheus_rule_file`] and [`alertmanager_fragment`] render an app's monitoring. Custom resources are typed
//! too ([`crd`]).

mod app;
pub mod crd;
mod jsondiff;
mod mesh;
mod meta;
mod monitoring;
mod network;
mod scaling;
mod secrets;
mod workload;

pub use app::{app, app_with};
pub use jsondiff::changed_paths;
pub use mesh::{mesh, mesh_ignored};
pub use monitoring::{
    AUTO_REPAIR_LABEL, RepairAction, alert_rules, alertmanager_fragment, certificate, monitoring, prometheus_rule_file,
};
pub use secrets::{ROLLOUT_KEY_DATA_KEY, ReferencedSecret, RolloutKey, SECRET_HASH_ANNOTATION, SecretInputs};

use std::fmt;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use crd::{cert_manager, gateway, istio, linkerd, prometheus};

/// One rendered Kubernetes object, typed.
#[non_exhaustive]
#[derive(Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Object {
    /// v1 Namespace.
    Namespace(Namespace),
    /// v1 ServiceAccount.
    ServiceAccount(ServiceAccount),
    /// v1 ConfigMap.
    ConfigMap(ConfigMap),
    /// v1 Secret. Its data is redacted in `Debug`.
    Secret(Secret),
    /// apps/v1 Deployment.
    Deployment(Deployment),
    /// v1 Service.
    Service(Service),
    /// networking.k8s.io/v1 Ingress.
    Ingress(Ingress),
    /// autoscaling/v2 HorizontalPodAutoscaler.
    HorizontalPodAutoscaler(HorizontalPodAutoscaler),
    /// policy/v1 PodDisruptionBudget.
    PodDisruptionBudget(PodDisruptionBudget),
    /// networking.k8s.io/v1 NetworkPolicy.
    NetworkPolicy(NetworkPolicy),
    /// networking.istio.io/v1 VirtualService.
    VirtualService(istio::VirtualService),
    /// networking.istio.io/v1 DestinationRule.
    DestinationRule(istio::DestinationRule),
    /// security.istio.io/v1 PeerAuthentication.
    PeerAuthentication(istio::PeerAuthentication),
    /// telemetry.istio.io/v1 Telemetry.
    Telemetry(istio::Telemetry),
    /// gateway.networking.k8s.io/v1 HTTPRoute.
    HttpRoute(gateway::HttpRoute),
    /// policy.linkerd.io/v1beta3 HTTPRoute.
    LinkerdHttpRoute(linkerd::HttpRoute),
    /// monitoring.coreos.com/v1 ServiceMonitor.
    ServiceMonitor(prometheus::ServiceMonitor),
    /// monitoring.coreos.com/v1 PrometheusRule.
    PrometheusRule(prometheus::PrometheusRule),
    /// cert-manager.io/v1 Certificate.
    Certificate(cert_manager::Certificate),
}

impl Object {
    /// The object's kind (`Deployment`).
    pub fn kind(&self) -> &'static str {
        match self {
            Object::Namespace(_) => "Namespace",
            Object::ServiceAccount(_) => "ServiceAccount",
            Object::ConfigMap(_) => "ConfigMap",
            Object::Secret(_) => "Secret",
            Object::Deployment(_) => "Deployment",
            Object::Service(_) => "Service",
            Object::Ingress(_) => "Ingress",
            Object::HorizontalPodAutoscaler(_) => "HorizontalPodAutoscaler",
            Object::PodDisruptionBudget(_) => "PodDisruptionBudget",
            Object::NetworkPolicy(_) => "NetworkPolicy",
            Object::VirtualService(_) => istio::VirtualService::KIND,
            Object::DestinationRule(_) => istio::DestinationRule::KIND,
            Object::PeerAuthentication(_) => istio::PeerAuthentication::KIND,
            Object::Telemetry(_) => istio::Telemetry::KIND,
            Object::HttpRoute(_) => gateway::HttpRoute::KIND,
            Object::LinkerdHttpRoute(_) => linkerd::HttpRoute::KIND,
            Object::ServiceMonitor(_) => prometheus::ServiceMonitor::KIND,
            Object::PrometheusRule(_) => prometheus::PrometheusRule::KIND,
            Object::Certificate(_) => cert_manager::Certificate::KIND,
        }
    }

    /// The object's apiVersion (`apps/v1`).
    pub fn api_version(&self) -> &'static str {
        match self {
            Object::Namespace(_)
            | Object::ServiceAccount(_)
            | Object::ConfigMap(_)
            | Object::Secret(_)
            | Object::Service(_) => "v1",
            Object::Deployment(_) => "apps/v1",
            Object::Ingress(_) | Object::NetworkPolicy(_) => "networking.k8s.io/v1",
            Object::HorizontalPodAutoscaler(_) => "autoscaling/v2",
            Object::PodDisruptionBudget(_) => "policy/v1",
            Object::VirtualService(_) => istio::VirtualService::API_VERSION,
            Object::DestinationRule(_) => istio::DestinationRule::API_VERSION,
            Object::PeerAuthentication(_) => istio::PeerAuthentication::API_VERSION,
            Object::Telemetry(_) => istio::Telemetry::API_VERSION,
            Object::HttpRoute(_) => gateway::HttpRoute::API_VERSION,
            Object::LinkerdHttpRoute(_) => linkerd::HttpRoute::API_VERSION,
            Object::ServiceMonitor(_) => prometheus::ServiceMonitor::API_VERSION,
            Object::PrometheusRule(_) => prometheus::PrometheusRule::API_VERSION,
            Object::Certificate(_) => cert_manager::Certificate::API_VERSION,
        }
    }

    /// The object's metadata.
    pub fn metadata(&self) -> &ObjectMeta {
        match self {
            Object::Namespace(o) => &o.metadata,
            Object::ServiceAccount(o) => &o.metadata,
            Object::ConfigMap(o) => &o.metadata,
            Object::Secret(o) => &o.metadata,
            Object::Deployment(o) => &o.metadata,
            Object::Service(o) => &o.metadata,
            Object::Ingress(o) => &o.metadata,
            Object::HorizontalPodAutoscaler(o) => &o.metadata,
            Object::PodDisruptionBudget(o) => &o.metadata,
            Object::NetworkPolicy(o) => &o.metadata,
            Object::VirtualService(o) => &o.metadata,
            Object::DestinationRule(o) => &o.metadata,
            Object::PeerAuthentication(o) => &o.metadata,
            Object::Telemetry(o) => &o.metadata,
            Object::HttpRoute(o) => &o.metadata,
            Object::LinkerdHttpRoute(o) => &o.metadata,
            Object::ServiceMonitor(o) => &o.metadata,
            Object::PrometheusRule(o) => &o.metadata,
            Object::Certificate(o) => &o.metadata,
        }
    }

    /// The object's name.
    pub fn name(&self) -> &str {
        self.metadata().name.as_deref().unwrap_or_default()
    }

    /// The object's namespace (none for cluster-scoped kinds).
    pub fn namespace(&self) -> Option<&str> {
        self.metadata().namespace.as_deref()
    }

    /// `Kind/name`, the key used in diffs and inventories.
    pub fn key(&self) -> String {
        format!("{}/{}", self.kind(), self.name())
    }

    /// The object as JSON, with `apiVersion` and `kind` set.
    ///
    /// # Errors
    /// Only when serialization fails, which it does not for k8s-openapi types.
    pub fn to_json(&self) -> crate::Result<serde_json::Value> {
        let mut value = serde_json::to_value(self)
            .map_err(|e| crate::Error::invalid_spec("<object>", format!("cannot serialize {}: {e}", self.key())))?;
        if let Some(map) = value.as_object_mut() {
            map.insert("apiVersion".into(), self.api_version().into());
            map.insert("kind".into(), self.kind().into());
        }
        Ok(value)
    }

    /// The object as a YAML document, with `apiVersion` and `kind` set.
    ///
    /// # Errors
    /// As [`Object::to_json`].
    pub fn to_yaml(&self) -> crate::Result<String> {
        crate::model::to_yaml(&self.to_json()?)
    }
}

impl fmt::Debug for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Object::Secret(s) => {
                let keys: Vec<&String> =
                    s.data.iter().flat_map(|d| d.keys()).chain(s.string_data.iter().flat_map(|d| d.keys())).collect();
                f.debug_struct("Secret")
                    .field("metadata", &s.metadata)
                    .field("type_", &s.type_)
                    .field("keys", &keys)
                    .field("data", &"<redacted>")
                    .finish()
            }
            Object::Namespace(o) => o.fmt(f),
            Object::ServiceAccount(o) => o.fmt(f),
            Object::ConfigMap(o) => o.fmt(f),
            Object::Deployment(o) => o.fmt(f),
            Object::Service(o) => o.fmt(f),
            Object::Ingress(o) => o.fmt(f),
            Object::HorizontalPodAutoscaler(o) => o.fmt(f),
            Object::PodDisruptionBudget(o) => o.fmt(f),
            Object::NetworkPolicy(o) => o.fmt(f),
            Object::VirtualService(o) => o.fmt(f),
            Object::DestinationRule(o) => o.fmt(f),
            Object::PeerAuthentication(o) => o.fmt(f),
            Object::Telemetry(o) => o.fmt(f),
            Object::HttpRoute(o) => o.fmt(f),
            Object::LinkerdHttpRoute(o) => o.fmt(f),
            Object::ServiceMonitor(o) => o.fmt(f),
            Object::PrometheusRule(o) => o.fmt(f),
            Object::Certificate(o) => o.fmt(f),
        }
    }
}
