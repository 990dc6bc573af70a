//! [`SdkApi`] against a real moto server (skipped loudly when moto is not installed), and the SDK error glue
//! on hand-made SDK errors.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, error::CredentialsError, future};
use aws_sdk_eks::operation::describe_cluster::DescribeClusterError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::{ConnectorError, SdkError};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::ErrorMetadata;
use wooo_core::model::{Capacity, Taint, TaintEffect};
use wooo_core::{Error, ErrorKind};

use super::*;
use crate::aws::testing::{ACCESS_KEY, ACCOUNT_ID, Moto, SECRET_KEY};

/// The SDK configuration pointing at `endpoint` with `credentials`.
async fn config(endpoint: &str, credentials: impl ProvideCredentials + 'static) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials)
        .endpoint_url(endpoint)
        .http_client(https_client())
        .load()
        .await
}

/// An [`SdkApi`] on `moto`, signing with the suites' static keys.
async fn api(moto: &Moto) -> SdkApi {
    SdkApi::new(&config(&moto.endpoint(), Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "tests")).await)
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The cluster and role tags of a network resource.
fn net_tags(cluster: &str, role: &str) -> Tags {
    tags(&[(CLUSTER_TAG, cluster), (ROLE_TAG, role)])
}

fn kind_of<T: std::fmt::Debug>(result: Result<T>) -> ErrorKind {
    match result {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.kind(),
    }
}

/// A VPC with one subnet in each of two zones, for the EKS test.
async fn two_subnets(api: &SdkApi, cluster: &str) -> Vec<String> {
    let zones = api.availability_zones().await.unwrap();
    let vpc = api
        .create_network_resource(&NetworkCreate::Vpc { cidr: "10.1.0.0/16".into() }, &net_tags(cluster, "vpc"))
        .await
        .unwrap();
    let mut ids = Vec::new();
    for (i, zone) in zones.iter().take(2).enumerate() {
        let create = NetworkCreate::Subnet {
            vpc_id: vpc.clone(),
            cidr: format!("10.1.{i}.0/24"),
            zone: zone.clone(),
            public: false,
        };
        ids.push(api.create_network_resource(&create, &net_tags(cluster, &format!("private-{zone}"))).await.unwrap());
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_round_trip_creates_lists_and_deletes_exactly_the_tagged_resources() {
    let Some(moto) = Moto::start() else { return };
    let api = api(&moto).await;
    let c = "net";
    let zones = api.availability_zones().await.unwrap();
    let (za, zb) = (zones[0].clone(), zones[1].clone());

    let vpc = api
        .create_network_resource(&NetworkCreate::Vpc { cidr: "10.0.0.0/16".into() }, &net_tags(c, "vpc"))
        .await
        .unwrap();
    assert!(vpc.starts_with("vpc-"), "{vpc}");
    let igw = api
        .create_network_resource(&NetworkCreate::InternetGateway { vpc_id: vpc.clone() }, &net_tags(c, "igw"))
        .await
        .unwrap();
    assert!(igw.starts_with("igw-"), "{igw}");
    let subnet = |cidr: &str, zone: &str, public: bool| {
        let create = NetworkCreate::Subnet { vpc_id: vpc.clone(), cidr: cidr.into(), zone: zone.into(), public };
        let role = format!("{}-{zone}", if public { "public" } else { "private" });
        let api = &api;
        async move { api.create_network_resource(&create, &net_tags(c, &role)).await.unwrap() }
    };
    let pub_a = subnet("10.0.0.0/24", &za, true).await;
    let pub_b = subnet("10.0.1.0/24", &zb, true).await;
    let priv_a = subnet("10.0.10.0/24", &za, false).await;
    let priv_b = subnet("10.0.11.0/24", &zb, false).await;
    let eip = api.create_network_resource(&NetworkCreate::ElasticIp, &net_tags(c, "eip-nat")).await.unwrap();
    assert!(eip.starts_with("eipalloc-"), "{eip}");
    let nat = api
        .create_network_resource(
            &NetworkCreate::NatGateway { subnet_id: pub_a.clone(), allocation_id: eip.clone() },
            &net_tags(c, "nat"),
        )
        .await
        .unwrap();
    assert!(nat.starts_with("nat-"), "{nat}");
    let rt_public = api
        .create_network_resource(
            &NetworkCreate::RouteTable {
                vpc_id: vpc.clone(),
                via: igw.clone(),
                subnet_ids: vec![pub_a.clone(), pub_b.clone()],
            },
            &net_tags(c, "rt-public"),
        )
        .await
        .unwrap();
    let rt_private = api
        .create_network_resource(
            &NetworkCreate::RouteTable {
                vpc_id: vpc.clone(),
                via: nat.clone(),
                subnet_ids: vec![priv_a.clone(), priv_b.clone()],
            },
            &net_tags(c, "rt-private"),
        )
        .await
        .unwrap();

    // Something of another cluster is not listed.
    api.create_network_resource(&NetworkCreate::Vpc { cidr: "10.9.0.0/16".into() }, &net_tags("other", "vpc"))
        .await
        .unwrap();

    // The subnets are where they were asked to be, public ones mapping public IPs.
    let subnets = api.describe_subnets(&[pub_a.clone(), priv_b.clone()]).await.unwrap();
    let mut got: Vec<(String, String, String, String)> =
        subnets.iter().map(|s| (s.id.clone(), s.vpc_id.clone(), s.zone.clone(), s.cidr.clone())).collect();
    got.sort();
    let mut want = vec![
        (pub_a.clone(), vpc.clone(), za.clone(), "10.0.0.0/24".to_string()),
        (priv_b.clone(), vpc.clone(), zb.clone(), "10.0.11.0/24".to_string()),
    ];
    want.sort();
    assert_eq!(got, want);
    assert_eq!(subnets[0].tags.get(CLUSTER_TAG).map(String::as_str), Some(c));
    let map_public = |id: &str| {
        let ec2 = api.ec2.clone();
        let id = id.to_string();
        async move {
            let out = ec2.describe_subnets().subnet_ids(id).send().await.unwrap();
            out.subnets()[0].map_public_ip_on_launch()
        }
    };
    assert_eq!(map_public(&pub_b).await, Some(true));
    assert_eq!(map_public(&priv_a).await, Some(false));
    // The VPC resolves names; the private route goes through the NAT gateway.
    let dns = api
        .ec2
        .describe_vpc_attribute()
        .vpc_id(&vpc)
        .attribute(aws_sdk_ec2::types::VpcAttributeName::EnableDnsHostnames)
        .send()
        .await
        .unwrap();
    assert_eq!(dns.enable_dns_hostnames().and_then(|v| v.value()), Some(true));
    let routes = api.ec2.describe_route_tables().route_table_ids(&rt_private).send().await.unwrap();
    let default = routes.route_tables()[0]
        .routes()
        .iter()
        .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
        .expect("a default route")
        .clone();
    assert_eq!(default.nat_gateway_id(), Some(nat.as_str()));
    let routes = api.ec2.describe_route_tables().route_table_ids(&rt_public).send().await.unwrap();
    let default = routes.route_tables()[0]
        .routes()
        .iter()
        .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
        .expect("a default route")
        .clone();
    assert_eq!(default.gateway_id(), Some(igw.as_str()));

    let mut listed = api.network_resources(c).await.unwrap();
    listed.sort_by(|a, b| (a.kind, &a.role).cmp(&(b.kind, &b.role)));
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let res = |kind, id: &str, role: &str, state: Option<&str>, attachments: Vec<String>| NetworkResource {
        kind,
        id: id.to_string(),
        role: role.to_string(),
        state: state.map(str::to_string),
        attachments,
    };
    let want = vec![
        res(NetworkKind::Vpc, &vpc, "vpc", Some("available"), vec![]),
        res(NetworkKind::InternetGateway, &igw, "igw", None, vec![vpc.clone()]),
        res(NetworkKind::Subnet, &priv_a, &format!("private-{za}"), Some("available"), vec![]),
        res(NetworkKind::Subnet, &priv_b, &format!("private-{zb}"), Some("available"), vec![]),
        res(NetworkKind::Subnet, &pub_a, &format!("public-{za}"), Some("available"), vec![]),
        res(NetworkKind::Subnet, &pub_b, &format!("public-{zb}"), Some("available"), vec![]),
        res(NetworkKind::RouteTable, &rt_private, "rt-private", None, sorted(vec![priv_a.clone(), priv_b.clone()])),
        res(NetworkKind::RouteTable, &rt_public, "rt-public", None, sorted(vec![pub_a.clone(), pub_b.clone()])),
        res(NetworkKind::ElasticIp, &eip, "eip-nat", None, vec![]),
        res(NetworkKind::NatGateway, &nat, "nat", Some("available"), vec![]),
    ];
    assert_eq!(listed, want);

    // Reverse creation order: the NAT gateway (and its Elastic IP), the route tables, subnets, gateway, VPC.
    let mut order = want.clone();
    order.sort_by_key(|r| std::cmp::Reverse(r.kind));
    for r in &order {
        api.delete_network_resource(r).await.unwrap_or_else(|e| panic!("delete {r:?}: {e}"));
    }
    assert_eq!(api.network_resources(c).await.unwrap(), vec![]);
    for r in &order {
        assert_eq!(kind_of(api.delete_network_resource(r).await), ErrorKind::NotFound, "again: {r:?}");
    }
    assert_eq!(kind_of(api.describe_subnets(std::slice::from_ref(&pub_a)).await), ErrorKind::NotFound);
    // The other cluster's VPC is still there.
    assert_eq!(api.network_resources("other").await.unwrap().len(), 1);
}

/// `%XX` escapes decoded.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iam_roles_are_created_attached_listed_and_deleted_with_their_policies() {
    let Some(moto) = Moto::start() else { return };
    let api = api(&moto).await;
    let name = "wooo-prod-cluster";
    let policy = "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy";
    let role_tags = tags(&[(CLUSTER_TAG, "prod")]);

    let created = api.create_role(name, "eks.amazonaws.com", &role_tags).await.unwrap();
    assert_eq!(
        created,
        RoleInfo {
            name: name.into(),
            arn: format!("arn:aws:iam::{ACCOUNT_ID}:role/{name}"),
            tags: role_tags.clone(),
            attached_policy_arns: vec![],
        }
    );
    let trust = api.iam.get_role().role_name(name).send().await.unwrap();
    // IAM answers the document URL-encoded.
    let document = percent_decode(trust.role().and_then(|r| r.assume_role_policy_document()).unwrap());
    let document: serde_json::Value = serde_json::from_str(&document).unwrap();
    assert_eq!(
        document,
        serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{ "Effect": "Allow", "Principal": { "Service": "eks.amazonaws.com" }, "Action": "sts:AssumeRole" }],
        })
    );

    api.attach_role_policy(name, policy).await.unwrap();
    let got = api.get_role(name).await.unwrap();
    assert_eq!(got.attached_policy_arns, vec![policy.to_string()]);
    assert_eq!(got.tags, role_tags);
    assert_eq!(kind_of(api.create_role(name, "eks.amazonaws.com", &role_tags).await), ErrorKind::AlreadyExists);

    // The managed policy is detached first: IAM refuses to delete a role with policies attached.
    api.delete_role(name).await.unwrap();
    assert_eq!(kind_of(api.get_role(name).await), ErrorKind::NotFound);
    assert_eq!(kind_of(api.delete_role(name).await), ErrorKind::NotFound);
    assert_eq!(kind_of(api.attach_role_policy(name, policy).await), ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eks_cluster_and_spot_node_group_round_trip() {
    let Some(moto) = Moto::start() else { return };
    let api = api(&moto).await;
    let role = api.create_role("wooo-prod-cluster", "eks.amazonaws.com", &Tags::new()).await.unwrap();
    let node_role = api.create_role("wooo-prod-node", "ec2.amazonaws.com", &Tags::new()).await.unwrap();
    let subnets = two_subnets(&api, "prod").await;
    let cluster_tags = tags(&[(CLUSTER_TAG, "prod"), ("team", "core")]);

    let input = CreateCluster {
        name: "prod".into(),
        version: "1.33".into(),
        role_arn: role.arn.clone(),
        subnet_ids: subnets.clone(),
        security_group_ids: vec![],
        endpoint: EndpointConfig { public: true, private: true, public_access_cidrs: vec!["203.0.113.0/24".into()] },
        service_cidr: Some("172.20.0.0/16".into()),
        tags: cluster_tags.clone(),
        client_request_token: "token-1".into(),
    };
    let created = api.create_cluster(&input).await.unwrap();
    assert_eq!(created.name, "prod");
    let got = api.describe_cluster("prod").await.unwrap();
    assert_eq!(got.name, "prod");
    assert_eq!(got.arn, format!("arn:aws:eks:us-east-1:{ACCOUNT_ID}:cluster/prod"));
    assert_eq!(got.status, Some(ClusterState::Active));
    assert_eq!(got.version.as_deref(), Some("1.33"));
    assert_eq!(got.role_arn, role.arn);
    assert_eq!(got.subnet_ids, subnets);
    assert!(got.endpoint_public && got.endpoint_private);
    assert_eq!(got.public_access_cidrs, vec!["203.0.113.0/24".to_string()]);
    assert_eq!(got.service_cidr.as_deref(), Some("172.20.0.0/16"));
    assert_eq!(got.tags, cluster_tags);
    assert!(got.endpoint.as_deref().is_some_and(|e| e.starts_with("https://")), "{:?}", got.endpoint);
    assert!(got.ca_data.as_deref().is_some_and(|d| !d.is_empty()));
    let age = Timestamp::now().duration_since(got.created_at.expect("created_at"));
    assert!(age.as_secs() >= 0 && age.as_secs() < 600, "created {age:?} ago");
    assert_eq!(got.health_issues, Vec::<String>::new());
    assert_eq!(api.list_clusters().await.unwrap(), vec!["prod".to_string()]);
    assert_eq!(kind_of(api.create_cluster(&input).await), ErrorKind::AlreadyExists);

    let labels = tags(&[("pool", "batch"), ("tier", "spot")]);
    let taints = vec![
        Taint { key: "dedicated".into(), value: Some("batch".into()), effect: TaintEffect::NoSchedule },
        Taint { key: "spot".into(), value: None, effect: TaintEffect::PreferNoSchedule },
        Taint { key: "evict".into(), value: Some("yes".into()), effect: TaintEffect::NoExecute },
    ];
    let pool_tags = tags(&[(CLUSTER_TAG, "prod"), (crate::aws::NODE_POOL_TAG, "batch")]);
    let ng = CreateNodeGroup {
        cluster: "prod".into(),
        name: "batch".into(),
        node_role_arn: node_role.arn.clone(),
        subnet_ids: subnets.clone(),
        capacity: Capacity::Spot,
        instance_types: vec!["m5.large".into(), "m5a.large".into()],
        ami_type: "AL2023_x86_64_STANDARD".into(),
        disk_size_gib: 50,
        labels: labels.clone(),
        taints: taints.clone(),
        scaling: Scaling { min: 1, max: 3, desired: 2 },
        version: "1.33".into(),
        tags: pool_tags.clone(),
        client_request_token: "token-2".into(),
    };
    let created = api.create_node_group(&ng).await.unwrap();
    let got = api.describe_node_group("prod", "batch").await.unwrap();
    assert_eq!(created, got);
    assert!(got.arn.starts_with(&format!("arn:aws:eks:us-east-1:{ACCOUNT_ID}:nodegroup/prod/batch/")), "{}", got.arn);
    let want = NodeGroupInfo {
        cluster: "prod".into(),
        name: "batch".into(),
        arn: got.arn.clone(),
        status: Some(NodeGroupState::Active),
        capacity: Capacity::Spot,
        instance_types: vec!["m5.large".into(), "m5a.large".into()],
        ami_type: Some("AL2023_x86_64_STANDARD".into()),
        disk_size_gib: Some(50),
        labels,
        taints,
        scaling: Scaling { min: 1, max: 3, desired: 2 },
        subnet_ids: subnets.clone(),
        node_role_arn: node_role.arn.clone(),
        version: Some("1.33".into()),
        release_version: got.release_version.clone(),
        tags: pool_tags,
        health_issues: vec![],
    };
    assert_eq!(got, want);
    assert_eq!(api.list_node_groups("prod").await.unwrap(), vec!["batch".to_string()]);
    assert_eq!(kind_of(api.create_node_group(&ng).await), ErrorKind::AlreadyExists);

    let cluster_arn = api.describe_cluster("prod").await.unwrap().arn;
    api.tag_resource(&cluster_arn, &tags(&[("team", "platform"), ("cost", "42")])).await.unwrap();
    api.untag_resource(&cluster_arn, &["cost".to_string()]).await.unwrap();
    assert_eq!(api.describe_cluster("prod").await.unwrap().tags, tags(&[(CLUSTER_TAG, "prod"), ("team", "platform")]));
    let missing = format!("arn:aws:eks:us-east-1:{ACCOUNT_ID}:cluster/missing");
    assert_eq!(kind_of(api.tag_resource(&missing, &tags(&[("a", "b")])).await), ErrorKind::NotFound);

    let update = NodeGroupConfigUpdate {
        add_labels: tags(&[("tier", "batch"), ("zone", "any")]),
        remove_labels: vec!["pool".into()],
        min: Some(2),
        max: Some(5),
        desired: None,
        client_request_token: "token-3".into(),
        ..Default::default()
    };
    let done = api.update_node_group_config("prod", "batch", &update).await.unwrap();
    assert_eq!(done.state, UpdateState::Successful);
    assert!(!done.id.is_empty());
    let got = api.describe_node_group("prod", "batch").await.unwrap();
    assert_eq!(got.scaling, Scaling { min: 2, max: 5, desired: 2 });
    assert_eq!(got.labels, tags(&[("tier", "batch"), ("zone", "any")]));

    let err = api.delete_cluster("prod").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(err.to_string().contains("ResourceInUseException"), "{err}");
    api.delete_node_group("prod", "batch").await.unwrap();
    assert_eq!(kind_of(api.describe_node_group("prod", "batch").await), ErrorKind::NotFound);
    assert_eq!(kind_of(api.delete_node_group("prod", "batch").await), ErrorKind::NotFound);
    api.delete_cluster("prod").await.unwrap();
    let err = api.describe_cluster("prod").await.unwrap_err();
    assert!(matches!(&err, Error::NotFound { resource, .. } if resource == "describe cluster \"prod\""), "{err:?}");
    assert_eq!(kind_of(api.delete_cluster("prod").await), ErrorKind::NotFound);
    assert_eq!(api.list_clusters().await.unwrap(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ec2_facts_leave_unknown_instance_types_out() {
    let Some(moto) = Moto::start() else { return };
    let api = api(&moto).await;
    let asked: Vec<String> = ["m5.large", "m6g.large", "zz9.huge"].iter().map(|s| s.to_string()).collect();

    let infos = api.describe_instance_types(&asked).await.unwrap();
    assert_eq!(
        infos,
        vec![
            InstanceTypeInfo {
                name: "m5.large".into(),
                architectures: vec!["x86_64".into()],
                vcpus: 2,
                memory_mib: 8192,
                gpus: false,
            },
            InstanceTypeInfo {
                name: "m6g.large".into(),
                architectures: vec!["arm64".into()],
                vcpus: 2,
                memory_mib: 8192,
                gpus: false,
            },
        ]
    );
    // Only unknown ones: none, not an error.
    assert_eq!(api.describe_instance_types(&asked[2..]).await.unwrap(), vec![]);
    assert_eq!(api.describe_instance_types(&[]).await.unwrap(), vec![]);

    assert_eq!(api.offered_instance_types(&asked).await.unwrap(), asked[..2].to_vec());

    let zones = api.availability_zones().await.unwrap();
    assert!(zones.len() >= 2, "{zones:?}");
    assert!(zones.iter().all(|z| z.starts_with("us-east-1")), "{zones:?}");
    let mut sorted = zones.clone();
    sorted.sort();
    assert_eq!(zones, sorted);
    assert_eq!(zones[0], "us-east-1a");
}

// --- The update calls moto does not implement, against a stub EKS ------------------------------------------

/// One request the stub received: method, path with query, body.
type Seen = (String, String, String);

/// A one-connection-per-request HTTP server on 127.0.0.1 answering every request with `answer(path)` (status
/// and JSON body) and recording what it was sent.
async fn stub(answer: fn(&str) -> (u16, String)) -> (String, std::sync::Arc<std::sync::Mutex<Vec<Seen>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let mut raw = Vec::new();
            let mut buf = [0u8; 4096];
            let (head, body) = loop {
                let n = sock.read(&mut buf).await.unwrap();
                raw.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&raw).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string())
                        })
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    if body.len() >= length || n == 0 {
                        break (head.to_string(), body.to_string());
                    }
                }
            };
            let mut words = head.split_whitespace();
            let (method, path) = (words.next().unwrap().to_string(), words.next().unwrap().to_string());
            let (status, json) = answer(&path);
            record.lock().unwrap().push((method, path, body));
            let reply = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{json}",
                json.len()
            );
            sock.write_all(reply.as_bytes()).await.unwrap();
            let _ = sock.shutdown().await;
        }
    });
    (endpoint, seen)
}

fn eks_updates(path: &str) -> (u16, String) {
    let update = |id: &str, status: &str, errors: &str| {
        format!(r#"{{"update":{{"id":"{id}","status":"{status}","type":"VersionUpdate","errors":{errors}}}}}"#)
    };
    match path {
        "/clusters/prod/updates" => (200, update("u-version", "InProgress", "[]")),
        "/clusters/prod/update-config" => (200, update("u-endpoint", "InProgress", "[]")),
        "/clusters/prod/node-groups/batch/update-version" => (200, update("u-nodes", "InProgress", "[]")),
        "/clusters/prod/updates/u-nodes?nodegroupName=batch" => (
            200,
            update(
                "u-nodes",
                "Failed",
                r#"[{"errorCode":"NodeCreationFailure","errorMessage":"instances failed to join"}]"#,
            ),
        ),
        "/clusters/prod/updates/u-version" => (200, update("u-version", "Successful", "[]")),
        _ => (404, r#"{"__type":"ResourceNotFoundException","message":"No update found"}"#.to_string()),
    }
}

#[tokio::test]
async fn update_calls_send_their_inputs_and_read_the_update_back() {
    let (endpoint, seen) = stub(eks_updates).await;
    let api = SdkApi::new(&config(&endpoint, Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "tests")).await);

    let u = api.update_cluster_version("prod", "1.34", "tok-v").await.unwrap();
    assert_eq!(u, UpdateInfo { id: "u-version".into(), state: UpdateState::InProgress, errors: vec![] });
    let endpoint_config = EndpointConfig { public: false, private: true, public_access_cidrs: vec![] };
    let u = api.update_cluster_endpoint("prod", &endpoint_config, "tok-e").await.unwrap();
    assert_eq!(u.id, "u-endpoint");
    let u = api.update_node_group_version("prod", "batch", "1.34", "tok-n").await.unwrap();
    assert_eq!(u.id, "u-nodes");
    let u = api.describe_update("prod", Some("batch".into()), "u-nodes").await.unwrap();
    assert_eq!(
        u,
        UpdateInfo {
            id: "u-nodes".into(),
            state: UpdateState::Failed,
            errors: vec!["NodeCreationFailure: instances failed to join".into()],
        }
    );
    assert_eq!(api.describe_update("prod", None, "u-version").await.unwrap().state, UpdateState::Successful);
    let anywhere = EndpointConfig { public: true, private: false, public_access_cidrs: vec![] };
    assert_eq!(api.update_cluster_endpoint("prod", &anywhere, "tok-a").await.unwrap().id, "u-endpoint");
    let err = api.describe_update("prod", None, "u-gone").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");

    let seen = seen.lock().unwrap().clone();
    let json = |body: &str| serde_json::from_str::<serde_json::Value>(body).unwrap();
    assert_eq!((seen[0].0.as_str(), seen[0].1.as_str()), ("POST", "/clusters/prod/updates"));
    assert_eq!(json(&seen[0].2), serde_json::json!({ "version": "1.34", "clientRequestToken": "tok-v" }));
    assert_eq!(seen[1].1, "/clusters/prod/update-config");
    assert_eq!(
        json(&seen[1].2),
        serde_json::json!({
            "resourcesVpcConfig": { "endpointPublicAccess": false, "endpointPrivateAccess": true },
            "clientRequestToken": "tok-e",
        })
    );
    assert_eq!(seen[2].1, "/clusters/prod/node-groups/batch/update-version");
    assert_eq!(json(&seen[2].2), serde_json::json!({ "version": "1.34", "clientRequestToken": "tok-n" }));
    assert_eq!((seen[3].0.as_str(), seen[3].1.as_str()), ("GET", "/clusters/prod/updates/u-nodes?nodegroupName=batch"));
    // Every request was sent once: the SDK's own retries are off (a 404 is not retried anyway; see the
    // throttled one below).
    assert_eq!(seen[5].1, "/clusters/prod/update-config");
    assert_eq!(
        json(&seen[5].2),
        serde_json::json!({
            "resourcesVpcConfig": {
                "endpointPublicAccess": true,
                "endpointPrivateAccess": false,
                "publicAccessCidrs": ["0.0.0.0/0"],
            },
            "clientRequestToken": "tok-a",
        })
    );
    assert_eq!(seen.len(), 7);
}

fn throttled(_: &str) -> (u16, String) {
    (429, r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_string())
}

#[tokio::test]
async fn a_throttled_write_is_sent_once_and_a_throttled_read_three_times() {
    let (endpoint, seen) = stub(throttled).await;
    let api = SdkApi::new(&config(&endpoint, Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "tests")).await);
    let err = api.delete_cluster("prod").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Throttled, "{err}");
    // A write is the provisioner's to retry, after it has looked whether the first attempt took effect.
    assert_eq!(seen.lock().unwrap().len(), 1, "the SDK does not retry a write");
    let err = api.list_clusters().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Throttled, "{err}");
    assert_eq!(seen.lock().unwrap().len(), 1 + READ_ATTEMPTS as usize, "the SDK retries a read");
}

// --- The SDK error glue -------------------------------------------------------------------------------------

fn response(status: u16, headers: &[(&'static str, &'static str)]) -> HttpResponse {
    let mut raw = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::empty());
    for (k, v) in headers {
        raw.headers_mut().insert(*k, *v);
    }
    raw
}

fn service(code: &str, message: &str, status: u16, headers: &[(&'static str, &'static str)]) -> Error {
    let err = DescribeClusterError::generic(ErrorMetadata::builder().code(code).message(message).build());
    aws_error(SdkError::service_error(err, response(status, headers)), "describe cluster \"prod\"", "name")
}

#[test]
fn service_errors_keep_code_status_message_and_retry_after() {
    match service("ThrottlingException", "Rate exceeded", 429, &[("retry-after", "7")]) {
        Error::Throttled { retry_after, message, source, .. } => {
            assert_eq!(retry_after, Some(Duration::from_secs(7)));
            assert_eq!(message, "describe cluster \"prod\": ThrottlingException: Rate exceeded");
            let source = source.expect("the SDK error as source");
            assert!(source.downcast_ref::<SdkError<DescribeClusterError, HttpResponse>>().is_some());
        }
        other => panic!("expected Throttled, got {other:?}"),
    }
    match service("ThrottlingException", "Rate exceeded", 400, &[("retry-after", "soon")]) {
        Error::Throttled { retry_after, .. } => assert_eq!(retry_after, None),
        other => panic!("expected Throttled, got {other:?}"),
    }
    match service("ResourceNotFoundException", "No cluster found for name: prod.", 404, &[]) {
        Error::NotFound { resource, .. } => assert_eq!(resource, "describe cluster \"prod\""),
        other => panic!("expected NotFound, got {other:?}"),
    }
    let err = service("InvalidParameterException", "bad name", 400, &[]);
    assert_eq!(err.violations()[0].field, "name");
    assert!(err.violations()[0].reason.contains("bad name"), "{err}");
    assert_eq!(service("", "", 503, &[]).kind(), ErrorKind::Transient);
}

#[test]
fn a_refused_cluster_create_names_the_field_its_input_came_from() {
    let cases = [
        (Some("unsupported Kubernetes version 1.20"), "kubernetes_version"),
        (Some("Subnets specified must be in at least two different AZs"), "network.subnet_ids"),
        (
            Some(
                "Cannot create cluster 'prod' because us-east-1e, the targeted availability zone, does not currently have sufficient capacity",
            ),
            "network.subnet_ids",
        ),
        (Some("Cluster name must match [0-9A-Za-z][A-Za-z0-9-_]*"), "name"),
        (Some("The security group 'sg-1' does not exist"), "network"),
        (Some("serviceIpv4Cidr must be a private CIDR"), "network.service_cidr"),
        (None, "name"),
    ];
    for (message, field) in cases {
        assert_eq!(create_cluster_field(message), field, "{message:?}");
    }
}

#[test]
fn failures_without_an_answer_are_transient_and_credential_failures_unauthenticated() {
    type E = SdkError<DescribeClusterError, HttpResponse>;
    let what = "list clusters";
    let timeout: E = SdkError::timeout_error("operation timed out");
    assert_eq!(aws_error(timeout, what, "name").kind(), ErrorKind::Transient);
    let reset: E = SdkError::dispatch_failure(ConnectorError::io("connection reset by peer".into()));
    assert_eq!(aws_error(reset, what, "name").kind(), ErrorKind::Transient);
    let garbled: E = SdkError::response_error("unexpected EOF", response(200, &[]));
    assert_eq!(aws_error(garbled, what, "name").kind(), ErrorKind::Transient);
    let built: E = SdkError::construction_failure("missing cluster name");
    let err = aws_error(built, what, "name");
    assert_eq!(err.kind(), ErrorKind::InvalidSpec);
    assert_eq!(err.violations()[0].field, "name");
    let no_creds: E = SdkError::dispatch_failure(ConnectorError::other(
        Box::new(CredentialsError::not_loaded("no providers in chain provided credentials")),
        None,
    ));
    let err = aws_error(no_creds, what, "name");
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    assert!(err.to_string().contains("EksBuilder::from_env"), "{err}");
}

/// A credentials provider that has none.
#[derive(Debug)]
struct NoCredentials;

impl ProvideCredentials for NoCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::ready(Err(CredentialsError::not_loaded("no credentials in this test")))
    }
}

#[tokio::test]
async fn a_call_without_credentials_is_unauthenticated_before_anything_is_sent() {
    // Nothing listens there: had the request been sent, the error would be a transient connection failure.
    let endpoint = format!("http://127.0.0.1:{}", crate::aws::testing::free_port());
    let api = SdkApi::new(&config(&endpoint, NoCredentials).await);
    let err = api.list_clusters().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    let refused = SdkApi::new(&config(&endpoint, Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "tests")).await);
    assert_eq!(refused.list_clusters().await.unwrap_err().kind(), ErrorKind::Transient);
}
