//! Two processes fetching the same artifacts into one cache at once: one downloads, the
//! other waits on the lock and reuses the install; both succeed.

mod support;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use support::{Behaviour, Fixture, Recorded};

#[test]
fn two_processes_share_one_download() {
    let fx = Fixture::new(Recorded::all);
    // Slow answers keep the first process inside its lock while the second arrives.
    let bodies = [
        (&fx.paths.kind, &fx.artifacts.kind),
        (&fx.paths.helm, &fx.artifacts.helm),
        (&fx.paths.istio, &fx.artifacts.istio),
        (&fx.paths.metallb, &fx.artifacts.metallb),
    ];
    for (path, body) in bodies {
        fx.server.route(
            path,
            Behaviour::Slow {
                body: Arc::new(body.clone()),
                delay: Duration::from_millis(300),
            },
        );
    }
    let spawn = || {
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
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    for out in [&a, &b] {
        assert!(
            out.status.success(),
            "stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(a.stdout, b.stdout, "both see the same install");
    assert!(String::from_utf8_lossy(&a.stdout).contains(&fx.cache_dir().display().to_string()));
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

    // A third run: everything from the cache, no request, in well under a second.
    let hits = fx.server.total_hits();
    let start = std::time::Instant::now();
    let c = spawn().wait_with_output().unwrap();
    let took = start.elapsed();
    eprintln!("cached run (whole process) took {took:?}");
    assert!(
        c.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&c.stderr)
    );
    assert_eq!(c.stdout, a.stdout);
    assert_eq!(fx.server.total_hits(), hits, "no request");
    assert!(took < Duration::from_secs(1), "took {took:?}");
}
