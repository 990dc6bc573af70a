//! `KubeMesh` on kube-fake-client, with the mesh CRDs registered as custom resources and their discovery
//! answered as an API server with the CRDs installed would.

use std::borrow::Cow;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::Api;
use kube_fake_client::ClientBuilder;
use serde::{Deserialize, Serialize};
use serde_json::json;
use wooo_core::model::{MeshKind, MeshPolicy, MtlsMode, TrafficSplit};
use wooo_core::{Deployer, ErrorKind};

use super::*;
use crate::kube::deployer::tests::{
    Intercept, deployer, json_response, not_found_status, quick_wait, recording, spawn_controller, spec,
};

/// A custom resource kind the fake stores untyped.
macro_rules! custom_kind {
    ($ty:ident, $group:literal, $version:literal, $kind:literal, $plural:literal) => {
        #[derive(Clone, Debug, Serialize, Deserialize)]
        struct $ty {
            metadata: ObjectMeta,
            #[serde(flatten)]
            rest: serde_json::Map<String, serde_json::Value>,
        }
        impl kube::Resource for $ty {
            type DynamicType = ();
            type Scope = k8s_openapi::NamespaceResourceScope;
            fn kind(_: &()) -> Cow<'_, str> {
                $kind.into()
            }
            fn group(_: &()) -> Cow<'_, str> {
                $group.into()
            }
            fn version(_: &()) -> Cow<'_, str> {
                $version.into()
            }
            fn plural(_: &()) -> Cow<'_, str> {
                $plural.into()
            }
            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }
    };
}

custom_kind!(VirtualService, "networking.istio.io", "v1", "VirtualService", "virtualservices");
custom_kind!(DestinationRule, "networking.istio.io", "v1", "DestinationRule", "destinationrules");
custom_kind!(PeerAuthentication, "security.istio.io", "v1", "PeerAuthentication", "peerauthentications");
custom_kind!(Telemetry, "telemetry.istio.io", "v1", "Telemetry", "telemetries");
custom_kind!(HttpRoute, "gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes");
custom_kind!(LinkerdRoute, "policy.linkerd.io", "v1beta3", "HTTPRoute", "httproutes");

/// `(group/version, [(kind, plural)])` of every mesh CRD.
const SERVED: &[(&str, &[(&str, &str)])] = &[
    ("networking.istio.io/v1", &[("VirtualService", "virtualservices"), ("DestinationRule", "destinationrules")]),
    ("security.istio.io/v1", &[("PeerAuthentication", "peerauthentications")]),
    ("telemetry.istio.io/v1", &[("Telemetry", "telemetries")]),
    ("gateway.networking.k8s.io/v1", &[("HTTPRoute", "httproutes")]),
    ("policy.linkerd.io/v1beta3", &[("HTTPRoute", "httproutes")]),
];

/// Answers discovery for the group-versions in `installed` (others 404, as without the CRD): the group
/// (`/apis/<group>`, its preferred version) and the group-version (`/apis/<group>/<version>`, its resources).
fn discovery(installed: Vec<&'static str>) -> Intercept {
    Box::new(move |s| {
        let gv = s.path.strip_prefix("/apis/")?;
        if !gv.contains('/') {
            let (served, _) = SERVED.iter().find(|(g, _)| g.split('/').next() == Some(gv))?;
            if !installed.contains(served) {
                return Some(json_response(404, &not_found_status("the server could not find the requested resource")));
            }
            let version = json!({"groupVersion": served, "version": served.split('/').nth(1)});
            return Some(json_response(
                200,
                &json!({"kind": "APIGroup", "apiVersion": "v1", "name": gv,
                "versions": [version], "preferredVersion": version}),
            ));
        }
        let (_, kinds) = SERVED.iter().find(|(g, _)| *g == gv)?;
        if !installed.contains(&gv) {
            return Some(json_response(404, &not_found_status("the server could not find the requested resource")));
        }
        let resources: Vec<serde_json::Value> = kinds
            .iter()
            .map(|(kind, plural)| {
                json!({"name": plural, "singularName": "", "namespaced": true, "kind": kind,
                "verbs": ["get", "list", "patch", "delete"]})
            })
            .collect();
        Some(json_response(
            200,
            &json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
            "resources": resources}),
        ))
    })
}

async fn cluster(installed: Vec<&'static str>) -> (kube::Client, crate::kube::deployer::tests::Log) {
    let fake = ClientBuilder::new()
        .with_status_subresource::<Deployment>()
        .with_resource::<VirtualService>()
        .with_resource::<DestinationRule>()
        .with_resource::<PeerAuthentication>()
        .with_resource::<Telemetry>()
        .with_resource::<HttpRoute>()
        .with_resource::<LinkerdRoute>()
        .build()
        .await
        .expect("fake client");
    recording(fake, discovery(installed))
}

fn every_mesh() -> Vec<&'static str> {
    SERVED.iter().map(|(gv, _)| *gv).collect()
}

/// A cluster with the app `shop/web` deployed and Current.
async fn with_app(installed: Vec<&'static str>) -> (kube::Client, crate::kube::deployer::tests::Log) {
    let (client, log) = cluster(installed).await;
    let controller = spawn_controller(client.clone());
    let d = deployer(client.clone());
    wooo_core::DeployerExt::deploy(&d, &spec(), &quick_wait(), &Progress::none()).await.expect("deploy");
    controller.abort();
    (client, log)
}

fn policy(kind: MeshKind) -> MeshPolicy {
    wooo_core::conformance::sample_mesh_policy(&AppRef::new("shop", "web"), kind)
}

async fn names<K>(client: &kube::Client) -> Vec<String>
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let mut out: Vec<String> = Api::<K>::namespaced(client.clone(), "shop")
        .list(&Default::default())
        .await
        .expect("list")
        .items
        .iter()
        .filter_map(|o| o.meta().name.clone())
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn istio_policy_is_applied_recorded_and_idempotent() {
    let (client, log) = with_app(every_mesh()).await;
    let mesh = KubeMesh::new(client.clone());
    let first = mesh.apply(&policy(MeshKind::Istio)).await.expect("apply");
    assert!(first.changed);
    assert_eq!(first.objects, ["VirtualService/web", "DestinationRule/web", "PeerAuthentication/web", "Telemetry/web"]);
    let vs = Api::<VirtualService>::namespaced(client.clone(), "shop").get("web").await.expect("vs");
    let route = &vs.rest["spec"]["http"];
    let weights: Vec<i64> = route[route.as_array().unwrap().len() - 1]["route"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["weight"].as_i64().unwrap())
        .collect();
    assert_eq!(weights, [90, 10]);
    assert_eq!(mesh.get(&AppRef::new("shop", "web")).await.expect("get"), policy(MeshKind::Istio));

    let writes_before = log.lock().unwrap().iter().filter(|s| s.is_write()).count();
    let second = mesh.apply(&policy(MeshKind::Istio)).await.expect("re-apply");
    assert!(!second.changed, "the same policy changes nothing");
    let writes_after = log.lock().unwrap().iter().filter(|s| s.is_write()).count();
    assert_eq!(writes_before, writes_after, "and writes nothing");
}

#[tokio::test]
async fn a_canary_step_and_a_kind_switch_prune_what_is_no_longer_rendered() {
    let (client, _) = with_app(every_mesh()).await;
    let mesh = KubeMesh::new(client.clone());
    let app = AppRef::new("shop", "web");
    mesh.apply(&policy(MeshKind::Istio)).await.expect("apply");
    let step = mesh.set_traffic(&app, &TrafficSplit::canary("v1", "v2", 50)).await.expect("step");
    assert!(step.changed);
    assert_eq!(mesh.get(&app).await.unwrap().traffic.unwrap().weight_of("v2"), Some(50));

    let mut gateway = policy(MeshKind::GatewayApi);
    gateway.mtls = MtlsMode::Inherit;
    let status = mesh.apply(&gateway).await.expect("switch to the Gateway API");
    assert!(status.objects.contains(&"HTTPRoute/web".to_string()), "{:?}", status.objects);
    assert!(names::<VirtualService>(&client).await.is_empty(), "the Istio objects are pruned");
    assert!(names::<PeerAuthentication>(&client).await.is_empty());
    assert_eq!(names::<HttpRoute>(&client).await, ["web"]);
    let services = names::<Service>(&client).await;
    assert_eq!(services, ["web", "web-canary", "web-stable"], "one Service per version for the route's backends");
}

#[tokio::test]
async fn delete_removes_every_mesh_object_and_deleting_the_app_takes_its_mesh() {
    let (client, _) = with_app(every_mesh()).await;
    let mesh = KubeMesh::new(client.clone());
    let app = AppRef::new("shop", "web");
    mesh.apply(&policy(MeshKind::Linkerd)).await.expect("apply");
    assert_eq!(names::<LinkerdRoute>(&client).await, ["web"]);
    mesh.delete(&app).await.expect("delete");
    assert!(names::<LinkerdRoute>(&client).await.is_empty());
    assert_eq!(mesh.get(&app).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(mesh.delete(&app).await.unwrap_err().kind(), ErrorKind::NotFound);

    mesh.apply(&policy(MeshKind::Istio)).await.expect("apply again");
    deployer(client.clone()).delete(&app).await.expect("delete the app");
    assert!(names::<VirtualService>(&client).await.is_empty(), "the app's mesh went with it");
    assert!(names::<ConfigMap>(&client).await.is_empty());
    let parents = names::<Secret>(&client).await;
    assert!(parents.is_empty(), "no parent or revision left: {parents:?}");
}

#[tokio::test]
async fn missing_crds_stop_the_apply_before_any_write() {
    let (client, log) = with_app(vec!["gateway.networking.k8s.io/v1"]).await;
    let mesh = KubeMesh::new(client.clone());
    let before = log.lock().unwrap().iter().filter(|s| s.is_write()).count();
    let err = mesh.apply(&policy(MeshKind::Istio)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");
    assert!(err.to_string().contains("VirtualService"), "{err}");
    let after = log.lock().unwrap().iter().filter(|s| s.is_write()).count();
    assert_eq!(before, after, "nothing was written");
}

#[tokio::test]
async fn a_policy_needs_a_deployed_app_and_a_valid_split() {
    let (client, _) = cluster(every_mesh()).await;
    let mesh = KubeMesh::new(client);
    let err = mesh.apply(&policy(MeshKind::Istio)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let mut bad = policy(MeshKind::Istio);
    bad.traffic.as_mut().unwrap().backends[0].weight = 80;
    assert_eq!(mesh.apply(&bad).await.unwrap_err().violations()[0].field, "traffic.backends");
}

#[tokio::test]
async fn conformance_mesh_suite_on_the_fake() {
    let (client, _) = with_app(every_mesh()).await;
    let mesh = KubeMesh::new(client);
    for kind in [MeshKind::Istio, MeshKind::GatewayApi, MeshKind::Linkerd] {
        wooo_core::conformance::mesh_idempotent(&mesh, &AppRef::new("shop", "web"), kind).await;
    }
}
