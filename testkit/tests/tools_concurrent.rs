//! Two processes fetching the same artifacts into one cache at once: one downloads while the
//! other waits on the lock, then reuses the install; both succeed, each file is downloaded
//! once. The overlap is made, not hoped for: the server holds the first download until the
//! second process has said that it waits.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;

use testkit::{Behaviour, Fixture, Gate, Recorded};

/// What the cache logs when another run holds an artifact's lock (e2e/src/tools/cache.rs).
const WAITING: &str = "another run holds it; waiting for it to finish";

fn spawn(fx: &Fixture) -> Child {
    Command::new(env!("CARGO_BIN_EXE_fetch-tools"))
        .arg("--pins")
        .arg(fx.pins_file())
        .arg("--cache-dir")
        .arg(fx.cache_dir())
        .args(["--mirror", &fx.server.url()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Sends `child`'s stderr line by line; the channel closes when the child closes stderr.
fn stderr_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    rx
}

#[test]
fn two_processes_share_one_download() {
    let fx = Fixture::new(Recorded::all);
    // kind is fetched first: hold its download, so the first process keeps kind's lock.
    let gate = Gate::new();
    fx.server.route(
        &fx.paths.kind,
        Behaviour::Gated {
            body: Arc::new(fx.artifacts.kind.clone()),
            gate: gate.clone(),
        },
    );

    let first = spawn(&fx);
    fx.server.wait_for_hits(&fx.paths.kind, 1);
    let mut second = spawn(&fx);
    let second_log = stderr_lines(&mut second);
    // The second process finds kind's lock taken and says so; it cannot get past it while
    // the first is held at the gate. (A closed channel means it exited without waiting.)
    let mut seen = Vec::new();
    let waited = loop {
        match second_log.recv() {
            Ok(line) if line.contains(WAITING) => break line,
            Ok(line) => seen.push(line),
            Err(_) => panic!("the second run ended without waiting for the lock: {seen:?}"),
        }
    };
    assert!(
        waited.contains(&format!("kind {}", testkit::KIND)),
        "waited for kind's lock: {waited}"
    );
    gate.open();

    let first = first.wait_with_output().unwrap();
    let second_out = second.wait_with_output().unwrap();
    let second_rest: Vec<String> = second_log.iter().collect();
    assert!(
        first.status.success(),
        "first: {}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        second_out.status.success(),
        "second: {seen:?} {second_rest:?}"
    );
    assert_eq!(first.stdout, second_out.stdout, "both see the same install");
    assert!(String::from_utf8_lossy(&first.stdout).contains(&fx.cache_dir().display().to_string()));
    for path in fx.paths.all() {
        assert_eq!(
            fx.server.hits(path),
            1,
            "{path} was downloaded more than once"
        );
    }
    assert!(
        fx.staging_leftovers().is_empty(),
        "{:?}",
        fx.staging_leftovers()
    );

    // A third run: everything from the cache, no request.
    let hits = fx.server.total_hits();
    let third = spawn(&fx).wait_with_output().unwrap();
    assert!(
        third.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&third.stderr)
    );
    assert_eq!(third.stdout, first.stdout);
    assert_eq!(fx.server.total_hits(), hits, "no request");
}
