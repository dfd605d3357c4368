//! Writing a checksum taken from upstream back into the pins file: compare-and-set on the
//! slot, through a symbolic link to its target, never over a read-only file, and with temp
//! files a killed run cannot leave behind for good.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;

use e2e::ErrorKind;
use e2e::pins::Pins;
use e2e::tools::{FetchOptions, Toolbox, ToolsError, ensure};
use testkit::{Behaviour, Fixture, Gate, Recorded, sha256};

fn istio_unrecorded(a: &testkit::Artifacts) -> Recorded {
    Recorded {
        istio: None,
        ..Recorded::all(a)
    }
}

/// `ensure` for the default row on a runtime of its own, in a thread, so the test can act
/// while the download is in flight.
fn ensure_in_thread(
    opts: FetchOptions,
    pins: Pins,
) -> std::thread::JoinHandle<Result<Toolbox, ToolsError>> {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(ensure(&opts, &pins, pins.default_row()))
    })
}

fn run(fx: &Fixture) -> Result<Toolbox, ToolsError> {
    ensure_in_thread(fx.opts(), fx.pins()).join().unwrap()
}

#[test]
fn a_slot_changed_since_the_run_read_it_is_not_overwritten() {
    let fx = Fixture::new(istio_unrecorded);
    let gate = Gate::new();
    fx.server.route(
        &fx.paths.istio,
        Behaviour::Gated {
            body: Arc::new(fx.artifacts.istio.clone()),
            gate: gate.clone(),
        },
    );
    let running = ensure_in_thread(fx.opts(), fx.pins());
    fx.server.wait_for_hits(&fx.paths.istio, 1);
    // While this run downloads, someone records another value in the same slot.
    let theirs = sha256(b"another release");
    fx.write_pins(&Recorded {
        istio: Some(theirs),
        ..Recorded::all(&fx.artifacts)
    });
    let before = std::fs::read_to_string(fx.pins_file()).unwrap();
    gate.open();
    let err = running.join().unwrap().unwrap_err();

    let ours = sha256(&fx.artifacts.istio);
    assert!(matches!(err, ToolsError::RecordChecksum(_)), "{err}");
    assert_eq!(err.kind(), ErrorKind::BadInput);
    let message = err.to_string();
    assert!(
        message.contains("changed since this run read it")
            && message.contains(&theirs.to_string())
            && message.contains(&ours.to_string()),
        "{message}"
    );
    assert_eq!(std::fs::read_to_string(fx.pins_file()).unwrap(), before);
}

#[test]
fn the_same_value_recorded_meanwhile_is_no_conflict() {
    let fx = Fixture::new(istio_unrecorded);
    let gate = Gate::new();
    fx.server.route(
        &fx.paths.istio,
        Behaviour::Gated {
            body: Arc::new(fx.artifacts.istio.clone()),
            gate: gate.clone(),
        },
    );
    let running = ensure_in_thread(fx.opts(), fx.pins());
    fx.server.wait_for_hits(&fx.paths.istio, 1);
    fx.write_pins(&Recorded::all(&fx.artifacts));
    let before = std::fs::read_to_string(fx.pins_file()).unwrap();
    gate.open();
    running.join().unwrap().unwrap();
    assert_eq!(std::fs::read_to_string(fx.pins_file()).unwrap(), before);
}

#[test]
fn a_symlinked_pins_file_is_written_through_to_its_target() {
    let fx = Fixture::new(istio_unrecorded);
    let real = fx.dir.path().join("checkout/pins.toml");
    std::fs::create_dir_all(real.parent().unwrap()).unwrap();
    std::fs::rename(fx.pins_file(), &real).unwrap();
    std::os::unix::fs::symlink(&real, fx.pins_file()).unwrap();

    run(&fx).unwrap();
    assert!(
        std::fs::symlink_metadata(fx.pins_file())
            .unwrap()
            .file_type()
            .is_symlink(),
        "still a link"
    );
    let recorded = Pins::load(&real).unwrap();
    assert_eq!(
        recorded.default_row().sha256[&fx.platform],
        Some(sha256(&fx.artifacts.istio))
    );
}

#[test]
fn a_read_only_pins_file_is_refused_not_replaced() {
    let fx = Fixture::new(istio_unrecorded);
    let path = fx.pins_file();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let before = std::fs::read(&path).unwrap();
    let inode = std::fs::metadata(&path).unwrap().ino();

    let err = run(&fx).unwrap_err();
    assert!(matches!(err, ToolsError::RecordChecksum(_)), "{err}");
    assert_eq!(err.kind(), ErrorKind::BadInput);
    assert!(err.to_string().contains("read-only"), "{err}");
    let after = std::fs::metadata(&path).unwrap();
    assert_eq!(after.ino(), inode, "the same file, not a replacement");
    assert_eq!(after.permissions().mode() & 0o777, 0o444);
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn temp_files_a_killed_write_back_left_are_removed_by_the_next_run() {
    // A run with nothing to record still cleans up.
    let fx = Fixture::new(Recorded::all);
    let stale = fx.dir.path().join(".versions.toml.tmp-Ab12Cd");
    std::fs::write(&stale, b"half a pins file").unwrap();
    run(&fx).unwrap();
    assert_eq!(names(fx.dir.path()), ["cache", "versions.toml"]);

    // And one that records leaves none of its own.
    let fx = Fixture::new(istio_unrecorded);
    let stale = fx.dir.path().join(".versions.toml.tmp-Zz99Yy");
    std::fs::write(&stale, b"half a pins file").unwrap();
    run(&fx).unwrap();
    assert_eq!(names(fx.dir.path()), ["cache", "versions.toml"]);
}
