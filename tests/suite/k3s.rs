//! `k3s::K3s` against real OpenSSH servers: one Debian `sshd` per simulated host on 127.0.0.1, each in its own
//! mount namespace with private `/etc/rancher`, `/var/lib/rancher` and `/usr/local/bin`, and stand-in K3s
//! binaries installed in air-gap mode (see `wooo_tests::k3s_lab`). Checked: bootstrap order and tokens, the
//! config each role gets, HA server count, host-key refusal and pinning, sudo with and without a password, an
//! idempotent re-run that runs nothing that changes anything, the kubeconfig rewrite, upgrade order with drain
//! and uncordon, uninstall order, a host failing mid-way and the re-run that resumes, the provisioner
//! conformance suite, and (with `WOOO_TEST_K3S_HOSTS`) a live run against real hosts.

use std::time::Duration;

use wooo_core::conformance;
use wooo_core::model::{CloudKind, ClusterSpec, SecretString};
use wooo_core::prelude::*;
use wooo_providers::k3s::{
    CONFIG_PATH, HostSpec, InstallMode, K3s, K3sBuilder, K3sInventory, K3sSpecFile, Role, SshAuth, SshSettings, Sudo,
    TOKEN_PATH,
};
use wooo_tests::k3s_lab::{Lab, Login, available};

fn wait() -> WaitOptions {
    WaitOptions {
        timeout: Duration::from_secs(30),
        interval: Duration::from_millis(20),
        max_interval: Duration::from_millis(200),
        jitter_percent: 0,
    }
}

fn host(lab: &Lab, name: &str, role: Role) -> HostSpec {
    let h = lab.host(name);
    HostSpec {
        name: name.to_string(),
        address: "127.0.0.1".into(),
        port: h.port,
        user: h.login.user().into(),
        auth: SshAuth::KeyFile { path: lab.user_key.clone(), passphrase: None },
        sudo: match &h.login {
            Login::SudoPassword(p) => Sudo::Password(SecretString::new(p.clone())),
            _ => Sudo::Passwordless,
        },
        role,
        pool: None,
        labels: Default::default(),
        taints: Vec::new(),
        host_key: None,
    }
}

/// The inventory of every lab host (names starting with `s` are servers), air-gap with the stand-ins of
/// `version`.
fn inventory(lab: &Lab, cluster: &str, version: &str) -> K3sInventory {
    let (binary, script) = lab.standins(version);
    K3sInventory {
        cluster: cluster.into(),
        hosts: lab
            .hosts
            .iter()
            .map(|h| host(lab, &h.name, if h.name.starts_with('s') { Role::Server } else { Role::Agent }))
            .collect(),
        k3s: wooo_providers::k3s::K3sSettings {
            tls_san: vec!["k3s.lab.test".into()],
            api_endpoint: Some("k3s-api.lab.test".into()),
            ..Default::default()
        },
        install: InstallMode::AirGap { binary: Some(binary), script: Some(script) },
        ssh: SshSettings { known_hosts: Some(lab.known_hosts.clone()), parallel_agents: 2, ..Default::default() },
    }
}

fn spec(cluster: &str, version: &str, agents: u32) -> ClusterSpec {
    let mut s = conformance::sample_cluster_spec(cluster, CloudKind::K3s, "lab", "standard");
    s.kubernetes_version = version.into();
    s.node_pools[0].min = agents.min(1);
    s.node_pools[0].max = agents.max(1);
    s.node_pools[0].desired = Some(agents);
    s
}

fn k3s(inventory: K3sInventory) -> K3s {
    K3sBuilder::new().cluster(inventory).wait(wait()).build().expect("builds")
}

fn read(lab: &Lab, host: &str, path: &str) -> String {
    std::fs::read_to_string(lab.host(host).file(path)).unwrap_or_else(|e| panic!("{host}:{path}: {e}"))
}

/// The hosts the calls matching `what` were made on, in order.
fn hosts_of(calls: &[String], what: &str) -> Vec<String> {
    calls
        .iter()
        .filter(|c| c.split(' ').nth(1) == Some(what))
        .map(|c| c.split(' ').next().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_joins_servers_one_at_a_time_then_agents_with_the_first_servers_token_and_a_re_run_changes_nothing() {
    if !available() {
        return;
    }
    let lab = Lab::start(&[
        ("s1", Login::Root),
        ("s2", Login::SudoNoPassword),
        ("s3", Login::SudoPassword("pa55 w'rd".into())),
        ("a1", Login::SudoPassword("agent-secret".into())),
        ("a2", Login::Root),
    ]);
    let provider = k3s(inventory(&lab, "ha", "v1.33.4+k3s1"));
    let spec = spec("ha", "1.33", 2);
    let plan = provider.plan(&spec).await.expect("plan");
    let order: Vec<&str> = plan.changes.iter().map(|c| c.target.as_str()).collect();
    assert_eq!(order, ["cluster", "host/s1", "host/s2", "host/s3", "host/a1", "host/a2"]);
    assert!(lab.calls().is_empty(), "plan changes nothing");

    let (progress, mut events) = Progress::channel();
    let cluster = provider.ensure(&spec, &wait(), &progress).await.expect("ensure");
    assert!(cluster.is_ready() && cluster.status.owned);
    assert_eq!(cluster.status.node_pools[0].ready_nodes, 2);

    let calls = lab.calls();
    assert_eq!(&hosts_of(&calls, "install")[..3], ["s1", "s2", "s3"], "servers first, one at a time: {calls:#?}");
    let mut agents = hosts_of(&calls, "install")[3..].to_vec();
    agents.sort();
    assert_eq!(agents, ["a1", "a2"]);
    // Each server is started (Ready) before the next one is installed.
    let pos = |host: &str, what: &str| calls.iter().position(|c| c.starts_with(&format!("{host} {what}"))).unwrap();
    assert!(pos("s1", "start") < pos("s2", "install") && pos("s2", "start") < pos("s3", "install"), "{calls:#?}");
    assert!(pos("s3", "start") < pos("a1", "install") && pos("s3", "start") < pos("a2", "install"));
    assert!(calls.iter().all(|c| c.contains("uid=0")), "everything ran as root, through sudo where needed: {calls:#?}");
    assert!(calls.iter().filter(|c| c.contains(" install ")).all(|c| c.contains("INSTALL_K3S_SKIP_DOWNLOAD=true")));

    // Config per role, and the token read from the first server.
    let token = read(&lab, "s1", TOKEN_PATH).trim().to_string();
    assert!(token.starts_with("K10"), "{token}");
    let first = read(&lab, "s1", CONFIG_PATH);
    assert!(first.contains("cluster-init: true") && !first.contains("token:") && !first.contains("server:"), "{first}");
    assert!(first.contains("\"k3s-api.lab.test\"") && first.contains("\"k3s.lab.test\""), "tls-san: {first}");
    for joiner in ["s2", "s3", "a1", "a2"] {
        let c = read(&lab, joiner, CONFIG_PATH);
        assert!(c.contains("server: \"https://127.0.0.1:6443\""), "{joiner}: {c}");
        assert!(c.contains(&format!("token: \"{token}\"")), "{joiner} joins with the first server's token");
        assert!(!c.contains("cluster-init"), "{joiner}: {c}");
        assert_eq!(c.contains("tls-san"), joiner.starts_with('s'), "{joiner}: tls-san on servers only");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(lab.host(joiner).file(CONFIG_PATH)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{joiner}: the config holds the token");
    }
    assert!(read(&lab, "a1", CONFIG_PATH).contains("\"wooo.dev/node-pool=general\""));

    // Progress for every host step, and no secret in any event.
    drop(progress);
    let mut texts = Vec::new();
    while let Ok(e) = events.try_recv() {
        texts.push(format!("{e:?}"));
    }
    for h in ["s1", "s2", "s3", "a1", "a2"] {
        assert!(
            texts.iter().any(|t| t.contains(&format!("host {h}:")) && t.contains("Step")),
            "a step event for {h}: {texts:#?}"
        );
    }
    assert!(texts.iter().all(|t| !t.contains(&token) && !t.contains("pa55") && !t.contains("agent-secret")));

    // Idempotent: the plan is empty and a re-run runs nothing that changes anything.
    let mtime = |h: &str| std::fs::metadata(lab.host(h).file(CONFIG_PATH)).unwrap().modified().unwrap();
    let before: Vec<_> = ["s1", "s2", "a1"].iter().map(|h| mtime(h)).collect();
    assert!(provider.plan(&spec).await.expect("plan again").is_noop());
    provider.apply(&spec, &Progress::none()).await.expect("re-apply");
    assert_eq!(lab.calls(), calls, "a re-run installs, starts and drains nothing");
    let after: Vec<_> = ["s1", "s2", "a1"].iter().map(|h| mtime(h)).collect();
    assert_eq!(before, after, "no config file is rewritten");

    // The kubeconfig, parsed, its server moved to the API endpoint.
    let access = provider.access(&cluster.id).await.expect("access");
    assert_eq!(access.endpoint, "https://k3s-api.lab.test:6443");
    assert_eq!(access.ca_data.as_deref(), Some("U1RBTkQtSU4tQ0E="));
    assert!(!format!("{access:?}").contains("U1RBTkQtSU4tS0VZ"), "the client key is redacted");
    let kubeconfig = access.to_kubeconfig_yaml().expect("kubeconfig");
    assert!(kubeconfig.contains("https://k3s-api.lab.test:6443"), "{kubeconfig}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_keys_that_are_unknown_changed_or_not_the_pinned_one_are_refused_before_any_command() {
    if !available() {
        return;
    }
    let lab = Lab::start(&[("s1", Login::Root), ("s2", Login::Root), ("s3", Login::Root)]);
    let spec = spec("keys", "1.33", 0);
    let mut inv = inventory(&lab, "keys", "v1.33.4+k3s1");
    inv.hosts.truncate(1);
    let empty = lab.root.join("empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    inv.ssh.known_hosts = Some(empty.clone());

    let err = k3s(inv.clone()).plan(&spec).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    assert!(err.to_string().contains("host s1") && err.to_string().contains("not in known_hosts"), "{err}");

    let mut wrong_pin = inv.clone();
    wrong_pin.hosts[0].host_key = Some(lab.host("s2").fingerprint.clone());
    let err = k3s(wrong_pin).plan(&spec).await.unwrap_err();
    assert!(err.to_string().contains("not the pinned"), "{err}");

    let mut pinned = inv.clone();
    pinned.hosts[0].host_key = Some(lab.host("s1").fingerprint.clone());
    assert!(!k3s(pinned).plan(&spec).await.expect("the pinned key is trusted").is_noop());

    // A known_hosts line for this host with another key: changed, refused even when new keys are accepted.
    let changed = lab.root.join("changed_known_hosts");
    let other_key = lab.host("s2").known_hosts_line.split_once(' ').unwrap().1.to_string();
    std::fs::write(&changed, format!("[127.0.0.1]:{} {other_key}\n", lab.host("s1").port)).unwrap();
    let mut swapped = inv.clone();
    swapped.ssh.known_hosts = Some(changed);
    swapped.ssh.accept_new_host_keys = true;
    let err = k3s(swapped).plan(&spec).await.unwrap_err();
    assert!(err.to_string().contains("CHANGED"), "{err}");

    let mut accept = inv.clone();
    accept.ssh.accept_new_host_keys = true;
    k3s(accept.clone()).plan(&spec).await.expect("a new key is accepted when asked");
    let recorded = std::fs::read_to_string(&empty).unwrap();
    assert_eq!(recorded.trim(), lab.host("s1").known_hosts_line, "and recorded");
    accept.ssh.accept_new_host_keys = false;
    k3s(accept).plan(&spec).await.expect("then it is known");
    assert!(lab.calls().is_empty(), "nothing ran anywhere");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sudo_needs_the_right_password_and_the_error_says_why_without_it() {
    if !available() {
        return;
    }
    let lab = Lab::start(&[("s1", Login::SudoPassword("right horse".into()))]);
    let spec = spec("sudo", "1.33", 0);
    let mut inv = inventory(&lab, "sudo", "v1.33.4+k3s1");
    inv.hosts[0].sudo = Sudo::Passwordless;
    let err = k3s(inv.clone()).plan(&spec).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("host s1") && text.contains("probe the installed K3s"), "{text}");
    assert!(text.contains("exited with status 1") && text.contains("password is required"), "{text}");

    inv.hosts[0].sudo = Sudo::Password(SecretString::new("wrong battery"));
    let err = k3s(inv.clone()).plan(&spec).await.unwrap_err();
    assert!(!format!("{err} {err:?}").contains("wrong battery"), "{err:?}");

    inv.hosts[0].sudo = Sudo::Password(SecretString::new("right horse"));
    k3s(inv).ensure(&spec, &wait(), &Progress::none()).await.expect("with the password");
    assert_eq!(hosts_of(&lab.calls(), "install"), ["s1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_failing_mid_way_is_named_with_command_status_and_stderr_and_a_re_run_resumes() {
    if !available() {
        return;
    }
    let lab = Lab::start(&[("s1", Login::Root), ("a1", Login::Root), ("a2", Login::SudoNoPassword)]);
    let provider = k3s(inventory(&lab, "resume", "v1.33.4+k3s1"));
    let spec = spec("resume", "1.33", 2);
    lab.host("a2").break_installs();
    let err = provider.apply(&spec, &Progress::none()).await.unwrap_err();
    let text = err.to_string();
    for part in ["host a2", "K3s installer (agent", "exited with status 23", "no space left on device"] {
        assert!(text.contains(part), "{part} missing from: {text}");
    }
    let failed: &wooo_providers::k3s::CommandFailed =
        std::error::Error::source(&err).and_then(|s| s.downcast_ref()).expect("the failed command is the source");
    assert_eq!((failed.host.as_str(), failed.exit_status), ("a2", Some(23)));
    assert!(!text.contains(read(&lab, "s1", TOKEN_PATH).trim()), "no token in the error");
    let installs = hosts_of(&lab.calls(), "install");
    assert_eq!(installs.len(), 3, "{installs:?}");

    lab.host("a2").heal();
    let plan = provider.plan(&spec).await.expect("plan");
    let todo: Vec<&str> =
        plan.changes.iter().filter(|c| c.action != ChangeAction::NoOp).map(|c| c.target.as_str()).collect();
    assert_eq!(todo, ["host/a2"], "only the failed host is left: {plan}");
    provider.ensure(&spec, &wait(), &Progress::none()).await.expect("the re-run resumes");
    let installs = hosts_of(&lab.calls(), "install");
    assert_eq!(installs[3..], ["a2"], "s1 and a1 are not installed again: {installs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrades_drain_and_upgrade_servers_one_at_a_time_then_agents_and_delete_removes_agents_first() {
    if !available() {
        return;
    }
    let lab =
        Lab::start(&[("s1", Login::Root), ("s2", Login::Root), ("s3", Login::Root), ("a1", Login::SudoNoPassword)]);
    let spec33 = spec("up", "1.33", 1);
    k3s(inventory(&lab, "up", "v1.33.4+k3s1")).ensure(&spec33, &wait(), &Progress::none()).await.expect("1.33");
    let before = lab.calls().len();

    let provider = k3s(inventory(&lab, "up", "v1.34.1+k3s1"));
    let mut spec35 = spec33.clone();
    spec35.kubernetes_version = "1.35".into();
    let err = provider.plan(&spec35).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported, "air-gap skips no minor: {err}");

    let mut spec34 = spec33.clone();
    spec34.kubernetes_version = "1.34".into();
    let plan = provider.plan(&spec34).await.expect("plan");
    assert_eq!(plan.changes[0].action, ChangeAction::UpdateInPlace);
    let cluster = provider.ensure(&spec34, &wait(), &Progress::none()).await.expect("1.34");
    assert_eq!(cluster.status.kubernetes_version.as_deref(), Some("v1.34.1+k3s1"));
    let upgrade: Vec<String> = lab.calls()[before..]
        .iter()
        .filter(|c| !c.contains(" start "))
        .map(|c| c.split(" uid=").next().unwrap().to_string())
        .collect();
    let expected: Vec<String> = ["s1", "s2", "s3", "a1"]
        .iter()
        .flat_map(|h| [format!("{h} drain {h}"), format!("{h} install server"), format!("{h} uncordon {h}")])
        .map(|s| s.replace("a1 install server", "a1 install agent"))
        .collect();
    // Drain and uncordon run on the first server, so they are recorded under its name.
    let expected: Vec<String> = expected
        .into_iter()
        .map(|s| {
            if s.contains(" drain ") || s.contains(" uncordon ") {
                format!("s1 {}", s.split_once(' ').unwrap().1)
            } else {
                s
            }
        })
        .collect();
    assert_eq!(upgrade, expected);
    assert!(lab.nodes().iter().all(|(_, v)| v == "v1.34.1+k3s1"), "{:?}", lab.nodes());

    let before = lab.calls().len();
    provider.delete(&cluster.id, &DeleteOptions::default()).await.expect("delete");
    let removed: Vec<String> = hosts_of(&lab.calls()[before..], "uninstall");
    assert_eq!(removed, ["a1", "s2", "s3", "s1"], "agents, then servers, the first server last");
    for h in ["s1", "a1"] {
        assert!(!lab.host(h).file(CONFIG_PATH).exists() && !lab.host(h).file("/usr/local/bin/k3s").exists());
    }
    assert_eq!(provider.get(&cluster.id).await.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_etcd_with_two_servers_is_refused_before_any_connection() {
    // No lab: the hosts do not exist, so a connection attempt would fail differently.
    let mut inv: K3sInventory = wooo_core::model::from_yaml(
        "cluster: even\nhosts:\n  - {name: s1, address: 192.0.2.1, user: root, auth: agent, role: server}\n  - {name: s2, address: 192.0.2.2, user: root, auth: agent, role: server}\n",
    )
    .unwrap();
    let provider = K3sBuilder::new().cluster(inv.clone()).build().unwrap();
    let err = provider.apply(&spec("even", "1.33", 0), &Progress::none()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSpec);
    assert_eq!(err.violations()[0].field, "inventory.hosts");
    inv.hosts[1].address = "192.0.2.1".into();
    let err = K3sBuilder::new().cluster(inv).build().unwrap().plan(&spec("even", "1.33", 0)).await.unwrap_err();
    assert!(err.violations().iter().any(|v| v.field == "inventory.hosts[1].address"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_provisioner_lifecycle_on_the_lab_hosts() {
    if !available() {
        return;
    }
    let lab = Lab::start(&[
        ("s1", Login::Root),
        ("a1", Login::Root),
        ("a2", Login::SudoNoPassword),
        ("a3", Login::Root),
        ("a4", Login::SudoPassword("conformance".into())),
    ]);
    let provider = k3s(inventory(&lab, "conformance-k3s", "v1.33.4+k3s1"));
    let spec = conformance::sample_cluster_spec("conformance-k3s", CloudKind::K3s, "lab", "standard");
    conformance::provisioner_lifecycle(&provider, &spec, &wait()).await;
    assert!(lab.nodes().is_empty(), "every node is gone: {:?}", lab.nodes());
}

/// A live run against real hosts: `WOOO_TEST_K3S_HOSTS` names a spec file shaped like
/// `examples/specs/k3s-cluster.yaml`. Plans, ensures, reads the kubeconfig, and deletes the cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_hosts_when_asked() {
    let Ok(path) = std::env::var("WOOO_TEST_K3S_HOSTS") else {
        eprintln!("SKIPPING: live K3s test: WOOO_TEST_K3S_HOSTS is not set (a spec file of real hosts)");
        return;
    };
    let file: K3sSpecFile =
        wooo_core::model::from_yaml(&std::fs::read_to_string(&path).expect("spec file")).expect("spec");
    let provider = K3sBuilder::new().cluster(file.inventory).build().expect("builds");
    eprintln!("{}", provider.plan(&file.spec).await.expect("plan"));
    let cluster = provider.ensure(&file.spec, &WaitOptions::default(), &Progress::none()).await.expect("ensure");
    assert!(provider.plan(&file.spec).await.expect("plan").is_noop());
    let access = provider.access(&cluster.id).await.expect("access");
    assert!(access.endpoint.starts_with("https://"));
    provider.delete(&cluster.id, &DeleteOptions::default()).await.expect("delete");
}

#[test]
fn the_example_spec_loads_and_validates_without_a_connection() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/specs/k3s-cluster.yaml");
    let file: K3sSpecFile = wooo_core::model::from_yaml(&std::fs::read_to_string(path).unwrap()).expect("loads");
    assert!(!format!("{file:?}").contains("change-me"), "the sudo password is redacted");
    let provider = K3sBuilder::new().cluster(file.inventory.clone()).build().unwrap();
    provider.check(&file.spec).expect("valid");
    let mut even = file.inventory;
    even.hosts[1].role = Role::Server;
    even.hosts[1].sudo = Sudo::Passwordless;
    let err = K3sBuilder::new().cluster(even).build().unwrap().check(&file.spec).unwrap_err();
    assert_eq!(err.violations()[0].field, "inventory.hosts", "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_k3s_example_applies_writes_the_kubeconfig_and_deletes() {
    if !available() {
        return;
    }
    let lab = Lab::start(&[("s1", Login::Root), ("a1", Login::SudoNoPassword)]);
    let file = K3sSpecFile { spec: spec("example", "1.33", 1), inventory: inventory(&lab, "example", "v1.33.4+k3s1") };
    let path = lab.root.join("example.yaml");
    std::fs::write(&path, serde_json::to_string(&file).unwrap()).unwrap();
    let mut out = Vec::new();
    let written = wooo_examples::k3s::run(&path, wooo_examples::Mode::Apply, &wait(), &mut out).await.expect("apply");
    let text = String::from_utf8(out).unwrap();
    let kubeconfig = written.expect("a kubeconfig path");
    assert!(text.contains("+ host/s1") && text.contains(&kubeconfig.display().to_string()), "{text}");
    assert!(std::fs::read_to_string(&kubeconfig).unwrap().contains("https://k3s-api.lab.test:6443"));
    let mut out = Vec::new();
    wooo_examples::k3s::run(&path, wooo_examples::Mode::Delete, &wait(), &mut out).await.expect("delete");
    assert!(lab.nodes().is_empty());
}
