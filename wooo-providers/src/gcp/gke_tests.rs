//! [`Gke`] against `MockGkeApi` whose answers come from a small stateful project (clusters, pools, operations
//! that finish after a virtual duration), with faults scripted before or after a write's effect.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::time::Instant;
use wooo_core::model::{Capacity, from_yaml};

use super::api::{MockGkeApi, OperationError};
use super::shape::tests::{live_cluster, live_pool, spec};
use super::*;

/// How long every operation of the fake project takes.
const OP_TIME: Duration = Duration::from_secs(10 * 60);

/// A scripted fault: the next call of this name fails with this error, before (`true`) or after its effect.
type Fault = (String, bool, fn() -> Error);

#[derive(Default)]
struct Project {
    cluster: Option<ClusterInfo>,
    pools: BTreeMap<String, NodePoolInfo>,
    /// name → (operation, started, error it ends with)
    ops: BTreeMap<String, (OperationInfo, Instant, Option<OperationError>, String)>,
    /// Every call, in order (`get_cluster`, `create_cluster shop`, …).
    log: Vec<String>,
    /// Faults: the next call of this name fails with this error, before (`true`) or after its effect.
    faults: Vec<Fault>,
    /// Operations of this kind end with this error.
    op_errors: Vec<(String, OperationError)>,
    next: u32,
}

type Shared = Arc<Mutex<Project>>;

impl Project {
    fn start(&mut self, kind: &str, target: &str) -> OperationInfo {
        self.next += 1;
        let o = OperationInfo {
            name: format!("operation-{}", self.next),
            kind: kind.into(),
            state: OperationState::Running,
            error: None,
            detail: String::new(),
        };
        let error = self.op_errors.iter().find(|(k, _)| k == kind).map(|(_, e)| e.clone());
        self.ops.insert(o.name.clone(), (o.clone(), Instant::now(), error, target.to_string()));
        o
    }

    fn fault(&mut self, call: &str, before: bool) -> Option<Error> {
        let i = self.faults.iter().position(|(c, b, _)| c == call && *b == before)?;
        Some((self.faults.remove(i).2)())
    }

    fn writes(&self) -> Vec<String> {
        self.log.iter().filter(|l| !l.starts_with("get") && !l.starts_with("list")).cloned().collect()
    }

    fn count(&self, call: &str) -> usize {
        self.log.iter().filter(|l| l.starts_with(call)).count()
    }
}

fn not_found(what: &str) -> Error {
    Error::not_found(PROVIDER, what.to_string())
}

/// A write: the fault before, the effect, the operation, the fault after.
fn write(
    p: &Shared,
    call: String,
    kind: &str,
    target: &str,
    effect: impl FnOnce(&mut Project) -> Result<()>,
) -> Result<OperationInfo> {
    let mut g = p.lock().unwrap();
    g.log.push(call.clone());
    let name = call.split(' ').next().unwrap_or_default().to_string();
    if let Some(e) = g.fault(&name, true) {
        return Err(e);
    }
    effect(&mut g)?;
    let o = g.start(kind, target);
    if let Some(e) = g.fault(&name, false) {
        return Err(e);
    }
    Ok(o)
}

fn fake(p: &Shared) -> MockGkeApi {
    let mut m = MockGkeApi::new();
    let s = p.clone();
    m.expect_get_cluster().returning(move |name| {
        let mut g = s.lock().unwrap();
        g.log.push(format!("get_cluster {name}"));
        if let Some(e) = g.fault("get_cluster", true) {
            return Err(e);
        }
        g.cluster.clone().filter(|c| c.name == name).ok_or_else(|| not_found("cluster"))
    });
    let s = p.clone();
    m.expect_list_clusters().returning(move || Ok(s.lock().unwrap().cluster.clone().into_iter().collect()));
    let s = p.clone();
    m.expect_list_node_pools().returning(move |_| {
        let mut g = s.lock().unwrap();
        g.log.push("list_node_pools".into());
        Ok(g.pools.values().cloned().collect())
    });
    let s = p.clone();
    m.expect_get_node_pool().returning(move |_, name| {
        let mut g = s.lock().unwrap();
        g.log.push(format!("get_node_pool {name}"));
        g.pools.get(name).cloned().ok_or_else(|| not_found("node pool"))
    });
    let s = p.clone();
    m.expect_get_operation().returning(move |name| {
        let mut g = s.lock().unwrap();
        g.log.push(format!("get_operation {name}"));
        let (o, started, error, _) = g.ops.get(name).cloned().ok_or_else(|| not_found("operation"))?;
        let mut o = o;
        if started.elapsed() >= OP_TIME {
            o.state = OperationState::Done;
            o.error = error;
        }
        Ok(o)
    });
    let s = p.clone();
    m.expect_list_operations().returning(move || {
        let g = s.lock().unwrap();
        Ok(g.ops
            .values()
            .map(|(o, started, _, target)| {
                let mut o = o.clone();
                if started.elapsed() >= OP_TIME {
                    o.state = OperationState::Done;
                }
                (o, format!("projects/p/locations/europe-west1/clusters/{target}"))
            })
            .collect())
    });
    let s = p.clone();
    m.expect_create_cluster().returning(move |c| {
        let c = c.clone();
        write(&s, format!("create_cluster {}", c.name), "CREATE_CLUSTER", &c.name.clone(), move |g| {
            if g.cluster.is_some() {
                return Err(Error::already_exists(PROVIDER, "cluster"));
            }
            let mut spec = spec();
            spec.name = c.name.clone();
            let mut info = live_cluster(&spec);
            info.resource_labels = c.resource_labels.clone();
            info.master_version = format!("{}.9-gke.100", c.version);
            g.cluster = Some(info);
            for p in &c.node_pools {
                let mut live = live_pool(p, &["europe-west1-b", "europe-west1-c", "europe-west1-d"]);
                live.version = format!("{}.9-gke.100", c.version);
                g.pools.insert(p.name.clone(), live);
            }
            Ok(())
        })
    });
    let s = p.clone();
    m.expect_update_master().returning(move |name, version| {
        let v = version.to_string();
        write(&s, format!("update_master {v}"), "UPGRADE_MASTER", name, move |g| {
            g.cluster.as_mut().expect("cluster").master_version = format!("{v}.1-gke.1");
            Ok(())
        })
    });
    let s = p.clone();
    m.expect_set_resource_labels().returning(move |name, labels, _| {
        let labels = labels.clone();
        write(&s, "set_resource_labels".into(), "SET_LABELS", name, move |g| {
            g.cluster.as_mut().expect("cluster").resource_labels = labels;
            Ok(())
        })
    });
    let s = p.clone();
    m.expect_delete_cluster().returning(move |name| {
        write(&s, format!("delete_cluster {name}"), "DELETE_CLUSTER", name, |g| {
            g.cluster.take().ok_or_else(|| not_found("cluster"))?;
            g.pools.clear();
            Ok(())
        })
    });
    let s = p.clone();
    m.expect_create_node_pool().returning(move |cluster, pool| {
        let pool = pool.clone();
        write(&s, format!("create_node_pool {}", pool.name), "CREATE_NODE_POOL", cluster, move |g| {
            let mut live = live_pool(&pool, &["europe-west1-b", "europe-west1-c", "europe-west1-d"]);
            live.version = g.cluster.as_ref().expect("cluster").master_version.clone();
            g.pools.insert(pool.name.clone(), live);
            Ok(())
        })
    });
    let s = p.clone();
    m.expect_update_node_pool().returning(move |cluster, name, u| {
        let (u, name) = (u.clone(), name.to_string());
        let call = if u.labels.is_some() || u.taints.is_some() {
            "update_node_pool labels"
        } else {
            "update_node_pool version"
        };
        write(&s, format!("{call} {name} {}", u.version), "UPDATE_NODE_POOL", cluster, move |g| {
            let p = g.pools.get_mut(&name).ok_or_else(|| not_found("node pool"))?;
            if let Some(l) = u.labels {
                p.labels = l;
            }
            if let Some(t) = u.taints {
                p.taints = t;
            }
            p.version = u.version;
            Ok(())
        })
    });
    let s = p.clone();
    m.expect_set_autoscaling().returning(move |cluster, name, min, max| {
        let name = name.to_string();
        write(&s, format!("set_autoscaling {name} {min} {max}"), "SET_NODE_POOL_SIZE", cluster, move |g| {
            let p = g.pools.get_mut(&name).ok_or_else(|| not_found("node pool"))?;
            p.autoscaling.total_min = min;
            p.autoscaling.total_max = max;
            Ok(())
        })
    });
    let s = p.clone();
    m.expect_set_size().returning(move |cluster, name, n| {
        let name = name.to_string();
        write(&s, format!("set_size {name} {n}"), "SET_NODE_POOL_SIZE", cluster, move |g| {
            g.pools.get_mut(&name).ok_or_else(|| not_found("node pool"))?.initial_node_count = n;
            Ok(())
        })
    });
    let s = p.clone();
    m.expect_delete_node_pool().returning(move |cluster, name| {
        let name = name.to_string();
        write(&s, format!("delete_node_pool {name}"), "DELETE_NODE_POOL", cluster, move |g| {
            g.pools.remove(&name).map(|_| ()).ok_or_else(|| not_found("node pool"))
        })
    });
    m
}

fn gke(p: &Shared) -> Gke {
    Gke::with_api(Arc::new(fake(p)), "europe-west1", Gke::DEFAULT_WAIT)
}

fn new_project() -> Shared {
    Arc::new(Mutex::new(Project::default()))
}

#[tokio::test(start_paused = true)]
async fn create_waits_for_the_operation_within_the_describe_budget_and_a_reapply_writes_nothing() {
    let p = new_project();
    let gke = gke(&p);
    let s = spec();
    let started = Instant::now();
    let c = gke.apply(&s, &Progress::none()).await.expect("created");
    assert!(c.is_ready(), "{:?}", c.status);
    assert!(started.elapsed() >= OP_TIME, "returned before the operation was DONE");
    let polls = p.lock().unwrap().count("get_operation");
    assert!((8..=20).contains(&polls), "{polls} operation reads for a 10-minute creation");
    assert_eq!(p.lock().unwrap().writes(), ["create_cluster shop"], "one create, pools inline");
    let batch = c.spec.node_pool("batch").unwrap();
    assert_eq!(batch.capacity, Capacity::Spot);
    assert_eq!(batch.zones, ["europe-west1-b", "europe-west1-c"]);
    // GKE puts its spot label on the pool; a re-apply reports it and changes nothing.
    {
        let mut g = p.lock().unwrap();
        let pool = g.pools.values_mut().find(|p| p.name.starts_with("batch-")).unwrap();
        pool.labels.insert("cloud.google.com/gke-spot".into(), "true".into());
        g.log.clear();
    }
    assert!(gke.plan(&s).await.unwrap().is_noop());
    let again = gke.apply(&s, &Progress::none()).await.expect("re-applied");
    assert_eq!(p.lock().unwrap().writes(), Vec::<String>::new(), "an unchanged re-apply makes no write");
    let labels = &again.spec.node_pool("batch").unwrap().labels;
    assert_eq!(labels.get("cloud.google.com/gke-spot").map(String::as_str), Some("true"));
}

#[tokio::test(start_paused = true)]
async fn a_lost_create_answer_makes_no_second_cluster() {
    let p = new_project();
    p.lock().unwrap().faults.push(("create_cluster".into(), false, || Error::Transient {
        provider: PROVIDER,
        message: "connection reset".into(),
        source: None,
    }));
    let c = gke(&p).apply(&spec(), &Progress::none()).await.expect("created once");
    assert!(c.is_ready());
    assert_eq!(p.lock().unwrap().count("create_cluster"), 1);
    // And a failure before the effect is simply sent again.
    let p = new_project();
    p.lock().unwrap().faults.push(("create_cluster".into(), true, || Error::Transient {
        provider: PROVIDER,
        message: "503".into(),
        source: None,
    }));
    gke(&p).apply(&spec(), &Progress::none()).await.expect("created");
    assert_eq!(p.lock().unwrap().count("create_cluster"), 2);
}

#[tokio::test(start_paused = true)]
async fn already_exists_after_a_lost_answer_adopts_wooos_cluster_and_refuses_anothers() {
    // The create takes effect, its answer is lost, and GKE does not show the new cluster to the next look (nor
    // to the look before): the create is sent again, answered ALREADY_EXISTS, and the cluster adopted.
    let p = new_project();
    {
        let mut g = p.lock().unwrap();
        g.faults.push(("create_cluster".into(), false, || Error::Transient {
            provider: PROVIDER,
            message: "connection reset".into(),
            source: None,
        }));
        g.faults.push(("get_cluster".into(), true, || not_found("cluster")));
        g.faults.push(("get_cluster".into(), true, || not_found("cluster")));
    }
    let started = Instant::now();
    let c = gke(&p).apply(&spec(), &Progress::none()).await.expect("adopted");
    assert!(c.is_ready() && c.status.owned, "{:?}", c.status);
    assert!(started.elapsed() >= OP_TIME, "the first attempt's operation was waited for");
    {
        let g = p.lock().unwrap();
        assert_eq!(g.writes(), ["create_cluster shop", "create_cluster shop"], "no other write");
        assert_eq!(g.ops.len(), 1, "one cluster made");
        assert!(g.faults.is_empty());
    }

    // Someone else's cluster of that name, made between the look and the create: refused, untouched.
    let p = new_project();
    {
        let mut g = p.lock().unwrap();
        let mut theirs = live_cluster(&spec());
        theirs.resource_labels = [("owner".to_string(), "data-team".to_string())].into();
        g.cluster = Some(theirs);
        g.faults.push(("get_cluster".into(), true, || not_found("cluster")));
    }
    let err = gke(&p).apply(&spec(), &Progress::none()).await.expect_err("not ours");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.to_string().contains("already exists and was not created by wooo"), "{err}");
    let g = p.lock().unwrap();
    assert_eq!(g.writes(), ["create_cluster shop"]);
    assert_eq!(g.cluster.as_ref().unwrap().resource_labels.len(), 1, "their labels are untouched");
    assert!(g.ops.is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_operation_that_ends_in_error_surfaces_its_status() {
    let p = new_project();
    let gke = gke(&p);
    let s = spec();
    gke.apply(&s, &Progress::none()).await.unwrap();
    let mut more = s.clone();
    let mut extra = s.node_pools[0].clone();
    extra.name = "gpu".into();
    more.node_pools.push(extra);
    // The create starts, then its operation ends with a quota error.
    p.lock().unwrap().op_errors.push((
        "CREATE_NODE_POOL".into(),
        OperationError { code: 8, message: "Insufficient regional quota to satisfy request: resource \"CPUS\"".into() },
    ));
    let handle = tokio::spawn(async move { gke.apply(&more, &Progress::none()).await });
    let err = handle.await.unwrap().expect_err("the operation failed");
    assert_eq!(err.kind(), ErrorKind::Provider, "{err}");
    assert!(!err.is_retryable());
    let text = err.to_string();
    assert!(text.contains("CPUS") && text.contains("quota"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn a_write_refused_while_an_operation_runs_waits_for_it() {
    let p = new_project();
    let gke = gke(&p);
    let s = spec();
    gke.apply(&s, &Progress::none()).await.unwrap();
    // Someone else's operation is running on the cluster; the first label write is refused.
    {
        let mut g = p.lock().unwrap();
        g.start("UPGRADE_NODES", "shop");
        g.faults.push(("set_resource_labels".into(), true, || {
            Error::conflict(PROVIDER, "FAILED_PRECONDITION: Cluster is running incompatible operation")
        }));
        g.log.clear();
    }
    let mut relabeled = s.clone();
    relabeled.tags.insert("env".into(), "prod".into());
    gke.apply(&relabeled, &Progress::none()).await.expect("applied after the running operation");
    let g = p.lock().unwrap();
    assert_eq!(g.writes(), ["set_resource_labels", "set_resource_labels"]);
    let labels = &g.cluster.as_ref().unwrap().resource_labels;
    assert_eq!(labels.get("env").map(String::as_str), Some("prod"));
    assert_eq!(labels.get("wooo-dev_managed-by").map(String::as_str), Some("wooo"));
}

#[tokio::test(start_paused = true)]
async fn upgrades_go_one_minor_at_a_time_control_plane_then_pools() {
    let p = new_project();
    let gke = gke(&p);
    let mut s = spec();
    s.kubernetes_version = "1.31".into();
    gke.apply(&s, &Progress::none()).await.unwrap();
    p.lock().unwrap().log.clear();
    s.kubernetes_version = "1.33".into();
    let plan = gke.plan(&s).await.unwrap();
    assert_eq!(plan.changes[0].action, ChangeAction::UpdateInPlace);
    let c = gke.apply(&s, &Progress::none()).await.expect("upgraded");
    assert_eq!(c.spec.kubernetes_version, "1.33");
    let writes = p.lock().unwrap().writes();
    let kinds: Vec<&str> = writes.iter().map(|w| w.rsplit(' ').next().unwrap()).collect();
    assert_eq!(writes.len(), 6, "{writes:?}");
    assert!(writes[0].starts_with("update_master 1.32"), "{writes:?}");
    assert_eq!(kinds[1..3], ["1.32", "1.32"], "{writes:?}");
    assert!(writes[3].starts_with("update_master 1.33"), "{writes:?}");
    assert_eq!(kinds[4..6], ["1.33", "1.33"], "{writes:?}");
}

#[tokio::test(start_paused = true)]
async fn a_changed_machine_type_makes_the_new_pool_before_deleting_the_old() {
    let p = new_project();
    let gke = gke(&p);
    let mut s = spec();
    gke.apply(&s, &Progress::none()).await.unwrap();
    p.lock().unwrap().log.clear();
    s.node_pools[0].instance_types = vec!["e2-standard-8".into()];
    s.node_pools[0].max = 12;
    gke.apply(&s, &Progress::none()).await.expect("replaced");
    let writes = p.lock().unwrap().writes();
    assert_eq!(writes.len(), 2, "{writes:?}");
    assert!(writes[0].starts_with("create_node_pool web-"), "{writes:?}");
    assert!(writes[1].starts_with("delete_node_pool web-"), "{writes:?}");
    assert_ne!(writes[0].split(' ').nth(1), writes[1].split(' ').nth(1));
    // Bounds alone change in place.
    p.lock().unwrap().log.clear();
    s.node_pools[0].max = 15;
    gke.apply(&s, &Progress::none()).await.unwrap();
    let writes = p.lock().unwrap().writes();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert!(writes[0].starts_with("set_autoscaling web-") && writes[0].ends_with(" 3 15"), "{writes:?}");
}

#[tokio::test(start_paused = true)]
async fn delete_removes_pools_then_the_cluster_and_refuses_clusters_wooo_did_not_make() {
    let p = new_project();
    let gke = gke(&p);
    let s = spec();
    gke.apply(&s, &Progress::none()).await.unwrap();
    p.lock().unwrap().log.clear();
    gke.delete(&s.id(), &DeleteOptions::default()).await.expect("deleted");
    let writes = p.lock().unwrap().writes();
    assert_eq!(writes.len(), 2, "{writes:?}");
    assert!(writes[0].starts_with("delete_node_pool"), "{writes:?}");
    assert_eq!(writes[1], "delete_cluster shop");
    assert!(p.lock().unwrap().cluster.is_none());
    assert_eq!(gke.delete(&s.id(), &DeleteOptions::default()).await.unwrap_err().kind(), ErrorKind::NotFound);
    // Not ours.
    gke.apply(&s, &Progress::none()).await.unwrap();
    p.lock().unwrap().cluster.as_mut().unwrap().resource_labels.clear();
    let err = gke.delete(&s.id(), &DeleteOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(gke.apply(&s, &Progress::none()).await.unwrap_err().kind(), ErrorKind::Conflict);
}

#[tokio::test]
async fn bad_specs_are_refused_before_any_call() {
    // No expectations: any call would panic.
    let gke = Gke::with_api(Arc::new(MockGkeApi::new()), "europe-west1", Gke::DEFAULT_WAIT);
    let mut s = spec();
    s.tags.insert("Cost.Center".into(), "x".into());
    let err = gke.apply(&s, &Progress::none()).await.unwrap_err();
    assert_eq!(err.violations()[0].field, "tags[\"Cost.Center\"]");
    let aws: ClusterSpec = from_yaml(&super::shape::tests::SPEC.replace("provider: gcp", "provider: aws")).unwrap();
    assert_eq!(gke.plan(&aws).await.unwrap_err().violations()[0].field, "provider");
}

#[tokio::test(start_paused = true)]
async fn access_needs_a_running_cluster_and_credentials() {
    let p = new_project();
    let gke = gke(&p);
    let s = spec();
    assert_eq!(gke.access(&s.id()).await.unwrap_err().kind(), ErrorKind::NotFound);
    gke.apply(&s, &Progress::none()).await.unwrap();
    // Built without credentials (a test server): no token to give.
    assert_eq!(gke.access(&s.id()).await.unwrap_err().kind(), ErrorKind::Unauthenticated);
    p.lock().unwrap().cluster.as_mut().unwrap().status = Some(State::Provisioning);
    assert_eq!(gke.access(&s.id()).await.unwrap_err().kind(), ErrorKind::Conflict);
}

#[tokio::test(start_paused = true)]
async fn scale_sets_nodes_per_zone() {
    let p = new_project();
    let gke = gke(&p);
    let s = spec();
    gke.apply(&s, &Progress::none()).await.unwrap();
    p.lock().unwrap().log.clear();
    gke.scale_node_pool(&s.id(), "web", 6).await.expect("scaled");
    let writes = p.lock().unwrap().writes();
    assert_eq!(writes.len(), 1);
    assert!(writes[0].starts_with("set_size web-") && writes[0].ends_with(" 2"), "{writes:?}");
    assert_eq!(gke.scale_node_pool(&s.id(), "web", 99).await.unwrap_err().kind(), ErrorKind::InvalidSpec);
    assert_eq!(gke.scale_node_pool(&s.id(), "nope", 1).await.unwrap_err().kind(), ErrorKind::NotFound);
}
