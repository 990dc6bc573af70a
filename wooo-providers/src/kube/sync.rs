//! Keeping one ApplySet in sync with a list of desired objects: server-side apply in order (skipping objects
//! that already hold every desired field), inventory in the parent, pruning of members no longer desired, and
//! deleting every member. The deployer (an app's objects) and the mesh configurator (an app's mesh objects) each
//! keep their own ApplySet through this.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};
use serde_json::Value;
use wooo_core::progress::OperationGuard;
use wooo_core::{Error, Result};

use super::apply::{Desired, Resolved, Resolver, contains, is_not_found, owned_by, resource_version};
use super::error::{PROVIDER, classify};
use super::inventory::{ApplySet, GroupKind, Parent};

/// What the cluster holds of an ApplySet.
#[derive(Debug, Default)]
pub(crate) struct Live {
    /// The parent, when the set was applied before.
    pub(crate) parent: Option<Parent>,
    /// Members by group-kind and name.
    pub(crate) members: BTreeMap<(GroupKind, String), Value>,
    /// Desired cluster-scoped objects that exist but are not members (a shared namespace).
    pub(crate) foreign: BTreeSet<(GroupKind, String)>,
    /// The API resource of every group-kind recorded or desired.
    pub(crate) resources: BTreeMap<GroupKind, Resolved>,
}

/// The outcome of [`SetSync::apply`].
#[derive(Debug)]
pub(crate) struct Synced {
    /// Whether any object was created, changed or pruned.
    pub(crate) changed: bool,
    /// Every desired object as the cluster now holds it, in order.
    pub(crate) applied: Vec<(GroupKind, Value)>,
}

/// Applies and prunes ApplySets with one field manager.
pub(crate) struct SetSync<'a> {
    pub(crate) client: &'a kube::Client,
    pub(crate) resolver: &'a Resolver,
    pub(crate) field_manager: &'a str,
}

/// An object the API server returned, as JSON.
pub(crate) fn to_value<T: serde::Serialize>(object: &T) -> Result<Value> {
    serde_json::to_value(object).map_err(|e| Error::Provider {
        provider: PROVIDER,
        message: format!("cannot read an object the API server returned: {e}"),
        source: Some(Box::new(e)),
    })
}

fn name_of(value: &Value) -> String {
    value["metadata"]["name"].as_str().unwrap_or_default().to_string()
}

/// Deletes one object in the background (dependents go with it). Gone already is fine.
async fn delete_quietly<K>(api: &Api<K>, name: &str) -> Result<()>
where
    K: Clone + serde::de::DeserializeOwned + fmt::Debug,
{
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(classify(e)),
    }
}

impl SetSync<'_> {
    /// Server-side apply by this field manager; `force` takes over fields another manager owns.
    pub(crate) fn apply_params(&self, force: bool) -> PatchParams {
        let params = PatchParams::apply(self.field_manager);
        if force { params.force() } else { params }
    }

    /// Reads the inventory of `set` and lists its members.
    ///
    /// # Errors
    /// [`Error::Conflict`] when the parent's name is taken by something else; API errors, classified.
    pub(crate) async fn load_live(&self, set: &ApplySet, desired: &[Desired], resolved: &[Resolved]) -> Result<Live> {
        let mut live = Live { parent: set.read_parent(self.client).await?, ..Live::default() };
        live.resources = resolved.iter().map(|r| (r.group_kind(), r.clone())).collect();
        for gk in live.parent.as_ref().map(|p| p.group_kinds.clone()).unwrap_or_default() {
            if !live.resources.contains_key(&gk)
                && let Some(r) = self.resolver.resolve_group_kind(self.client, &gk).await?
            {
                live.resources.insert(gk, r);
            }
        }
        let selector = set.member_selector();
        for (gk, resource) in &live.resources {
            let api = resource.api(self.client, &set.app.namespace);
            if resource.namespaced {
                let items = match api.list(&ListParams::default().labels(&selector)).await {
                    Ok(list) => list.items,
                    // A kind whose definition was removed has nothing left to prune.
                    Err(e) if is_not_found(&e) => Vec::new(),
                    Err(e) => return Err(classify(e)),
                };
                for item in items {
                    let value = to_value(&item)?;
                    live.members.insert((gk.clone(), name_of(&value)), value);
                }
                continue;
            }
            // Cluster-scoped kinds are read by name: listing them would need cluster-wide rights.
            for d in desired.iter().filter(|d| &d.group_kind == gk) {
                if let Some(found) = api.get_opt(&d.name).await.map_err(classify)? {
                    let value = to_value(&found)?;
                    let key = (gk.clone(), d.name.clone());
                    if owned_by(&value, &set.id) {
                        live.members.insert(key, value);
                    } else {
                        live.foreign.insert(key);
                    }
                }
            }
        }
        Ok(live)
    }

    /// Resolves every desired kind first (a missing custom resource definition stops the apply before any
    /// write), then applies the objects in order, prunes members no longer desired, and records the kinds in the
    /// parent.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for kinds the API server does not serve; [`Error::Conflict`] for fields owned by
    /// another manager; API errors, classified.
    pub(crate) async fn apply(&self, set: &ApplySet, desired: &[Desired], op: &OperationGuard<'_>) -> Result<Synced> {
        let kinds: Vec<(&str, &str)> =
            desired.iter().map(|d| (d.api_version.as_str(), d.group_kind.kind.as_str())).collect();
        let resolved = self.resolver.resolve_all(self.client, &kinds).await?;
        let live = self.load_live(set, desired, &resolved).await?;
        let fm = self.field_manager;
        let recorded = live.parent.as_ref().map(|p| p.group_kinds.clone());
        let rendered: BTreeSet<GroupKind> = desired.iter().map(|d| d.group_kind.clone()).collect();
        // The parent records the union before anything is applied, so an apply that stops half way still
        // leaves every member findable for the next prune.
        let union: BTreeSet<GroupKind> = rendered.iter().chain(recorded.iter().flatten()).cloned().collect();
        let mut parent_written = false;
        let mut changed = false;
        let mut applied = Vec::with_capacity(desired.len());
        let total = u32::try_from(desired.len()).ok();
        for (i, (d, resource)) in desired.iter().zip(&resolved).enumerate() {
            let done = u32::try_from(i + 1).unwrap_or(u32::MAX);
            if resource.namespaced && !parent_written {
                set.write_parent(self.client, recorded.as_ref(), &union, fm).await?;
                parent_written = true;
            }
            let key = (d.group_kind.clone(), d.name.clone());
            if live.foreign.contains(&key) && d.group_kind.is_namespace() && !d.manage_existing {
                op.step(format!("{} exists and is not this app's: left as it is", d.key()), done, total);
                continue;
            }
            let current = live.members.get(&key);
            if let Some(current) = current
                && contains(current, &d.body)
            {
                applied.push((d.group_kind.clone(), current.clone()));
                op.step(format!("{} unchanged", d.key()), done, total);
                continue;
            }
            let force = current.is_some_and(|c| owned_by(c, &set.id));
            let api = resource.api(self.client, d.namespace.as_deref().unwrap_or(&set.app.namespace));
            let answer =
                api.patch(&d.name, &self.apply_params(force), &Patch::Apply(&d.body)).await.map_err(classify)?;
            let answer = to_value(&answer)?;
            let was = current.and_then(resource_version);
            changed |= was.is_none() || was != resource_version(&answer);
            op.step(format!("applied {}", d.key()), done, total);
            applied.push((d.group_kind.clone(), answer));
        }
        if !parent_written {
            set.write_parent(self.client, recorded.as_ref(), &union, fm).await?;
        }
        changed |= self.prune(set, &live, desired, op).await? > 0;
        set.write_parent(self.client, Some(&union), &rendered, fm).await?;
        Ok(Synced { changed, applied })
    }

    /// Deletes the members of `live` that `desired` no longer has (never a Namespace, nor a cluster-scoped
    /// object). Returns how many were deleted.
    async fn prune(&self, set: &ApplySet, live: &Live, desired: &[Desired], op: &OperationGuard<'_>) -> Result<usize> {
        let wanted: BTreeSet<(&GroupKind, &str)> = desired.iter().map(|d| (&d.group_kind, d.name.as_str())).collect();
        let mut deleted = 0;
        for (gk, name) in live.members.keys() {
            if gk.is_namespace() || wanted.contains(&(gk, name.as_str())) {
                continue;
            }
            let Some(resource) = live.resources.get(gk).filter(|r| r.namespaced) else { continue };
            delete_quietly(&resource.api(self.client, &set.app.namespace), name).await?;
            op.step(format!("pruned {}/{name}", gk.kind), 0, None);
            deleted += 1;
        }
        Ok(deleted)
    }

    /// Deletes every namespaced member `parent` records (never the namespace); the parent itself stays.
    ///
    /// # Errors
    /// API errors, classified.
    pub(crate) async fn delete_members(&self, set: &ApplySet, parent: &Parent) -> Result<()> {
        let selector = set.member_selector();
        for gk in parent.group_kinds.iter().filter(|gk| !gk.is_namespace()) {
            let Some(resource) = self.resolver.resolve_group_kind(self.client, gk).await?.filter(|r| r.namespaced)
            else {
                continue;
            };
            let api = resource.api(self.client, &set.app.namespace);
            let members = match api.list(&ListParams::default().labels(&selector)).await {
                Ok(list) => list.items,
                Err(e) if is_not_found(&e) => Vec::new(),
                Err(e) => return Err(classify(e)),
            };
            for member in members {
                delete_quietly(&api, member.metadata.name.as_deref().unwrap_or_default()).await?;
            }
        }
        Ok(())
    }
}
