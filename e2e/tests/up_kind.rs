//! `up`, `down` and `status` of the cluster part against fake `kind` and `docker`
//! executables (testkit's `fake-tool`, strict about argv and flags, answering with outputs
//! recorded from the real tools) and a Kubernetes API stand-in per cluster. Concurrency and
//! interruption are proven by recorded events (a barrier, a gate), never by timing.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use e2e::certs::KeyType;
use e2e::cluster::Kind;
use e2e::config::ClusterName;
use e2e::executor::ToolSource;
use e2e::lifecycle::{self, ApiStatus, DownReport, Env, UpError, UpOptions, UpOutcome};
use e2e::pins::Pins;
use e2e::runner::{Cancel, Runner};
use e2e::state::{Layout, Origin, Outcome, State};
use e2e::tools::{IstioCharts, Toolbox};
use e2e::{Error, ErrorKind};
use serde_json::json;
use testkit::fake_tool::{Effect, FakeTools, Output, World, rule};
use testkit::kube_api::KubeApi;

const CLUSTERS: [&str; 2] = ["cluster1", "cluster2"];

fn name(c: &str) -> ClusterName {
    c.parse().unwrap()
}

struct Rig {
    _dir: tempfile::TempDir,
    fakes: FakeTools,
    apis: BTreeMap<String, KubeApi>,
    pins: Pins,
    layout: Layout,
    cancel: Cancel,
    proc_value: Arc<std::sync::Mutex<(String, String)>>,
}

impl Rig {
    /// Fakes that behave like kind v0.33.0 and docker 29 on a machine where nothing exists.
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut fakes = FakeTools::install(dir.path(), "v0.33.0");
        let mut apis = BTreeMap::new();
        for (i, c) in CLUSTERS.iter().enumerate() {
            let api = KubeApi::start();
            api.seed(json!({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": format!("{c}-control-plane")},
                "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}
            }));
            let ip = format!("172.18.0.{}", i + 2);
            fakes.push(
                rule(
                    "kind",
                    &format!("create cluster --name {c} --config * --wait 5m0s --kubeconfig *"),
                )
                .stderr(Output::fixture_with(
                    "kind/create-cluster.success.stderr",
                    &[("cluster1", c)],
                ))
                .effect(Effect::AddCluster((*c).into()))
                .effect(Effect::WriteAtFlag {
                    flag: "--kubeconfig".into(),
                    content: api.kubeconfig(&name(c)),
                }),
            );
            fakes.push(
                rule("kind", &format!("delete cluster --name {c} --kubeconfig *"))
                    .stderr(Output::fixture_with(
                        "kind/delete-cluster.existing.stderr",
                        &[("cluster1", c)],
                    ))
                    .effect(Effect::RemoveCluster((*c).into())),
            );
            fakes.push(
                rule("kind", &format!("get kubeconfig --name {c}"))
                    .stdout(Output::Text(api.kubeconfig(&name(c)))),
            );
            fakes.push(
                rule(
                    "docker",
                    &format!("inspect --type container {c}-control-plane"),
                )
                .stdout(Output::fixture_with(
                    "docker/engine-29/inspect.cluster1-control-plane.json",
                    &[("172.18.0.3", &ip), ("cluster1", c)],
                )),
            );
            apis.insert((*c).to_owned(), api);
        }
        fakes.push(rule("kind", "get clusters").effect(Effect::ListClusters));
        fakes.push(
            rule("docker", "info --format {{.ServerVersion}}").stdout(Output::fixture(
                "docker/info-format-serverversion.up.stdout",
            )),
        );
        fakes.push(
            rule("docker", "network inspect kind").stdout(Output::fixture(
                "docker/engine-29/network-inspect.kind.json",
            )),
        );
        let pins = Pins::parse(
            include_str!("../../fixtures/pins/two-rows.toml"),
            Path::new("versions.toml"),
        )
        .unwrap();
        let layout = Layout::new(dir.path().join("state"));
        Rig {
            _dir: dir,
            fakes,
            apis,
            pins,
            layout,
            cancel: Cancel::new(),
            proc_value: Arc::new(std::sync::Mutex::new(("8192\n".into(), "1048576\n".into()))),
        }
    }

    fn toolbox(&self) -> Toolbox {
        let bin = self.fakes.bin();
        Toolbox {
            kind: bin.join("kind"),
            helm: bin.join("helm"),
            istioctl: bin.join("istioctl"),
            charts: IstioCharts {
                base: bin.join("base"),
                istiod: bin.join("istiod"),
                gateway: bin.join("gateway"),
            },
            metallb_manifest: bin.join("metallb-native.yaml"),
        }
    }

    /// A fresh environment (a new process, as each `cargo xtask` call is), sharing the
    /// rig's cancel switch.
    fn env(&self) -> Env {
        self.env_with(self.cancel.clone())
    }

    fn env_with(&self, cancel: Cancel) -> Env {
        let proc_value = self.proc_value.clone();
        Env {
            layout: self.layout.clone(),
            runner: Runner::with_docker(
                self.layout.env_paths(),
                cancel,
                Some(self.fakes.path_of("docker")),
            )
            .with_grace(Duration::from_secs(60)),
            tools: ToolSource::Given(self.toolbox()),
            key_type: KeyType::EcdsaP256,
            read_proc: Arc::new(move |path: &Path| {
                let (instances, watches) = proc_value.lock().unwrap().clone();
                Ok(if path.ends_with("max_user_instances") {
                    instances
                } else {
                    watches
                })
            }),
            poll_interval: Duration::from_millis(10),
        }
    }

    async fn up(&self, options: &UpOptions) -> Result<UpOutcome, Error> {
        let env = self.env();
        lifecycle::up(Kind::new(env.runner.clone()), &env, &self.pins, options).await
    }

    /// `down` as a new process: its own cancel switch.
    async fn down(&self) -> Result<DownReport, Error> {
        let env = self.env_with(Cancel::new());
        lifecycle::down(Kind::new(env.runner.clone()), &env, &self.pins).await
    }

    fn state(&self) -> State {
        State::load(&self.layout, &e2e::config::Topology::default())
            .unwrap()
            .expect("state.json exists")
    }

    fn calls_of(&self, tool: &str, sub: &str) -> Vec<Vec<String>> {
        self.fakes
            .calls()
            .into_iter()
            .filter(|argv| argv[0] == tool && argv[1..].join(" ").starts_with(sub))
            .collect()
    }
}

fn options() -> UpOptions {
    UpOptions {
        preload: true,
        ..UpOptions::default()
    }
}

fn up_error(err: &Error) -> &UpError {
    match err {
        Error::Up(e) => e,
        other => panic!("not an up error: {other}"),
    }
}

fn chain(err: &dyn std::error::Error) -> String {
    e2e::executor::error_chain(err)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_creates_both_clusters_at_once_with_exact_commands_and_records_them() {
    let mut rig = Rig::new();
    // Each create waits until the other has started: sequential creates would never pass.
    for c in CLUSTERS {
        let mut rules = rig.fakes.script.rules.clone();
        let create = rules
            .iter_mut()
            .find(|r| r.tool == "kind" && r.args[..4] == ["create", "cluster", "--name", c])
            .unwrap();
        create.effects.insert(
            0,
            Effect::Barrier {
                name: "create".into(),
                parties: 2,
            },
        );
        rig.fakes.script.rules = rules;
    }
    rig.fakes.save();

    let outcome = rig.up(&options()).await.unwrap();
    let UpOutcome::ClustersUp {
        report,
        kubeconfigs,
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    assert!(
        !report.not_built.is_empty(),
        "the mesh steps are reported as not built"
    );
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(kubeconfigs.len(), 2);

    // The exact argument lists, and the kubeconfig each call saw.
    let creates = rig.calls_of("kind", "create cluster");
    for c in CLUSTERS {
        let kubeconfig = rig.layout.kubeconfig(&name(c));
        let config = rig.layout.rendered(&name(c)).join("00-kind.yaml");
        let expected: Vec<String> = [
            "kind",
            "create",
            "cluster",
            "--name",
            c,
            "--config",
            &config.display().to_string(),
            "--wait",
            "5m0s",
            "--kubeconfig",
            &kubeconfig.display().to_string(),
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        assert!(creates.contains(&expected), "{creates:?}");
        let start = rig
            .fakes
            .events()
            .into_iter()
            .find(|e| {
                e.event == "start"
                    && e.args.get(3).map(String::as_str) == Some(c)
                    && e.args[0] == "create"
            })
            .unwrap();
        assert_eq!(
            start.env["KUBECONFIG"].as_deref(),
            Some(kubeconfig.to_str().unwrap())
        );
        assert_eq!(start.env["KIND_CLUSTER_NAME"], None);
    }
    // Both creates started before either ended.
    let events = rig.fakes.events();
    let pos = |event: &str, c: &str| {
        events
            .iter()
            .position(|e| {
                e.event == event
                    && e.args.starts_with(&[
                        "create".into(),
                        "cluster".into(),
                        "--name".into(),
                        c.into(),
                    ])
            })
            .unwrap()
    };
    let last_start = pos("start", "cluster1").max(pos("start", "cluster2"));
    let first_end = pos("end", "cluster1").min(pos("end", "cluster2"));
    assert!(last_start < first_end, "the creates overlapped");
    // No call ever went without our kubeconfig in KUBECONFIG.
    for e in &events {
        let k = e.env["KUBECONFIG"].as_deref().unwrap();
        assert!(k.starts_with(rig.layout.root().to_str().unwrap()), "{e:?}");
    }
    assert_eq!(rig.calls_of("kind", "delete").len(), 0);

    // What the state records.
    let state = rig.state();
    assert_eq!(state.docker_subnet.unwrap().to_string(), "172.18.0.0/16");
    for (i, c) in CLUSTERS.iter().enumerate() {
        let record = &state.clusters[&name(c)];
        assert_eq!(record.origin, Origin::Created);
        assert_eq!(
            record.control_plane_ip.unwrap().to_string(),
            format!("172.18.0.{}", i + 2)
        );
        let range = record.metallb_range.clone().unwrap();
        let pool =
            std::fs::read_to_string(rig.layout.rendered(&name(c)).join("10-metallb-pool.yaml"))
                .unwrap();
        assert!(pool.contains(&range), "{pool}");
        let peer = std::fs::read_to_string(rig.layout.peer_kubeconfig(&name(c))).unwrap();
        assert!(
            peer.contains(&format!("server: https://172.18.0.{}:6443", i + 2)),
            "{peer}"
        );
        assert!(
            peer.contains(&format!("token: stand-in-token-{c}")),
            "the credentials are kept: {peer}"
        );
        assert!(
            !rig.layout
                .rendered(&name(c))
                .join(format!("50-remote-secret-{}.yaml", CLUSTERS[1 - i]))
                .exists()
        );
    }
    assert!(
        state.steps.iter().all(|s| s.outcome == Outcome::Succeeded),
        "{:?}",
        state.steps
    );
    assert!(
        rig.apis
            .values()
            .all(|api| api.count(testkit::kube_api::Verb::List, "nodes") >= 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_kind_is_reported_with_its_reason_recorded_and_taken_down() {
    let mut rig = Rig::new();
    rig.fakes.prepend(
        rule("kind", "create cluster --name cluster2 **")
            .stderr(Output::fixture_with(
                "kind/create-cluster.already-exists.stderr",
                &[("cluster1", "cluster2")],
            ))
            .exit(1),
    );
    let err = rig.up(&options()).await.unwrap_err();
    let text = chain(&err);
    assert!(text.contains("step cluster2/create failed"), "{text}");
    assert!(
        text.contains("node(s) already exist for a cluster with the name \"cluster2\""),
        "kind's reason: {text}"
    );
    assert!(
        text.contains("ERROR: failed to create cluster"),
        "its stderr: {text}"
    );
    assert_eq!(err.kind(), ErrorKind::Failed);
    let state = rig.state();
    assert!(matches!(
        state
            .step(&e2e::plan::StepId::of(&name("cluster2"), "create"))
            .unwrap()
            .outcome,
        Outcome::Failed { .. }
    ));
    assert_eq!(
        state.clusters.len(),
        2,
        "both creates were recorded before kind ran"
    );

    let report = rig.down().await.unwrap();
    assert_eq!(report.deleted, vec![name("cluster1"), name("cluster2")]);
    assert!(rig.fakes.world().clusters.is_empty());
    assert!(!rig.layout.state_file().exists());
    assert!(!rig.layout.kubeconfig(&name("cluster1")).exists());
    assert!(
        rig.layout.certs_dir().join("root-cert.pem").exists(),
        "certificates are kept"
    );
    // Twice is safe, and touches nothing.
    let calls = rig.fakes.calls().len();
    assert!(rig.down().await.unwrap().nothing_recorded);
    assert_eq!(rig.fakes.calls().len(), calls);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_unreachable_fails_in_preflight_and_creates_nothing() {
    let mut rig = Rig::new();
    rig.fakes.prepend(
        rule("docker", "info **")
            .stdout(Output::fixture(
                "docker/info-format-serverversion.daemon-down.stdout",
            ))
            .stderr(Output::fixture("docker/info.daemon-down.stderr"))
            .exit(1),
    );
    let err = rig.up(&options()).await.unwrap_err();
    let text = chain(&err);
    assert!(text.contains("step preflight/docker failed"), "{text}");
    assert!(
        text.contains("Cannot connect to the Docker daemon"),
        "{text}"
    );
    assert!(
        rig.fakes.calls().iter().all(|argv| argv[0] == "docker"),
        "{:?}",
        rig.fakes.calls()
    );
    assert!(rig.state().clusters.is_empty());
    assert!(!rig.layout.rendered_dir().exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_cluster_of_our_name_is_refused_or_reused_and_never_deleted() {
    let rig = Rig::new();
    rig.fakes.set_world(&World {
        clusters: vec!["cluster1".into(), "theirs".into()],
    });
    let err = rig.up(&options()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BadInput, "{}", chain(&err));
    assert!(
        chain(&err).contains("a kind cluster named `cluster1` exists and was not made by"),
        "{}",
        chain(&err)
    );
    assert!(rig.calls_of("kind", "create").is_empty());

    rig.up(&UpOptions {
        reuse: true,
        ..options()
    })
    .await
    .unwrap();
    assert_eq!(
        rig.calls_of("kind", "create cluster"),
        vec![rig.calls_of("kind", "create cluster --name cluster2")[0].clone()]
    );
    assert_eq!(
        rig.calls_of("kind", "get kubeconfig --name cluster1").len(),
        1
    );
    let state = rig.state();
    assert_eq!(state.clusters[&name("cluster1")].origin, Origin::Reused);
    assert_eq!(state.clusters[&name("cluster2")].origin, Origin::Created);

    let report = rig.down().await.unwrap();
    assert_eq!(report.deleted, vec![name("cluster2")]);
    assert_eq!(report.kept, vec![name("cluster1")]);
    assert_eq!(rig.fakes.world().clusters, ["cluster1", "theirs"]);
    assert!(
        rig.calls_of("kind", "delete cluster --name cluster1")
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_twice_changes_nothing_and_another_configuration_is_refused() {
    let rig = Rig::new();
    rig.up(&options()).await.unwrap();
    let before = rig.fakes.calls().len();
    let again = rig.up(&options()).await.unwrap();
    assert_eq!(
        again,
        UpOutcome::UpToDate {
            clusters: vec![name("cluster1"), name("cluster2")]
        }
    );
    let new_calls: Vec<Vec<String>> = rig.fakes.calls()[before..].to_vec();
    assert_eq!(
        new_calls,
        vec![vec!["kind".to_owned(), "get".into(), "clusters".into()]]
    );

    let other = UpOptions {
        istio: Some("1.24.1".parse().unwrap()),
        ..options()
    };
    let err = rig.up(&other).await.unwrap_err();
    assert!(
        matches!(up_error(&err), UpError::ConfigChanged { .. }),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::BadInput);

    // A cluster deleted behind our back: the next up makes it again.
    rig.fakes.set_world(&World {
        clusters: vec!["cluster1".into()],
    });
    let outcome = rig.up(&options()).await.unwrap();
    assert!(matches!(outcome, UpOutcome::ClustersUp { .. }));
    assert_eq!(
        rig.calls_of("kind", "create cluster --name cluster2").len(),
        2
    );
    assert_eq!(
        rig.calls_of("kind", "create cluster --name cluster1").len(),
        1,
        "the one that exists is used"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn low_inotify_limits_are_a_warning_with_the_sysctl_command() {
    let rig = Rig::new();
    *rig.proc_value.lock().unwrap() = ("128\n".into(), "8192\n".into());
    let UpOutcome::ClustersUp { report, .. } = rig.up(&options()).await.unwrap() else {
        panic!()
    };
    assert_eq!(report.warnings.len(), 2, "{:?}", report.warnings);
    assert!(report.warnings[0].contains("sudo sysctl fs.inotify.max_user_instances=512"));
    assert!(report.warnings[1].contains("sudo sysctl fs.inotify.max_user_watches=524288"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reports_recorded_existing_reachable_and_ready() {
    let mut rig = Rig::new();
    let env = rig.env();
    let before = lifecycle::status(Kind::new(env.runner.clone()), &env, &rig.pins)
        .await
        .unwrap();
    assert_eq!(before.state_file, None);
    assert!(
        before
            .clusters
            .iter()
            .all(|c| c.recorded.is_none() && c.exists == Some(false))
    );

    rig.up(&options()).await.unwrap();
    // cluster2's API server stops answering.
    rig.apis.remove("cluster2");
    let env = rig.env();
    let report = lifecycle::status(Kind::new(env.runner.clone()), &env, &rig.pins)
        .await
        .unwrap();
    let c1 = &report.clusters[0];
    assert_eq!(
        (c1.recorded, c1.exists),
        (Some(Origin::Created), Some(true))
    );
    assert_eq!(
        c1.api,
        ApiStatus::Reachable {
            nodes: 1,
            nodes_ready: 1
        }
    );
    assert!(
        matches!(report.clusters[1].api, ApiStatus::Unreachable { .. }),
        "{:?}",
        report.clusters[1]
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["clusters"][0]["api"],
        json!({"state": "reachable", "nodes": 1, "nodes_ready": 1})
    );
    assert_eq!(json["clusters"][0]["recorded"], "created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_lets_running_creates_finish_starts_nothing_new_and_records_it() {
    let mut rig = Rig::new();
    let gate = rig.fakes.dir.join("gate");
    let mut rules = rig.fakes.script.rules.clone();
    for r in rules
        .iter_mut()
        .filter(|r| r.tool == "kind" && r.args.first().map(String::as_str) == Some("create"))
    {
        r.effects.insert(0, Effect::WaitForFile(gate.clone()));
    }
    rig.fakes.script.rules = rules;
    rig.fakes.save();
    let rig = Arc::new(rig);
    let run = tokio::spawn({
        let rig = rig.clone();
        async move { rig.up(&options()).await }
    });
    // Both creates are running (held at the gate) before the cancel.
    while rig
        .fakes
        .events()
        .iter()
        .filter(|e| e.event == "start" && e.args[0] == "create")
        .count()
        < 2
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    rig.cancel.cancel();
    std::fs::write(&gate, "").unwrap();
    let err = run.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Interrupted, "{}", chain(&err));
    assert!(matches!(up_error(&err), UpError::Interrupted { .. }));
    let state = rig.state();
    for c in CLUSTERS {
        let create = state
            .step(&e2e::plan::StepId::of(&name(c), "create"))
            .unwrap();
        assert_eq!(
            create.outcome,
            Outcome::Succeeded,
            "the running create finished"
        );
        assert!(
            state
                .step(&e2e::plan::StepId::of(&name(c), "nodes-ready"))
                .is_none(),
            "nothing new started"
        );
    }
    assert_eq!(rig.fakes.world().clusters, CLUSTERS);
    // What was made can be taken down.
    assert_eq!(rig.down().await.unwrap().deleted.len(), 2);
}
