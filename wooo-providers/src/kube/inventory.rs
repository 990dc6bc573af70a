//! The inventory of an app's objects, kept as a Kubernetes ApplySet (KEP-3659) with the keys `kubectl apply
//! --prune --applyset` uses, so `kubectl` and other ApplySet-aware tools see the same inventory.
//!
//! The parent is a Secret `wooo-applyset-<app>` in the app's namespace, labelled
//! `applyset.kubernetes.io/id: <id>` and annotated with the tooling (`wooo/v1`) and the sorted group-kinds
//! its members have (`applyset.kubernetes.io/contains-group-kinds`). Every member carries the label
//! `applyset.kubernetes.io/part-of: <id>`; pruning lists each recorded group-kind by that label, so an object
//! without it is never touched.

use std::collections::BTreeSet;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::json;
use wooo_core::model::{AppRef, MANAGED_BY_LABEL, MANAGED_BY_VALUE};
use wooo_core::{Error, Result};

use super::error::{PROVIDER, classify};

/// Label on every member: the id of the ApplySet it belongs to.
pub const PART_OF_LABEL: &str = "applyset.kubernetes.io/part-of";
/// Label on the parent: its ApplySet id.
pub const ID_LABEL: &str = "applyset.kubernetes.io/id";
/// Annotation on the parent naming the tool that manages the set.
pub const TOOLING_ANNOTATION: &str = "applyset.kubernetes.io/tooling";
/// Annotation on the parent: the sorted, comma-separated group-kinds of its members (`Deployment.apps,Service`).
pub const CONTAINS_GROUP_KINDS_ANNOTATION: &str = "applyset.kubernetes.io/contains-group-kinds";
/// The value of [`TOOLING_ANNOTATION`] wooo writes.
pub const TOOLING: &str = "wooo/v1";
/// Label on the parent naming the app, so [`list`](crate::kube::KubeDeployer) needs no name parsing.
pub const APPLYSET_OF_LABEL: &str = "wooo.dev/applyset-of";
/// Prefix of the parent Secret's name.
pub const PARENT_PREFIX: &str = "wooo-applyset-";
/// The parent Secret's type: its data is empty, the type only tells people what it is.
const PARENT_TYPE: &str = "wooo.dev/applyset";

/// A Kubernetes group and kind, as ApplySet annotations write them: `Kind.group`, or `Kind` for the core group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKind {
    /// API group; empty for the core group.
    pub group: String,
    /// Kind.
    pub kind: String,
}

impl GroupKind {
    /// A group-kind.
    pub fn new(group: impl Into<String>, kind: impl Into<String>) -> Self {
        Self { group: group.into(), kind: kind.into() }
    }

    /// The group-kind of an `apiVersion` (`apps/v1`, `v1`) and kind.
    pub fn of(api_version: &str, kind: &str) -> Self {
        let group = api_version.rsplit_once('/').map(|(g, _)| g).unwrap_or_default();
        Self::new(group, kind)
    }

    /// Parses `Kind.group` (the group may itself contain dots) or `Kind`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        Some(match text.split_once('.') {
            Some((kind, group)) => Self::new(group, kind),
            None => Self::new("", text),
        })
    }

    /// Whether this is the core Namespace kind, which wooo never prunes or deletes.
    pub fn is_namespace(&self) -> bool {
        self.group.is_empty() && self.kind == "Namespace"
    }
}

impl fmt::Display for GroupKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() { f.write_str(&self.kind) } else { write!(f, "{}.{}", self.kind, self.group) }
    }
}

/// The annotation value for a set of group-kinds: sorted, comma-separated.
pub fn format_group_kinds(kinds: &BTreeSet<GroupKind>) -> String {
    let mut names: Vec<String> = kinds.iter().map(ToString::to_string).collect();
    names.sort();
    names.join(",")
}

/// The group-kinds of an annotation value; unparsable entries are skipped.
pub fn parse_group_kinds(text: &str) -> BTreeSet<GroupKind> {
    text.split(',').filter_map(GroupKind::parse).collect()
}

/// The ApplySet id of a parent object, exactly as KEP-3659 and kubectl compute it:
/// `applyset-` + base64url-without-padding(sha256(`<name>.<namespace>.<kind>.<group>`)) + `-v1`.
pub fn applyset_id(name: &str, namespace: &str, kind: &str, group: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, format!("{name}.{namespace}.{kind}.{group}").as_bytes());
    format!("applyset-{}-v1", URL_SAFE_NO_PAD.encode(digest.as_ref()))
}

/// One app's ApplySet: where its parent lives and the id its members carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplySet {
    /// The app.
    pub app: AppRef,
    /// The parent Secret's name, in the app's namespace.
    pub parent_name: String,
    /// The id: the parent's [`ID_LABEL`] and every member's [`PART_OF_LABEL`].
    pub id: String,
}

impl ApplySet {
    /// The ApplySet of `app`'s own objects.
    pub fn of(app: &AppRef) -> Self {
        Self::named(app, format!("{PARENT_PREFIX}{}", app.name))
    }

    /// Another ApplySet of `app`, whose parent Secret is `parent_name` (the mesh configurator keeps an app's
    /// mesh objects in their own set, so applying the app never prunes them and the other way round).
    pub fn named(app: &AppRef, parent_name: String) -> Self {
        let id = applyset_id(&parent_name, &app.namespace, "Secret", "");
        Self { app: app.clone(), parent_name, id }
    }

    /// The label selector matching every member.
    pub fn member_selector(&self) -> String {
        format!("{PART_OF_LABEL}={}", self.id)
    }

    fn secrets(&self, client: &kube::Client) -> Api<Secret> {
        Api::namespaced(client.clone(), &self.app.namespace)
    }

    /// Reads the parent; `None` when the app has never been applied (or was deleted).
    ///
    /// # Errors
    /// [`Error::Conflict`] when a Secret of that name exists but is not this ApplySet's parent (another tool,
    /// or a Secret of the user's that happens to have the name); API errors, classified.
    pub async fn read_parent(&self, client: &kube::Client) -> Result<Option<Parent>> {
        let Some(secret) = self.secrets(client).get_opt(&self.parent_name).await.map_err(classify)? else {
            return Ok(None);
        };
        let parent = Parent::from_secret(secret);
        if parent.id.as_deref() != Some(self.id.as_str()) || parent.tooling.as_deref() != Some(TOOLING) {
            return Err(Error::conflict(
                PROVIDER,
                format!(
                    "Secret {}/{} exists but is not wooo's ApplySet parent (id {:?}, tooling {:?})",
                    self.app.namespace, self.parent_name, parent.id, parent.tooling
                ),
            ));
        }
        Ok(Some(parent))
    }

    /// The parent object as wooo applies it, recording `kinds`.
    pub fn parent_body(&self, kinds: &BTreeSet<GroupKind>) -> serde_json::Value {
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": self.parent_name,
                "namespace": self.app.namespace,
                "labels": {
                    ID_LABEL: self.id,
                    MANAGED_BY_LABEL: MANAGED_BY_VALUE,
                    APPLYSET_OF_LABEL: self.app.name,
                },
                "annotations": {
                    TOOLING_ANNOTATION: TOOLING,
                    CONTAINS_GROUP_KINDS_ANNOTATION: format_group_kinds(kinds),
                },
            },
            "type": PARENT_TYPE,
        })
    }

    /// Writes the parent recording `kinds`, unless the parent records exactly them already (`current`: what it
    /// records now, `None` when there is no parent): no write, so an unchanged apply leaves the parent's
    /// resourceVersion alone.
    ///
    /// # Errors
    /// API errors, classified.
    pub async fn write_parent(
        &self,
        client: &kube::Client,
        current: Option<&BTreeSet<GroupKind>>,
        kinds: &BTreeSet<GroupKind>,
        field_manager: &str,
    ) -> Result<()> {
        if current == Some(kinds) {
            return Ok(());
        }
        let params = PatchParams::apply(field_manager).force();
        self.secrets(client)
            .patch(&self.parent_name, &params, &Patch::Apply(&self.parent_body(kinds)))
            .await
            .map_err(classify)?;
        Ok(())
    }

    /// Deletes the parent. Gone already is fine.
    ///
    /// # Errors
    /// API errors other than NotFound, classified.
    pub async fn delete_parent(&self, client: &kube::Client) -> Result<()> {
        match self.secrets(client).delete(&self.parent_name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(classify(e)),
        }
    }
}

/// What a parent records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parent {
    /// Its [`ID_LABEL`].
    pub id: Option<String>,
    /// Its [`TOOLING_ANNOTATION`].
    pub tooling: Option<String>,
    /// Its [`CONTAINS_GROUP_KINDS_ANNOTATION`].
    pub group_kinds: BTreeSet<GroupKind>,
}

impl Parent {
    /// What `secret` records.
    pub fn from_secret(secret: Secret) -> Self {
        let labels = secret.metadata.labels.unwrap_or_default();
        let annotations = secret.metadata.annotations.unwrap_or_default();
        Self {
            id: labels.get(ID_LABEL).cloned(),
            tooling: annotations.get(TOOLING_ANNOTATION).cloned(),
            group_kinds: annotations
                .get(CONTAINS_GROUP_KINDS_ANNOTATION)
                .map(|v| parse_group_kinds(v))
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_is_computed_as_kubectl_computes_it() {
        // Reference values computed independently (sha256, then base64url without padding) from
        // "<name>.<namespace>.<kind>.<group>".
        assert_eq!(
            applyset_id("wooo-applyset-web", "shop", "Secret", ""),
            "applyset-eGXtnSdnONCVMt-bnV4hjz4IUTjlMb5jtmeIrkbvZIw-v1"
        );
        assert_eq!(
            applyset_id("kubectl-applyset", "default", "Secret", ""),
            "applyset-OPab3XMhKRIqyr_Tj-C3s577ZMzl4fjiELAK4PfUpzI-v1"
        );
        let set = ApplySet::of(&AppRef::new("shop", "web"));
        assert_eq!(set.parent_name, "wooo-applyset-web");
        assert_eq!(set.id, "applyset-eGXtnSdnONCVMt-bnV4hjz4IUTjlMb5jtmeIrkbvZIw-v1");
        assert!(set.id.len() <= 63, "the id is a label value");
        assert_ne!(ApplySet::of(&AppRef::new("other", "web")).id, set.id, "the namespace is part of the id");
    }

    #[test]
    fn group_kinds_round_trip_sorted() {
        let kinds: BTreeSet<GroupKind> = [
            GroupKind::of("networking.k8s.io/v1", "Ingress"),
            GroupKind::of("v1", "Service"),
            GroupKind::of("apps/v1", "Deployment"),
            GroupKind::of("monitoring.coreos.com/v1", "ServiceMonitor"),
            GroupKind::of("v1", "Namespace"),
        ]
        .into_iter()
        .collect();
        let text = format_group_kinds(&kinds);
        assert_eq!(
            text,
            "Deployment.apps,Ingress.networking.k8s.io,Namespace,Service,ServiceMonitor.monitoring.coreos.com"
        );
        assert_eq!(parse_group_kinds(&text), kinds);
        assert_eq!(parse_group_kinds(""), BTreeSet::new());
        assert_eq!(parse_group_kinds(" Secret , ,"), [GroupKind::new("", "Secret")].into_iter().collect());
        assert!(GroupKind::of("v1", "Namespace").is_namespace());
        assert!(!GroupKind::new("example.com", "Namespace").is_namespace());
    }

    #[test]
    fn parent_body_carries_the_applyset_keys() {
        let set = ApplySet::of(&AppRef::new("shop", "web"));
        let kinds = [GroupKind::of("apps/v1", "Deployment"), GroupKind::of("v1", "Service")].into_iter().collect();
        let body = set.parent_body(&kinds);
        assert_eq!(body["metadata"]["labels"][ID_LABEL], set.id.as_str());
        assert_eq!(body["metadata"]["labels"][MANAGED_BY_LABEL], "wooo");
        assert_eq!(body["metadata"]["annotations"][TOOLING_ANNOTATION], "wooo/v1");
        assert_eq!(body["metadata"]["annotations"][CONTAINS_GROUP_KINDS_ANNOTATION], "Deployment.apps,Service");
        let secret: Secret = serde_json::from_value(body).unwrap();
        let parent = Parent::from_secret(secret);
        assert_eq!(parent.group_kinds, kinds);
        assert_eq!(parent.id.as_deref(), Some(set.id.as_str()));
    }
}
