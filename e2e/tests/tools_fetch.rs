//! `tools::ensure` against a real HTTP server on 127.0.0.1 serving generated artifacts
//! laid out like the upstream releases, reached through the mirror option.

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::Instant;

use e2e::tools::{ToolsError, ensure};
use testkit::{Behaviour, Fixture, Recorded, sha256, tree};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn run(path: &std::path::Path) -> String {
    let out = std::process::Command::new(path).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn fetches_verifies_and_installs_what_a_row_needs() {
    let fx = Fixture::new(Recorded::all);
    let pins = fx.pins();
    let tb = ensure(&fx.opts(), &pins, pins.default_row()).await.unwrap();

    // Absolute paths into the cache, keyed by name, version and sha256.
    let cache = fx.cache_dir();
    assert_eq!(
        tb.kind,
        cache.join(format!(
            "kind/{}/{}/kind",
            testkit::KIND,
            sha256(&fx.artifacts.kind)
        ))
    );
    let istio_dir = cache.join(format!(
        "istio/{}/{}",
        testkit::ISTIO,
        sha256(&fx.artifacts.istio)
    ));
    assert_eq!(tb.istioctl, istio_dir.join("istioctl"));
    assert!(tb.helm.is_absolute() && tb.metallb_manifest.is_absolute());

    // The binaries run (the run bit is set, even on helm, which the archive shipped 0644).
    assert_eq!(run(&tb.kind), format!("kind {}\n", testkit::KIND));
    assert_eq!(run(&tb.helm), format!("helm {}\n", testkit::HELM));
    assert_eq!(run(&tb.istioctl), format!("istioctl {}\n", testkit::ISTIO));
    assert_eq!(mode(&tb.kind), 0o755);
    assert_eq!(std::fs::read(&tb.kind).unwrap(), fx.artifacts.kind);
    assert_eq!(
        std::fs::read(&tb.metallb_manifest).unwrap(),
        fx.artifacts.metallb
    );
    assert_eq!(mode(&tb.metallb_manifest), 0o644);

    // Only istioctl and the three charts are extracted, beside the completion marker.
    assert_eq!(
        tree(&istio_dir),
        [
            ".install.json",
            "charts",
            "charts/base",
            "charts/base/Chart.yaml",
            "charts/base/templates",
            "charts/base/templates/crds.yaml",
            "charts/gateway",
            "charts/gateway/Chart.yaml",
            "charts/istio-discovery",
            "charts/istio-discovery/Chart.yaml",
            "charts/istio-discovery/files",
            "charts/istio-discovery/files/injection-template.yaml",
            "istioctl",
        ]
    );
    assert!(
        std::fs::read_to_string(tb.charts.istiod.join("Chart.yaml"))
            .unwrap()
            .contains("name: istiod")
    );
    assert!(
        std::fs::read_to_string(tb.charts.gateway.join("Chart.yaml"))
            .unwrap()
            .contains("name: gateway")
    );
    assert!(tb.charts.base.join("templates/crds.yaml").is_file());

    // One request per artifact; checksum files are not needed when the pins record them.
    for path in fx.paths.all() {
        assert_eq!(fx.server.hits(path), 1, "{path}");
    }
    assert_eq!(fx.server.total_hits(), 4);
    assert!(
        fx.staging_leftovers().is_empty(),
        "{:?}",
        fx.staging_leftovers()
    );
}

#[tokio::test]
async fn second_run_is_served_from_the_cache_with_the_server_stopped() {
    let fx = Fixture::new(Recorded::all);
    let pins = fx.pins();
    let first = ensure(&fx.opts(), &pins, pins.default_row()).await.unwrap();
    let opts = fx.opts();
    let Fixture { server, .. } = fx;
    server.stop();

    // With the port closed any request would fail: success is proof that none was made.
    let second = ensure(&opts, &pins, pins.default_row()).await.unwrap();
    assert_eq!(first, second);

    let mut offline = opts.clone();
    offline.offline = true;
    assert_eq!(
        ensure(&offline, &pins, pins.default_row()).await.unwrap(),
        first
    );
}

#[tokio::test]
async fn checksum_mismatch_names_url_and_both_sums_and_leaves_nothing() {
    let fx = Fixture::new(Recorded::all);
    let mut tampered = fx.artifacts.kind.clone();
    tampered.extend_from_slice(b"echo owned\n");
    fx.server.serve(&fx.paths.kind, tampered.clone());
    let pins = fx.pins();

    let err = ensure(&fx.opts(), &pins, pins.default_row())
        .await
        .unwrap_err();
    let ToolsError::ChecksumMismatch {
        expected, actual, ..
    } = &err
    else {
        panic!("expected a checksum mismatch, got {err}");
    };
    assert_eq!(
        (*expected, *actual),
        (sha256(&fx.artifacts.kind), sha256(&tampered))
    );
    let message = err.to_string();
    for part in [
        format!("{}{}", fx.server.url(), fx.paths.kind),
        expected.to_string(),
        actual.to_string(),
        "removed".to_owned(),
    ] {
        assert!(message.contains(&part), "`{part}` missing from: {message}");
    }
    assert!(
        !fx.cache_dir().join("kind").exists(),
        "no install: {:?}",
        tree(&fx.cache_dir())
    );
    assert!(
        fx.staging_leftovers().is_empty(),
        "{:?}",
        fx.staging_leftovers()
    );
    // A mismatch is not retried: the server answered, with the wrong file.
    assert_eq!(fx.server.hits(&fx.paths.kind), 1);
}

fn istio_unrecorded(a: &testkit::Artifacts) -> Recorded {
    Recorded {
        istio: None,
        ..Recorded::all(a)
    }
}

#[tokio::test]
async fn missing_checksum_is_taken_from_upstream_verified_and_recorded() {
    let fx = Fixture::new(istio_unrecorded);
    let before = std::fs::read_to_string(fx.pins_file()).unwrap();
    let pins = fx.pins();
    let tb = ensure(&fx.opts(), &pins, pins.default_row()).await.unwrap();
    assert!(tb.istioctl.is_file());

    let after = std::fs::read_to_string(fx.pins_file()).unwrap();
    let recorded = fx.pins();
    let row = recorded.default_row();
    assert_eq!(row.sha256[&fx.platform], Some(sha256(&fx.artifacts.istio)));
    // Only that slot changed: same lines, same comments.
    let changed: Vec<_> = before
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(changed[0].1.starts_with(&format!(
        "{} = \"{}\"",
        fx.platform,
        sha256(&fx.artifacts.istio)
    )));
    assert_eq!(fx.server.hits(&format!("{}.sha256", fx.paths.istio)), 1);

    // Next time the recorded value is used: no checksum file, no download.
    let again = ensure(&fx.opts(), &recorded, row).await.unwrap();
    assert_eq!(again, tb);
    assert_eq!(fx.server.total_hits(), 5);
}

#[tokio::test]
async fn upstream_checksum_that_the_download_does_not_match_is_not_recorded() {
    let fx = Fixture::new(istio_unrecorded);
    let checksum_path = format!("{}.sha256", fx.paths.istio);
    let name = fx.paths.istio.rsplit('/').next().unwrap();
    fx.server.serve(
        &checksum_path,
        format!("{} {name}\n", "0".repeat(64)).into_bytes(),
    );
    let before = std::fs::read(fx.pins_file()).unwrap();
    let pins = fx.pins();
    let err = ensure(&fx.opts(), &pins, pins.default_row())
        .await
        .unwrap_err();
    assert!(matches!(err, ToolsError::ChecksumMismatch { .. }), "{err}");
    // The expected value is upstream's, not the pins': the message says where it came from.
    let message = err.to_string();
    assert!(
        message.contains(&format!(
            "the upstream checksum file {}{checksum_path}",
            fx.server.url()
        )) && message.contains("nothing was recorded"),
        "{message}"
    );
    assert_eq!(std::fs::read(fx.pins_file()).unwrap(), before);
    assert!(!fx.cache_dir().join("istio").exists());
}

#[tokio::test]
async fn locked_refuses_unrecorded_checksums_and_never_writes_the_pins() {
    let fx = Fixture::new(istio_unrecorded);
    let before = std::fs::read(fx.pins_file()).unwrap();
    let pins = fx.pins();
    let mut opts = fx.opts();
    opts.locked = true;
    let err = ensure(&opts, &pins, pins.default_row()).await.unwrap_err();
    assert_eq!(err.kind(), e2e::ErrorKind::BadInput, "{err}");
    let message = err.to_string();
    assert!(
        message.contains(&format!("istio {} ({})", testkit::ISTIO, fx.platform))
            && message.contains("a locked run takes none from upstream"),
        "{message}"
    );
    assert_eq!(std::fs::read(fx.pins_file()).unwrap(), before);
    assert_eq!(fx.server.total_hits(), 0, "refused before any request");
}

#[tokio::test]
async fn not_found_names_the_version_and_points_at_the_pins() {
    let fx = Fixture::new(Recorded::all);
    fx.server.forget(&fx.paths.istio);
    let pins = fx.pins();
    let err = ensure(&fx.opts(), &pins, pins.default_row())
        .await
        .unwrap_err();
    assert!(matches!(err, ToolsError::NotFound { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains(&format!("istio {}", testkit::ISTIO))
            && message.contains("404")
            && message.contains("versions.toml"),
        "{message}"
    );
    assert_eq!(fx.server.hits(&fx.paths.istio), 1, "a 404 is not retried");
    assert!(fx.staging_leftovers().is_empty());
}

#[tokio::test]
async fn a_connection_dropped_mid_body_is_retried() {
    let fx = Fixture::new(Recorded::all);
    let body = Arc::new(fx.artifacts.kind.clone());
    fx.server
        .route(&fx.paths.kind, Behaviour::DropMidBody { body, times: 1 });
    let pins = fx.pins();
    let tb = ensure(&fx.opts(), &pins, pins.default_row()).await.unwrap();
    assert_eq!(std::fs::read(&tb.kind).unwrap(), fx.artifacts.kind);
    assert_eq!(fx.server.hits(&fx.paths.kind), 2);
}

#[tokio::test]
async fn a_connection_that_keeps_dropping_fails_cleanly_after_the_last_attempt() {
    let fx = Fixture::new(Recorded::all);
    let body = Arc::new(fx.artifacts.istio.clone());
    fx.server
        .route(&fx.paths.istio, Behaviour::DropMidBody { body, times: 100 });
    let pins = fx.pins();
    let err = ensure(&fx.opts(), &pins, pins.default_row())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ToolsError::Interrupted { attempts: 3, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("broke off"), "{err}");
    assert_eq!(fx.server.hits(&fx.paths.istio), 3);
    assert!(!fx.cache_dir().join("istio").exists());
    assert!(
        fx.staging_leftovers().is_empty(),
        "{:?}",
        fx.staging_leftovers()
    );
}

async fn assert_stall_times_out(behaviour: impl Fn(Arc<Vec<u8>>) -> Behaviour) {
    let fx = Fixture::new(Recorded::all);
    let body = Arc::new(fx.artifacts.istio.clone());
    fx.server.route(&fx.paths.istio, behaviour(body));
    let pins = fx.pins();
    let opts = fx.opts();
    let start = Instant::now();
    let err = ensure(&opts, &pins, pins.default_row()).await.unwrap_err();
    let took = start.elapsed();
    // The stall timer, not a closed connection, ended each of the three attempts: the error
    // says so, the server saw three requests, and (a floor, which load can only lengthen)
    // each attempt waited out the stall timeout. The server holds the connection far longer
    // (testkit::server::HOLD_LIMIT), so returning at all proves the bound.
    assert!(
        matches!(err, ToolsError::Stalled { attempts: 3, .. }),
        "{err}"
    );
    assert_eq!(fx.server.hits(&fx.paths.istio), 3);
    assert!(took >= opts.http.stall_timeout * 3, "took {took:?}");
    assert!(fx.staging_leftovers().is_empty());
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_in_bounded_time() {
    assert_stall_times_out(|_| Behaviour::StallBeforeHeaders).await;
}

#[tokio::test]
async fn a_server_that_stalls_mid_body_times_out_in_bounded_time() {
    assert_stall_times_out(Behaviour::StallMidBody).await;
}

#[tokio::test]
async fn no_server_is_unreachable_after_every_attempt() {
    let fx = Fixture::new(Recorded::all);
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut opts = fx.opts();
    opts.mirror = Some(e2e::tools::Mirror::parse(&format!("http://{closed}")).unwrap());
    let pins = fx.pins();
    let err = ensure(&opts, &pins, pins.default_row()).await.unwrap_err();
    assert!(
        matches!(err, ToolsError::Unreachable { attempts: 3, .. }),
        "{err}"
    );
    // Suggesting --mirror or --offline is the CLI's hint (xtask/src/error.rs).
    let message = err.to_string();
    assert!(
        message.contains(&format!("cannot reach http://{closed}/"))
            && message.contains("3 attempts"),
        "{message}"
    );
}

#[tokio::test]
async fn offline_lists_exactly_what_is_missing_and_makes_no_request() {
    let fx = Fixture::new(Recorded::all);
    let pins = fx.pins();
    let tb = ensure(&fx.opts(), &pins, pins.default_row()).await.unwrap();
    std::fs::remove_dir_all(tb.helm.parent().unwrap()).unwrap();
    let hits = fx.server.total_hits();

    let mut opts = fx.opts();
    opts.offline = true;
    let err = ensure(&opts, &pins, pins.default_row()).await.unwrap_err();
    let ToolsError::Offline { missing, .. } = &err else {
        panic!("expected offline error, got {err}");
    };
    assert_eq!(
        missing,
        &[format!(
            "helm {} ({}) sha256 {}",
            testkit::HELM,
            fx.platform,
            sha256(&fx.artifacts.helm)
        )]
    );
    assert_eq!(fx.server.total_hits(), hits);

    // An unrecorded checksum cannot be matched against the cache offline: say so.
    fx.write_pins(&istio_unrecorded(&fx.artifacts));
    let err = ensure(&opts, &fx.pins(), fx.pins().default_row())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not recorded"), "{err}");
}

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times() {
    let fx = Fixture::new(Recorded::all);
    fx.server.route(&fx.paths.helm, Behaviour::Status(503));
    let pins = fx.pins();
    let err = ensure(&fx.opts(), &pins, pins.default_row())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ToolsError::Http {
                status: 503,
                attempts: 3,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(fx.server.hits(&fx.paths.helm), 3);
}

#[tokio::test]
async fn all_fetches_every_matrix_row_and_shared_tools_once() {
    let fx = Fixture::new(Recorded::all);
    let other = "1.30.4";
    let archive = testkit::istio_archive(other);
    let path = fx.paths.istio.replace(testkit::ISTIO, other);
    fx.server.serve(&path, archive.clone());
    let text = std::fs::read_to_string(fx.pins_file()).unwrap();
    let row = text[text.find("[[istio]]").unwrap()..]
        .replace(testkit::ISTIO, other)
        .replace(
            &sha256(&fx.artifacts.istio).to_string(),
            &sha256(&archive).to_string(),
        );
    let text = text.replace(
        &format!("matrix = [\"{}\"]", testkit::ISTIO),
        &format!("matrix = [\"{}\", \"{other}\"]", testkit::ISTIO),
    ) + "\n"
        + &row;
    std::fs::write(fx.pins_file(), text).unwrap();
    let pins = fx.pins();

    let all = e2e::tools::ensure_all(&fx.opts(), &pins).await.unwrap();
    let versions: Vec<String> = all.iter().map(|(v, _)| v.to_string()).collect();
    assert_eq!(versions, [testkit::ISTIO, other]);
    let (a, b) = (&all[0].1, &all[1].1);
    assert_eq!(
        (&a.kind, &a.helm, &a.metallb_manifest),
        (&b.kind, &b.helm, &b.metallb_manifest)
    );
    assert_ne!(a.istioctl, b.istioctl);
    assert_eq!(run(&b.istioctl), format!("istioctl {other}\n"));
    for p in fx.paths.all().into_iter().chain([path.as_str()]) {
        assert_eq!(fx.server.hits(p), 1, "{p}");
    }
}

#[tokio::test]
async fn staging_left_by_a_killed_run_is_never_used_and_is_cleaned_up() {
    let fx = Fixture::new(Recorded::all);
    // What a run killed mid-way leaves: a staging dir with a partial file, no install.
    let stale = fx.cache_dir().join(format!(
        ".tmp/kind-{}-{}-abc123/install",
        testkit::KIND,
        fx.platform
    ));
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join("kind"), b"partial").unwrap();
    let pins = fx.pins();
    let tb = ensure(&fx.opts(), &pins, pins.default_row()).await.unwrap();
    assert_eq!(std::fs::read(&tb.kind).unwrap(), fx.artifacts.kind);
    assert_eq!(
        fx.server.hits(&fx.paths.kind),
        1,
        "the partial file was not taken for an install"
    );
    assert!(
        fx.staging_leftovers().is_empty(),
        "{:?}",
        fx.staging_leftovers()
    );
}

fn redirect(location: String) -> Behaviour {
    Behaviour::Redirect {
        status: 302,
        location,
    }
}

#[tokio::test]
async fn a_mirror_redirect_to_plain_http_off_this_machine_is_refused() {
    let fx = Fixture::new(Recorded::all);
    let away = "http://mirror.example.invalid/kind".to_owned();
    fx.server.route(&fx.paths.kind, redirect(away.clone()));
    let pins = fx.pins();
    let err = ensure(&fx.opts(), &pins, pins.default_row())
        .await
        .unwrap_err();
    let ToolsError::Redirect {
        url, to, reason, ..
    } = &err
    else {
        panic!("expected a refused redirect, got {err}");
    };
    assert_eq!(url, &format!("{}{}", fx.server.url(), fx.paths.kind));
    assert_eq!(to, &away);
    assert!(reason.contains("only to this machine"), "{reason}");
    assert_eq!(
        fx.server.hits(&fx.paths.kind),
        1,
        "a refusal is not retried"
    );
    assert!(!fx.cache_dir().join("kind").exists());
}

#[tokio::test]
async fn a_checksum_file_redirect_to_plain_http_off_this_machine_is_refused() {
    let fx = Fixture::new(istio_unrecorded);
    let checksum_path = format!("{}.sha256", fx.paths.istio);
    fx.server.route(
        &checksum_path,
        redirect("http://203.0.113.9/istio.sha256".into()),
    );
    let before = std::fs::read(fx.pins_file()).unwrap();
    let pins = fx.pins();
    let err = ensure(&fx.opts(), &pins, pins.default_row())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ToolsError::Redirect { to, .. } if to == "http://203.0.113.9/istio.sha256"),
        "{err}"
    );
    assert_eq!(fx.server.hits(&checksum_path), 1);
    assert_eq!(
        fx.server.hits(&fx.paths.istio),
        0,
        "no download without a sum"
    );
    assert_eq!(std::fs::read(fx.pins_file()).unwrap(), before);
}

#[tokio::test]
async fn a_redirect_loop_fails_at_once_without_retries() {
    let fx = Fixture::new(Recorded::all);
    let other = "/loop/elsewhere";
    fx.server.route(
        &fx.paths.kind,
        redirect(format!("{}{other}", fx.server.url())),
    );
    // A relative Location, resolved against the URL that sent it.
    fx.server.route(other, redirect(fx.paths.kind.clone()));
    let pins = fx.pins();
    let err = ensure(&fx.opts(), &pins, pins.default_row())
        .await
        .unwrap_err();
    let ToolsError::Redirect { reason, .. } = &err else {
        panic!("expected a refused redirect, got {err}");
    };
    assert!(reason.contains("loop"), "{reason}");
    assert_eq!(fx.server.hits(&fx.paths.kind), 1, "not retried");
    assert_eq!(fx.server.hits(other), 1);
}

#[tokio::test]
async fn a_redirect_on_this_machine_is_followed_and_errors_name_the_final_url() {
    let fx = Fixture::new(Recorded::all);
    let moved = "/moved/kind";
    fx.server.route(
        &fx.paths.kind,
        redirect(format!("{}{moved}", fx.server.url())),
    );
    let pins = fx.pins();
    // Nothing there yet: the 404 names where it happened, and where the fetch started.
    let err = ensure(&fx.opts(), &pins, pins.default_row())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ToolsError::NotFound { url, .. }
            if *url == format!("{0}{moved} (redirected from {0}{1})", fx.server.url(), fx.paths.kind)),
        "{err}"
    );
    let mut tampered = fx.artifacts.kind.clone();
    tampered.push(b'\n');
    fx.server.serve(moved, tampered);
    let err = ensure(&fx.opts(), &pins, pins.default_row())
        .await
        .unwrap_err();
    let ToolsError::ChecksumMismatch { url, .. } = &err else {
        panic!("expected a checksum mismatch, got {err}");
    };
    assert!(
        url.starts_with(&format!("{}{moved}", fx.server.url())),
        "the final URL: {url}"
    );
    assert!(
        url.contains(&format!(
            "redirected from {}{}",
            fx.server.url(),
            fx.paths.kind
        )),
        "and where it started: {url}"
    );

    // Served properly there, the redirect is followed to an install.
    fx.server.serve(moved, fx.artifacts.kind.clone());
    let tb = ensure(&fx.opts(), &pins, pins.default_row()).await.unwrap();
    assert_eq!(std::fs::read(&tb.kind).unwrap(), fx.artifacts.kind);
    assert_eq!(fx.server.hits(moved), 3);
}

#[tokio::test]
async fn a_body_longer_than_the_recorded_size_is_stopped() {
    let fx = Fixture::new(Recorded::with_sizes);
    // No Content-Length: the body would end only when the server closes, after 8 MiB.
    fx.server.route(
        &fx.paths.metallb,
        Behaviour::Oversized {
            announce: None,
            send: 8 << 20,
        },
    );
    let pins = fx.pins();
    let err = ensure(&fx.opts(), &pins, pins.default_row())
        .await
        .unwrap_err();
    let ToolsError::TooLarge { what, limit, .. } = &err else {
        panic!("expected the download to be stopped, got {err}");
    };
    let recorded = fx.artifacts.metallb.len() as u64;
    assert_eq!(*limit, e2e::tools::SizeLimit::Recorded(recorded));
    assert!(what.contains("sent more than"), "{what}");
    assert!(
        err.to_string().contains("recorded in versions.toml"),
        "{err}"
    );
    assert_eq!(fx.server.hits(&fx.paths.metallb), 1, "not retried");
    assert!(!fx.cache_dir().join("metallb").exists());
    assert!(
        fx.staging_leftovers().is_empty(),
        "{:?}",
        fx.staging_leftovers()
    );
}

#[tokio::test]
async fn a_content_length_over_the_limit_is_refused_before_reading() {
    // No size recorded: the ceiling for a manifest applies. The server announces 3 GiB and
    // then sends nothing, so an attempt that started reading would stall.
    let fx = Fixture::new(Recorded::all);
    fx.server.route(
        &fx.paths.metallb,
        Behaviour::Oversized {
            announce: Some(3 << 30),
            send: 0,
        },
    );
    let pins = fx.pins();
    let err = ensure(&fx.opts(), &pins, pins.default_row())
        .await
        .unwrap_err();
    let ToolsError::TooLarge { what, limit, .. } = &err else {
        panic!("expected a refusal before reading, got {err}");
    };
    assert_eq!(*limit, e2e::tools::SizeLimit::MANIFEST);
    assert!(
        what.contains(&format!("announces {} bytes", 3u64 << 30)),
        "{what}"
    );
    assert_eq!(fx.server.hits(&fx.paths.metallb), 1);

    // With the size recorded, one byte more than that is refused the same way.
    fx.write_pins(&Recorded::with_sizes(&fx.artifacts));
    let recorded = fx.artifacts.metallb.len() as u64;
    fx.server.route(
        &fx.paths.metallb,
        Behaviour::Oversized {
            announce: Some(recorded + 1),
            send: 0,
        },
    );
    let pins = fx.pins();
    let err = ensure(&fx.opts(), &pins, pins.default_row())
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ToolsError::TooLarge { limit, .. } if *limit == e2e::tools::SizeLimit::Recorded(recorded)),
        "{err}"
    );
    assert_eq!(fx.server.hits(&fx.paths.metallb), 2);
    assert!(fx.staging_leftovers().is_empty());
}

#[tokio::test]
async fn a_download_past_the_ceiling_is_stopped() {
    let fx = Fixture::new(Recorded::all);
    fx.server.route(
        &fx.paths.kind,
        Behaviour::Oversized {
            announce: None,
            send: 8 << 20,
        },
    );
    let pins = fx.pins();
    let mut a = e2e::tools::artifact::for_row(&pins, pins.default_row(), fx.platform).unwrap();
    // A small ceiling stands in for the real one, so the test sends megabytes, not gigabytes.
    a.kind.size = e2e::tools::SizeLimit::Ceiling(64 * 1024);
    let err = e2e::tools::fetch(&fx.opts(), &[&a.kind]).await.unwrap_err();
    assert!(
        matches!(&err, ToolsError::TooLarge { what, .. } if what.contains("sent more than")),
        "{err}"
    );
    assert!(err.to_string().contains("record its size there"), "{err}");
    assert!(!fx.cache_dir().join("kind").exists());
    assert!(fx.staging_leftovers().is_empty());
}

#[tokio::test]
async fn a_server_that_drips_forever_meets_the_deadline() {
    let fx = Fixture::new(Recorded::all);
    // A byte every 50 ms is never silent for the 400 ms stall timeout, so only an overall
    // deadline can end it.
    fx.server.route(
        &fx.paths.kind,
        Behaviour::Drip {
            body: Arc::new(fx.artifacts.kind.clone()),
            every: std::time::Duration::from_millis(50),
        },
    );
    let pins = fx.pins();
    let mut opts = fx.opts();
    opts.http.deadline = std::time::Duration::from_secs(1);
    let err = ensure(&opts, &pins, pins.default_row()).await.unwrap_err();
    let ToolsError::DeadlineExceeded {
        attempts, deadline, ..
    } = &err
    else {
        panic!("expected the deadline to end it, got {err}");
    };
    assert_eq!((*attempts, *deadline), (1, opts.http.deadline));
    let message = err.to_string();
    assert!(
        message.contains(&format!("{}{}", fx.server.url(), fx.paths.kind))
            && message.contains("download deadline"),
        "{message}"
    );
    assert_eq!(
        fx.server.hits(&fx.paths.kind),
        1,
        "a deadline is not retried"
    );
    assert!(!fx.cache_dir().join("kind").exists());
    assert!(
        fx.staging_leftovers().is_empty(),
        "{:?}",
        fx.staging_leftovers()
    );
}

#[tokio::test]
async fn the_deadline_bounds_retries_of_a_server_that_never_answers() {
    let fx = Fixture::new(Recorded::all);
    fx.server
        .route(&fx.paths.kind, Behaviour::StallBeforeHeaders);
    let pins = fx.pins();
    let mut opts = fx.opts();
    // Shorter than one attempt's wait for the headers (connect + stall timeouts).
    opts.http.deadline = (opts.http.connect_timeout + opts.http.stall_timeout) * 2 / 3;
    let err = ensure(&opts, &pins, pins.default_row()).await.unwrap_err();
    assert!(
        matches!(err, ToolsError::DeadlineExceeded { attempts: 1, .. }),
        "{err}"
    );
    assert_eq!(fx.server.hits(&fx.paths.kind), 1);
}
