//! How traffic reaches the app and where it may go: Service, Ingress, NetworkPolicy.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, IPBlock, Ingress, IngressBackend, IngressRule, IngressServiceBackend,
    IngressSpec, IngressTLS, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::meta::{AppContext, Component, match_labels};
use super::workload::{HTTP_PORT_NAME, METRICS_PORT_NAME, separate_metrics_port};
use crate::model::{IngressSpec as AppIngress, IsolationSpec};

/// The port the Service listens on; the Ingress targets it.
pub(super) const SERVICE_PORT: i32 = 80;
/// The annotation cert-manager's ingress-shim reads to issue the certificate.
/// The label the API server sets on every namespace to its own name.
const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// The ClusterIP Service in front of the web pods.
pub(super) fn service(ctx: &AppContext<'_>) -> Service {
    let mut ports = vec![ServicePort {
        name: Some(HTTP_PORT_NAME.to_string()),
        port: SERVICE_PORT,
        target_port: Some(IntOrString::String(HTTP_PORT_NAME.to_string())),
        protocol: Some("TCP".to_string()),
        ..ServicePort::default()
    }];
    if let Some(metrics) = separate_metrics_port(ctx.spec) {
        ports.push(ServicePort {
            name: Some(METRICS_PORT_NAME.to_string()),
            port: i32::from(metrics),
            target_port: Some(IntOrString::String(METRICS_PORT_NAME.to_string())),
            protocol: Some("TCP".to_string()),
            ..ServicePort::default()
        });
    }
    Service {
        metadata: ctx.meta(ctx.name()),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_string()),
            selector: Some(ctx.selector(Component::Web)),
            ports: Some(ports),
            ..ServiceSpec::default()
        }),
        status: None,
    }
}

/// The Ingress for `ingress`. With TLS, the app's explicit cert-manager `Certificate` (rendered beside it, see
/// [`super::certificate`]) issues the certificate into the TLS secret; the Ingress carries no ingress-shim
/// annotation, so cert-manager does not create a second Certificate for the same secret.
pub(super) fn ingress(ctx: &AppContext<'_>, ingress: &AppIngress) -> Ingress {
    let metadata = ctx.meta(ctx.name());
    let tls = ingress.tls.as_ref().map(|tls| {
        vec![IngressTLS {
            hosts: Some(vec![ingress.host.clone()]),
            secret_name: Some(tls.secret_name.clone().unwrap_or_else(|| format!("{}-tls", ctx.name()))),
        }]
    });
    let path = HTTPIngressPath {
        path: Some(ingress.path.clone()),
        path_type: "Prefix".to_string(),
        backend: IngressBackend {
            service: Some(IngressServiceBackend {
                name: ctx.name().to_string(),
                port: Some(ServiceBackendPort { number: Some(SERVICE_PORT), name: None }),
            }),
            resource: None,
        },
    };
    Ingress {
        metadata,
        spec: Some(IngressSpec {
            ingress_class_name: ingress.class_name.clone(),
            rules: Some(vec![IngressRule {
                host: Some(ingress.host.clone()),
                http: Some(HTTPIngressRuleValue { paths: vec![path] }),
            }]),
            tls,
            default_backend: None,
        }),
        status: None,
    }
}

/// Isolates every pod of the app: in only from the ingress controller and monitoring, out only to DNS and the
/// app's database.
pub(super) fn network_policy(ctx: &AppContext<'_>, isolation: &IsolationSpec) -> NetworkPolicy {
    let spec = ctx.spec;
    let mut ports = vec![tcp(i32::from(spec.effective_port()))];
    if let Some(metrics) = separate_metrics_port(spec) {
        ports.push(tcp(i32::from(metrics)));
    }
    let sources: BTreeSet<String> =
        [isolation.ingress_namespace.clone(), isolation.monitoring_namespace.clone()].into_iter().collect();
    let ingress = NetworkPolicyIngressRule {
        from: Some(vec![NetworkPolicyPeer {
            namespace_selector: Some(namespaces_in(sources.into_iter().collect())),
            ..NetworkPolicyPeer::default()
        }]),
        ports: Some(ports),
    };
    let mut egress = vec![dns_egress()];
    if let Some(db) = &isolation.database {
        egress.push(NetworkPolicyEgressRule {
            to: Some(vec![NetworkPolicyPeer {
                ip_block: Some(IPBlock { cidr: db.cidr.clone(), except: None }),
                ..NetworkPolicyPeer::default()
            }]),
            ports: Some(vec![tcp(i32::from(db.port))]),
        });
    }
    NetworkPolicy {
        metadata: ctx.meta(ctx.name()),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(match_labels(ctx.app_selector())),
            policy_types: Some(vec!["Ingress".to_string(), "Egress".to_string()]),
            ingress: Some(vec![ingress]),
            egress: Some(egress),
        }),
    }
}

/// Cluster DNS: the kube-dns pods (CoreDNS keeps that label) in kube-system, over UDP and TCP.
fn dns_egress() -> NetworkPolicyEgressRule {
    let port = |protocol: &str| NetworkPolicyPort {
        port: Some(IntOrString::Int(53)),
        protocol: Some(protocol.to_string()),
        end_port: None,
    };
    NetworkPolicyEgressRule {
        to: Some(vec![NetworkPolicyPeer {
            namespace_selector: Some(namespaces_in(vec!["kube-system".to_string()])),
            pod_selector: Some(match_labels(BTreeMap::from([("k8s-app".to_string(), "kube-dns".to_string())]))),
            ip_block: None,
        }]),
        ports: Some(vec![port("UDP"), port("TCP")]),
    }
}

fn namespaces_in(names: Vec<String>) -> LabelSelector {
    LabelSelector {
        match_expressions: Some(vec![LabelSelectorRequirement {
            key: NAMESPACE_NAME_LABEL.to_string(),
            operator: "In".to_string(),
            values: Some(names),
        }]),
        match_labels: None,
    }
}

fn tcp(port: i32) -> NetworkPolicyPort {
    NetworkPolicyPort { port: Some(IntOrString::Int(port)), protocol: Some("TCP".to_string()), end_port: None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AppSpec, DatabaseEgress, Framework, MonitoringSpec, TlsSpec};

    fn spec() -> AppSpec {
        AppSpec::new("shop", "web", "registry.example/web:1.0", Framework::Nextjs)
    }

    #[test]
    fn service_targets_the_named_port_and_adds_metrics() {
        let mut s = spec();
        let svc = service(&AppContext::offline(&s)).spec.unwrap();
        let ports = svc.ports.unwrap();
        assert_eq!(ports.len(), 1);
        assert_eq!((ports[0].port, ports[0].target_port.clone()), (80, Some(IntOrString::String("http".into()))));
        assert_eq!(svc.type_.as_deref(), Some("ClusterIP"));
        assert_eq!(svc.selector.unwrap()["app.kubernetes.io/component"], "web");
        s.monitoring = Some(MonitoringSpec {
            metrics_port: Some(9090),
            metrics_path: "/metrics".into(),
            alerts: Default::default(),
        });
        let ports = service(&AppContext::offline(&s)).spec.unwrap().ports.unwrap();
        assert_eq!((ports[1].name.as_deref(), ports[1].port), (Some("metrics"), 9090));
    }

    #[test]
    fn plain_http_ingress_has_no_tls_and_no_issuer() {
        let s = spec();
        let i = AppIngress { host: "web.example.com".into(), path: "/app".into(), class_name: None, tls: None };
        let ing = ingress(&AppContext::offline(&s), &i);
        assert!(ing.metadata.annotations.is_none());
        let body = ing.spec.unwrap();
        assert!(body.tls.is_none());
        assert!(body.ingress_class_name.is_none());
        let rules = body.rules.unwrap();
        let path = &rules[0].http.as_ref().unwrap().paths[0];
        assert_eq!((path.path.as_deref(), path.path_type.as_str()), (Some("/app"), "Prefix"));
    }

    #[test]
    fn tls_secret_name_override_is_used() {
        let s = spec();
        let i = AppIngress {
            host: "web.example.com".into(),
            path: "/".into(),
            class_name: Some("nginx".into()),
            tls: Some(TlsSpec { issuer: "staging".into(), secret_name: Some("custom-cert".into()) }),
        };
        let body = ingress(&AppContext::offline(&s), &i).spec.unwrap();
        assert_eq!(body.tls.unwrap()[0].secret_name.as_deref(), Some("custom-cert"));
        assert_eq!(body.ingress_class_name.as_deref(), Some("nginx"));
    }

    #[test]
    fn isolation_with_one_shared_namespace_lists_it_once_and_no_database_rule() {
        let s = spec();
        let iso = IsolationSpec {
            ingress_namespace: "platform".into(),
            monitoring_namespace: "platform".into(),
            database: None,
        };
        let np = network_policy(&AppContext::offline(&s), &iso).spec.unwrap();
        let from = &np.ingress.unwrap()[0].from.clone().unwrap()[0];
        let values = from.namespace_selector.as_ref().unwrap().match_expressions.as_ref().unwrap()[0].values.clone();
        assert_eq!(values.unwrap(), ["platform"]);
        assert_eq!(np.egress.unwrap().len(), 1);
    }

    #[test]
    fn database_egress_is_its_cidr_and_port_only() {
        let s = spec();
        let iso = IsolationSpec {
            ingress_namespace: "ingress-nginx".into(),
            monitoring_namespace: "monitoring".into(),
            database: Some(DatabaseEgress { cidr: "10.20.0.0/24".into(), port: 5432 }),
        };
        let egress = network_policy(&AppContext::offline(&s), &iso).spec.unwrap().egress.unwrap();
        let db = &egress[1];
        assert_eq!(db.to.as_ref().unwrap()[0].ip_block.as_ref().unwrap().cidr, "10.20.0.0/24");
        assert_eq!(db.ports.as_ref().unwrap()[0].port, Some(IntOrString::Int(5432)));
    }
}
