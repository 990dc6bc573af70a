//! `Eks` against an in-memory EKS behind the seam: an account whose clusters and node groups take virtual time
//! to become active, whose updates run and fail, and which can lose answers after the effect. It covers what
//! moto cannot produce (slow creation, CREATE_FAILED with health issues, an update already in progress, a
//! DEGRADED node group) and counts every call.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use tokio::time::Instant;
use wooo_core::model::{ClusterSpec, from_yaml};
use wooo_core::{DeleteOptions, ProvisionerExt};

use super::api::*;
use super::*;

const REGION: &str = "us-east-1";

/// How an operation misbehaves, once per entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Throttled before anything happens.
    Before,
    /// The effect happens, the answer is lost (a 500 after the write).
    After,
}

/// What a finished version update changes: the cluster, the node group (None: the control plane), the version.
type VersionEffect = (String, Option<String>, String);

#[derive(Debug, Default)]
struct State {
    clusters: BTreeMap<String, (ClusterInfo, Instant)>,
    groups: BTreeMap<(String, String), (NodeGroupInfo, Instant)>,
    updates: BTreeMap<String, (UpdateInfo, Instant, Option<VersionEffect>)>,
    network: Vec<NetworkResource>,
    roles: BTreeMap<String, RoleInfo>,
    calls: Vec<String>,
    faults: BTreeMap<&'static str, Vec<Fault>>,
    next_id: u32,
    /// How long creations and updates take.
    cluster_takes: Duration,
    group_takes: Duration,
    update_takes: Duration,
    /// A created cluster ends FAILED with these health issues.
    cluster_fails: Option<Vec<String>>,
    /// A created node group ends DEGRADED with these health issues.
    group_degrades: Option<Vec<String>>,
    /// The next node group config update finds another update running.
    update_in_progress: u32,
}

#[derive(Debug, Default)]
struct FakeAws {
    state: Mutex<State>,
}

fn not_found(what: &str) -> Error {
    Error::not_found(PROVIDER, what)
}

impl FakeAws {
    fn new() -> Arc<Self> {
        let fake = Self::default();
        {
            let mut s = fake.state.lock().unwrap();
            s.cluster_takes = Duration::from_secs(60);
            s.group_takes = Duration::from_secs(60);
            s.update_takes = Duration::from_secs(30);
        }
        Arc::new(fake)
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    /// Records the call and applies a scripted fault: `Err` before the effect; `Ok(true)` to lose the answer
    /// after it.
    fn enter(&self, call: &'static str) -> Result<bool> {
        self.with(|s| {
            s.calls.push(call.to_string());
            let fault = s.faults.get_mut(call).and_then(|f| (!f.is_empty()).then(|| f.remove(0)));
            match fault {
                Some(Fault::Before) => Err(Error::Throttled {
                    provider: PROVIDER,
                    message: format!("{call}: Rate exceeded"),
                    retry_after: None,
                    source: None,
                }),
                Some(Fault::After) => Ok(true),
                None => Ok(false),
            }
        })
    }

    fn lost(call: &str) -> Error {
        Error::Transient { provider: PROVIDER, message: format!("{call}: HTTP 500 after the write"), source: None }
    }

    fn done<T>(call: &'static str, lose: bool, value: T) -> Result<T> {
        if lose { Err(Self::lost(call)) } else { Ok(value) }
    }

    fn calls(&self) -> Vec<String> {
        self.with(|s| s.calls.clone())
    }

    fn count(&self, pred: impl Fn(&str) -> bool) -> usize {
        self.with(|s| s.calls.iter().filter(|c| pred(c)).count())
    }

    fn writes(&self) -> Vec<String> {
        self.calls().into_iter().filter(|c| is_write(c)).collect()
    }

    fn fault(&self, call: &'static str, faults: &[Fault]) {
        self.with(|s| s.faults.entry(call).or_default().extend_from_slice(faults));
    }

    fn next_id(s: &mut State, prefix: &str) -> String {
        s.next_id += 1;
        format!("{prefix}-{:04}", s.next_id)
    }

    /// Moves states forward to what the virtual clock says.
    fn tick(s: &mut State) {
        let now = Instant::now();
        let fails = s.cluster_fails.clone();
        for (info, ready) in s.clusters.values_mut() {
            if now >= *ready {
                match info.status {
                    Some(ClusterState::Creating) => {
                        info.status = Some(match &fails {
                            Some(issues) => {
                                info.health_issues = issues.clone();
                                ClusterState::Failed
                            }
                            None => ClusterState::Active,
                        });
                        info.endpoint = Some(format!("https://{}.gr7.{REGION}.eks.amazonaws.com", info.name));
                        info.ca_data = Some("Q0EgZGF0YQ==".into());
                    }
                    Some(ClusterState::Updating) => info.status = Some(ClusterState::Active),
                    _ => {}
                }
            }
        }
        let degrades = s.group_degrades.clone();
        for (g, ready) in s.groups.values_mut() {
            if now >= *ready && matches!(g.status, Some(NodeGroupState::Creating | NodeGroupState::Updating)) {
                g.status = Some(match &degrades {
                    Some(issues) => {
                        g.health_issues = issues.clone();
                        NodeGroupState::Degraded
                    }
                    None => NodeGroupState::Active,
                });
            }
        }
        let deleting: Vec<(String, String)> = s
            .groups
            .iter()
            .filter(|(_, (g, ready))| g.status == Some(NodeGroupState::Deleting) && now >= *ready)
            .map(|(k, _)| k.clone())
            .collect();
        for k in deleting {
            s.groups.remove(&k);
        }
        let gone: Vec<String> = s
            .clusters
            .iter()
            .filter(|(_, (c, ready))| c.status == Some(ClusterState::Deleting) && now >= *ready)
            .map(|(k, _)| k.clone())
            .collect();
        for k in gone {
            s.clusters.remove(&k);
        }
        let mut finished = Vec::new();
        for (id, (u, ready, effect)) in s.updates.iter_mut() {
            if now >= *ready && u.state == UpdateState::InProgress {
                u.state = UpdateState::Successful;
                finished.push((id.clone(), effect.clone()));
            }
        }
        for (_, effect) in finished {
            if let Some((cluster, group, version)) = effect {
                match group {
                    None => {
                        if let Some((c, _)) = s.clusters.get_mut(&cluster) {
                            c.version = Some(version);
                            c.status = Some(ClusterState::Active);
                        }
                    }
                    Some(g) => {
                        if let Some((ng, _)) = s.groups.get_mut(&(cluster, g)) {
                            ng.version = Some(version);
                            ng.status = Some(NodeGroupState::Active);
                        }
                    }
                }
            }
        }
    }

    fn start_update(s: &mut State, effect: Option<VersionEffect>) -> UpdateInfo {
        let id = Self::next_id(s, "update");
        let info = UpdateInfo { id: id.clone(), state: UpdateState::InProgress, errors: Vec::new() };
        let ready = Instant::now() + s.update_takes;
        s.updates.insert(id, (info.clone(), ready, effect));
        info
    }
}

fn is_write(call: &str) -> bool {
    !["describe", "list", "get", "offered", "availability", "network_resources"].iter().any(|p| call.starts_with(p))
}

#[async_trait]
impl AwsApi for FakeAws {
    async fn describe_cluster(&self, name: &str) -> Result<ClusterInfo> {
        self.enter("describe_cluster")?;
        self.with(|s| {
            Self::tick(s);
            s.clusters.get(name).map(|(c, _)| c.clone()).ok_or_else(|| not_found(&format!("cluster {name}")))
        })
    }

    async fn list_clusters(&self) -> Result<Vec<String>> {
        self.enter("list_clusters")?;
        self.with(|s| {
            Self::tick(s);
            Ok(s.clusters.keys().cloned().collect())
        })
    }

    async fn create_cluster(&self, input: &CreateCluster) -> Result<ClusterInfo> {
        let lose = self.enter("create_cluster")?;
        let out = self.with(|s| {
            if s.clusters.contains_key(&input.name) {
                return Err(Error::conflict(
                    PROVIDER,
                    format!("ResourceInUseException: cluster {} exists", input.name),
                ));
            }
            let info = ClusterInfo {
                name: input.name.clone(),
                arn: format!("arn:aws:eks:{REGION}:123456789012:cluster/{}", input.name),
                status: Some(ClusterState::Creating),
                version: Some(input.version.clone()),
                platform_version: Some("eks.1".into()),
                role_arn: input.role_arn.clone(),
                vpc_id: Some("vpc-x".into()),
                subnet_ids: input.subnet_ids.clone(),
                endpoint_public: input.endpoint.public,
                endpoint_private: input.endpoint.private,
                public_access_cidrs: if input.endpoint.public_access_cidrs.is_empty() {
                    vec!["0.0.0.0/0".into()]
                } else {
                    input.endpoint.public_access_cidrs.clone()
                },
                service_cidr: Some(input.service_cidr.clone().unwrap_or_else(|| "10.100.0.0/16".into())),
                tags: input.tags.clone(),
                ..ClusterInfo::default()
            };
            let ready = Instant::now() + s.cluster_takes;
            s.clusters.insert(input.name.clone(), (info.clone(), ready));
            Ok(info)
        })?;
        Self::done("create_cluster", lose, out)
    }

    async fn update_cluster_version(&self, name: &str, version: &str, _token: &str) -> Result<UpdateInfo> {
        let lose = self.enter("update_cluster_version")?;
        let out = self.with(|s| {
            let (c, _) = s.clusters.get_mut(name).ok_or_else(|| not_found(name))?;
            if c.status != Some(ClusterState::Active) {
                return Err(Error::conflict(PROVIDER, "ResourceInUseException: an update is in progress"));
            }
            c.status = Some(ClusterState::Updating);
            Ok(Self::start_update(s, Some((name.to_string(), None, version.to_string()))))
        })?;
        Self::done("update_cluster_version", lose, out)
    }

    async fn update_cluster_endpoint(&self, name: &str, endpoint: &EndpointConfig, _token: &str) -> Result<UpdateInfo> {
        let lose = self.enter("update_cluster_endpoint")?;
        let out = self.with(|s| {
            let (c, _) = s.clusters.get_mut(name).ok_or_else(|| not_found(name))?;
            c.endpoint_public = endpoint.public;
            c.endpoint_private = endpoint.private;
            c.public_access_cidrs = endpoint.public_access_cidrs.clone();
            Ok(Self::start_update(s, None))
        })?;
        Self::done("update_cluster_endpoint", lose, out)
    }

    async fn describe_update(&self, _cluster: &str, _group: Option<String>, id: &str) -> Result<UpdateInfo> {
        self.enter("describe_update")?;
        self.with(|s| {
            Self::tick(s);
            s.updates.get(id).map(|(u, _, _)| u.clone()).ok_or_else(|| not_found(id))
        })
    }

    async fn tag_resource(&self, arn: &str, tags: &Tags) -> Result<()> {
        let lose = self.enter("tag_resource")?;
        self.with(|s| {
            for (c, _) in s.clusters.values_mut().filter(|(c, _)| c.arn == arn) {
                c.tags.extend(tags.clone());
            }
        });
        Self::done("tag_resource", lose, ())
    }

    async fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<()> {
        let lose = self.enter("untag_resource")?;
        self.with(|s| {
            for (c, _) in s.clusters.values_mut().filter(|(c, _)| c.arn == arn) {
                c.tags.retain(|k, _| !keys.contains(k));
            }
        });
        Self::done("untag_resource", lose, ())
    }

    async fn delete_cluster(&self, name: &str) -> Result<()> {
        let lose = self.enter("delete_cluster")?;
        self.with(|s| {
            if s.groups.keys().any(|(c, _)| c == name) {
                return Err(Error::conflict(PROVIDER, "ResourceInUseException: cluster has node groups"));
            }
            let ready = Instant::now() + s.cluster_takes;
            let (c, at) = s.clusters.get_mut(name).ok_or_else(|| not_found(name))?;
            c.status = Some(ClusterState::Deleting);
            *at = ready;
            Ok(())
        })?;
        Self::done("delete_cluster", lose, ())
    }

    async fn list_node_groups(&self, cluster: &str) -> Result<Vec<String>> {
        self.enter("list_node_groups")?;
        self.with(|s| {
            Self::tick(s);
            Ok(s.groups.keys().filter(|(c, _)| c == cluster).map(|(_, g)| g.clone()).collect())
        })
    }

    async fn describe_node_group(&self, cluster: &str, name: &str) -> Result<NodeGroupInfo> {
        self.enter("describe_node_group")?;
        self.with(|s| {
            Self::tick(s);
            s.groups
                .get(&(cluster.to_string(), name.to_string()))
                .map(|(g, _)| g.clone())
                .ok_or_else(|| not_found(&format!("node group {name}")))
        })
    }

    async fn create_node_group(&self, input: &CreateNodeGroup) -> Result<NodeGroupInfo> {
        let lose = self.enter("create_node_group")?;
        let out = self.with(|s| {
            let key = (input.cluster.clone(), input.name.clone());
            if s.groups.contains_key(&key) {
                return Err(Error::conflict(PROVIDER, "ResourceInUseException: node group exists"));
            }
            let g = NodeGroupInfo {
                cluster: input.cluster.clone(),
                name: input.name.clone(),
                arn: format!("arn:aws:eks:{REGION}:123456789012:nodegroup/{}/{}", input.cluster, input.name),
                status: Some(NodeGroupState::Creating),
                capacity: input.capacity,
                instance_types: input.instance_types.clone(),
                ami_type: Some(input.ami_type.clone()),
                disk_size_gib: Some(input.disk_size_gib),
                labels: input.labels.clone(),
                taints: input.taints.clone(),
                scaling: input.scaling,
                subnet_ids: input.subnet_ids.clone(),
                node_role_arn: input.node_role_arn.clone(),
                version: Some(input.version.clone()),
                tags: input.tags.clone(),
                ..NodeGroupInfo::default()
            };
            let ready = Instant::now() + s.group_takes;
            s.groups.insert(key, (g.clone(), ready));
            Ok(g)
        })?;
        Self::done("create_node_group", lose, out)
    }

    async fn update_node_group_config(
        &self,
        cluster: &str,
        name: &str,
        u: &NodeGroupConfigUpdate,
    ) -> Result<UpdateInfo> {
        let lose = self.enter("update_node_group_config")?;
        let out = self.with(|s| {
            if s.update_in_progress > 0 {
                s.update_in_progress -= 1;
                let ready = Instant::now() + s.update_takes;
                if let Some((g, at)) = s.groups.get_mut(&(cluster.to_string(), name.to_string())) {
                    g.status = Some(NodeGroupState::Updating);
                    *at = ready;
                }
                return Err(Error::conflict(PROVIDER, "ResourceInUseException: an update is in progress"));
            }
            let (g, _) = s.groups.get_mut(&(cluster.to_string(), name.to_string())).ok_or_else(|| not_found(name))?;
            g.labels.extend(u.add_labels.clone());
            g.labels.retain(|k, _| !u.remove_labels.contains(k));
            g.taints.retain(|t| {
                !u.remove_taints.contains(t) && !u.add_taints.iter().any(|a| a.key == t.key && a.effect == t.effect)
            });
            g.taints.extend(u.add_taints.clone());
            if let Some(min) = u.min {
                g.scaling.min = min;
            }
            if let Some(max) = u.max {
                g.scaling.max = max;
            }
            if let Some(d) = u.desired {
                g.scaling.desired = d;
            }
            Ok(Self::start_update(s, None))
        })?;
        Self::done("update_node_group_config", lose, out)
    }

    async fn update_node_group_version(
        &self,
        cluster: &str,
        name: &str,
        version: &str,
        _t: &str,
    ) -> Result<UpdateInfo> {
        let lose = self.enter("update_node_group_version")?;
        let out = self.with(|s| {
            let (g, _) = s.groups.get_mut(&(cluster.to_string(), name.to_string())).ok_or_else(|| not_found(name))?;
            g.status = Some(NodeGroupState::Updating);
            Ok(Self::start_update(s, Some((cluster.to_string(), Some(name.to_string()), version.to_string()))))
        })?;
        Self::done("update_node_group_version", lose, out)
    }

    async fn delete_node_group(&self, cluster: &str, name: &str) -> Result<()> {
        let lose = self.enter("delete_node_group")?;
        self.with(|s| {
            let ready = Instant::now() + s.group_takes;
            let (g, at) = s.groups.get_mut(&(cluster.to_string(), name.to_string())).ok_or_else(|| not_found(name))?;
            g.status = Some(NodeGroupState::Deleting);
            *at = ready;
            Ok(())
        })?;
        Self::done("delete_node_group", lose, ())
    }

    async fn describe_instance_types(&self, types: &[String]) -> Result<Vec<InstanceTypeInfo>> {
        self.enter("describe_instance_types")?;
        Ok(types
            .iter()
            .filter(|t| !t.starts_with("zz"))
            .map(|t| InstanceTypeInfo {
                name: t.clone(),
                // Graviton families end in `g` (`m6g`, `c7g`).
                architectures: vec![
                    if t.split('.').next().is_some_and(|f| f.ends_with('g')) { "arm64" } else { "x86_64" }.into(),
                ],
                vcpus: 2,
                memory_mib: 8192,
                gpus: false,
            })
            .collect())
    }

    async fn offered_instance_types(&self, types: &[String]) -> Result<Vec<String>> {
        self.enter("offered_instance_types")?;
        Ok(types.iter().filter(|t| !t.starts_with("zz")).cloned().collect())
    }

    async fn availability_zones(&self) -> Result<Vec<String>> {
        self.enter("availability_zones")?;
        Ok(["a", "b", "c", "d"].iter().map(|z| format!("{REGION}{z}")).collect())
    }

    async fn describe_subnets(&self, ids: &[String]) -> Result<Vec<SubnetInfo>> {
        self.enter("describe_subnets")?;
        ids.iter()
            .enumerate()
            .map(|(i, id)| {
                if id.starts_with("subnet-missing") {
                    return Err(Error::not_found(PROVIDER, format!("subnet {id}")));
                }
                Ok(SubnetInfo {
                    id: id.clone(),
                    vpc_id: "vpc-given".into(),
                    zone: format!("{REGION}{}", if i % 2 == 0 { "a" } else { "b" }),
                    cidr: format!("10.0.{i}.0/24"),
                    tags: Tags::new(),
                })
            })
            .collect()
    }

    async fn network_resources(&self, cluster: &str) -> Result<Vec<NetworkResource>> {
        self.enter("network_resources")?;
        let _ = cluster;
        Ok(self.with(|s| s.network.clone()))
    }

    async fn create_network_resource(&self, create: &NetworkCreate, tags: &Tags) -> Result<String> {
        let lose = self.enter("create_network_resource")?;
        let id = self.with(|s| {
            let (kind, prefix) = match create {
                NetworkCreate::Vpc { .. } => (NetworkKind::Vpc, "vpc"),
                NetworkCreate::InternetGateway { .. } => (NetworkKind::InternetGateway, "igw"),
                NetworkCreate::Subnet { .. } => (NetworkKind::Subnet, "subnet"),
                NetworkCreate::RouteTable { .. } => (NetworkKind::RouteTable, "rtb"),
                NetworkCreate::ElasticIp => (NetworkKind::ElasticIp, "eipalloc"),
                NetworkCreate::NatGateway { .. } => (NetworkKind::NatGateway, "nat"),
            };
            let id = Self::next_id(s, prefix);
            s.network.push(NetworkResource {
                kind,
                id: id.clone(),
                role: tags.get(ROLE_TAG).cloned().unwrap_or_default(),
                state: Some("available".into()),
                attachments: Vec::new(),
            });
            id
        });
        Self::done("create_network_resource", lose, id)
    }

    async fn delete_network_resource(&self, r: &NetworkResource) -> Result<()> {
        let lose = self.enter("delete_network_resource")?;
        self.with(|s| {
            if !s.clusters.is_empty() && r.kind == NetworkKind::Vpc {
                return Err(Error::conflict(PROVIDER, "DependencyViolation: the VPC has dependencies"));
            }
            let before = s.network.len();
            s.network.retain(|n| n.id != r.id);
            if s.network.len() == before { Err(not_found(&r.id)) } else { Ok(()) }
        })?;
        Self::done("delete_network_resource", lose, ())
    }

    async fn get_role(&self, name: &str) -> Result<RoleInfo> {
        self.enter("get_role")?;
        self.with(|s| s.roles.get(name).cloned().ok_or_else(|| not_found(name)))
    }

    async fn create_role(&self, name: &str, _principal: &str, tags: &Tags) -> Result<RoleInfo> {
        let lose = self.enter("create_role")?;
        let out = self.with(|s| {
            if s.roles.contains_key(name) {
                return Err(Error::already_exists(PROVIDER, format!("role {name}")));
            }
            let info = RoleInfo {
                name: name.into(),
                arn: format!("arn:aws:iam::123456789012:role/{name}"),
                tags: tags.clone(),
                attached_policy_arns: Vec::new(),
            };
            s.roles.insert(name.into(), info.clone());
            Ok(info)
        })?;
        Self::done("create_role", lose, out)
    }

    async fn attach_role_policy(&self, role: &str, policy: &str) -> Result<()> {
        let lose = self.enter("attach_role_policy")?;
        self.with(|s| {
            let r = s.roles.get_mut(role).ok_or_else(|| not_found(role))?;
            if !r.attached_policy_arns.iter().any(|p| p == policy) {
                r.attached_policy_arns.push(policy.into());
            }
            Ok(())
        })?;
        Self::done("attach_role_policy", lose, ())
    }

    async fn delete_role(&self, name: &str) -> Result<()> {
        let lose = self.enter("delete_role")?;
        self.with(|s| s.roles.remove(name).map(|_| ()).ok_or_else(|| not_found(name)))?;
        Self::done("delete_role", lose, ())
    }
}

fn spec() -> ClusterSpec {
    from_yaml(super::shape::tests::SPEC).expect("spec")
}

fn eks(fake: &Arc<FakeAws>) -> Eks {
    Eks::with_api(fake.clone(), REGION, Eks::DEFAULT_WAIT)
}

fn describes(fake: &FakeAws) -> usize {
    fake.count(|c| c.starts_with("describe_cluster") || c.starts_with("describe_node_group") || c == "describe_update")
}

#[tokio::test(start_paused = true)]
async fn a_fifteen_minute_creation_takes_at_most_25_describe_calls() {
    let fake = FakeAws::new();
    fake.with(|s| {
        s.cluster_takes = Duration::from_secs(12 * 60);
        s.group_takes = Duration::from_secs(3 * 60);
    });
    let eks = eks(&fake);
    let start = Instant::now();
    let cluster = eks.apply(&spec(), &Progress::none()).await.expect("apply");
    let took = start.elapsed();
    assert!(cluster.is_ready(), "{:?}", cluster.status);
    assert!(took >= Duration::from_secs(15 * 60), "the virtual clock ran the whole creation: {took:?}");
    let n = describes(&fake);
    eprintln!("describe calls for a {took:?} creation: {n}");
    assert!(n <= 25, "{n} describe calls for a {took:?} creation: {:?}", fake.calls());
    // Node groups wait in parallel in real EKS, here one after the other: still within the budget.
    assert!(n >= 10, "it did poll: {n}");
}

#[tokio::test(start_paused = true)]
async fn create_builds_network_roles_cluster_and_groups_once_in_order() {
    let fake = FakeAws::new();
    let eks = eks(&fake);
    let (progress, mut events) = Progress::channel();
    let cluster = eks.apply(&spec(), &progress).await.expect("apply");
    assert!(cluster.status.owned && cluster.is_ready());
    let roles: BTreeSet<String> = fake.with(|s| s.network.iter().map(|n| n.role.clone()).collect());
    let expected: BTreeSet<String> = [
        "vpc",
        "igw",
        "public-us-east-1a",
        "public-us-east-1b",
        "public-us-east-1c",
        "private-us-east-1a",
        "private-us-east-1b",
        "private-us-east-1c",
        "eip-nat",
        "nat",
        "rt-public",
        "rt-private",
    ]
    .map(String::from)
    .into();
    assert_eq!(roles, expected);
    assert_eq!(fake.with(|s| s.network.len()), 12, "each network resource once");
    let writes = fake.writes();
    let first = |call: &str| writes.iter().position(|w| w == call).unwrap_or_else(|| panic!("no {call}: {writes:?}"));
    assert!(first("create_network_resource") < first("create_role"));
    assert!(first("create_role") < first("create_cluster"));
    assert!(first("create_cluster") < first("create_node_group"));
    assert_eq!(fake.count(|c| c == "create_cluster"), 1);
    assert_eq!(fake.count(|c| c == "create_node_group"), 2);
    assert_eq!(fake.count(|c| c == "attach_role_policy"), 4, "1 cluster policy + 3 node policies");
    // Node groups go in private subnets with the spec's sizes, spot where asked.
    fake.with(|s| {
        let private: BTreeSet<String> =
            s.network.iter().filter(|n| n.role.starts_with("private-")).map(|n| n.id.clone()).collect();
        for (g, _) in s.groups.values() {
            assert!(g.subnet_ids.iter().all(|id| private.contains(id)), "{:?}", g.subnet_ids);
            assert!(g.tags.contains_key(NODE_POOL_TAG));
        }
        let web = s.groups.values().find(|(g, _)| g.name.starts_with("web-")).unwrap();
        assert_eq!(web.0.scaling, Scaling { min: 2, max: 6, desired: 3 });
        let batch = s.groups.values().find(|(g, _)| g.name.starts_with("batch-")).unwrap();
        assert_eq!(batch.0.capacity, wooo_core::model::Capacity::Spot);
        assert_eq!(batch.0.ami_type.as_deref(), Some("AL2023_ARM_64_STANDARD"));
    });
    let mut steps = Vec::new();
    while let Ok(e) = events.try_recv() {
        if let wooo_core::progress::ProgressEvent::Step { message, .. } = e {
            steps.push(message);
        }
    }
    assert!(steps.iter().any(|m| m.contains("creating cluster shop")), "{steps:?}");
    assert!(steps.iter().any(|m| m.contains("network: nat")), "{steps:?}");
}

#[tokio::test(start_paused = true)]
async fn an_unchanged_re_apply_makes_no_write_even_after_the_autoscaler_moved() {
    let fake = FakeAws::new();
    let eks = eks(&fake);
    eks.apply(&spec(), &Progress::none()).await.expect("apply");
    // The cluster autoscaler grows web from 3 to 5 nodes.
    fake.with(|s| {
        for (g, _) in s.groups.values_mut().filter(|(g, _)| g.name.starts_with("web-")) {
            g.scaling.desired = 5;
        }
    });
    let before = fake.writes().len();
    assert!(eks.plan(&spec()).await.unwrap().is_noop());
    eks.apply(&spec(), &Progress::none()).await.expect("re-apply");
    assert_eq!(fake.writes().len(), before, "writes on re-apply: {:?}", &fake.writes()[before..]);
    let web = eks.get(&spec().id()).await.unwrap();
    assert_eq!(web.spec.node_pool("web").unwrap().desired, Some(5), "the autoscaler's size stands");
}

#[tokio::test(start_paused = true)]
async fn lost_answers_and_throttling_never_duplicate_anything() {
    let fake = FakeAws::new();
    for call in ["create_network_resource", "create_role", "create_cluster", "create_node_group", "attach_role_policy"]
    {
        fake.fault(call, &[Fault::After, Fault::Before, Fault::After]);
    }
    fake.fault("describe_cluster", &[Fault::Before, Fault::Before]);
    let eks = eks(&fake);
    let cluster = eks.apply(&spec(), &Progress::none()).await.expect("apply converges");
    assert!(cluster.is_ready());
    fake.with(|s| {
        assert_eq!(s.network.len(), 12, "no duplicate network resource: {:?}", s.network);
        assert_eq!(s.roles.len(), 2);
        assert_eq!(s.clusters.len(), 1);
        assert_eq!(s.groups.len(), 2);
        for r in s.roles.values() {
            let unique: BTreeSet<&String> = r.attached_policy_arns.iter().collect();
            assert_eq!(unique.len(), r.attached_policy_arns.len());
        }
    });
    // Deleting through the same faults leaves nothing.
    for call in ["delete_node_group", "delete_cluster", "delete_network_resource", "delete_role"] {
        fake.fault(call, &[Fault::After, Fault::Before]);
    }
    eks.delete(&spec().id(), &DeleteOptions::default()).await.expect("delete converges");
    fake.with(|s| {
        assert!(s.network.is_empty() && s.roles.is_empty() && s.clusters.is_empty() && s.groups.is_empty());
    });
}

#[tokio::test(start_paused = true)]
async fn a_failed_creation_surfaces_its_health_issues() {
    let fake = FakeAws::new();
    fake.with(|s| s.cluster_fails = Some(vec!["Ec2SubnetInvalidConfiguration: subnet has no route".into()]));
    let err = eks(&fake).apply(&spec(), &Progress::none()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert!(err.to_string().contains("Ec2SubnetInvalidConfiguration: subnet has no route"), "{err}");
    assert_eq!(fake.count(|c| c == "create_node_group"), 0, "no node group on a failed cluster");
}

#[tokio::test(start_paused = true)]
async fn a_degraded_node_group_fails_the_apply_and_shows_in_the_status() {
    let fake = FakeAws::new();
    fake.with(|s| s.group_degrades = Some(vec!["InsufficientFreeAddresses: subnet full".into()]));
    let eks = eks(&fake);
    let err = eks.apply(&spec(), &Progress::none()).await.unwrap_err();
    assert!(err.to_string().contains("InsufficientFreeAddresses"), "{err}");
    let cluster = eks.get(&spec().id()).await.unwrap();
    assert_eq!(cluster.failure().map(|c| c.reason.as_str()), Some("NodeGroupDegraded"));
    let err = eks.wait_ready(&spec().id(), &Eks::DEFAULT_WAIT, &Progress::none()).await.unwrap_err();
    assert!(err.to_string().contains("InsufficientFreeAddresses"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn an_update_already_in_progress_is_waited_out_then_sent() {
    let fake = FakeAws::new();
    let eks = eks(&fake);
    eks.apply(&spec(), &Progress::none()).await.expect("apply");
    let mut changed = spec();
    changed.node_pools[0].labels.insert("tier".into(), "frontend".into());
    changed.node_pools[0].max = 9;
    fake.with(|s| s.update_in_progress = 1);
    let plan = eks.plan(&changed).await.unwrap();
    let web = plan.changes.iter().find(|c| c.target == "node_pool/web").unwrap();
    assert_eq!(web.action, ChangeAction::UpdateInPlace, "{plan}");
    eks.apply(&changed, &Progress::none()).await.expect("apply waits out the other update");
    assert_eq!(fake.count(|c| c == "update_node_group_config"), 2, "refused once, then sent");
    let live = eks.get(&spec().id()).await.unwrap();
    let pool = live.spec.node_pool("web").unwrap();
    assert_eq!(pool.labels.get("tier").map(String::as_str), Some("frontend"));
    assert_eq!((pool.max, pool.desired), (9, Some(3)));
}

#[tokio::test(start_paused = true)]
async fn replacing_a_pool_creates_the_new_group_before_deleting_the_old() {
    let fake = FakeAws::new();
    let eks = eks(&fake);
    eks.apply(&spec(), &Progress::none()).await.expect("apply");
    let mut changed = spec();
    changed.node_pools[0].instance_types = vec!["m5.xlarge".into()];
    let plan = eks.plan(&changed).await.unwrap();
    assert!(plan.is_destructive());
    let web = plan.changes.iter().find(|c| c.target == "node_pool/web").unwrap();
    assert_eq!(web.action, ChangeAction::Replace);
    assert_eq!(web.fields, ["node_pool/web.instance_types"]);
    let before = fake.calls().len();
    eks.apply(&changed, &Progress::none()).await.expect("replace");
    let after: Vec<String> = fake.calls()[before..].iter().filter(|c| is_write(c)).cloned().collect();
    assert_eq!(after, ["create_node_group", "delete_node_group"], "create before destroy");
    let live = eks.get(&spec().id()).await.unwrap();
    assert_eq!(live.spec.node_pool("web").unwrap().instance_types, ["m5.xlarge"]);
    assert_eq!(fake.with(|s| s.groups.len()), 2);
}

#[tokio::test(start_paused = true)]
async fn upgrades_step_one_minor_at_a_time_control_plane_then_groups() {
    let fake = FakeAws::new();
    let eks = eks(&fake);
    let mut s = spec();
    s.kubernetes_version = "1.30".into();
    eks.apply(&s, &Progress::none()).await.expect("apply 1.30");
    s.kubernetes_version = "1.32".into();
    let plan = eks.plan(&s).await.unwrap();
    assert!(plan.changes[0].reason.contains("in steps 1.31, 1.32"), "{plan}");
    let before = fake.calls().len();
    eks.apply(&s, &Progress::none()).await.expect("upgrade");
    let upgrades: Vec<String> = fake.calls()[before..]
        .iter()
        .filter(|c| c.starts_with("update_cluster_version") || c.starts_with("update_node_group_version"))
        .cloned()
        .collect();
    assert_eq!(
        upgrades,
        [
            "update_cluster_version",
            "update_node_group_version",
            "update_node_group_version",
            "update_cluster_version",
            "update_node_group_version",
            "update_node_group_version"
        ]
    );
    let live = eks.get(&s.id()).await.unwrap();
    assert_eq!(live.status.kubernetes_version.as_deref(), Some("1.32"));
    fake.with(|st| assert!(st.groups.values().all(|(g, _)| g.version.as_deref() == Some("1.32"))));
    assert!(eks.plan(&s).await.unwrap().is_noop());
}

#[tokio::test(start_paused = true)]
async fn delete_goes_in_reverse_and_refuses_what_wooo_did_not_make() {
    let fake = FakeAws::new();
    let eks = eks(&fake);
    eks.apply(&spec(), &Progress::none()).await.expect("apply");
    let before = fake.calls().len();
    eks.delete(&spec().id(), &DeleteOptions::default()).await.expect("delete");
    let writes: Vec<String> = fake.calls()[before..].iter().filter(|c| is_write(c)).cloned().collect();
    let last = |call: &str| writes.iter().rposition(|w| w == call).unwrap();
    let first = |call: &str| writes.iter().position(|w| w == call).unwrap();
    assert!(last("delete_node_group") < first("delete_cluster"));
    assert!(first("delete_cluster") < first("delete_network_resource"));
    assert!(last("delete_network_resource") < first("delete_role"));
    fake.with(|s| assert!(s.network.is_empty() && s.roles.is_empty() && s.clusters.is_empty()));
    // Gone: a retried delete has nothing left and says NotFound (Retrying turns that into success).
    let err = eks.delete(&spec().id(), &DeleteOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);

    // A cluster someone else made.
    eks.apply(&spec(), &Progress::none()).await.expect("apply");
    fake.with(|s| {
        for (c, _) in s.clusters.values_mut() {
            c.tags.remove(wooo_core::model::OWNER_TAG);
        }
    });
    let err = eks.delete(&spec().id(), &DeleteOptions::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.to_string().contains("force_unowned"), "{err}");
    let err = eks.apply(&spec(), &Progress::none()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "apply leaves a foreign cluster alone");
    let force = DeleteOptions { force_unowned: true, ..DeleteOptions::default() };
    eks.delete(&spec().id(), &force).await.expect("forced delete");
}

#[tokio::test(start_paused = true)]
async fn a_delete_that_stopped_half_way_is_finished_by_the_next() {
    let fake = FakeAws::new();
    let eks = eks(&fake);
    eks.apply(&spec(), &Progress::none()).await.expect("apply");
    // The cluster and groups went, the network and roles did not (the process stopped).
    fake.with(|s| {
        s.groups.clear();
        s.clusters.clear();
    });
    eks.delete(&spec().id(), &DeleteOptions::default()).await.expect("finishes the cleanup");
    fake.with(|s| assert!(s.network.is_empty() && s.roles.is_empty()));
}

#[tokio::test(start_paused = true)]
async fn invalid_specs_and_bad_instance_types_make_no_write() {
    let fake = FakeAws::new();
    let eks = eks(&fake);
    let mut s = spec();
    s.node_pools[0].instance_types = vec!["m5.large".into(), "m6g.large".into()];
    let err = eks.apply(&s, &Progress::none()).await.unwrap_err();
    assert_eq!(err.violations()[0].field, "node_pools[0].instance_types");
    let mut s = spec();
    s.node_pools[1].instance_types = vec!["zz9.huge".into()];
    let err = eks.plan(&s).await.unwrap_err();
    assert_eq!(err.violations()[0].field, "node_pools[1].instance_types[0]");
    let mut s = spec();
    s.network.subnet_ids = vec!["subnet-1".into(), "subnet-missing".into()];
    let err = eks.apply(&s, &Progress::none()).await.unwrap_err();
    assert_eq!(err.violations()[0].field, "network.subnet_ids");
    assert!(fake.writes().is_empty(), "{:?}", fake.writes());
}

#[tokio::test(start_paused = true)]
async fn given_subnets_are_used_and_no_network_is_created_or_deleted() {
    let fake = FakeAws::new();
    let eks = eks(&fake);
    let mut s = spec();
    s.network.subnet_ids = vec!["subnet-1".into(), "subnet-2".into()];
    eks.apply(&s, &Progress::none()).await.expect("apply");
    assert_eq!(fake.count(|c| c == "create_network_resource"), 0);
    fake.with(|st| {
        let (c, _) = st.clusters.values().next().unwrap();
        assert_eq!(c.subnet_ids, ["subnet-1", "subnet-2"]);
    });
    assert!(eks.plan(&s).await.unwrap().is_noop());
    eks.delete(&s.id(), &DeleteOptions::default()).await.expect("delete");
    assert_eq!(fake.count(|c| c == "delete_network_resource"), 0);
}

#[tokio::test(start_paused = true)]
async fn scale_checks_bounds_and_sets_only_the_desired_size() {
    let fake = FakeAws::new();
    let eks = eks(&fake);
    eks.apply(&spec(), &Progress::none()).await.expect("apply");
    let scaled = eks.scale_node_pool(&spec().id(), "web", 6).await.expect("scale");
    assert_eq!(scaled.spec.node_pool("web").unwrap().desired, Some(6));
    let err = eks.scale_node_pool(&spec().id(), "web", 7).await.unwrap_err();
    assert_eq!(err.violations()[0].field, "desired");
    let err = eks.scale_node_pool(&spec().id(), "nope", 1).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}
