//! Unit tests of the pure decisions: validation, node configuration, probe parsing, plan and order, version
//! steps, the kubeconfig rewrite, the host key verdict, sudo wrapping and redaction.

use wooo_core::ErrorKind;
use wooo_core::model::{ChangeAction, ClusterId, ClusterSpec, SecretString, Taint, TaintEffect, from_yaml};

use super::error::{CommandFailed, redact};
use super::install::{self, Release};
use super::shape::{self, HostAction, K3sVersion, NodeConfig, Observed};
use super::spec::{Datastore, InstallMode, K3sInventory, Role, Sudo};
use super::ssh::{self, KeyVerdict};

fn spec(version: &str, desired: u32) -> ClusterSpec {
    let mut s = wooo_core::conformance::sample_cluster_spec("edge", wooo_core::model::CloudKind::K3s, "lab", "small");
    s.kubernetes_version = version.into();
    s.node_pools[0].desired = Some(desired);
    s.node_pools[0].max = 4;
    s.node_pools[0].labels.insert("tier".into(), "web".into());
    s.node_pools[0].taints.push(Taint {
        key: "dedicated".into(),
        value: Some("web".into()),
        effect: TaintEffect::NoSchedule,
    });
    s.network.pod_cidr = Some("10.42.0.0/16".into());
    s.network.service_cidr = Some("10.43.0.0/16".into());
    s
}

/// Three servers and four agents of pool `general`.
fn inventory() -> K3sInventory {
    let mut hosts = String::new();
    for (i, role) in ["server", "server", "server", "agent", "agent", "agent", "agent"].iter().enumerate() {
        let name = if *role == "server" { format!("s{i}") } else { format!("a{i}") };
        hosts.push_str(&format!("  - {{name: {name}, address: 10.0.0.{i}, user: ops, auth: agent, role: {role}}}\n"));
    }
    from_yaml(&format!(
        "cluster: edge\nhosts:\n{hosts}k3s:\n  tls_san: [k3s.example.com]\n  disable: [traefik]\n  api_endpoint: api.example.com\n"
    ))
    .unwrap()
}

fn fields(e: &wooo_core::Error) -> Vec<String> {
    e.violations().into_iter().map(|v| v.field).collect()
}

#[test]
fn a_valid_spec_and_inventory_give_members_in_inventory_order() {
    let layout = shape::validate(&spec("1.33", 2), &inventory()).unwrap();
    assert_eq!(layout.first().name(), "s0");
    let members: Vec<&str> = layout.nodes.iter().filter(|n| n.member).map(|n| n.name()).collect();
    assert_eq!(members, ["s0", "s1", "s2", "a3", "a4"], "servers, then the first `desired` agents of the pool");
    assert_eq!(layout.nodes[3].pool.as_deref(), Some("general"), "the only pool is the default");
    assert_eq!(layout.target, shape::Target { minor: 33, patch: None, exact: None });
    assert_eq!(layout.join_url(), "https://10.0.0.0:6443");
}

#[test]
fn embedded_etcd_refuses_an_even_number_of_servers_an_external_datastore_does_not() {
    let mut inv = inventory();
    inv.hosts.remove(2);
    let err = shape::validate(&spec("1.33", 2), &inv).unwrap_err();
    assert_eq!(fields(&err), ["inventory.hosts"]);
    assert!(err.to_string().contains("odd number of servers"), "{err}");
    inv.k3s.datastore = Datastore::External { endpoint: SecretString::new("postgres://k3s:hunter2@db:5432/k3s") };
    shape::validate(&spec("1.33", 2), &inv).unwrap();
}

#[test]
fn every_bad_host_field_is_named_before_any_connection() {
    let mut inv = inventory();
    inv.hosts[1].name = "s0".into();
    inv.hosts[2].address = "10.0.0.0".into();
    inv.hosts[3].address = "bad host!".into();
    inv.hosts[4].host_key = Some("MD5:aa".into());
    inv.hosts[5].pool = Some("gpu".into());
    inv.hosts[0].pool = Some("general".into());
    inv.hosts[6].user = "-oProxyCommand=x".into();
    inv.hosts[6].port = 0;
    let err = shape::validate(&spec("1.33", 4), &inv).unwrap_err();
    let got = fields(&err);
    for want in [
        "inventory.hosts[1].name",
        "inventory.hosts[2].address",
        "inventory.hosts[3].address",
        "inventory.hosts[4].host_key",
        "inventory.hosts[5].pool",
        "inventory.hosts[0].pool",
        "inventory.hosts[6].user",
        "inventory.hosts[6].port",
        "node_pools[0].desired",
    ] {
        assert!(got.iter().any(|f| f == want), "{want} missing from {got:?}");
    }
}

#[test]
fn spec_fields_k3s_cannot_honour_are_refused() {
    let mut s = spec("1.33", 2);
    s.network.vpc_cidr = Some("10.0.0.0/16".into());
    s.node_pools[0].capacity = wooo_core::model::Capacity::Spot;
    s.node_pools[0].zones = vec!["a".into()];
    let mut inv = inventory();
    inv.cluster = "other".into();
    let err = shape::validate(&s, &inv).unwrap_err();
    let got = fields(&err);
    for want in ["network.vpc_cidr", "node_pools[0].capacity", "node_pools[0].zones", "inventory.cluster"] {
        assert!(got.iter().any(|f| f == want), "{want} missing from {got:?}");
    }
}

#[test]
fn versions_and_channels_must_be_of_the_specs_kubernetes_version() {
    let mut inv = inventory();
    inv.k3s.version = Some("v1.32.5+k3s1".into());
    assert_eq!(fields(&shape::validate(&spec("1.33", 2), &inv).unwrap_err()), ["inventory.k3s.version"]);
    inv.k3s.version = Some("v1.33.2+k3s1".into());
    let layout = shape::validate(&spec("1.33", 2), &inv).unwrap();
    assert_eq!(layout.target.exact.as_deref(), Some("v1.33.2+k3s1"));
    assert_eq!(layout.target.install_for(33), ("INSTALL_K3S_VERSION", "v1.33.2+k3s1".into()));
    assert_eq!(layout.target.install_for(32), ("INSTALL_K3S_CHANNEL", "v1.32".into()), "an intermediate minor");
    inv.k3s.version = None;
    inv.k3s.channel = Some("stable".into());
    assert_eq!(fields(&shape::validate(&spec("1.33", 2), &inv).unwrap_err()), ["inventory.k3s.channel"]);
    inv.k3s.channel = Some("v1.33".into());
    shape::validate(&spec("1.33", 2), &inv).unwrap();
}

#[test]
fn a_bad_datastore_url_is_named_without_quoting_it() {
    let mut inv = inventory();
    inv.k3s.datastore = Datastore::External { endpoint: SecretString::new("hunter2-not-a-url") };
    let err = shape::validate(&spec("1.33", 2), &inv).unwrap_err();
    assert_eq!(fields(&err), ["inventory.k3s.datastore.external.endpoint"]);
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert!(!format!("{inv:?}").contains("hunter2"), "the inventory's Debug redacts the URL");
}

fn config(layout: &shape::Layout, name: &str) -> NodeConfig {
    shape::node_config(layout, layout.node(name).unwrap())
}

fn strings(c: &NodeConfig, key: &str) -> Vec<String> {
    c.get(key)
        .and_then(|v| v.as_array())
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn the_first_server_bootstraps_the_others_join_it_and_agents_carry_their_pool() {
    let layout = shape::validate(&spec("1.33", 2), &inventory()).unwrap();
    let first = config(&layout, "s0");
    assert_eq!(first.get("cluster-init"), Some(&serde_json::Value::Bool(true)));
    assert!(!first.contains_key("server"));
    assert_eq!(strings(&first, "tls-san"), ["api.example.com", "10.0.0.0", "10.0.0.1", "10.0.0.2", "k3s.example.com"]);
    assert_eq!(strings(&first, "disable"), ["traefik"]);
    assert_eq!(first["cluster-cidr"], "10.42.0.0/16");
    assert_eq!(first["service-cidr"], "10.43.0.0/16");
    assert_eq!(strings(&first, "node-label"), ["wooo.dev/cluster=edge"]);

    let second = config(&layout, "s1");
    assert!(!second.contains_key("cluster-init"), "only the first server initialises the cluster");
    assert_eq!(second["server"], "https://10.0.0.0:6443");
    assert!(second.contains_key("tls-san"));

    let agent = config(&layout, "a3");
    assert_eq!(agent["server"], "https://10.0.0.0:6443");
    assert!(!agent.contains_key("tls-san") && !agent.contains_key("disable"), "server-only keys stay off agents");
    assert_eq!(strings(&agent, "node-label"), ["tier=web", "wooo.dev/cluster=edge", "wooo.dev/node-pool=general"]);
    assert_eq!(strings(&agent, "node-taint"), ["dedicated=web:NoSchedule"]);

    let token = SecretString::new("K10abc::server:secret");
    assert!(!shape::with_token(first, Some(&token)).contains_key("token"), "the first server gets no token");
    assert_eq!(shape::with_token(agent, Some(&token))["token"], "K10abc::server:secret");
}

#[test]
fn config_files_round_trip_and_no_value_breaks_the_document() {
    let layout = shape::validate(&spec("1.33", 2), &inventory()).unwrap();
    let mut c = config(&layout, "a3");
    c.insert("node-label".into(), serde_json::json!(["x=\"quoted\": value # not a comment", "y=z"]));
    let text = shape::render_config(&c);
    assert!(text.starts_with("# Written by wooo"));
    assert_eq!(shape::parse_config(&text).unwrap(), c);
    assert!(shape::config_diff(&c, &shape::parse_config(&text).unwrap()).is_empty());
}

#[test]
fn the_diff_names_changed_keys_ignores_the_token_and_reads_scalars_like_one_item_lists() {
    let layout = shape::validate(&spec("1.33", 2), &inventory()).unwrap();
    let desired = config(&layout, "s0");
    let mut observed = shape::with_token(desired.clone(), None);
    observed.insert("token".into(), "K10old".into());
    observed.insert("disable".into(), "traefik".into());
    observed.insert("cluster-init".into(), "true".into());
    assert!(shape::config_diff(&desired, &observed).is_empty(), "{:?}", shape::config_diff(&desired, &observed));
    observed.insert("service-cidr".into(), "10.96.0.0/12".into());
    observed.insert("write-kubeconfig-mode".into(), "0644".into());
    assert_eq!(shape::config_diff(&desired, &observed), ["service-cidr", "write-kubeconfig-mode"]);
}

fn probe_of(layout: &shape::Layout, name: &str, role: Role, version: &str) -> Observed {
    let node = layout.node(name).unwrap();
    let c = shape::with_token(shape::node_config(layout, node), Some(&SecretString::new("K10tok")));
    let mut out = format!("version=k3s version {version} (6c8a8f17)\ninstalled={}\n", role.as_str());
    out.push_str(&format!("{}\n{}", shape::PROBE_CONFIG, shape::render_config(&c)));
    if node.index == layout.first_server {
        out.push_str(&format!("{}\n{}\n", shape::PROBE_APPLIED, serde_json::to_string(&layout.spec).unwrap()));
    }
    shape::parse_probe(&out)
}

fn observe_all(layout: &shape::Layout, version: &str) -> Vec<Observed> {
    layout
        .nodes
        .iter()
        .map(|n| if n.member { probe_of(layout, n.name(), n.role(), version) } else { Observed::default() })
        .collect()
}

#[test]
fn the_probe_reads_version_role_config_and_applied_spec() {
    let layout = shape::validate(&spec("1.33", 2), &inventory()).unwrap();
    let o = probe_of(&layout, "s0", Role::Server, "v1.33.2+k3s1");
    assert_eq!(o.version, K3sVersion::parse("v1.33.2+k3s1"));
    assert_eq!(o.version.as_ref().map(|v| (v.minor, v.patch)), Some((33, 2)));
    assert_eq!(o.installed, Some(Role::Server));
    assert_eq!(o.cluster().as_deref(), Some("edge"));
    assert_eq!(o.applied.as_ref(), Some(&layout.spec));
    let bare = shape::parse_probe("version=k3s version v1.33.2+k3s1 (x)\n");
    assert_eq!((bare.installed, bare.config.is_none()), (None, true), "an uploaded binary is not an install");
    let broken = shape::parse_probe(&format!("installed=agent\n{}\n: : token: K10secret [\n", shape::PROBE_CONFIG));
    assert!(broken.config_error.is_some());
    assert!(!broken.config_error.unwrap().contains("K10secret"), "parse errors never quote the file");
}

#[test]
fn a_new_cluster_bootstraps_joins_servers_one_at_a_time_then_agents_in_bounded_batches() {
    let layout = shape::validate(&spec("1.33", 4), &inventory()).unwrap();
    let steps = shape::steps(&layout, &vec![Observed::default(); 7]).unwrap();
    let order: Vec<(&str, &HostAction)> = steps.iter().map(|s| (s.host.as_str(), &s.action)).collect();
    assert_eq!(
        order,
        [
            ("s0", &HostAction::Bootstrap),
            ("s1", &HostAction::Join),
            ("s2", &HostAction::Join),
            ("a3", &HostAction::Join),
            ("a4", &HostAction::Join),
            ("a5", &HostAction::Join),
            ("a6", &HostAction::Join),
        ]
    );
    assert_eq!(shape::join_batches(&steps, 3), [vec!["a3", "a4", "a5"], vec!["a6"]]);
    let plan = shape::plan(&layout, &steps);
    assert_eq!(plan.changes[0].target, "cluster");
    assert_eq!(plan.changes[0].action, ChangeAction::Create);
    assert_eq!(plan.changes.len(), 8);
    assert!(plan.changes[1..].iter().all(|c| c.action == ChangeAction::Create));
}

#[test]
fn a_re_run_on_matching_hosts_plans_nothing() {
    let layout = shape::validate(&spec("1.33", 2), &inventory()).unwrap();
    let steps = shape::steps(&layout, &observe_all(&layout, "v1.33.2+k3s1")).unwrap();
    assert!(steps.iter().all(|s| s.action == HostAction::Keep), "{steps:?}");
    assert!(shape::plan(&layout, &steps).is_noop());
}

#[test]
fn a_changed_setting_reconfigures_and_a_smaller_pool_removes_agents_after_the_servers() {
    let layout = shape::validate(&spec("1.33", 2), &inventory()).unwrap();
    let observed = observe_all(&layout, "v1.33.2+k3s1");
    let mut inv = inventory();
    inv.k3s.disable.push(super::spec::Component::Servicelb);
    let changed = shape::validate(&spec("1.33", 1), &inv).unwrap();
    let steps = shape::steps(&changed, &observed).unwrap();
    let active: Vec<(&str, &HostAction)> =
        steps.iter().filter(|s| s.action != HostAction::Keep).map(|s| (s.host.as_str(), &s.action)).collect();
    let disable = HostAction::Reconfigure(vec!["disable".into()]);
    assert_eq!(active, [("s0", &disable), ("s1", &disable), ("s2", &disable), ("a4", &HostAction::Remove)]);
    let plan = shape::plan(&changed, &steps);
    let a4 = plan.changes.iter().find(|c| c.target == "host/a4").unwrap();
    assert_eq!(a4.action, ChangeAction::Delete);
    let s1 = plan.changes.iter().find(|c| c.target == "host/s1").unwrap();
    assert_eq!((s1.action, s1.fields.as_slice()), (ChangeAction::UpdateInPlace, &["config.disable".to_string()][..]));
}

#[test]
fn upgrades_go_one_minor_at_a_time_servers_first_then_agents() {
    let old = shape::validate(&spec("1.31", 2), &inventory()).unwrap();
    let observed = observe_all(&old, "v1.31.9+k3s1");
    let layout = shape::validate(&spec("1.33", 2), &inventory()).unwrap();
    let steps = shape::steps(&layout, &observed).unwrap();
    let upgraded: Vec<&str> = steps
        .iter()
        .filter(|s| matches!(&s.action, HostAction::Upgrade { minors, .. } if minors == &[32, 33]))
        .map(|s| s.host.as_str())
        .collect();
    assert_eq!(upgraded, ["s0", "s1", "s2", "a3", "a4"]);
    let plan = shape::plan(&layout, &steps);
    assert_eq!(plan.changes[0].action, ChangeAction::UpdateInPlace);
    assert!(plan.changes[1].reason.contains("1.32, 1.33"), "{}", plan.changes[1].reason);

    let mut airgap = inventory();
    airgap.install = InstallMode::AirGap { binary: None, script: None };
    let layout = shape::validate(&spec("1.33", 2), &airgap).unwrap();
    let err = shape::steps(&layout, &observed).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");

    let newer = observe_all(&layout, "v1.34.0+k3s1");
    let err = shape::steps(&layout, &newer).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.to_string().contains("does not downgrade"), "{err}");
}

#[test]
fn hosts_running_someone_elses_k3s_are_conflicts() {
    let layout = shape::validate(&spec("1.33", 2), &inventory()).unwrap();
    let mut observed = observe_all(&layout, "v1.33.2+k3s1");
    observed[1].config.as_mut().unwrap().insert("node-label".into(), serde_json::json!(["wooo.dev/cluster=prod"]));
    let err = shape::steps(&layout, &observed).unwrap_err();
    assert!(err.to_string().contains("host s1 is a node of cluster prod"), "{err}");
    observed[1].config = Some(NodeConfig::new());
    let err = shape::steps(&layout, &observed).unwrap_err();
    assert!(err.to_string().contains("did not install"), "{err}");
    observed[1] = probe_of(&layout, "s1", Role::Agent, "v1.33.2+k3s1");
    assert!(shape::steps(&layout, &observed).unwrap_err().to_string().contains("runs K3s as agent"));
}

const K3S_YAML: &str = r#"apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: Q0EtREFUQQ==
    server: https://127.0.0.1:6443
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {}
users:
- name: default
  user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZLVNFQ1JFVA==
"#;

#[test]
fn the_kubeconfig_is_parsed_and_its_server_moved_to_the_api_endpoint() {
    let id = ClusterId::new("edge");
    let access = shape::access_from_kubeconfig(&id, K3S_YAML, "api.example.com").unwrap();
    assert_eq!(access.endpoint, "https://api.example.com:6443");
    assert_eq!(access.ca_data.as_deref(), Some("Q0EtREFUQQ=="));
    match &access.auth {
        wooo_core::model::ClusterAuth::ClientCertificate { cert_data, key_data } => {
            assert_eq!(cert_data, "Q0VSVA==");
            assert_eq!(key_data.expose(), "S0VZLVNFQ1JFVA==");
        }
        other => panic!("client certificate expected, got {other:?}"),
    }
    assert!(!format!("{access:?}").contains("S0VZLVNFQ1JFVA=="));
    let v6 = shape::access_from_kubeconfig(&id, &K3S_YAML.replace("127.0.0.1:6443", "[::1]:7443"), "fd00::1").unwrap();
    assert_eq!(v6.endpoint, "https://[fd00::1]:7443");
    let err = shape::access_from_kubeconfig(&id, "users: [", "x").unwrap_err();
    assert!(err.to_string().contains("is not a kubeconfig"), "{err}");
}

fn key(b64: &str) -> russh::keys::PublicKey {
    russh::keys::PublicKey::from_openssh(&format!("ssh-ed25519 {b64}")).unwrap()
}
const KEY_A: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";
const KEY_B: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIA6rWI3G2sz07DnfFlrouTcysQlj2P+jpNSOEWD9OJ3X";

#[test]
fn host_keys_are_trusted_only_when_pinned_or_known_and_a_changed_key_is_always_refused() {
    let (a, b) = (key(KEY_A), key(KEY_B));
    let pin_a = a.fingerprint(russh::keys::HashAlg::Sha256).to_string();
    shape::fingerprint(&pin_a).unwrap();
    assert_eq!(ssh::verdict(&a, Some(&pin_a), &[], false), KeyVerdict::Trusted);
    assert!(
        matches!(ssh::verdict(&b, Some(&pin_a), &[(1, b.clone())], true), KeyVerdict::Refused(w) if w.contains("pinned"))
    );
    assert_eq!(ssh::verdict(&a, None, &[(3, a.clone())], false), KeyVerdict::Trusted);
    assert!(
        matches!(ssh::verdict(&b, None, &[(3, a.clone())], true), KeyVerdict::Refused(w) if w.contains("CHANGED") && w.contains("line 3"))
    );
    assert!(matches!(ssh::verdict(&a, None, &[], false), KeyVerdict::Refused(w) if w.contains("not in known_hosts")));
    assert_eq!(ssh::verdict(&a, None, &[], true), KeyVerdict::Learn);
}

#[test]
fn sudo_passwords_go_on_stdin_never_on_the_command_line() {
    let (line, stdin) = ssh::wrap("cat '/etc/x'", Some(&Sudo::Password(SecretString::new("pa$$ word"))));
    assert_eq!(line, r"sudo -S -k -p '' -- sh -c 'cat '\''/etc/x'\'''");
    assert_eq!(stdin.as_deref(), Some("pa$$ word\n"));
    assert_eq!(ssh::wrap("id", Some(&Sudo::Passwordless)), ("sudo -n -- sh -c 'id'".to_string(), None));
    assert_eq!(ssh::wrap("id", None), ("sh -c 'id'".to_string(), None));
}

#[test]
fn failed_commands_name_host_command_status_and_output_with_secrets_scrubbed() {
    let secrets = [SecretString::new("K10tok::server:abc"), SecretString::new("hunter2")];
    let failed = CommandFailed {
        host: "s1".into(),
        command: "K3s installer (server, v1.33)".into(),
        exit_status: Some(3),
        stdout: redact("joined with K10tok::server:abc", &secrets),
        stderr: redact("[ERROR] hunter2 rejected", &secrets),
    };
    let text = failed.clone().into_error().to_string();
    for part in [
        "host s1",
        "K3s installer (server, v1.33)",
        "status 3",
        "[ERROR] <redacted> rejected",
        "joined with <redacted>",
    ] {
        assert!(text.contains(part), "{part} missing from {text}");
    }
    assert!(!text.contains("hunter2") && !text.contains("K10tok"));
    let long = "x".repeat(10_000);
    assert!(redact(&long, &[]).chars().count() < 4100, "output is cut to its end");
}

#[test]
fn installer_commands_hold_no_secret_and_pick_the_release() {
    let mut inv = inventory();
    inv.k3s.datastore = Datastore::External { endpoint: SecretString::new("postgres://u:hunter2@db/k3s") };
    let layout = shape::validate(&spec("1.33", 2), &inv).unwrap();
    let script = install::installer(&layout, Role::Server, &Release::Minor(33));
    assert!(script.script.contains("INSTALL_K3S_EXEC=server") && script.script.contains("INSTALL_K3S_CHANNEL='v1.33'"));
    assert!(script.script.contains("'https://get.k3s.io'"));
    assert!(!script.script.contains("hunter2"));
    let keep = install::installer(&layout, Role::Agent, &Release::Exact("v1.33.1+k3s1".into()));
    assert!(keep.script.contains("INSTALL_K3S_VERSION='v1.33.1+k3s1'"), "{}", keep.script);
    inv.install = InstallMode::AirGap { binary: None, script: None };
    let layout = shape::validate(&spec("1.33", 2), &inv).unwrap();
    let air = install::installer(&layout, Role::Agent, &Release::Minor(33));
    assert_eq!(
        air.script,
        "env INSTALL_K3S_SKIP_DOWNLOAD=true INSTALL_K3S_EXEC=agent sh /usr/local/bin/k3s-install.sh"
    );
    assert!(
        install::probe().secret_output
            && install::read_token().secret_output
            && install::read_kubeconfig().secret_output
    );
    let rows = install::parse_nodes("s0\tTrue\tv1.33.2+k3s1\na3\tFalse\tv1.33.2+k3s1\n\n");
    assert_eq!(rows.len(), 2);
    assert!(rows[0].ready && !rows[1].ready);
}
