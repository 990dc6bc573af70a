//! What rendering needs to know of an app's secrets, read from the cluster: the app's rollout key (kept in its
//! own Secret; a new one on the first apply) and the content of the Secrets its `secret_refs` name. See
//! [`wooo_core::render::SecretInputs`] for how they become the pod template's secret hash.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use wooo_core::Result;
use wooo_core::model::AppSpec;
use wooo_core::render::{ROLLOUT_KEY_DATA_KEY, ReferencedSecret, RolloutKey, SecretInputs};

use super::error::classify;

/// The app's secret inputs; empty when the app reads no secret (no GET is made then).
///
/// # Errors
/// API errors reading the app's own Secret, classified; a referenced Secret the deployer may not read (403) is
/// [`ReferencedSecret::Unreadable`], not an error, so an app can reference Secrets wooo has no right to see.
pub(crate) async fn secret_inputs(client: &kube::Client, spec: &AppSpec) -> Result<SecretInputs> {
    if !spec.reads_secrets() {
        return Ok(SecretInputs::default());
    }
    let api: Api<Secret> = Api::namespaced(client.clone(), &spec.namespace);
    let own = api.get_opt(&spec.secret_name()).await.map_err(classify)?;
    let key = match own.as_ref().and_then(stored_key) {
        Some(key) => key,
        None => RolloutKey::generate()?,
    };
    let mut inputs = SecretInputs::with_key(key);
    let names: BTreeSet<&String> = spec.secret_refs.iter().map(|r| &r.secret).collect();
    for name in names {
        let read = match api.get_opt(name).await {
            Ok(Some(secret)) => ReferencedSecret::Data(content(&secret)),
            Ok(None) => ReferencedSecret::Missing,
            Err(kube::Error::Api(status)) if status.code == 403 => ReferencedSecret::Unreadable,
            Err(e) => return Err(classify(e)),
        };
        inputs.referenced.insert(name.clone(), read);
    }
    Ok(inputs)
}

/// The rollout key a live Secret holds, in `data` (as the API server stores it) or `stringData` (as an
/// in-memory server may keep it).
fn stored_key(secret: &Secret) -> Option<RolloutKey> {
    let from_data = secret.data.as_ref().and_then(|d| d.get(ROLLOUT_KEY_DATA_KEY)).map(|b| b.0.clone());
    let from_string =
        secret.string_data.as_ref().and_then(|d| d.get(ROLLOUT_KEY_DATA_KEY)).map(|s| s.clone().into_bytes());
    let bytes = from_data.or(from_string)?;
    RolloutKey::from_hex(std::str::from_utf8(&bytes).ok()?)
}

/// Every key of a Secret with its bytes, `stringData` over `data` as the API server merges them.
fn content(secret: &Secret) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out: std::collections::BTreeMap<String, Vec<u8>> =
        secret.data.iter().flatten().map(|(k, v)| (k.clone(), v.0.clone())).collect();
    out.extend(secret.string_data.iter().flatten().map(|(k, v)| (k.clone(), v.clone().into_bytes())));
    out
}

#[cfg(test)]
#[path = "secrets_tests.rs"]
mod tests;
