//! [`KubeMesh`]: wooo's [`MeshConfigurator`] over any Kubernetes API server, for Istio, the Gateway API and
//! Linkerd.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;
use serde_json::json;
use wooo_core::model::{AppRef, AppSpec, MeshKind, MeshPolicy, MeshStatus, TrafficSplit};
use wooo_core::progress::{OperationGuard, Progress};
use wooo_core::{Error, MeshCapabilities, MeshConfigurator, Result};

use super::apply::{Desired, Resolver};
use super::error::{PROVIDER, classify};
use super::inventory::{ApplySet, PART_OF_LABEL};
use super::revisions::RevisionStore;
use super::sync::SetSync;

/// Prefix of the parent Secret of an app's mesh ApplySet.
pub const MESH_PARENT_PREFIX: &str = "wooo-mesh-";
/// Key of the policy (JSON) in the ConfigMap `wooo-mesh-<app>-policy` that records it.
pub const POLICY_KEY: &str = "policy.json";

/// The ApplySet holding `app`'s mesh objects, apart from the app's own.
pub fn mesh_applyset(app: &AppRef) -> ApplySet {
    ApplySet::named(app, format!("{MESH_PARENT_PREFIX}{}", app.name))
}

fn policy_config_map_name(app: &AppRef) -> String {
    format!("{MESH_PARENT_PREFIX}{}-policy", app.name)
}

/// Mesh policy for the apps of one cluster, over kube-rs.
///
/// - `apply` validates the policy, reads the app's current spec from the revisions the [`super::KubeDeployer`]
///   keeps in the cluster (a policy needs a deployed app: its Service is the route's host), renders the mesh
///   objects ([`wooo_core::render::mesh`]) and server-side applies them as their own ApplySet (parent Secret
///   `wooo-mesh-<app>`), with a ConfigMap recording the policy. Every kind is checked by discovery first: a
///   mesh whose CRDs are not installed fails with [`Error::Unsupported`] naming them, and nothing is applied.
/// - Changing the mesh kind prunes the previous kind's objects; re-applying the same policy writes nothing
///   (`changed` is false).
/// - `delete` removes every mesh object of the app and the record.
///
/// Settings the chosen mesh cannot express are left out, as [`wooo_core::render::mesh_ignored`] lists.
#[derive(Clone)]
pub struct KubeMesh {
    client: kube::Client,
    resolver: Arc<Resolver>,
    field_manager: String,
}

impl fmt::Debug for KubeMesh {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KubeMesh").field("field_manager", &self.field_manager).finish_non_exhaustive()
    }
}

impl KubeMesh {
    /// A configurator over `client`, applying with the field manager `wooo`.
    pub fn new(client: kube::Client) -> Self {
        Self { client, resolver: Arc::new(Resolver::default()), field_manager: "wooo".to_string() }
    }

    fn sync(&self) -> SetSync<'_> {
        SetSync { client: &self.client, resolver: &self.resolver, field_manager: &self.field_manager }
    }

    /// The app's current spec, from its newest revision.
    async fn deployed_spec(&self, app: &AppRef) -> Result<AppSpec> {
        let revisions = RevisionStore::new(&self.client, app).list().await?;
        revisions
            .into_iter()
            .next_back()
            .map(|r| r.spec)
            .ok_or_else(|| Error::not_found(PROVIDER, format!("app {app} (deploy it before configuring its mesh)")))
    }

    fn policy_record(&self, policy: &MeshPolicy, set: &ApplySet) -> Result<Desired> {
        let text = serde_json::to_string(policy).map_err(|e| Error::Provider {
            provider: PROVIDER,
            message: format!("cannot record the mesh policy of {}: {e}", policy.app),
            source: Some(Box::new(e)),
        })?;
        let name = policy_config_map_name(&policy.app);
        let body = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": name,
                "namespace": policy.app.namespace,
                "labels": {
                    wooo_core::model::MANAGED_BY_LABEL: wooo_core::model::MANAGED_BY_VALUE,
                    "app.kubernetes.io/name": policy.app.name,
                },
            },
            "data": { POLICY_KEY: text },
        });
        Ok(Desired::from_parts("v1", "ConfigMap", &name, Some(&policy.app.namespace), body, &set.id))
    }

    async fn apply_policy(&self, policy: &MeshPolicy, op: &OperationGuard<'_>) -> Result<MeshStatus> {
        let valid = wooo_core::validate::mesh_policy(policy)?;
        let supported = self.capabilities().kinds;
        if !supported.contains(&policy.kind) {
            return Err(Error::unsupported(PROVIDER, format!("mesh kind {:?}", policy.kind)));
        }
        let spec = self.deployed_spec(&policy.app).await?;
        // The stored spec was valid when applied; validating it again guards against a hand-edited record.
        let objects = wooo_core::render::mesh(&valid, &wooo_core::validate::app_spec(&spec)?)?;
        let set = mesh_applyset(&policy.app);
        let mut desired = objects.iter().map(|o| Desired::from_object(o, &set.id)).collect::<Result<Vec<_>>>()?;
        desired.push(self.policy_record(policy, &set)?);
        let synced = self.sync().apply(&set, &desired, op).await?;
        Ok(MeshStatus {
            policy: policy.clone(),
            objects: objects.iter().map(|o| o.key()).collect(),
            changed: synced.changed,
        })
    }
}

#[async_trait]
impl MeshConfigurator for KubeMesh {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn capabilities(&self) -> MeshCapabilities {
        let mut caps = MeshCapabilities::default();
        caps.kinds = vec![MeshKind::Istio, MeshKind::GatewayApi, MeshKind::Linkerd];
        caps.header_match = true;
        caps.mtls = true;
        caps.tracing = true;
        caps
    }

    async fn apply(&self, policy: &MeshPolicy) -> Result<MeshStatus> {
        let progress = Progress::none();
        let op = OperationGuard::start(&progress, "mesh.apply", format!("mesh/{}", policy.app));
        let result = self.apply_policy(policy, &op).await;
        op.finish(result)
    }

    async fn get(&self, app: &AppRef) -> Result<MeshPolicy> {
        let not_found = || Error::not_found(PROVIDER, format!("mesh policy of {app}"));
        let api: Api<ConfigMap> = Api::namespaced(self.client.clone(), &app.namespace);
        let record = api.get_opt(&policy_config_map_name(app)).await.map_err(classify)?.ok_or_else(not_found)?;
        // Only our own record counts: a ConfigMap of that name outside the mesh ApplySet is someone else's.
        let set = mesh_applyset(app);
        let labels: BTreeMap<String, String> = record.metadata.labels.clone().unwrap_or_default();
        if labels.get(PART_OF_LABEL) != Some(&set.id) {
            return Err(not_found());
        }
        let text = record.data.as_ref().and_then(|d| d.get(POLICY_KEY)).ok_or_else(not_found)?;
        serde_json::from_str(text).map_err(|e| Error::Provider {
            provider: PROVIDER,
            message: format!("the recorded mesh policy of {app} does not parse: {e}"),
            source: Some(Box::new(e)),
        })
    }

    async fn set_traffic(&self, app: &AppRef, split: &TrafficSplit) -> Result<MeshStatus> {
        let mut policy = self.get(app).await?;
        policy.traffic = Some(split.clone());
        self.apply(&policy).await
    }

    async fn delete(&self, app: &AppRef) -> Result<()> {
        let set = mesh_applyset(app);
        let parent = set
            .read_parent(&self.client)
            .await?
            .ok_or_else(|| Error::not_found(PROVIDER, format!("mesh policy of {app}")))?;
        self.sync().delete_members(&set, &parent).await?;
        set.delete_parent(&self.client).await
    }
}

#[cfg(test)]
#[path = "mesh_tests.rs"]
mod tests;
