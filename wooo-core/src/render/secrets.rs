//! Secrets that roll the pods when they change, without leaking what they hold.
//!
//! A Deployment only replaces its pods when its pod template changes, and environment variables read from a
//! Secret are fixed when a container starts, so a changed Secret must change the template. wooo puts a keyed hash
//! of everything the pods read from Secrets into the pod-template annotation `wooo.dev/secret-hash`:
//! HMAC-SHA-256 under a random 256-bit *rollout key* that lives in the app's own Secret (`<app>-secrets`, data
//! key `wooo.rollout-key`), next to the values it protects. Anyone who can read the annotation but not the Secret
//! learns nothing about the values: without the key, even a single low-entropy value (a 4-digit PIN) cannot be
//! guessed offline from the hash, which an unsalted digest or a content-addressed name would allow.
//!
//! The hash covers:
//! - the inline `secrets` values;
//! - for every entry of `secret_refs`, what the deployer read of the referenced Secret: the keys the app uses
//!   (every key for a whole-Secret reference, the one key otherwise). A Secret that does not exist yet hashes as
//!   *missing*, so its creation rolls the pods; one the deployer may not read (HTTP 403) hashes as *unreadable*:
//!   its changes then do not roll the pods, and the host restarts the app itself (`Deployer::restart`) or grants
//!   the deployer `get` on that Secret.
//!
//! The deployers read the rollout key from the live Secret before rendering and create one on the first apply;
//! the key is never rotated by wooo, since a new key changes the hash and so rolls the pods once. Offline renders
//! ([`crate::render::app`]) have no key and carry no secret hash: pass [`SecretInputs`] with a key to
//! [`crate::render::app_with`] when exporting manifests that should roll on secret changes.

use std::collections::BTreeMap;
use std::fmt;

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

use crate::error::{Error, ErrorKind, Result};
use crate::model::AppSpec;

/// The data key of the app's Secret that holds the rollout key (hex).
pub const ROLLOUT_KEY_DATA_KEY: &str = "wooo.rollout-key";
/// The pod-template annotation holding the keyed hash of the secret material the pods read.
pub const SECRET_HASH_ANNOTATION: &str = "wooo.dev/secret-hash";

/// The random key of an app's secret hash. Its `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct RolloutKey([u8; 32]);

impl RolloutKey {
    /// A fresh key from the operating system's random number generator.
    ///
    /// # Errors
    /// [`Error::Provider`] (provider `render`) when the system has no random source.
    pub fn generate() -> Result<Self> {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| Error::of_kind(ErrorKind::Provider, "render", "the system random number generator failed"))?;
        Ok(Self(bytes))
    }

    /// A key from its bytes (tests, or a host that keeps keys elsewhere).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Parses the hex form stored in the Secret; `None` when it is not 64 hex digits.
    pub fn from_hex(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.len() != 64 || !text.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self(bytes))
    }

    /// The hex form stored in the Secret.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }
}

impl fmt::Debug for RolloutKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RolloutKey(<redacted>)")
    }
}

/// What a referenced Secret held when the deployer read it.
#[derive(Clone, PartialEq, Eq)]
pub enum ReferencedSecret {
    /// The Secret's data, by key. Redacted in `Debug`.
    Data(BTreeMap<String, Vec<u8>>),
    /// The Secret does not exist (yet).
    Missing,
    /// The deployer may not read it; its changes do not roll the pods.
    Unreadable,
}

impl fmt::Debug for ReferencedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReferencedSecret::Data(data) => f.debug_struct("Data").field("keys", &data.keys()).finish_non_exhaustive(),
            ReferencedSecret::Missing => f.write_str("Missing"),
            ReferencedSecret::Unreadable => f.write_str("Unreadable"),
        }
    }
}

/// What rendering needs to know about secrets beyond the spec: the app's rollout key and the content of the
/// Secrets it references. The deployers fill it in from the cluster; [`SecretInputs::default`] is an offline
/// render (no key: no secret hash).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SecretInputs {
    /// The app's rollout key; `None` renders no secret hash and no key in the Secret.
    pub rollout_key: Option<RolloutKey>,
    /// Referenced Secrets by name; a name absent from the map counts as [`ReferencedSecret::Unreadable`].
    pub referenced: BTreeMap<String, ReferencedSecret>,
}

impl SecretInputs {
    /// Inputs with a rollout key and nothing read yet.
    pub fn with_key(key: RolloutKey) -> Self {
        Self { rollout_key: Some(key), referenced: BTreeMap::new() }
    }
}

/// The keyed hash of everything the pods read from Secrets (hex, 128 bits), or `None` without a key or
/// without secrets.
pub(super) fn secret_hash(spec: &AppSpec, inputs: &SecretInputs) -> Option<String> {
    let key = inputs.rollout_key.as_ref()?;
    if !spec.reads_secrets() {
        return None;
    }
    let mut ctx = hmac::Context::with_key(&hmac::Key::new(hmac::HMAC_SHA256, &key.0));
    // Every field is length-prefixed, so no two different inputs share an encoding.
    let mut field = |bytes: &[u8]| {
        ctx.update(&(bytes.len() as u64).to_be_bytes());
        ctx.update(bytes);
    };
    field(b"inline");
    for (k, v) in &spec.secrets {
        field(k.as_bytes());
        field(v.expose().as_bytes());
    }
    for r in &spec.secret_refs {
        field(b"ref");
        field(r.secret.as_bytes());
        field(r.key.as_deref().unwrap_or("").as_bytes());
        match inputs.referenced.get(&r.secret).unwrap_or(&ReferencedSecret::Unreadable) {
            ReferencedSecret::Missing => field(b"missing"),
            ReferencedSecret::Unreadable => field(b"unreadable"),
            ReferencedSecret::Data(data) => {
                field(b"data");
                let used = data.iter().filter(|(k, _)| r.key.as_ref().is_none_or(|want| want == *k));
                for (k, v) in used {
                    field(k.as_bytes());
                    field(v);
                }
            }
        }
    }
    let tag = ctx.sign();
    Some(hex(&tag.as_ref()[..16]))
}

fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Framework, SecretRef, SecretString};

    fn key(n: u8) -> RolloutKey {
        RolloutKey::from_bytes([n; 32])
    }

    fn app() -> AppSpec {
        let mut app = AppSpec::new("shop", "web", "registry.example/web:1", Framework::Flask);
        app.secrets.insert("PIN".into(), SecretString::new("1234"));
        app
    }

    fn hash(app: &AppSpec, inputs: &SecretInputs) -> String {
        secret_hash(app, inputs).expect("a hash")
    }

    #[test]
    fn rollout_keys_round_trip_through_hex_and_stay_out_of_debug() {
        let k = RolloutKey::generate().unwrap();
        assert_eq!(RolloutKey::from_hex(&k.to_hex()), Some(k.clone()));
        assert_ne!(RolloutKey::generate().unwrap(), k, "fresh keys differ");
        assert!(!format!("{k:?}").contains(&k.to_hex()[..8]));
        for bad in ["", "zz", &"0".repeat(63), &"g".repeat(64), &"é".repeat(32)] {
            assert_eq!(RolloutKey::from_hex(bad), None, "{bad}");
        }
    }

    #[test]
    fn no_key_or_no_secrets_means_no_hash() {
        assert_eq!(secret_hash(&app(), &SecretInputs::default()), None);
        let plain = AppSpec::new("shop", "web", "registry.example/web:1", Framework::Flask);
        assert_eq!(secret_hash(&plain, &SecretInputs::with_key(key(1))), None);
    }

    #[test]
    fn the_hash_follows_values_and_depends_on_the_key() {
        let inputs = SecretInputs::with_key(key(1));
        let first = hash(&app(), &inputs);
        assert_eq!(first.len(), 32);
        assert_eq!(first, hash(&app(), &inputs), "deterministic for one key");
        let mut changed = app();
        changed.secrets.insert("PIN".into(), SecretString::new("1235"));
        assert_ne!(first, hash(&changed, &inputs), "a changed value rolls the pods");
        assert_ne!(first, hash(&app(), &SecretInputs::with_key(key(2))), "keyed: another key, another hash");
        assert!(!first.contains("1234"));
    }

    #[test]
    fn a_low_entropy_value_cannot_be_found_without_the_key() {
        // The attacker sees the annotation and tries every 4-digit PIN with the keys they can guess.
        let secret = RolloutKey::generate().unwrap();
        let seen = hash(&app(), &SecretInputs::with_key(secret));
        for guess_key in [key(0), key(1), RolloutKey::from_bytes([0xff; 32])] {
            for pin in 0..10_000 {
                let mut guess = app();
                guess.secrets.insert("PIN".into(), SecretString::new(format!("{pin:04}")));
                assert_ne!(hash(&guess, &SecretInputs::with_key(guess_key.clone())), seen);
            }
        }
    }

    #[test]
    fn referenced_secrets_count_by_the_keys_the_app_uses() {
        let mut app = AppSpec::new("shop", "web", "registry.example/web:1", Framework::Flask);
        app.secret_refs = vec![SecretRef::key("stripe", "api-key", "STRIPE_KEY"), SecretRef::all("db")];
        let data = |pairs: &[(&str, &str)]| {
            ReferencedSecret::Data(pairs.iter().map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())).collect())
        };
        let with = |stripe: ReferencedSecret, db: ReferencedSecret| SecretInputs {
            rollout_key: Some(key(7)),
            referenced: BTreeMap::from([("stripe".to_string(), stripe), ("db".to_string(), db)]),
        };
        let base = hash(&app, &with(data(&[("api-key", "a"), ("other", "x")]), data(&[("URL", "u")])));
        let other_key_changed = hash(&app, &with(data(&[("api-key", "a"), ("other", "y")]), data(&[("URL", "u")])));
        assert_eq!(base, other_key_changed, "a key the app does not read does not roll it");
        let used_key_changed = hash(&app, &with(data(&[("api-key", "b"), ("other", "x")]), data(&[("URL", "u")])));
        assert_ne!(base, used_key_changed);
        let whole_changed = hash(&app, &with(data(&[("api-key", "a"), ("other", "x")]), data(&[("URL", "v")])));
        assert_ne!(base, whole_changed, "every key of a whole-Secret reference counts");
        let missing = hash(&app, &with(ReferencedSecret::Missing, data(&[("URL", "u")])));
        let unreadable = hash(&app, &with(ReferencedSecret::Unreadable, data(&[("URL", "u")])));
        assert_ne!(missing, unreadable, "a Secret appearing later rolls the pods");
        assert_ne!(base, missing);
        let debug = format!("{:?}", with(data(&[("api-key", "s3cr3t")]), ReferencedSecret::Missing));
        assert!(debug.contains("api-key") && !debug.contains("s3cr3t"), "{debug}");
    }
}
