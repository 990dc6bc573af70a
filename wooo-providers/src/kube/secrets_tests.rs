//! Secrets roll the pods and stay out of every other object; shared namespaces stay as their owners left them.
//! On kube-fake-client, through the deployer.

use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use wooo_core::model::{AppRef, SecretRef, SecretString};
use wooo_core::progress::Progress;
use wooo_core::render::{ROLLOUT_KEY_DATA_KEY, SECRET_HASH_ANNOTATION};
use wooo_core::{Deployer, ErrorKind};

use crate::kube::deployer::tests::{deployer, env, spec};

async fn web(client: &kube::Client, namespace: &str) -> Deployment {
    Api::<Deployment>::namespaced(client.clone(), namespace).get("web").await.unwrap()
}

fn secret_hash(d: &Deployment) -> String {
    let template = d.spec.as_ref().unwrap().template.metadata.as_ref().unwrap();
    template.annotations.as_ref().unwrap()[SECRET_HASH_ANNOTATION].clone()
}

async fn put_secret(client: &kube::Client, name: &str, pairs: &[(&str, &str)]) {
    let data: std::collections::BTreeMap<String, ByteString> =
        pairs.iter().map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec()))).collect();
    let mut secret = Secret { data: Some(data), ..Secret::default() };
    secret.metadata.name = Some(name.to_string());
    Api::<Secret>::namespaced(client.clone(), "shop")
        .patch(name, &PatchParams::apply("someone-else").force(), &Patch::Apply(&secret))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_changed_secret_value_rolls_the_pods_and_only_the_secret_holds_it() {
    let (client, _) = env().await;
    let d = deployer(client.clone());
    d.apply(&spec(), &Progress::none()).await.unwrap();
    let first = secret_hash(&web(&client, "shop").await);

    // The key is read back from the live Secret: an unchanged spec keeps the hash and writes nothing.
    d.apply(&spec(), &Progress::none()).await.unwrap();
    assert_eq!(secret_hash(&web(&client, "shop").await), first);
    assert!(d.diff(&spec()).await.unwrap().is_empty());

    let mut changed = spec();
    changed.secrets.insert("DB_PASSWORD".into(), SecretString::new("correct horse"));
    let status = d.apply(&changed, &Progress::none()).await.unwrap();
    let rolled = web(&client, "shop").await;
    assert_ne!(secret_hash(&rolled), first, "a new value, a new pod template");
    assert_eq!(status.revision, 2);

    let deployment_json = serde_json::to_string(&rolled).unwrap();
    for value in ["hunter2", "correct horse"] {
        assert!(!deployment_json.contains(value), "the Deployment holds no secret value");
    }
    let own = Api::<Secret>::namespaced(client.clone(), "shop").get("web-secrets").await.unwrap();
    let key = own.data.as_ref().map(|d| d.contains_key(ROLLOUT_KEY_DATA_KEY)).unwrap_or(false)
        || own.string_data.as_ref().is_some_and(|d| d.contains_key(ROLLOUT_KEY_DATA_KEY));
    assert!(key, "the rollout key lives in the app's own Secret");
}

#[tokio::test]
async fn referenced_secrets_are_read_and_roll_the_pods_when_they_change() {
    let (client, _) = env().await;
    let d = deployer(client.clone());
    let mut app = spec();
    app.secrets.clear();
    app.secret_refs = vec![SecretRef::key("stripe", "api-key", "STRIPE_KEY"), SecretRef::all("db")];
    put_secret(&client, "stripe", &[("api-key", "sk_1"), ("unused", "x")]).await;

    // `db` does not exist yet (an operator will make it): the apply goes through.
    d.apply(&app, &Progress::none()).await.unwrap();
    let dep = web(&client, "shop").await;
    let missing = secret_hash(&dep);
    let container = &dep.spec.as_ref().unwrap().template.spec.as_ref().unwrap().containers[0];
    let env = container.env.as_ref().unwrap();
    let stripe = env.iter().find(|e| e.name == "STRIPE_KEY").unwrap();
    let selector = stripe.value_from.as_ref().unwrap().secret_key_ref.as_ref().unwrap();
    assert_eq!((selector.name.as_str(), selector.key.as_str()), ("stripe", "api-key"));
    let from = container.env_from.as_ref().unwrap();
    assert_eq!(from[0].secret_ref.as_ref().unwrap().name, "db");

    put_secret(&client, "db", &[("DATABASE_URL", "postgres://a")]).await;
    d.apply(&app, &Progress::none()).await.unwrap();
    let created = secret_hash(&web(&client, "shop").await);
    assert_ne!(created, missing, "the referenced Secret appearing rolls the pods");

    put_secret(&client, "stripe", &[("api-key", "sk_1"), ("unused", "y")]).await;
    d.apply(&app, &Progress::none()).await.unwrap();
    assert_eq!(secret_hash(&web(&client, "shop").await), created, "a key the app does not read changes nothing");

    put_secret(&client, "stripe", &[("api-key", "sk_2"), ("unused", "y")]).await;
    d.apply(&app, &Progress::none()).await.unwrap();
    let rotated = secret_hash(&web(&client, "shop").await);
    assert_ne!(rotated, created, "a rotated key the app reads rolls the pods");

    // wooo never writes the Secrets it only references.
    let stripe = Api::<Secret>::namespaced(client.clone(), "shop").get("stripe").await.unwrap();
    let managers: Vec<String> =
        stripe.metadata.managed_fields.unwrap_or_default().into_iter().filter_map(|m| m.manager).collect();
    assert!(managers.iter().all(|m| m == "someone-else"), "{managers:?}");
}

#[tokio::test]
async fn system_namespaces_are_refused_before_any_request() {
    let (client, log) = env().await;
    let d = deployer(client);
    for ns in ["kube-system", "kube-public", "kube-node-lease"] {
        let mut app = spec();
        app.namespace = ns.into();
        let err = d.apply(&app, &Progress::none()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidSpec);
        assert_eq!(err.violations()[0].field, "namespace", "{err}");
    }
    assert!(log.lock().unwrap().is_empty(), "nothing reached the API server");
}

fn labels_of(ns: &Namespace) -> Vec<(String, String)> {
    ns.metadata.labels.clone().unwrap_or_default().into_iter().collect()
}

#[tokio::test]
async fn apps_sharing_a_namespace_leave_it_as_the_first_made_it() {
    let (client, _) = env().await;
    let d = deployer(client.clone());
    let namespaces = Api::<Namespace>::all(client.clone());
    let first = spec();
    let mut second = spec();
    second.name = "api".into();
    // Running as root needs the `baseline` level: the second app must not relax the namespace the first made.
    second.security.run_as_non_root = false;

    d.apply(&first, &Progress::none()).await.unwrap();
    let made = namespaces.get("shop").await.unwrap();
    let label = |ns: &Namespace, key: &str| ns.metadata.labels.as_ref().and_then(|l| l.get(key)).cloned();
    assert_eq!(label(&made, "pod-security.kubernetes.io/enforce").as_deref(), Some("restricted"));
    assert_eq!(label(&made, "app.kubernetes.io/instance"), None, "no label of one app on a shared namespace");

    d.apply(&second, &Progress::none()).await.unwrap();
    let after_second = namespaces.get("shop").await.unwrap();
    assert_eq!(labels_of(&after_second), labels_of(&made));
    assert_eq!(after_second.metadata.resource_version, made.metadata.resource_version, "not written");

    d.delete(&first.app_ref()).await.unwrap();
    let after_delete = namespaces.get("shop").await.unwrap();
    assert_eq!(labels_of(&after_delete), labels_of(&made), "deleting one app neither deletes nor relabels it");
    assert_eq!(d.list().await.unwrap(), vec![AppRef::new("shop", "api")]);
    assert!(d.diff(&second).await.unwrap().is_empty(), "the remaining app is untouched");
}

#[tokio::test]
async fn a_foreign_namespace_gets_labels_only_when_the_spec_manages_it() {
    let (client, _) = env().await;
    let namespaces = Api::<Namespace>::all(client.clone());
    let ns: Namespace =
        serde_json::from_value(json!({"metadata": {"name": "shop", "labels": {"team": "payments"}}})).unwrap();
    namespaces.create(&PostParams::default(), &ns).await.unwrap();
    let d = deployer(client.clone());

    d.apply(&spec(), &Progress::none()).await.unwrap();
    let untouched = namespaces.get("shop").await.unwrap();
    assert_eq!(labels_of(&untouched), vec![("team".to_string(), "payments".to_string())]);

    let mut managed = spec();
    managed.manage_namespace = true;
    d.apply(&managed, &Progress::none()).await.unwrap();
    let labelled = namespaces.get("shop").await.unwrap();
    let labels = labelled.metadata.labels.unwrap();
    assert_eq!(labels["pod-security.kubernetes.io/enforce"], "restricted");
    assert_eq!(labels["team"], "payments", "the owner's labels stay");
}
