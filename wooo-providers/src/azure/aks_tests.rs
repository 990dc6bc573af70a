//! `Aks` over a mocked `AksApi` (mockall): creation and its writes, idempotent re-apply, a 409 while an
//! operation runs, a failed operation's message, and the order and ownership rules of delete.

use std::sync::{Arc, Mutex};

use wooo_core::ErrorKind;
use wooo_core::model::SecretString;

use super::api::{MockAksApi, ResourceGroupInfo, Tags};
use super::shape::tests::{live_cluster, spec};
use super::*;

fn wait() -> WaitOptions {
    WaitOptions {
        timeout: Duration::from_secs(60),
        interval: Duration::from_millis(1),
        max_interval: Duration::from_millis(2),
        jitter_percent: 0,
    }
}

fn aks(api: MockAksApi) -> Aks {
    Aks::with_api(Arc::new(api), "rg", "westeurope", wait())
}

fn not_found(what: &str) -> Error {
    Error::not_found(PROVIDER, what.to_string())
}

#[tokio::test]
async fn create_makes_the_group_and_the_cluster_then_a_re_apply_writes_nothing() {
    let s = spec();
    let created = Arc::new(Mutex::new(false));
    let writes = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut api = MockAksApi::new();
    let c = created.clone();
    let live = live_cluster(&s);
    api.expect_get_cluster().returning(
        move |_, _| {
            if *c.lock().unwrap() { Ok(live.clone()) } else { Err(not_found("cluster")) }
        },
    );
    api.expect_get_resource_group().returning(|_| Err(not_found("group")));
    let w = writes.clone();
    api.expect_create_resource_group().times(1).returning(move |name, location, tags| {
        w.lock().unwrap().push(format!("group {name} {location}"));
        assert_eq!(tags.get(CLUSTER_TAG).map(String::as_str), Some("demo"), "the group says whose it is");
        Ok(ResourceGroupInfo { name: name.into(), location: location.into(), tags: tags.clone() })
    });
    let (w, c) = (writes.clone(), created.clone());
    api.expect_put_cluster().times(1).returning(move |group, put| {
        w.lock().unwrap().push(format!("cluster {group}/{} pools {}", put.name, put.pools.len()));
        *c.lock().unwrap() = true;
        Ok(Operation::Status("https://arm/operations/1".into()))
    });
    let looks = Arc::new(Mutex::new(0));
    let l = looks.clone();
    api.expect_operation().returning(move |op| {
        assert_eq!(op, &Operation::Status("https://arm/operations/1".into()));
        let mut n = l.lock().unwrap();
        *n += 1;
        Ok(if *n < 3 { OperationStatus::InProgress } else { OperationStatus::Succeeded })
    });
    let aks = aks(api);
    let cluster = aks.apply(&s, &Progress::none()).await.expect("apply");
    assert!(cluster.is_ready());
    assert_eq!(*looks.lock().unwrap(), 3, "followed the operation until it succeeded");
    assert_eq!(*writes.lock().unwrap(), ["group rg westeurope", "cluster rg/demo pools 2"]);
    // The same spec again: the mock's `times(1)` fails on any further write.
    let again = aks.apply(&s, &Progress::none()).await.expect("re-apply");
    assert_eq!(again.spec.node_pools.len(), 2);
    assert!(aks.plan(&s).await.expect("plan").is_noop());
}

#[tokio::test]
async fn a_409_while_an_operation_runs_waits_for_the_pool_to_settle_then_writes_again() {
    let s = spec();
    let mut changed = s.clone();
    changed.node_pools[1].labels.insert("tier".into(), "batch".into());
    let mut live = live_cluster(&s);
    live.provisioning_state = Some(ProvisioningState::Succeeded);
    let states = Arc::new(Mutex::new(vec![ProvisioningState::Updating, ProvisioningState::Succeeded]));
    let mut api = MockAksApi::new();
    let st = states.clone();
    api.expect_get_cluster().returning(move |_, _| {
        let mut c = live.clone();
        let mut st = st.lock().unwrap();
        // The first looks (observe, plan) see a settled cluster; the settle wait sees Updating, then Succeeded.
        if st.len() == 3 {
            c.provisioning_state = Some(st.remove(0));
        }
        Ok(c)
    });
    let puts = Arc::new(Mutex::new(0));
    let (p, st) = (puts.clone(), states.clone());
    api.expect_put_pool().times(2).returning(move |_, cluster, pool| {
        assert_eq!((cluster, pool.name.as_str()), ("demo", "spot"));
        assert_eq!(pool.labels.get("tier").map(String::as_str), Some("batch"));
        assert!(pool.taints.iter().any(|t| t.key == shape::SPOT_TAINT_KEY), "the spot taint is kept");
        let mut n = p.lock().unwrap();
        *n += 1;
        if *n == 1 {
            st.lock().unwrap().insert(0, ProvisioningState::Updating);
            Err(Error::conflict(PROVIDER, "OperationNotAllowed: another operation is in progress"))
        } else {
            Ok(Operation::Done)
        }
    });
    aks(api).apply(&changed, &Progress::none()).await.expect("apply");
    assert_eq!(*puts.lock().unwrap(), 2);
}

#[tokio::test]
async fn a_failed_operation_surfaces_the_arm_error() {
    let s = spec();
    let mut api = MockAksApi::new();
    api.expect_get_cluster().returning(|_, _| Err(not_found("cluster")));
    api.expect_get_resource_group().returning(|name| {
        Ok(ResourceGroupInfo { name: name.into(), location: "westeurope".into(), tags: Tags::new() })
    });
    api.expect_create_resource_group().never();
    api.expect_put_cluster().times(1).returning(|_, _| Ok(Operation::Status("https://arm/op".into())));
    api.expect_operation().returning(|_| {
        Ok(OperationStatus::Failed("QuotaExceeded: Provisioning of resource(s) would exceed the quota".into()))
    });
    let err = aks(api).apply(&s, &Progress::none()).await.expect_err("fails");
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert!(err.to_string().contains("QuotaExceeded: Provisioning of resource(s)"), "{err}");
}

#[tokio::test]
async fn delete_goes_user_pools_then_cluster_then_only_the_group_wooo_made() {
    for (group_tags, group_deleted) in [(true, true), (false, false)] {
        let s = spec();
        let live = live_cluster(&s);
        let order = Arc::new(Mutex::new(Vec::<String>::new()));
        let gone = Arc::new(Mutex::new(false));
        let mut api = MockAksApi::new();
        let g = gone.clone();
        api.expect_get_cluster()
            .returning(move |_, _| if *g.lock().unwrap() { Err(not_found("cluster")) } else { Ok(live.clone()) });
        let o = order.clone();
        api.expect_delete_pool().returning(move |_, _, pool| {
            o.lock().unwrap().push(format!("pool {pool}"));
            Ok(Operation::Location("https://arm/loc".into()))
        });
        let (o, g) = (order.clone(), gone.clone());
        api.expect_delete_cluster().times(1).returning(move |_, name| {
            o.lock().unwrap().push(format!("cluster {name}"));
            *g.lock().unwrap() = true;
            Ok(Operation::Location("https://arm/loc".into()))
        });
        api.expect_operation().returning(|_| Ok(OperationStatus::Succeeded));
        let tags = if group_tags { shape::owned_tags(&s) } else { Tags::new() };
        api.expect_get_resource_group().returning(move |name| {
            Ok(ResourceGroupInfo { name: name.into(), location: "westeurope".into(), tags: tags.clone() })
        });
        api.expect_list_clusters().returning(|_| Ok(Vec::new()));
        let o = order.clone();
        api.expect_delete_resource_group().times(usize::from(group_deleted)).returning(move |name| {
            o.lock().unwrap().push(format!("group {name}"));
            Ok(Operation::Done)
        });
        aks(api).delete(&ClusterId::new("demo"), &DeleteOptions::default()).await.expect("delete");
        let mut want = vec!["pool spot".to_string(), "cluster demo".to_string()];
        if group_deleted {
            want.push("group rg".into());
        }
        assert_eq!(*order.lock().unwrap(), want);
    }
}

#[tokio::test]
async fn a_cluster_wooo_did_not_create_is_neither_changed_nor_deleted() {
    let s = spec();
    let mut live = live_cluster(&s);
    live.tags.clear();
    let mut api = MockAksApi::new();
    api.expect_get_cluster().returning(move |_, _| Ok(live.clone()));
    api.expect_put_cluster().never();
    api.expect_delete_cluster().never();
    let aks = aks(api);
    assert_eq!(aks.apply(&s, &Progress::none()).await.expect_err("unowned").kind(), ErrorKind::Conflict);
    let err = aks.delete(&ClusterId::new("demo"), &DeleteOptions::default()).await.expect_err("unowned");
    assert_eq!(err.kind(), ErrorKind::Conflict);
}

#[tokio::test]
async fn invalid_specs_fail_before_any_call() {
    let mut s = spec();
    s.node_pools[1].name = "Spot_Pool".into();
    // No expectation is set: any call on the mock would panic.
    let err = aks(MockAksApi::new()).apply(&s, &Progress::none()).await.expect_err("invalid");
    assert_eq!(err.kind(), ErrorKind::InvalidSpec);
}

/// Hands out `aad-<n>` tokens living an hour, recording the resources asked for.
#[derive(Debug, Default)]
struct FakeCredential {
    asked: Mutex<Vec<String>>,
}

#[async_trait]
impl azure_core::auth::TokenCredential for FakeCredential {
    async fn get_token(&self, resource: &str) -> azure_core::Result<azure_core::auth::TokenResponse> {
        let mut asked = self.asked.lock().unwrap();
        asked.push(resource.to_string());
        Ok(azure_core::auth::TokenResponse::new(
            azure_core::auth::AccessToken::new(format!("aad-{}", asked.len())),
            time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        ))
    }
}

const KUBELOGIN_KUBECONFIG: &str = r#"
apiVersion: v1
kind: Config
clusters:
- name: demo
  cluster:
    server: https://demo-dns.hcp.westeurope.azmk8s.io:443
    certificate-authority-data: Q0EK
users:
- name: clusterUser_rg_demo
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: kubelogin
      args: [get-token, --server-id, 6dae42f8-4368-4678-94ff-3960e28e3630]
contexts:
- name: demo
  context: {cluster: demo, user: clusterUser_rg_demo}
current-context: demo
"#;

fn aad_api(aad: bool) -> MockAksApi {
    let mut api = MockAksApi::new();
    api.expect_get_cluster().returning(move |_, _| {
        let mut info = live_cluster(&spec());
        info.aad = aad;
        Ok(info)
    });
    api.expect_kubeconfig().returning(|_, _, _| Ok(SecretString::new(KUBELOGIN_KUBECONFIG)));
    api
}

#[tokio::test]
async fn an_aad_cluster_gets_an_aks_server_token_instead_of_kubelogin() {
    let credential = Arc::new(FakeCredential::default());
    let mut a = aks(aad_api(true));
    a.tokens = Some(AksTokenSource::new(credential.clone()));
    let id = ClusterId::new(spec().name);
    let access = a.access(&id).await.expect("access");
    match &access.auth {
        ClusterAuth::Token(t) => assert_eq!(t.expose(), "aad-1"),
        other => panic!("expected a bearer token, got {other:?}"),
    }
    assert!(!format!("{access:?}").contains("aad-1"), "the token is redacted");
    assert_eq!(access.endpoint, "https://demo-dns.hcp.westeurope.azmk8s.io:443");
    // A second access and a client reuse the cached token; the credential was asked for the AKS server app.
    a.access(&id).await.expect("access");
    a.kube_client(&id).await.expect("client");
    assert_eq!(*credential.asked.lock().unwrap(), [AKS_SERVER_APP.to_string()]);
    assert!(!format!("{a:?}").contains("aad-1"));

    // Without managed AAD the kubeconfig's user is kept as it is; no token is asked for.
    let credential = Arc::new(FakeCredential::default());
    let mut a = aks(aad_api(false));
    a.tokens = Some(AksTokenSource::new(credential.clone()));
    let access = a.access(&id).await.expect("access");
    assert!(matches!(&access.auth, ClusterAuth::Exec { command, .. } if command == "kubelogin"), "{access:?}");
    assert!(credential.asked.lock().unwrap().is_empty());
    // A provisioner without a credential has no token source.
    assert_eq!(aks(MockAksApi::new()).token_source().unwrap_err().kind(), ErrorKind::Unauthenticated);
}
