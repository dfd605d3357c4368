//! `cargo xtask up` and `down` as processes, against fake kind and docker: the tools come
//! from a cache filled by `e2e::tools::ensure` from a loopback server that serves the
//! `fake-tool` binary as the pinned kind release, docker from `PATH`. A SIGINT between
//! steps (while both creates are held at a gate) lets the creates finish, starts nothing
//! new, records the state, says how to go on, and exits 130.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;

use testkit::fake_tool::{Effect, FakeTools, Output, SCRIPT_ENV, rule};
use testkit::{Fixture, Recorded, sha256};

fn xtask(args: &[&str], fx: &Fixture, fakes: &FakeTools) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    let path = format!("{}:/usr/bin:/bin", fakes.bin().display());
    cmd.args(args)
        .env("MESH_STATE_DIR", fx.dir.path().join("state"))
        .env("MESH_CACHE_DIR", fx.cache_dir())
        .env("MESH_PINS", fx.pins_file())
        .env(
            SCRIPT_ENV,
            fakes.bin().join(testkit::fake_tool::SCRIPT_FILE),
        )
        .env("PATH", path)
        .env("NO_COLOR", "1");
    cmd
}

#[test]
fn sigint_between_steps_records_the_state_and_exits_130_and_down_takes_it_away() {
    // The cache: the fake tool served as the pinned kind release, fetched as `tools` does.
    let fx = Fixture::new(Recorded::all);
    let fake = std::fs::read(testkit::fake_tool::binary()).unwrap();
    fx.server.serve(&fx.paths.kind, fake.clone());
    fx.write_pins(&Recorded {
        kind: Some(sha256(&fake)),
        ..Recorded::all(&fx.artifacts)
    });
    let pins = fx.pins();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime
        .block_on(e2e::tools::ensure(&fx.opts(), &pins, pins.default_row()))
        .unwrap();

    // The fixture pins run helloworld v1 only: a topology that places just that.
    let topology = fx.dir.path().join("topology.toml");
    std::fs::write(
        &topology,
        "[[clusters]]\nname = \"cluster1\"\nnetwork = \"network1\"\npod_subnet = \"10.10.0.0/16\"\nservice_subnet = \"10.255.10.0/24\"\nhelloworld = [\"v1\"]\n\
         [[clusters]]\nname = \"cluster2\"\nnetwork = \"network2\"\npod_subnet = \"10.20.0.0/16\"\nservice_subnet = \"10.255.20.0/24\"\n",
    )
    .unwrap();

    let mut fakes = FakeTools::install(&fx.dir.path().join("fakes"), "v0.33.0");
    let gate = fx.dir.path().join("gate");
    for c in ["cluster1", "cluster2"] {
        fakes.push(
            rule(
                "kind",
                &format!("create cluster --name {c} --config * --wait 5m0s --kubeconfig *"),
            )
            .stderr(Output::fixture_with(
                "kind/create-cluster.success.stderr",
                &[("cluster1", c)],
            ))
            .effect(Effect::WaitForFile(gate.clone()))
            .effect(Effect::AddCluster(c.into()))
            .effect(Effect::WriteAtFlag {
                flag: "--kubeconfig".into(),
                content: format!("# {c}\n"),
            }),
        );
        fakes.push(
            rule("kind", &format!("delete cluster --name {c} --kubeconfig *"))
                .stderr(Output::fixture_with(
                    "kind/delete-cluster.existing.stderr",
                    &[("cluster1", c)],
                ))
                .effect(Effect::RemoveCluster(c.into())),
        );
    }
    fakes.push(rule("kind", "get clusters").effect(Effect::ListClusters));
    fakes.push(
        rule("docker", "info --format {{.ServerVersion}}").stdout(Output::fixture(
            "docker/info-format-serverversion.up.stdout",
        )),
    );

    // Certificates made beforehand with small keys (up keeps them).
    let certs = xtask(
        &[
            "certs",
            "--key-type",
            "ecdsa-p256",
            "--config",
            topology.to_str().unwrap(),
        ],
        &fx,
        &fakes,
    )
    .output()
    .unwrap();
    assert!(
        certs.status.success(),
        "{}",
        String::from_utf8_lossy(&certs.stderr)
    );

    let mut child = xtask(&["up", "--config", topology.to_str().unwrap()], &fx, &fakes)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = {
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stderr.lines() {
                if tx.send(line.unwrap()).is_err() {
                    break;
                }
            }
        });
        rx
    };
    let creates_started = || {
        fakes
            .events()
            .iter()
            .filter(|e| e.event == "start" && e.args[0] == "create")
            .count()
    };
    while creates_started() < 2 {
        assert!(
            fakes
                .events()
                .iter()
                .all(|e| e.event != "unmatched" && e.event != "refused"),
            "{:?}",
            fakes.events()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    // Once it says it starts nothing new, let the running creates finish.
    let mut stderr = String::new();
    for line in lines.iter() {
        stderr.push_str(&line);
        stderr.push('\n');
        if line.contains("interrupted: starting nothing new") {
            break;
        }
    }
    std::fs::write(&gate, "").unwrap();
    let out = child.wait_with_output().unwrap();
    stderr.extend(lines.iter().map(|l| l + "\n"));
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(stderr.contains("cargo xtask down"), "{stderr}");

    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fx.dir.path().join("state/state.json")).unwrap(),
    )
    .unwrap();
    let outcome = |id: &str| {
        state["steps"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|s| s["id"] == id)
            .map(|s| s["outcome"]["status"].clone())
    };
    assert_eq!(
        outcome("cluster1/create"),
        Some("succeeded".into()),
        "{state:#}"
    );
    assert_eq!(
        outcome("cluster2/create"),
        Some("succeeded".into()),
        "{state:#}"
    );
    assert_eq!(
        outcome("cluster1/nodes-ready"),
        None,
        "nothing new started: {state:#}"
    );
    assert_eq!(fakes.world().clusters, ["cluster1", "cluster2"]);

    let down = xtask(&["down"], &fx, &fakes).output().unwrap();
    let stdout = String::from_utf8_lossy(&down.stdout);
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    assert!(
        stdout.contains("deleted kind cluster cluster1")
            && stdout.contains("deleted kind cluster cluster2"),
        "{stdout}"
    );
    assert!(fakes.world().clusters.is_empty());
    assert!(fx.dir.path().join("state/certs/root-cert.pem").exists());
}
