//! Tampered release archives: `..` entries, absolute entries and links leading outside are
//! refused whole, and nothing is written outside the install directory.

use std::path::Path;

use e2e::tools::artifact::{Pick, PickKind};
use e2e::tools::extract::extract_tar_gz;
use e2e::tools::{ExtractLimits, ToolsError};
use testkit::{Entry, Fixture, Recorded, sha256, tar_gz, tree};

fn picks() -> Vec<Pick> {
    vec![
        Pick {
            from: "istio-1.0.0/bin/istioctl".into(),
            to: "istioctl".into(),
            kind: PickKind::Executable,
        },
        Pick {
            from: "istio-1.0.0/manifests/charts/base".into(),
            to: "charts/base".into(),
            kind: PickKind::Tree,
        },
    ]
}

const ISTIOCTL: Entry = Entry::File("istio-1.0.0/bin/istioctl", b"#!/bin/sh\n", 0o755);
const CHART: Entry = Entry::File(
    "istio-1.0.0/manifests/charts/base/Chart.yaml",
    b"name: base\n",
    0o644,
);

/// Extracts `entries` into `<tmp>/a/b/dest` and returns the error, after checking that
/// nothing appeared anywhere in `<tmp>` but below `dest`.
fn refused(entries: &[Entry]) -> (String, String) {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive.tar.gz");
    std::fs::write(&archive, tar_gz(entries)).unwrap();
    let dest = tmp.path().join("a/b/dest");
    std::fs::create_dir_all(&dest).unwrap();
    let err = extract_tar_gz(
        "istio 1.0.0",
        &archive,
        &dest,
        &picks(),
        ExtractLimits::RELEASE,
    )
    .unwrap_err();
    let outside: Vec<_> = tree(tmp.path())
        .into_iter()
        .filter(|p| {
            !p.starts_with("a/b/dest") && !["a", "a/b", "archive.tar.gz"].contains(&p.as_str())
        })
        .collect();
    assert!(outside.is_empty(), "written outside dest: {outside:?}");
    let ToolsError::UnsafeArchive { entry, reason, .. } = &err else {
        panic!("expected an unsafe-archive error, got {err}");
    };
    (entry.clone(), reason.clone())
}

#[test]
fn a_parent_dir_entry_is_refused_even_outside_the_picks() {
    let (entry, reason) = refused(&[ISTIOCTL, Entry::File("../../escaped", b"x", 0o644), CHART]);
    assert_eq!(entry, "../../escaped");
    assert!(reason.contains(".."), "{reason}");
}

#[test]
fn a_parent_dir_entry_inside_a_picked_tree_is_refused() {
    let (entry, _) = refused(&[
        ISTIOCTL,
        Entry::File(
            "istio-1.0.0/manifests/charts/base/../../../../../escaped",
            b"x",
            0o644,
        ),
    ]);
    assert!(entry.ends_with("escaped"), "{entry}");
}

#[test]
fn an_absolute_entry_is_refused() {
    let target = std::env::temp_dir().join(format!("tools-extract-abs-{}", std::process::id()));
    let name = target.display().to_string();
    let (entry, reason) = refused(&[ISTIOCTL, Entry::File(&name, b"x", 0o644)]);
    assert_eq!(entry, name);
    assert!(reason.contains("absolute"), "{reason}");
    assert!(!target.exists());
}

#[test]
fn a_symlink_pointing_outside_is_refused_before_anything_is_written_through_it() {
    let (entry, reason) = refused(&[
        Entry::Symlink(
            "istio-1.0.0/manifests/charts/base/templates",
            "../../../../../../..",
        ),
        Entry::File(
            "istio-1.0.0/manifests/charts/base/templates/escaped",
            b"x",
            0o644,
        ),
        ISTIOCTL,
    ]);
    assert_eq!(entry, "istio-1.0.0/manifests/charts/base/templates");
    assert!(reason.contains("points outside"), "{reason}");
}

#[test]
fn an_absolute_symlink_is_refused() {
    let (_, reason) = refused(&[
        ISTIOCTL,
        CHART,
        Entry::Symlink("istio-1.0.0/manifests/charts/base/etc", "/etc"),
    ]);
    assert!(reason.contains("absolute"), "{reason}");
}

#[test]
fn a_symlink_leaving_its_chart_is_refused_though_it_stays_in_the_archive() {
    let (_, reason) = refused(&[
        ISTIOCTL,
        CHART,
        Entry::Symlink("istio-1.0.0/manifests/charts/base/bin", "../../../bin"),
    ]);
    assert!(reason.contains("points outside"), "{reason}");
}

#[test]
fn chained_symlinks_that_escape_only_when_resolved_are_refused() {
    // Each link alone stays inside lexically; `up/..` resolves through `up` to the parent
    // of the chart.
    let (entry, reason) = refused(&[
        ISTIOCTL,
        CHART,
        Entry::Dir("istio-1.0.0/manifests/charts/base/d/"),
        Entry::Symlink("istio-1.0.0/manifests/charts/base/d/up", ".."),
        Entry::Symlink("istio-1.0.0/manifests/charts/base/out", "d/up/.."),
    ]);
    assert!(entry.ends_with("out"), "{entry}");
    assert!(reason.contains("does not resolve"), "{reason}");
}

#[test]
fn writing_below_an_inside_link_is_refused() {
    let (entry, reason) = refused(&[
        ISTIOCTL,
        CHART,
        Entry::Dir("istio-1.0.0/manifests/charts/base/real/"),
        Entry::Symlink("istio-1.0.0/manifests/charts/base/alias", "real"),
        Entry::File(
            "istio-1.0.0/manifests/charts/base/alias/x.yaml",
            b"x",
            0o644,
        ),
    ]);
    assert!(entry.ends_with("alias/x.yaml"), "{entry}");
    assert!(reason.contains("through the link"), "{reason}");
}

#[test]
fn a_hard_link_to_outside_the_tree_is_refused() {
    let (_, reason) = refused(&[
        ISTIOCTL,
        CHART,
        Entry::HardLink("istio-1.0.0/manifests/charts/base/passwd", "/etc/passwd"),
    ]);
    assert!(reason.contains("absolute"), "{reason}");
}

#[test]
fn links_inside_a_chart_are_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a.tar.gz");
    std::fs::write(
        &archive,
        tar_gz(&[
            ISTIOCTL,
            CHART,
            Entry::Symlink(
                "istio-1.0.0/manifests/charts/base/Chart-link.yaml",
                "Chart.yaml",
            ),
            Entry::HardLink(
                "istio-1.0.0/manifests/charts/base/Chart-hard.yaml",
                "istio-1.0.0/manifests/charts/base/Chart.yaml",
            ),
        ]),
    )
    .unwrap();
    let dest = tmp.path().join("dest");
    std::fs::create_dir(&dest).unwrap();
    extract_tar_gz(
        "istio 1.0.0",
        &archive,
        &dest,
        &picks(),
        ExtractLimits::RELEASE,
    )
    .unwrap();
    let base = dest.join("charts/base");
    assert_eq!(
        std::fs::read_link(base.join("Chart-link.yaml")).unwrap(),
        Path::new("Chart.yaml")
    );
    assert_eq!(
        std::fs::read(base.join("Chart-link.yaml")).unwrap(),
        b"name: base\n"
    );
    assert_eq!(
        std::fs::read(base.join("Chart-hard.yaml")).unwrap(),
        b"name: base\n"
    );
}

#[test]
fn a_missing_pick_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a.tar.gz");
    std::fs::write(&archive, tar_gz(&[CHART])).unwrap();
    let err = extract_tar_gz(
        "istio 1.0.0",
        &archive,
        tmp.path(),
        &picks(),
        ExtractLimits::RELEASE,
    )
    .unwrap_err();
    assert!(
        matches!(&err, ToolsError::MissingInArchive { path, .. } if path == "istio-1.0.0/bin/istioctl"),
        "{err}"
    );
}

#[tokio::test]
async fn a_tampered_release_fetched_through_the_mirror_installs_nothing() {
    let fx = Fixture::new(Recorded::all);
    let evil = tar_gz(&[
        Entry::File(
            &format!("istio-{}/bin/istioctl", testkit::ISTIO),
            b"#!/bin/sh\n",
            0o755,
        ),
        Entry::Symlink(
            &format!("istio-{}/manifests/charts/base/x", testkit::ISTIO),
            "../../../../../../../tmp",
        ),
    ]);
    fx.server.serve(&fx.paths.istio, evil.clone());
    let mut recorded = Recorded::all(&fx.artifacts);
    recorded.istio = Some(sha256(&evil));
    fx.write_pins(&recorded);
    let pins = fx.pins();
    let err = e2e::tools::ensure(&fx.opts(), &pins, pins.default_row())
        .await
        .unwrap_err();
    assert!(matches!(err, ToolsError::UnsafeArchive { .. }), "{err}");
    assert!(err.to_string().contains("nothing was installed"), "{err}");
    assert!(
        !fx.cache_dir().join("istio").exists(),
        "{:?}",
        tree(&fx.cache_dir())
    );
    assert!(
        fx.staging_leftovers().is_empty(),
        "{:?}",
        fx.staging_leftovers()
    );
}

#[test]
fn a_directory_entry_after_its_files_is_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a.tar.gz");
    std::fs::write(
        &archive,
        tar_gz(&[
            ISTIOCTL,
            CHART,
            Entry::Dir("istio-1.0.0/manifests/charts/base/"),
        ]),
    )
    .unwrap();
    extract_tar_gz(
        "istio 1.0.0",
        &archive,
        tmp.path(),
        &picks(),
        ExtractLimits::RELEASE,
    )
    .unwrap();
    assert!(tmp.path().join("charts/base/Chart.yaml").is_file());
}

#[test]
fn a_file_that_appears_twice_is_refused() {
    let (entry, reason) = refused(&[ISTIOCTL, CHART, CHART]);
    assert!(entry.ends_with("Chart.yaml"), "{entry}");
    assert!(reason.contains("twice"), "{reason}");
}

/// `name` holding `size` zero bytes: compresses about 1000:1, like a gzip bomb.
fn zeros(size: usize) -> Vec<u8> {
    vec![0; size]
}

const SMALL: ExtractLimits = ExtractLimits {
    file: 1 << 20,
    total: 3 << 19,
};

fn extract_with(entries: &[Entry], limits: ExtractLimits) -> (ToolsError, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("a.tar.gz");
    std::fs::write(&archive, tar_gz(entries)).unwrap();
    let dest = tmp.path().join("dest");
    std::fs::create_dir(&dest).unwrap();
    let err = extract_tar_gz("istio 1.0.0", &archive, &dest, &picks(), limits).unwrap_err();
    (err, tmp)
}

#[test]
fn a_file_that_inflates_past_the_per_file_limit_is_refused_before_it_is_written() {
    let bomb = zeros(4 << 20);
    let archive = tar_gz(&[Entry::File("istio-1.0.0/bin/istioctl", &bomb, 0o755), CHART]);
    assert!(
        archive.len() < 64 * 1024,
        "a small download: {}",
        archive.len()
    );
    let (err, tmp) = extract_with(
        &[Entry::File("istio-1.0.0/bin/istioctl", &bomb, 0o755), CHART],
        SMALL,
    );
    let ToolsError::ArchiveTooLarge {
        entry, what, limit, ..
    } = &err
    else {
        panic!("expected the archive to be refused, got {err}");
    };
    assert_eq!(entry, "istio-1.0.0/bin/istioctl");
    assert_eq!((*what, *limit), ("one file", SMALL.file));
    assert!(err.to_string().contains("nothing was installed"), "{err}");
    assert!(
        tree(&tmp.path().join("dest")).is_empty(),
        "{:?}",
        tree(tmp.path())
    );
}

#[test]
fn files_that_together_pass_the_total_limit_are_refused() {
    let part = zeros(1 << 20); // each within the per-file limit, together past the total
    let (err, _tmp) = extract_with(
        &[
            ISTIOCTL,
            Entry::File("istio-1.0.0/manifests/charts/base/a.yaml", &part, 0o644),
            Entry::File("istio-1.0.0/manifests/charts/base/b.yaml", &part, 0o644),
        ],
        SMALL,
    );
    assert!(
        matches!(&err, ToolsError::ArchiveTooLarge { entry, what: "the extracted files together", limit, .. }
            if entry.ends_with("b.yaml") && *limit == SMALL.total),
        "{err}"
    );
}

#[tokio::test]
async fn a_gzip_bomb_fetched_through_the_mirror_installs_nothing() {
    let fx = Fixture::new(Recorded::all);
    let bomb = zeros(4 << 20);
    let v = testkit::ISTIO;
    let chart = |name: &str| format!("istio-{v}/manifests/charts/{name}/Chart.yaml");
    let (base, istiod, gateway) = (
        chart("base"),
        chart("istio-control/istio-discovery"),
        chart("gateway"),
    );
    // A release in every other respect: without the limit it would install.
    let archive = tar_gz(&[
        Entry::File(&format!("istio-{v}/bin/istioctl"), &bomb, 0o755),
        Entry::File(&base, b"name: base\n", 0o644),
        Entry::File(&istiod, b"name: istiod\n", 0o644),
        Entry::File(&gateway, b"name: gateway\n", 0o644),
    ]);
    fx.server.serve(&fx.paths.istio, archive.clone());
    let mut recorded = Recorded::all(&fx.artifacts);
    recorded.istio = Some(sha256(&archive));
    fx.write_pins(&recorded);
    let pins = fx.pins();
    let mut a = e2e::tools::artifact::for_row(&pins, pins.default_row(), fx.platform).unwrap();
    let e2e::tools::artifact::Unpack::TarGz { limits, .. } = &mut a.istio.unpack else {
        panic!("the Istio release is an archive");
    };
    *limits = SMALL;
    let err = e2e::tools::fetch(&fx.opts(), &[&a.istio])
        .await
        .unwrap_err();
    assert!(matches!(err, ToolsError::ArchiveTooLarge { .. }), "{err}");
    assert!(
        !fx.cache_dir().join("istio").exists(),
        "{:?}",
        tree(&fx.cache_dir())
    );
    assert!(
        fx.staging_leftovers().is_empty(),
        "{:?}",
        fx.staging_leftovers()
    );
}
