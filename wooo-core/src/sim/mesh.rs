//! [`SimMesh`]: mesh policies on a simulated cluster.

use async_trait::async_trait;

use super::state::State;
use super::{PROVIDER, SimCloud};
use crate::error::{Error, Result};
use crate::mesh::{MeshCapabilities, MeshConfigurator};
use crate::model::{AppRef, AppSpec, ClusterId, MeshKind, MeshPolicy, MeshStatus, TrafficSplit};
use crate::render;
use crate::validate::{self, ValidMeshPolicy};

/// The simulated [`MeshConfigurator`], bound to one cluster. Get one from [`SimCloud::mesh`].
///
/// Policies are validated with [`crate::validate::mesh_policy`], rendered with [`crate::render::mesh`] against
/// the deployed app's spec, and stored; [`MeshStatus::objects`] names the rendered objects, what the real
/// configurator writes. No mesh runs, so no traffic is routed. An app must be deployed on
/// the cluster before it gets a policy, and deleting the app deletes its policy.
#[derive(Debug, Clone)]
pub struct SimMesh {
    cloud: SimCloud,
    cluster: ClusterId,
}

/// The objects (`Kind/name`) the real configurator writes for `policy` on the app deployed with `app`: what
/// the renderer ([`crate::render::mesh`]) produces, so the simulator cannot drift from it.
fn objects(policy: &ValidMeshPolicy, app: &AppSpec) -> Result<Vec<String>> {
    Ok(render::mesh(policy, &validate::app_spec(app)?)?.iter().map(|o| o.key()).collect())
}

fn no_policy(app: &AppRef, cluster: &ClusterId) -> Error {
    Error::not_found(PROVIDER, format!("mesh policy of app {app} on cluster {cluster}"))
}

/// Stores a validated policy on an available cluster where the app is deployed.
fn store(st: &mut State, id: &ClusterId, policy: MeshPolicy) -> Result<MeshStatus> {
    let valid = validate::mesh_policy(&policy)?;
    let cluster = st.available_cluster_mut(id)?;
    let Some(app) = cluster.apps.get(&policy.app) else {
        return Err(Error::not_found(PROVIDER, format!("app {} on cluster {id}", policy.app)));
    };
    // Rendered before storing: a policy the renderer refuses is refused here too, and nothing changes.
    let objects = objects(&valid, &app.spec)?;
    let changed = cluster.mesh.get(&policy.app) != Some(&policy);
    cluster.mesh.insert(policy.app.clone(), policy.clone());
    Ok(MeshStatus { objects, policy, changed })
}

impl SimMesh {
    pub(crate) fn new(cloud: SimCloud, cluster: ClusterId) -> Self {
        Self { cloud, cluster }
    }

    /// The cluster this configurator is bound to.
    pub fn cluster(&self) -> &ClusterId {
        &self.cluster
    }
}

#[async_trait]
impl MeshConfigurator for SimMesh {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn capabilities(&self) -> MeshCapabilities {
        MeshCapabilities {
            kinds: vec![MeshKind::Istio, MeshKind::GatewayApi, MeshKind::Linkerd],
            header_match: true,
            mtls: true,
            tracing: true,
        }
    }

    async fn apply(&self, policy: &MeshPolicy) -> Result<MeshStatus> {
        self.cloud.call("mesh.apply", |st, _| store(st, &self.cluster, policy.clone())).await
    }

    async fn get(&self, app: &AppRef) -> Result<MeshPolicy> {
        let id = &self.cluster;
        self.cloud
            .call("mesh.get", |st, _| st.cluster(id)?.mesh.get(app).cloned().ok_or_else(|| no_policy(app, id)))
            .await
    }

    async fn set_traffic(&self, app: &AppRef, split: &TrafficSplit) -> Result<MeshStatus> {
        let id = &self.cluster;
        self.cloud
            .call("mesh.set_traffic", |st, _| {
                let mut policy = st.cluster(id)?.mesh.get(app).cloned().ok_or_else(|| no_policy(app, id))?;
                policy.traffic = Some(split.clone());
                store(st, id, policy)
            })
            .await
    }

    async fn delete(&self, app: &AppRef) -> Result<()> {
        let id = &self.cluster;
        self.cloud
            .call("mesh.delete", |st, _| {
                let cluster = st.available_cluster_mut(id)?;
                cluster.mesh.remove(app).map(|_| ()).ok_or_else(|| no_policy(app, id))
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;
    use crate::model::{MtlsMode, TracingSpec, WeightedBackend};
    use crate::progress::Progress;
    use crate::{Deployer, ErrorKind};

    async fn setup() -> (SimCloud, SimMesh, AppRef) {
        let cloud = SimCloud::new();
        let cluster = ready_cluster(&cloud, "c1").await;
        let app = web_app("shop", "web");
        cloud.deployer(&cluster.id).unwrap().apply(&app, &Progress::none()).await.unwrap();
        let mesh = cloud.mesh(&cluster.id).unwrap();
        (cloud, mesh, app.app_ref())
    }

    #[tokio::test(start_paused = true)]
    async fn apply_is_idempotent_and_names_the_istio_objects() {
        let (_cloud, mesh, app) = setup().await;
        let mut policy = MeshPolicy::split(app.clone(), MeshKind::Istio, TrafficSplit::canary("v1", "v2", 10));
        policy.tracing = Some(TracingSpec { sampling_percent: 10.0, provider: "otel".into() });
        let first = mesh.apply(&policy).await.unwrap();
        assert!(first.changed);
        assert_eq!(
            first.objects,
            vec!["VirtualService/web", "DestinationRule/web", "PeerAuthentication/web", "Telemetry/web"]
        );
        let second = mesh.apply(&policy).await.unwrap();
        assert!(!second.changed);
        assert_eq!(second.policy, policy);
        assert_eq!(mesh.get(&app).await.unwrap(), policy);

        policy.mtls = MtlsMode::Inherit;
        policy.tracing = None;
        let third = mesh.apply(&policy).await.unwrap();
        assert!(third.changed);
        assert_eq!(third.objects, vec!["VirtualService/web", "DestinationRule/web"]);
    }

    #[tokio::test(start_paused = true)]
    async fn gateway_api_and_linkerd_write_version_services_and_an_http_route() {
        let (_cloud, mesh, app) = setup().await;
        for kind in [MeshKind::GatewayApi, MeshKind::Linkerd] {
            let status = mesh.apply(&MeshPolicy::split(app.clone(), kind, TrafficSplit::canary("v1", "v2", 50))).await;
            assert_eq!(status.unwrap().objects, vec!["Service/web-v1", "Service/web-v2", "HTTPRoute/web"], "{kind:?}");
        }
        assert_eq!(mesh.capabilities().kinds.len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn objects_are_the_renderers_for_every_kind_and_policy() {
        let (_cloud, mesh, app) = setup().await;
        let spec = web_app("shop", "web");
        assert_eq!(spec.app_ref(), app);
        for kind in [MeshKind::Istio, MeshKind::GatewayApi, MeshKind::Linkerd] {
            let mut policies = vec![MeshPolicy::split(app.clone(), kind, TrafficSplit::canary("v1", "v2", 10))];
            let mut traced = policies[0].clone();
            traced.tracing = Some(TracingSpec { sampling_percent: 10.0, provider: "otel".into() });
            policies.push(traced);
            let mut inherit = policies[0].clone();
            inherit.mtls = MtlsMode::Inherit;
            policies.push(inherit);
            for policy in policies {
                let rendered: Vec<String> =
                    render::mesh(&validate::mesh_policy(&policy).unwrap(), &validate::app_spec(&spec).unwrap())
                        .unwrap()
                        .iter()
                        .map(|o| o.key())
                        .collect();
                assert!(!rendered.is_empty());
                assert_eq!(mesh.apply(&policy).await.unwrap().objects, rendered, "{kind:?} {policy:?}");
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_policy_needs_a_deployed_app() {
        let (_cloud, mesh, _app) = setup().await;
        let other = AppRef::new("shop", "missing");
        let policy = MeshPolicy::split(other.clone(), MeshKind::Istio, TrafficSplit::canary("v1", "v2", 10));
        assert_eq!(mesh.apply(&policy).await.unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(mesh.get(&other).await.unwrap_err().kind(), ErrorKind::NotFound);
        let split = TrafficSplit::canary("v1", "v2", 20);
        assert_eq!(mesh.set_traffic(&other, &split).await.unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(mesh.delete(&other).await.unwrap_err().kind(), ErrorKind::NotFound);
    }

    #[tokio::test(start_paused = true)]
    async fn set_traffic_changes_only_the_split_and_delete_removes_the_policy() {
        let (_cloud, mesh, app) = setup().await;
        let mut policy = MeshPolicy::split(app.clone(), MeshKind::Istio, TrafficSplit::canary("v1", "v2", 10));
        policy.mtls = MtlsMode::Permissive;
        mesh.apply(&policy).await.unwrap();
        let status = mesh.set_traffic(&app, &TrafficSplit::canary("v1", "v2", 50)).await.unwrap();
        assert!(status.changed);
        assert_eq!(status.policy.mtls, MtlsMode::Permissive, "the rest of the policy is kept");
        assert_eq!(mesh.get(&app).await.unwrap().traffic.unwrap().weight_of("v2"), Some(50));
        assert!(!mesh.set_traffic(&app, &TrafficSplit::canary("v1", "v2", 50)).await.unwrap().changed);
        mesh.delete(&app).await.unwrap();
        assert_eq!(mesh.get(&app).await.unwrap_err().kind(), ErrorKind::NotFound);
    }

    #[tokio::test(start_paused = true)]
    async fn invalid_weights_are_rejected_and_nothing_changes() {
        let (_cloud, mesh, app) = setup().await;
        let good = MeshPolicy::split(app.clone(), MeshKind::Istio, TrafficSplit::canary("v1", "v2", 10));
        mesh.apply(&good).await.unwrap();
        let bad = TrafficSplit {
            backends: vec![
                WeightedBackend { version: "v1".into(), weight: 70 },
                WeightedBackend { version: "v2".into(), weight: 20 },
            ],
            header_match: None,
        };
        assert_eq!(mesh.set_traffic(&app, &bad).await.unwrap_err().kind(), ErrorKind::InvalidSpec);
        assert_eq!(mesh.get(&app).await.unwrap(), good);
    }
}
