//! AppSpec → typed objects, in the order they must be applied.

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::Object;
use super::meta::AppContext;
use super::secrets::{ROLLOUT_KEY_DATA_KEY, SecretInputs};
use super::{network, scaling, workload};
use crate::error::Result;
use crate::model::{AppSpec, MANAGED_BY_LABEL, MANAGED_BY_VALUE};
use crate::validate::ValidApp;

/// The Pod Security Admission label the namespace is enforced with.
const POD_SECURITY_ENFORCE_LABEL: &str = "pod-security.kubernetes.io/enforce";

/// Renders an app's objects in apply order: Namespace, ServiceAccount, ConfigMap (when `config` is set), Secret
/// (when `secrets` is set), the Deployment (and Django's `<name>-worker`), Service, Ingress and its cert-manager
/// Certificate, HorizontalPodAutoscaler, PodDisruptionBudget, NetworkPolicy, then the monitoring objects
/// (ServiceMonitor, PrometheusRule, Grafana dashboard ConfigMap; see [`super::monitoring`]), each when the spec
/// asks for it.
///
/// The spec is a [`ValidApp`], so it was validated once, before. Output is deterministic: the same spec renders the same objects, byte for byte.
///
/// # Errors
/// [`crate::Error::InvalidSpec`] naming the field when a count does not fit the Kubernetes field.
pub fn app(valid: &ValidApp) -> Result<Vec<Object>> {
    app_with(valid, &SecretInputs::default())
}

/// [`app`] with what the cluster knows about the app's secrets: its rollout key (kept in the app's Secret) and
/// the referenced Secrets' content, so the pod template carries the keyed secret hash and a changed secret
/// rolls the pods (see [`SecretInputs`]). The deployers call this.
///
/// # Errors
/// As [`app`].
pub fn app_with(valid: &ValidApp, secrets: &SecretInputs) -> Result<Vec<Object>> {
    let spec: &AppSpec = valid;
    let ctx = AppContext::new(spec, secrets);
    let mut objects = vec![Object::Namespace(namespace(&ctx)), Object::ServiceAccount(service_account(&ctx))];
    if let Some(config) = config_map(&ctx) {
        objects.push(Object::ConfigMap(config));
    }
    if let Some(secret) = secret(&ctx) {
        objects.push(Object::Secret(secret));
    }
    objects.extend(workload::deployments(&ctx)?.into_iter().map(Object::Deployment));
    objects.push(Object::Service(network::service(&ctx)));
    if let Some(ingress) = &spec.ingress {
        objects.push(Object::Ingress(network::ingress(&ctx, ingress)));
        objects.extend(super::certificate(valid)?);
    }
    if let Some(autoscaling) = &spec.autoscaling {
        objects.push(Object::HorizontalPodAutoscaler(scaling::hpa(&ctx, autoscaling)?));
    }
    if let Some(pdb) = scaling::pdb(&ctx)? {
        objects.push(Object::PodDisruptionBudget(pdb));
    }
    if let Some(isolation) = &spec.isolation {
        objects.push(Object::NetworkPolicy(network::network_policy(&ctx, isolation)));
    }
    objects.extend(super::monitoring(valid)?);
    Ok(objects)
}

/// The Pod Security Standard the namespace enforces. Only running as root falls outside `restricted`; a
/// writable root filesystem is allowed by it, so opting out of that alone keeps the stricter level.
fn pod_security_level(spec: &AppSpec) -> &'static str {
    if spec.security.run_as_non_root { "restricted" } else { "baseline" }
}

/// The namespace as wooo creates it. It carries no label of one app (name, instance, part-of, the spec's
/// labels): several apps share a namespace, and each must find it as the others left it. The deployers apply it
/// only when they create it, or when the spec sets `manage_namespace`.
fn namespace(ctx: &AppContext<'_>) -> Namespace {
    let labels = std::collections::BTreeMap::from([
        (MANAGED_BY_LABEL.to_string(), MANAGED_BY_VALUE.to_string()),
        (POD_SECURITY_ENFORCE_LABEL.to_string(), pod_security_level(ctx.spec).to_string()),
    ]);
    Namespace {
        metadata: ObjectMeta { name: Some(ctx.spec.namespace.clone()), labels: Some(labels), ..ObjectMeta::default() },
        spec: None,
        status: None,
    }
}

/// The pods' own identity; the app does not talk to the API server, so no token is mounted.
fn service_account(ctx: &AppContext<'_>) -> ServiceAccount {
    ServiceAccount {
        metadata: ctx.meta(ctx.name()),
        automount_service_account_token: Some(false),
        ..ServiceAccount::default()
    }
}

fn config_map(ctx: &AppContext<'_>) -> Option<ConfigMap> {
    let config = &ctx.spec.config;
    (!config.is_empty()).then(|| ConfigMap {
        metadata: ctx.meta(ctx.config_map_name()),
        data: Some(config.clone()),
        ..ConfigMap::default()
    })
}

/// The app's own Secret: the inline values, and the rollout key when the app reads any secret (a key alone when
/// it only references Secrets of its own).
fn secret(ctx: &AppContext<'_>) -> Option<Secret> {
    let spec = ctx.spec;
    let key = ctx.secrets.rollout_key.as_ref().filter(|_| spec.reads_secrets());
    if spec.secrets.is_empty() && key.is_none() {
        return None;
    }
    let mut data: std::collections::BTreeMap<String, String> =
        spec.secrets.iter().map(|(k, v)| (k.clone(), v.expose().to_string())).collect();
    if let Some(key) = key {
        data.insert(ROLLOUT_KEY_DATA_KEY.to_string(), key.to_hex());
    }
    Some(Secret {
        metadata: ctx.meta(ctx.secret_name()),
        type_: Some("Opaque".to_string()),
        string_data: Some(data),
        ..Secret::default()
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
    use k8s_openapi::api::core::v1::{Container, PodSpec, Service};
    use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
    use k8s_openapi::api::policy::v1::PodDisruptionBudget;
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    use super::*;

    /// Validates, then renders: the tests' specs are checked like a deployer's.
    fn app(spec: &AppSpec) -> Result<Vec<Object>> {
        super::app(&crate::validate::app_spec(spec)?)
    }
    use crate::model::{
        AutoscalingSpec, DatabaseEgress, Framework, IngressSpec, IsolationSpec, MANAGED_BY_LABEL, PlanTier,
        ScalingRule, SecretString, TlsSpec,
    };

    const FRAMEWORKS: [Framework; 5] =
        [Framework::Flask, Framework::Django, Framework::Nodejs, Framework::Nextjs, Framework::Static];
    const TIERS: [PlanTier; 4] = [PlanTier::Basic, PlanTier::Standard, PlanTier::Advanced, PlanTier::Professional];

    fn spec(framework: Framework) -> AppSpec {
        AppSpec::new("shop", "web", "registry.example/shop/web:2.3.1", framework)
    }

    fn autoscaling(min: u32) -> AutoscalingSpec {
        AutoscalingSpec {
            min_replicas: min,
            max_replicas: 8,
            cpu_target_percent: Some(65),
            memory_target_percent: Some(80),
            scale_up: Some(ScalingRule {
                stabilization_window: Duration::from_secs(0),
                max_pods_per_period: Some(2),
                max_percent_per_period: None,
                period: Duration::from_secs(30),
            }),
            scale_down: Some(ScalingRule {
                stabilization_window: Duration::from_secs(600),
                max_pods_per_period: None,
                max_percent_per_period: Some(10),
                period: Duration::from_secs(120),
            }),
        }
    }

    fn deployments(objects: &[Object]) -> Vec<&Deployment> {
        objects.iter().filter_map(|o| if let Object::Deployment(d) = o { Some(d) } else { None }).collect()
    }

    fn deployment<'a>(objects: &'a [Object], name: &str) -> &'a Deployment {
        deployments(objects).into_iter().find(|d| d.metadata.name.as_deref() == Some(name)).unwrap()
    }

    fn pod(d: &Deployment) -> PodSpec {
        d.spec.clone().unwrap().template.spec.unwrap()
    }

    fn container(d: &Deployment) -> Container {
        pod(d).containers[0].clone()
    }

    fn find<T: Clone>(objects: &[Object], pick: impl Fn(&Object) -> Option<&T>) -> Option<T> {
        objects.iter().find_map(pick).cloned()
    }

    fn hpa(objects: &[Object]) -> Option<HorizontalPodAutoscaler> {
        find(objects, |o| if let Object::HorizontalPodAutoscaler(h) = o { Some(h) } else { None })
    }

    fn pdb(objects: &[Object]) -> Option<PodDisruptionBudget> {
        find(objects, |o| if let Object::PodDisruptionBudget(p) = o { Some(p) } else { None })
    }

    fn ingress(objects: &[Object]) -> Option<Ingress> {
        find(objects, |o| if let Object::Ingress(i) = o { Some(i) } else { None })
    }

    fn service(objects: &[Object]) -> Option<Service> {
        find(objects, |o| if let Object::Service(s) = o { Some(s) } else { None })
    }

    fn network_policy(objects: &[Object]) -> Option<NetworkPolicy> {
        find(objects, |o| if let Object::NetworkPolicy(n) = o { Some(n) } else { None })
    }

    fn kinds(objects: &[Object]) -> Vec<&'static str> {
        objects.iter().map(Object::kind).collect()
    }

    fn namespace_level(objects: &[Object]) -> String {
        let Object::Namespace(ns) = &objects[0] else { panic!("first object is {}", objects[0].kind()) };
        ns.metadata.labels.clone().unwrap()[POD_SECURITY_ENFORCE_LABEL].clone()
    }

    #[test]
    fn every_framework_and_tier_renders_its_port_command_and_resources() {
        for framework in FRAMEWORKS {
            for tier in TIERS {
                let mut s = spec(framework);
                s.tier = tier;
                let objects = app(&s).unwrap();
                let fw = framework.defaults();
                let sized = tier.defaults();
                let d = deployment(&objects, "web");
                assert_eq!(d.spec.as_ref().unwrap().replicas, Some(sized.replicas as i32), "{framework:?} {tier:?}");
                let c = container(d);
                assert_eq!(c.name, "app");
                assert_eq!(c.image.as_deref(), Some("registry.example/shop/web:2.3.1"));
                let port = &c.ports.as_ref().unwrap()[0];
                assert_eq!((port.name.as_deref(), port.container_port), (Some("http"), i32::from(fw.port)));
                let expected_command: Option<Vec<String>> =
                    (!fw.command.is_empty()).then(|| fw.command.iter().map(|s| s.to_string()).collect());
                assert_eq!(c.command, expected_command, "{framework:?}");
                let res = c.resources.unwrap();
                let requests = res.requests.unwrap();
                let limits = res.limits.unwrap();
                assert_eq!(requests["cpu"], Quantity(sized.resources.cpu_request.to_string()));
                assert_eq!(requests["memory"], Quantity(sized.resources.memory_request.to_string()));
                assert_eq!(limits["memory"], Quantity(sized.resources.memory_limit.to_string()));
                assert_eq!(limits.get("cpu").cloned(), sized.resources.cpu_limit.map(|c| Quantity(c.to_string())));
                let startup = c.startup_probe.unwrap();
                assert_eq!(startup.http_get.unwrap().path.as_deref(), Some(fw.readiness_path));
                assert_eq!(startup.failure_threshold, Some(fw.startup_seconds.div_ceil(5) as i32));
                assert_eq!(c.liveness_probe.unwrap().http_get.unwrap().path.as_deref(), Some(fw.liveness_path));
                assert_eq!(deployments(&objects).len(), if fw.worker_command.is_some() { 2 } else { 1 });
            }
        }
        // Spot-check the table itself, so a silent change to the defaults shows up here too.
        let flask = deployment(&app(&spec(Framework::Flask)).unwrap(), "web").clone();
        assert_eq!(container(&flask).ports.unwrap()[0].container_port, 5000);
        let requests = container(&flask).resources.unwrap().requests.unwrap();
        assert_eq!((requests["cpu"].0.as_str(), requests["memory"].0.as_str()), ("500m", "512Mi"));
    }

    #[test]
    fn secrets_hash_into_the_pod_template_only_with_a_key_and_never_in_clear() {
        use crate::render::{RolloutKey, SECRET_HASH_ANNOTATION, SecretInputs};
        let mut s = spec(Framework::Django);
        s.secrets.insert("DB_PASSWORD".into(), SecretString::new("hunter2"));
        let template_hash = |objects: &[Object]| -> Vec<Option<String>> {
            objects
                .iter()
                .filter_map(|o| match o {
                    Object::Deployment(d) => Some(d),
                    _ => None,
                })
                .map(|d| {
                    let meta = d.spec.as_ref()?.template.metadata.as_ref()?;
                    meta.annotations.as_ref()?.get(SECRET_HASH_ANNOTATION).cloned()
                })
                .collect()
        };
        // Offline: no key, no hash, no key in the Secret.
        let offline = app(&s).unwrap();
        assert_eq!(template_hash(&offline), [None, None]);
        let valid = crate::validate::app_spec(&s).unwrap();
        let inputs = SecretInputs::with_key(RolloutKey::from_bytes([9; 32]));
        let keyed = super::app_with(&valid, &inputs).unwrap();
        let hashes = template_hash(&keyed);
        assert!(hashes[0].is_some() && hashes[0] == hashes[1], "web and worker roll together: {hashes:?}");
        for o in &keyed {
            let json = o.to_json().unwrap().to_string();
            let holds = json.contains("hunter2") || json.contains(&RolloutKey::from_bytes([9; 32]).to_hex());
            assert_eq!(holds, o.kind() == "Secret", "{}", o.key());
        }
        s.secrets.insert("DB_PASSWORD".into(), SecretString::new("hunter3"));
        let changed = super::app_with(&crate::validate::app_spec(&s).unwrap(), &inputs).unwrap();
        assert_ne!(template_hash(&changed), hashes);
    }

    #[test]
    fn tiers_request_what_the_platform_publishes() {
        let got: Vec<(u32, String, String, String, String)> = TIERS
            .iter()
            .map(|t| {
                let d = t.defaults();
                let r = d.resources;
                let cpu_limit = r.cpu_limit.map(|c| c.to_string()).unwrap_or_default();
                (
                    d.replicas,
                    r.cpu_request.to_string(),
                    r.memory_request.to_string(),
                    cpu_limit,
                    r.memory_limit.to_string(),
                )
            })
            .collect();
        let row =
            |n, a: &str, b: &str, c: &str, d: &str| (n, a.to_string(), b.to_string(), c.to_string(), d.to_string());
        assert_eq!(
            got,
            [
                row(1, "250m", "256Mi", "1", "512Mi"),
                row(2, "500m", "512Mi", "2", "1Gi"),
                row(3, "1", "1Gi", "4", "2Gi"),
                row(3, "2", "2Gi", "8", "4Gi"),
            ]
        );
    }

    #[test]
    fn cpu_limit_is_left_out_when_unset() {
        let mut s = spec(Framework::Nodejs);
        let mut r = PlanTier::Basic.defaults().resources;
        r.cpu_limit = None;
        s.resources = Some(r);
        let limits = container(deployment(&app(&s).unwrap(), "web")).resources.unwrap().limits.unwrap();
        assert!(!limits.contains_key("cpu"));
        assert_eq!(limits["memory"].0, "512Mi");
    }

    #[test]
    fn autoscaling_drops_replicas_and_renders_an_hpa_v2_with_behaviour() {
        let mut s = spec(Framework::Flask);
        s.replicas = Some(5);
        s.autoscaling = Some(autoscaling(2));
        let objects = app(&s).unwrap();
        assert_eq!(deployment(&objects, "web").spec.as_ref().unwrap().replicas, None);
        let h = hpa(&objects).unwrap();
        let obj = Object::HorizontalPodAutoscaler(h.clone());
        assert_eq!(obj.api_version(), "autoscaling/v2");
        assert!(obj.to_yaml().unwrap().contains("apiVersion: autoscaling/v2"));
        let body = h.spec.unwrap();
        assert_eq!(body.scale_target_ref.kind, "Deployment");
        assert_eq!(body.scale_target_ref.name, "web");
        assert_eq!((body.min_replicas, body.max_replicas), (Some(2), 8));
        let targets: Vec<(String, Option<i32>)> = body
            .metrics
            .unwrap()
            .into_iter()
            .map(|m| {
                let r = m.resource.unwrap();
                assert_eq!(r.target.type_, "Utilization");
                (r.name, r.target.average_utilization)
            })
            .collect();
        assert_eq!(targets, [("cpu".to_string(), Some(65)), ("memory".to_string(), Some(80))]);
        let behavior = body.behavior.unwrap();
        let up = behavior.scale_up.unwrap();
        assert_eq!(up.select_policy.as_deref(), Some("Max"));
        let up_policy = &up.policies.unwrap()[0];
        assert_eq!((up_policy.type_.as_str(), up_policy.value, up_policy.period_seconds), ("Pods", 2, 30));
        let down = behavior.scale_down.unwrap();
        assert_eq!((down.stabilization_window_seconds, down.select_policy.as_deref()), (Some(600), Some("Min")));
        let down_policy = &down.policies.unwrap()[0];
        assert_eq!((down_policy.type_.as_str(), down_policy.value, down_policy.period_seconds), ("Percent", 10, 120));
    }

    #[test]
    fn django_gets_a_worker_deployment() {
        let mut s = spec(Framework::Django);
        s.secrets.insert("DATABASE_URL".into(), SecretString::new("postgres://u:p@db/app"));
        s.autoscaling = Some(autoscaling(3));
        let objects = app(&s).unwrap();
        assert_eq!(kinds(&objects)[2..5], ["Secret", "Deployment", "Deployment"]);
        let web = deployment(&objects, "web");
        let worker = deployment(&objects, "web-worker");
        let worker_spec = worker.spec.clone().unwrap();
        assert_eq!(worker_spec.replicas, Some(1), "the HPA targets only the web Deployment");
        assert_eq!(worker_spec.selector.match_labels.unwrap()["app.kubernetes.io/component"], "worker");
        let wc = container(worker);
        let expected: Vec<String> =
            Framework::Django.defaults().worker_command.unwrap().iter().map(|s| s.to_string()).collect();
        assert_eq!(wc.command.as_ref(), Some(&expected));
        assert!(wc.ports.is_none());
        assert!(wc.startup_probe.is_none(), "the worker serves no HTTP");
        let live = wc.liveness_probe.clone().expect("the worker has a liveness check");
        let command = live.exec.expect("an exec probe").command.unwrap().join(" ");
        assert!(command.contains("celery -A config inspect ping"), "{command}");
        assert_eq!(wc.readiness_probe.as_ref().and_then(|p| p.period_seconds), Some(60));
        let webc = container(web);
        assert_eq!(wc.env, webc.env);
        assert_eq!(wc.resources, webc.resources);
        assert_eq!(wc.security_context, webc.security_context);
        assert_eq!(pod(worker).security_context, pod(web).security_context);
        // The Service must not send traffic to the worker.
        let selector = service(&objects).unwrap().spec.unwrap().selector.unwrap();
        assert_eq!(selector["app.kubernetes.io/component"], "web");
    }

    #[test]
    fn ingress_with_tls_gets_a_certificate_and_a_tls_secret() {
        let mut s = spec(Framework::Nextjs);
        s.ingress = Some(IngressSpec {
            host: "shop.example.com".into(),
            path: "/".into(),
            class_name: Some("nginx".into()),
            tls: Some(TlsSpec { issuer: "letsencrypt-staging".into(), secret_name: None }),
        });
        let objects = app(&s).unwrap();
        let ing = ingress(&objects).unwrap();
        assert!(ing.metadata.annotations.is_none(), "no ingress-shim annotation: the Certificate is explicit");
        let cert = objects.iter().find(|o| o.kind() == "Certificate").expect("a Certificate").to_json().unwrap();
        assert_eq!(cert["spec"]["issuerRef"]["name"], "letsencrypt-staging");
        assert_eq!(cert["spec"]["secretName"], "web-tls");
        let body = ing.spec.unwrap();
        assert_eq!(body.ingress_class_name.as_deref(), Some("nginx"));
        let tls = &body.tls.unwrap()[0];
        assert_eq!(tls.secret_name.as_deref(), Some("web-tls"));
        assert_eq!(tls.hosts.as_deref(), Some(&["shop.example.com".to_string()][..]));
        let rule = &body.rules.unwrap()[0];
        assert_eq!(rule.host.as_deref(), Some("shop.example.com"));
        let backend = rule.http.as_ref().unwrap().paths[0].backend.service.clone().unwrap();
        assert_eq!((backend.name.as_str(), backend.port.unwrap().number), ("web", Some(80)));
    }

    #[test]
    fn isolation_renders_a_network_policy_with_the_right_peers_and_dns() {
        let mut s = spec(Framework::Flask);
        s.isolation = Some(IsolationSpec {
            ingress_namespace: "ingress-nginx".into(),
            monitoring_namespace: "monitoring".into(),
            database: Some(DatabaseEgress { cidr: "10.0.8.0/24".into(), port: 5432 }),
        });
        let objects = app(&s).unwrap();
        assert_eq!(kinds(&objects).last(), Some(&"NetworkPolicy"));
        let np = network_policy(&objects).unwrap().spec.unwrap();
        let selector = np.pod_selector.unwrap().match_labels.unwrap();
        assert_eq!(selector["app.kubernetes.io/name"], "web");
        assert!(!selector.contains_key("app.kubernetes.io/component"), "covers the worker pods too");
        assert_eq!(np.policy_types.unwrap(), ["Ingress", "Egress"]);
        let ingress = &np.ingress.unwrap()[0];
        let from = ingress.from.as_ref().unwrap()[0].namespace_selector.clone().unwrap();
        let expr = &from.match_expressions.unwrap()[0];
        assert_eq!((expr.key.as_str(), expr.operator.as_str()), ("kubernetes.io/metadata.name", "In"));
        assert_eq!(expr.values.clone().unwrap(), ["ingress-nginx", "monitoring"]);
        assert_eq!(ingress.ports.as_ref().unwrap()[0].port, Some(IntOrString::Int(5000)));
        let egress = np.egress.unwrap();
        let dns = &egress[0];
        let dns_peer = &dns.to.as_ref().unwrap()[0];
        let dns_ns = dns_peer.namespace_selector.clone().unwrap().match_expressions.unwrap()[0].clone();
        assert_eq!(dns_ns.values.unwrap(), ["kube-system"]);
        assert_eq!(dns_peer.pod_selector.clone().unwrap().match_labels.unwrap()["k8s-app"], "kube-dns");
        let dns_ports: Vec<(Option<String>, Option<IntOrString>)> =
            dns.ports.clone().unwrap().into_iter().map(|p| (p.protocol, p.port)).collect();
        assert_eq!(
            dns_ports,
            [(Some("UDP".into()), Some(IntOrString::Int(53))), (Some("TCP".into()), Some(IntOrString::Int(53)))]
        );
        let db = &egress[1];
        assert_eq!(db.to.as_ref().unwrap()[0].ip_block.as_ref().unwrap().cidr, "10.0.8.0/24");
        assert_eq!(db.ports.as_ref().unwrap()[0].port, Some(IntOrString::Int(5432)));
    }

    #[test]
    fn security_defaults_are_restricted() {
        let objects = app(&spec(Framework::Static)).unwrap();
        assert_eq!(namespace_level(&objects), "restricted");
        let Object::ServiceAccount(sa) = &objects[1] else { panic!("second object is {}", objects[1].kind()) };
        assert_eq!(sa.automount_service_account_token, Some(false));
        let d = deployment(&objects, "web");
        let p = pod(d);
        let psc = p.security_context.clone().unwrap();
        assert_eq!((psc.run_as_non_root, psc.run_as_user, psc.fs_group), (Some(true), Some(10001), Some(10001)));
        assert_eq!(psc.seccomp_profile.unwrap().type_, "RuntimeDefault");
        assert_eq!(p.service_account_name.as_deref(), Some("web"));
        assert_eq!(p.termination_grace_period_seconds, Some(30));
        let c = container(d);
        let sc = c.security_context.clone().unwrap();
        assert_eq!(sc.allow_privilege_escalation, Some(false));
        assert_eq!(sc.capabilities.unwrap().drop.unwrap(), ["ALL"]);
        assert_eq!((sc.read_only_root_filesystem, sc.run_as_non_root), (Some(true), Some(true)));
        let tmp = &p.volumes.unwrap()[0];
        assert!(tmp.empty_dir.is_some());
        let mount = &c.volume_mounts.unwrap()[0];
        assert_eq!((mount.name.as_str(), mount.mount_path.as_str()), (tmp.name.as_str(), "/tmp"));
    }

    #[test]
    fn security_opt_outs_relax_the_pod_and_the_namespace() {
        let mut s = spec(Framework::Flask);
        s.security.read_only_root_filesystem = false;
        let objects = app(&s).unwrap();
        assert_eq!(namespace_level(&objects), "restricted", "a writable root is allowed by restricted");
        let sc = container(deployment(&objects, "web")).security_context.unwrap();
        assert_eq!(sc.read_only_root_filesystem, Some(false));

        s.security.run_as_non_root = false;
        let objects = app(&s).unwrap();
        assert_eq!(namespace_level(&objects), "baseline");
        let d = deployment(&objects, "web");
        let psc = pod(d).security_context.unwrap();
        assert_eq!((psc.run_as_non_root, psc.run_as_user), (None, None));
        let sc = container(d).security_context.unwrap();
        assert_eq!(sc.run_as_non_root, None);
        assert_eq!(sc.allow_privilege_escalation, Some(false), "baseline still drops escalation");
        // The writable /tmp stays: some images need it even with a writable root.
        assert!(pod(d).volumes.is_some());
    }

    #[test]
    fn disruption_budget_defaults_by_replica_count() {
        let mut s = spec(Framework::Flask);
        s.replicas = Some(1);
        assert!(pdb(&app(&s).unwrap()).is_none(), "one replica: a budget would block every drain");
        s.replicas = Some(2);
        let budget = pdb(&app(&s).unwrap()).unwrap().spec.unwrap();
        assert_eq!(budget.max_unavailable, Some(IntOrString::Int(1)));
        assert!(budget.min_available.is_none());
        s.replicas = Some(1);
        s.autoscaling = Some(autoscaling(2));
        assert!(pdb(&app(&s).unwrap()).is_some(), "the autoscaler floor counts");
    }

    #[test]
    fn rollout_and_placement_settings() {
        let mut s = spec(Framework::Nodejs);
        s.replicas = Some(1);
        let d = deployment(&app(&s).unwrap(), "web").clone();
        let body = d.spec.clone().unwrap();
        assert_eq!((body.progress_deadline_seconds, body.revision_history_limit), (Some(600), Some(5)));
        let ru = body.strategy.unwrap().rolling_update.unwrap();
        assert_eq!((ru.max_surge, ru.max_unavailable), (Some(IntOrString::Int(1)), Some(IntOrString::Int(0))));
        let p = pod(&d);
        let spread = p.topology_spread_constraints.unwrap();
        let keys: Vec<&str> = spread.iter().map(|t| t.topology_key.as_str()).collect();
        assert_eq!(keys, ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]);
        assert!(spread.iter().all(|t| t.max_skew == 1 && t.when_unsatisfiable == "ScheduleAnyway"));
        let anti = p.affinity.unwrap().pod_anti_affinity.unwrap();
        let term = &anti.preferred_during_scheduling_ignored_during_execution.unwrap()[0];
        assert_eq!(term.pod_affinity_term.topology_key, "kubernetes.io/hostname");
        assert_eq!(body.selector.match_labels.clone().unwrap().len(), 3, "name, instance, component only");

        s.replicas = Some(4);
        let d = deployment(&app(&s).unwrap(), "web").clone();
        let ru = d.spec.unwrap().strategy.unwrap().rolling_update.unwrap();
        assert_eq!(ru.max_surge, Some(IntOrString::String("25%".into())));
    }

    #[test]
    fn pod_labels_and_annotations_come_from_the_spec() {
        let mut s = spec(Framework::Flask);
        s.labels.insert("team".into(), "payments".into());
        s.annotations.insert("prometheus.io/scrape".into(), "true".into());
        s.config.insert("LOG_LEVEL".into(), "info".into());
        let objects = app(&s).unwrap();
        let template = deployment(&objects, "web").spec.clone().unwrap().template.metadata.unwrap();
        let labels = template.labels.unwrap();
        assert_eq!(labels["team"], "payments");
        assert_eq!(labels["version"], "2.3.1");
        assert_eq!(labels["app.kubernetes.io/component"], "web");
        assert_eq!(labels[MANAGED_BY_LABEL], "wooo");
        let annotations = template.annotations.unwrap();
        assert_eq!(annotations["prometheus.io/scrape"], "true");
        assert!(annotations.contains_key(workload::CONFIG_HASH_ANNOTATION));
    }

    /// A Django app that renders one object of every core kind (the worker included).
    fn every_object_spec() -> AppSpec {
        let mut s = spec(Framework::Django);
        s.config.insert("A".into(), "1".into());
        s.secrets.insert("B".into(), SecretString::new("2"));
        s.ingress = Some(IngressSpec { host: "a.example.com".into(), path: "/".into(), class_name: None, tls: None });
        s.autoscaling = Some(autoscaling(2));
        s.isolation = Some(IsolationSpec {
            ingress_namespace: "ingress-nginx".into(),
            monitoring_namespace: "monitoring".into(),
            database: None,
        });
        s
    }

    #[test]
    fn every_object_carries_namespace_and_common_labels() {
        let mut s = every_object_spec();
        s.labels.insert("team".into(), "payments".into());
        let objects = app(&s).unwrap();
        assert_eq!(objects.len(), 11);
        for o in &objects {
            let labels = o.metadata().labels.clone().unwrap();
            if o.kind() == "Namespace" {
                // Shared by every app in it: no label of this one.
                let keys: Vec<&str> = labels.keys().map(String::as_str).collect();
                assert_eq!(keys, ["app.kubernetes.io/managed-by", "pod-security.kubernetes.io/enforce"]);
                assert_eq!(o.namespace(), None);
                continue;
            }
            for (key, value) in [
                ("app.kubernetes.io/name", "web"),
                ("app.kubernetes.io/instance", "web"),
                ("app.kubernetes.io/managed-by", "wooo"),
                ("app.kubernetes.io/part-of", "web"),
                ("team", "payments"),
            ] {
                assert_eq!(labels.get(key).map(String::as_str), Some(value), "{} {key}", o.key());
            }
            let expected_ns = if o.kind() == "Namespace" { None } else { Some("shop") };
            assert_eq!(o.namespace(), expected_ns, "{}", o.key());
        }
    }

    #[test]
    fn kinds_come_in_apply_order() {
        let s = every_object_spec();
        let objects = app(&s).unwrap();
        assert_eq!(
            kinds(&objects),
            [
                "Namespace",
                "ServiceAccount",
                "ConfigMap",
                "Secret",
                "Deployment",
                "Deployment",
                "Service",
                "Ingress",
                "HorizontalPodAutoscaler",
                "PodDisruptionBudget",
                "NetworkPolicy"
            ]
        );
        // A minimal single-replica app renders only what it needs.
        let mut minimal = spec(Framework::Static);
        minimal.tier = PlanTier::Basic;
        assert_eq!(kinds(&app(&minimal).unwrap()), ["Namespace", "ServiceAccount", "Deployment", "Service"]);
    }

    #[test]
    fn rendering_is_deterministic() {
        let mut s = spec(Framework::Django);
        for key in ["Z", "M", "A"] {
            s.config.insert(key.into(), key.to_lowercase());
            s.env.insert(key.into(), key.into());
        }
        let first: Vec<String> = app(&s).unwrap().iter().map(|o| o.to_yaml().unwrap()).collect();
        let second: Vec<String> = app(&s.clone()).unwrap().iter().map(|o| o.to_yaml().unwrap()).collect();
        assert_eq!(first, second);
    }

    #[test]
    fn secret_values_never_appear_in_debug_output() {
        let mut s = spec(Framework::Django);
        s.secrets.insert("DATABASE_URL".into(), SecretString::new("postgres://admin:s3cr3t-pw@db:5432/app"));
        s.secrets.insert("API_TOKEN".into(), SecretString::new("tok-9f8e7d6c"));
        let objects = app(&s).unwrap();
        let debug = format!("{objects:?}");
        assert!(!debug.contains("s3cr3t-pw"));
        assert!(!debug.contains("tok-9f8e7d6c"));
        assert!(debug.contains("DATABASE_URL"), "keys stay visible");
        // The value itself is rendered where it belongs: only in the Secret.
        let Some(Object::Secret(secret)) = objects.iter().find(|o| o.kind() == "Secret") else { panic!("no Secret") };
        assert_eq!(secret.type_.as_deref(), Some("Opaque"));
        assert_eq!(secret.string_data.clone().unwrap()["API_TOKEN"], "tok-9f8e7d6c");
        let elsewhere: String =
            objects.iter().filter(|o| o.kind() != "Secret").map(|o| serde_json::to_string(o).unwrap()).collect();
        assert!(!elsewhere.contains("tok-9f8e7d6c"));
    }

    #[test]
    fn deployment_yaml_names_its_api_version_and_kind() {
        let objects = app(&spec(Framework::Flask)).unwrap();
        let d = objects.iter().find(|o| o.kind() == "Deployment").unwrap();
        let yaml = d.to_yaml().unwrap();
        assert!(yaml.contains("apiVersion: apps/v1"), "{yaml}");
        assert!(yaml.contains("kind: Deployment"), "{yaml}");
    }

    #[test]
    fn a_deployment_round_trips_through_serde_json() {
        let mut s = spec(Framework::Django);
        s.config.insert("A".into(), "1".into());
        s.secrets.insert("B".into(), SecretString::new("2"));
        s.autoscaling = Some(autoscaling(2));
        let objects = app(&s).unwrap();
        for d in deployments(&objects) {
            let json = serde_json::to_string(d).unwrap();
            let back: Deployment = serde_json::from_str(&json).unwrap();
            assert_eq!(&back, d);
            let via_object: Deployment =
                serde_json::from_value(Object::Deployment(d.clone()).to_json().unwrap()).unwrap();
            assert_eq!(&via_object, d);
        }
    }

    /// The employee-management sample app the examples deploy.
    fn employee_management() -> AppSpec {
        let mut s = AppSpec::new(
            "hr",
            "employee-management",
            "registry.example.com/employee-management:1.4.2",
            Framework::Flask,
        );
        s.port = Some(5000);
        s.replicas = Some(3);
        s.ingress = Some(IngressSpec {
            host: "employees.example.com".into(),
            path: "/".into(),
            class_name: Some("nginx".into()),
            tls: Some(TlsSpec { issuer: "letsencrypt-prod".into(), secret_name: None }),
        });
        s.env.insert("FLASK_ENV".into(), "production".into());
        s.secrets.insert("DATABASE_URL".into(), SecretString::new("postgresql://hr:hr-pass@hr-db:5432/employees"));
        s
    }

    #[test]
    fn monitoring_objects_come_last_when_monitoring_is_set() {
        let mut s = spec(Framework::Flask);
        s.monitoring = Some(crate::model::MonitoringSpec {
            metrics_port: None,
            metrics_path: "/metrics".into(),
            alerts: Default::default(),
        });
        let objects = app(&s).unwrap();
        let keys: Vec<String> = objects.iter().rev().take(3).map(Object::key).collect();
        assert_eq!(keys, ["ConfigMap/web-dashboard", "PrometheusRule/web", "ServiceMonitor/web"]);
        s.monitoring = None;
        assert!(app(&s).unwrap().iter().all(|o| o.kind() != "ServiceMonitor"));
    }

    #[test]
    fn employee_management_sample_renders() {
        let objects = app(&employee_management()).unwrap();
        assert_eq!(
            kinds(&objects),
            [
                "Namespace",
                "ServiceAccount",
                "Secret",
                "Deployment",
                "Service",
                "Ingress",
                "Certificate",
                "PodDisruptionBudget"
            ]
        );
        let d = deployment(&objects, "employee-management");
        assert_eq!(d.metadata.namespace.as_deref(), Some("hr"));
        let body = d.spec.clone().unwrap();
        assert_eq!(body.replicas, Some(3));
        assert_eq!(body.template.metadata.clone().unwrap().labels.unwrap()["version"], "1.4.2");
        let c = container(d);
        assert_eq!(c.image.as_deref(), Some("registry.example.com/employee-management:1.4.2"));
        assert_eq!(c.ports.clone().unwrap()[0].container_port, 5000);
        assert!(c.command.clone().unwrap().contains(&"0.0.0.0:5000".to_string()));
        let env = c.env.unwrap();
        assert_eq!(env[0].name, "FLASK_ENV");
        assert_eq!(env[0].value.as_deref(), Some("production"));
        assert_eq!(env[1].name, "DATABASE_URL");
        assert!(env[1].value.is_none());
        let key_ref = env[1].value_from.clone().unwrap().secret_key_ref.unwrap();
        assert_eq!((key_ref.name.as_str(), key_ref.key.as_str()), ("employee-management-secrets", "DATABASE_URL"));
        let ing = ingress(&objects).unwrap();
        assert!(objects.iter().any(|o| o.key() == "Certificate/employee-management-tls"));
        let tls = ing.spec.unwrap().tls.unwrap();
        assert_eq!(tls[0].hosts.clone().unwrap(), ["employees.example.com"]);
        assert_eq!(tls[0].secret_name.as_deref(), Some("employee-management-tls"));
        let budget = pdb(&objects).unwrap().spec.unwrap();
        assert_eq!(budget.max_unavailable, Some(IntOrString::Int(1)));
        assert!(!format!("{objects:?}").contains("hr-pass"));
    }
}
