//! An app's revision history, kept in the cluster as Helm keeps releases: one Secret per revision,
//! `wooo-rev-<app>-v<N>` of type `wooo.dev/revision`, holding the applied [`AppSpec`] as JSON.
//!
//! Secrets rather than ConfigMaps because specs carry secret values. The history survives the host program
//! and is shared by every host program that deploys to the cluster.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use wooo_core::model::{AppRef, AppSpec, MANAGED_BY_LABEL, MANAGED_BY_VALUE, Revision};
use wooo_core::{Error, Result};

use super::error::{PROVIDER, classify};

/// The Secret type of revision records.
pub const REVISION_TYPE: &str = "wooo.dev/revision";
/// Label naming the app a revision belongs to.
pub const REVISION_OF_LABEL: &str = "wooo.dev/revision-of";
/// Label holding the revision number.
pub const REVISION_LABEL: &str = "wooo.dev/revision";

const SPEC_KEY: &str = "spec";
const CAUSE_KEY: &str = "cause";
const APPLIED_AT_KEY: &str = "appliedAt";

/// The Secret name of revision `number` of `app`.
pub fn secret_name(app: &AppRef, number: u64) -> String {
    format!("wooo-rev-{}-v{number}", app.name)
}

/// The Secret recording `revision` of `app`.
///
/// # Errors
/// [`Error::InvalidSpec`] when the spec cannot be serialized (it always can).
pub fn to_secret(app: &AppRef, revision: &Revision) -> Result<Secret> {
    let spec = serde_json::to_vec(&revision.spec)
        .map_err(|e| Error::invalid_spec("<document>", format!("cannot serialize the spec: {e}")))?;
    let labels = BTreeMap::from([
        (MANAGED_BY_LABEL.to_string(), MANAGED_BY_VALUE.to_string()),
        (REVISION_OF_LABEL.to_string(), app.name.clone()),
        (REVISION_LABEL.to_string(), revision.number.to_string()),
    ]);
    let data = BTreeMap::from([
        (SPEC_KEY.to_string(), ByteString(spec)),
        (CAUSE_KEY.to_string(), ByteString(revision.cause.clone().into_bytes())),
        (APPLIED_AT_KEY.to_string(), ByteString(revision.applied_at.to_string().into_bytes())),
    ]);
    Ok(Secret {
        metadata: ObjectMeta {
            name: Some(secret_name(app, revision.number)),
            namespace: Some(app.namespace.clone()),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        type_: Some(REVISION_TYPE.to_string()),
        data: Some(data),
        // Records are written once; the API server then refuses changes to them.
        immutable: Some(true),
        ..Secret::default()
    })
}

/// The revision a Secret records; `None` for a Secret that is not a well-formed revision record (skipped,
/// rather than failing the whole history over one damaged record).
pub fn from_secret(secret: &Secret) -> Option<Revision> {
    if secret.type_.as_deref() != Some(REVISION_TYPE) {
        return None;
    }
    let number: u64 = secret.metadata.labels.as_ref()?.get(REVISION_LABEL)?.parse().ok()?;
    let data = secret.data.as_ref()?;
    let text = |key: &str| data.get(key).and_then(|b| String::from_utf8(b.0.clone()).ok());
    let spec: AppSpec = serde_json::from_slice(&data.get(SPEC_KEY)?.0).ok()?;
    let applied_at: Timestamp = text(APPLIED_AT_KEY)?.parse().ok()?;
    Some(Revision { number, applied_at, spec, cause: text(CAUSE_KEY).unwrap_or_default() })
}

/// The revision records of one app.
#[derive(Debug, Clone)]
pub struct RevisionStore {
    api: Api<Secret>,
    app: AppRef,
}

impl RevisionStore {
    /// The records of `app`.
    pub fn new(client: &kube::Client, app: &AppRef) -> Self {
        Self { api: Api::namespaced(client.clone(), &app.namespace), app: app.clone() }
    }

    /// Every stored revision, oldest first.
    ///
    /// # Errors
    /// API errors, classified.
    pub async fn list(&self) -> Result<Vec<Revision>> {
        let selector = format!("{MANAGED_BY_LABEL}={MANAGED_BY_VALUE},{REVISION_OF_LABEL}={}", self.app.name);
        let secrets = self.api.list(&ListParams::default().labels(&selector)).await.map_err(classify)?;
        let mut revisions: Vec<Revision> = secrets.items.iter().filter_map(from_secret).collect();
        revisions.sort_by_key(|r| r.number);
        Ok(revisions)
    }

    /// Records `spec` as the revision after the newest of `existing` (which [`RevisionStore::list`] returned),
    /// then deletes the oldest records beyond `limit` (at least 1).
    ///
    /// Whether to record at all is the caller's: the [`Deployer`](wooo_core::Deployer) rules record a spec only
    /// when it differs from the newest revision's.
    ///
    /// # Errors
    /// [`Error::AlreadyExists`] when another writer recorded the same number first; API errors, classified.
    pub async fn record(
        &self,
        existing: &[Revision],
        spec: &AppSpec,
        cause: &str,
        limit: u32,
        field_manager: &str,
    ) -> Result<Revision> {
        let number = existing.last().map_or(1, |r| r.number + 1);
        let revision = Revision { number, applied_at: Timestamp::now(), spec: spec.clone(), cause: cause.to_string() };
        let params = PostParams { field_manager: Some(field_manager.to_string()), ..PostParams::default() };
        self.api.create(&params, &to_secret(&self.app, &revision)?).await.map_err(classify)?;
        self.prune(existing, 1, limit).await?;
        Ok(revision)
    }

    /// Deletes the oldest of `existing` (oldest first) so that, with `added` records written after them, at
    /// most `limit` (at least 1) are kept.
    ///
    /// Called after every apply, not only after a record: a record whose answer was lost is found on the next
    /// call, which records nothing but still owes the pruning.
    ///
    /// # Errors
    /// API errors, classified.
    pub async fn prune(&self, existing: &[Revision], added: usize, limit: u32) -> Result<()> {
        let keep = usize::try_from(limit.max(1)).unwrap_or(usize::MAX);
        let total = existing.len() + added;
        for old in existing.iter().take(total.saturating_sub(keep)) {
            self.delete_one(old.number).await?;
        }
        Ok(())
    }

    /// Deletes every record.
    ///
    /// # Errors
    /// API errors, classified.
    pub async fn delete_all(&self) -> Result<()> {
        for revision in self.list().await? {
            self.delete_one(revision.number).await?;
        }
        Ok(())
    }

    async fn delete_one(&self, number: u64) -> Result<()> {
        match self.api.delete(&secret_name(&self.app, number), &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(classify(e)),
        }
    }
}

/// The revision [`Deployer::rollback`](wooo_core::Deployer::rollback) goes back to
/// ([`wooo_core::rollback_target`]): `number` when given, else the one before the newest.
///
/// # Errors
/// [`Error::NotFound`] naming the missing revision.
pub fn rollback_target<'a>(app: &AppRef, revisions: &'a [Revision], number: Option<u64>) -> Result<&'a Revision> {
    wooo_core::rollback_target(revisions, number).ok_or_else(|| {
        let what = number.map_or_else(|| "an earlier revision".to_string(), |n| format!("revision {n}"));
        Error::not_found(PROVIDER, format!("{what} of app {app}"))
    })
}

#[cfg(test)]
mod tests {
    use wooo_core::ErrorKind;
    use wooo_core::model::{Framework, SecretString};

    use super::*;

    fn revision(number: u64, image: &str) -> Revision {
        let mut spec = AppSpec::new("shop", "web", image, Framework::Flask);
        spec.secrets.insert("DB_PASSWORD".into(), SecretString::new("hunter2"));
        Revision { number, applied_at: "2026-03-01T10:00:00Z".parse().unwrap(), spec, cause: "apply".into() }
    }

    #[test]
    fn a_revision_round_trips_through_its_secret() {
        let app = AppRef::new("shop", "web");
        let rev = revision(7, "registry.example.com/web:1");
        let secret = to_secret(&app, &rev).unwrap();
        assert_eq!(secret.metadata.name.as_deref(), Some("wooo-rev-web-v7"));
        assert_eq!(secret.type_.as_deref(), Some(REVISION_TYPE));
        let labels = secret.metadata.labels.clone().unwrap();
        assert_eq!(labels[REVISION_OF_LABEL], "web");
        assert_eq!(labels[REVISION_LABEL], "7");
        assert_eq!(labels[MANAGED_BY_LABEL], "wooo");
        // Through JSON, as the API server stores it (data base64-encoded).
        let stored: Secret = serde_json::from_value(serde_json::to_value(&secret).unwrap()).unwrap();
        let back = from_secret(&stored).unwrap();
        assert_eq!(back, rev);
        assert_eq!(back.spec.secrets["DB_PASSWORD"].expose(), "hunter2", "secret values survive");
    }

    #[test]
    fn other_secrets_are_not_revisions() {
        let app = AppRef::new("shop", "web");
        let mut secret = to_secret(&app, &revision(1, "i:1")).unwrap();
        secret.type_ = Some("Opaque".into());
        assert!(from_secret(&secret).is_none());
        let mut damaged = to_secret(&app, &revision(1, "i:1")).unwrap();
        damaged.data.as_mut().unwrap().insert(SPEC_KEY.into(), ByteString(b"{not json".to_vec()));
        assert!(from_secret(&damaged).is_none());
    }

    #[test]
    fn rollback_targets() {
        let app = AppRef::new("shop", "web");
        let revs = vec![revision(3, "a"), revision(4, "b"), revision(5, "c")];
        assert_eq!(rollback_target(&app, &revs, None).unwrap().number, 4);
        assert_eq!(rollback_target(&app, &revs, Some(3)).unwrap().spec.image, "a");
        let err = rollback_target(&app, &revs, Some(9)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.to_string().contains("revision 9 of app shop/web"), "{err}");
        assert_eq!(rollback_target(&app, &revs[..1], None).unwrap_err().kind(), ErrorKind::NotFound);
    }
}
