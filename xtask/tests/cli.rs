//! The command line as a whole: exit codes, a closed stdout, the pins file a run uses, what
//! is checked before Docker, how an error with a cause is printed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The unit tests' pins: two rows (1.31.1 on the default kind, 1.24.1 on its own), with
/// recorded and unrecorded checksums.
fn fixture_pins() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/pins/two-rows.toml")
}

/// `cargo xtask` with a clean environment for what it reads: no pins override, no CI.
fn xtask() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    cmd.env_remove("MESH_PINS")
        .env_remove("GITHUB_ACTIONS")
        .env("NO_COLOR", "1");
    cmd
}

fn run(cmd: &mut Command) -> (Option<i32>, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().unwrap();
    (
        status.code(),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

// ---------------------------------------------------------------- cargo xtask test

/// A `cargo` that has nextest and whose `cargo nextest run` exits with `code`, recording
/// its arguments: the exit codes below are nextest's, so this stands in for any nextest.
fn fake_cargo(dir: &Path, code: i32) -> PathBuf {
    let path = dir.join("cargo");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\n[ \"$2\" = --version ] && exit 0\necho \"$@\" >> \"{}\"\nexit {code}\n",
            dir.join("argv").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    path
}

#[test]
fn nextest_usage_errors_exit_2_and_test_failures_1() {
    // cargo-nextest 0.9.143: `cargo nextest run --bogus-flag` exits 2 (clap's usage code),
    // `--profile bogus` 96 (SETUP_ERROR), a filterset that does not parse 94, a filter that
    // selects nothing 4; failing tests 100, a build that fails 101
    // (nextest-rs/nextest@cargo-nextest-0.9.143:nextest-metadata/src/exit_codes.rs).
    let cases = [
        (2, 2),
        (4, 2),
        (92, 2),
        (94, 2),
        (95, 2),
        (96, 2),
        (100, 1),
        (101, 1),
        (102, 1),
        (104, 1),
        (105, 1),
        (1, 1),
    ];
    for (nextest, ours) in cases {
        let dir = tempfile::tempdir().unwrap();
        let cargo = fake_cargo(dir.path(), nextest);
        let (code, _, err) = run(xtask()
            .args(["test", "--profile", "bogus", "--", "--bogus-flag"])
            .env("CARGO", &cargo));
        assert_eq!(code, Some(ours), "nextest exit {nextest}: {err}");
        assert!(err.contains(&format!("exit status: {nextest}")), "{err}");
        let argv = std::fs::read_to_string(dir.path().join("argv")).unwrap();
        assert_eq!(
            argv.trim(),
            "nextest run --workspace --profile bogus --bogus-flag"
        );
    }
}

// ---------------------------------------------------------------- stdout

/// A pipe whose reading end is already closed: every write to it fails with EPIPE.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    writer.into()
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    // `cargo xtask matrix | true`
    let (code, _, err) = run(xtask()
        .env("MESH_PINS", fixture_pins())
        .arg("matrix")
        .stdout(closed_pipe()));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(err, "", "nothing on stderr: no panic, no backtrace");

    // `cargo xtask render | head -1`: the work is done whatever becomes of the report.
    let state = tempfile::tempdir().unwrap();
    let (code, _, err) = run(xtask()
        .env("MESH_PINS", fixture_pins())
        .env("MESH_STATE_DIR", state.path())
        .args(["render", "--docker-subnet", "172.18.0.0/16"])
        .stdout(closed_pipe()));
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        state
            .path()
            .join("rendered/cluster1/00-kind.yaml")
            .is_file()
    );
}

// ---------------------------------------------------------------- --pins

fn matrix_versions(stdout: &str) -> Vec<String> {
    let json: serde_json::Value = serde_json::from_str(stdout).unwrap();
    json["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["istio"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn pins_come_from_the_flag_then_the_environment_then_the_checkout() {
    let fixture = fixture_pins();
    let (code, out, err) = run(xtask().arg("--pins").arg(&fixture).arg("matrix"));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(matrix_versions(&out), ["1.31.1", "1.24.1"]);

    // The flag is global: after the subcommand too.
    let (code, out, err) = run(xtask().arg("matrix").arg("--pins").arg(&fixture));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(matrix_versions(&out), ["1.31.1", "1.24.1"]);

    let (code, out, err) = run(xtask().env("MESH_PINS", &fixture).arg("matrix"));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(matrix_versions(&out), ["1.31.1", "1.24.1"]);

    // The flag wins over the environment.
    let (code, _, err) =
        run(xtask()
            .env("MESH_PINS", &fixture)
            .args(["--pins", "/no/such/pins.toml", "matrix"]));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("/no/such/pins.toml"), "{err}");

    // Neither: the checkout's versions.toml.
    let checkout =
        e2e::pins::Pins::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../versions.toml"))
            .unwrap();
    let (code, out, err) = run(xtask().arg("matrix"));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        matrix_versions(&out),
        checkout
            .matrix()
            .map(|r| r.version.to_string())
            .collect::<Vec<_>>()
    );
}

#[test]
fn render_reads_the_rows_of_the_given_pins() {
    let state = tempfile::tempdir().unwrap();
    let (code, _, err) = run(xtask()
        .env("MESH_STATE_DIR", state.path())
        .arg("--pins")
        .arg(fixture_pins())
        .args(["render", "--istio", "1.30.4"]));
    assert_eq!(
        code,
        Some(2),
        "1.30.4 is a row of the checkout's pins only: {err}"
    );
    assert!(err.contains("known versions: 1.31.1, 1.24.1"), "{err}");
}

#[test]
fn checksums_are_written_back_to_the_given_pins() {
    let fixture = testkit::Fixture::new(|a| testkit::Recorded {
        kind: None,
        ..testkit::Recorded::all(a)
    });
    let checkout_pins = Path::new(env!("CARGO_MANIFEST_DIR")).join("../versions.toml");
    let before = std::fs::read(&checkout_pins).unwrap();
    let (code, out, err) = run(xtask()
        .arg("--pins")
        .arg(fixture.pins_file())
        .args(["tools", "--mirror", &fixture.server.url(), "--cache-dir"])
        .arg(fixture.cache_dir()));
    assert_eq!(code, Some(0), "{out}{err}");
    let kind = fixture.pins().default_row().kind.clone();
    assert_eq!(
        kind.sha256[&fixture.platform],
        Some(testkit::sha256(&fixture.artifacts.kind)),
        "recorded in the pins file the run used"
    );
    assert_eq!(
        std::fs::read(&checkout_pins).unwrap(),
        before,
        "the checkout's versions.toml is untouched"
    );
}

// ---------------------------------------------------------------- e2e

#[test]
fn e2e_checks_its_arguments_before_docker() {
    let no_docker = tempfile::tempdir().unwrap();
    let (code, _, err) = run(xtask()
        .env("PATH", no_docker.path())
        .arg("--pins")
        .arg(fixture_pins())
        .args(["e2e", "--istio", "9.9.9"]));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("Istio 9.9.9 has no row"), "{err}");
    assert!(!err.contains("docker"), "Docker is not looked at: {err}");
}

// ---------------------------------------------------------------- errors

#[test]
fn an_io_error_prints_its_cause_once() {
    let missing = "/no/such/topology.toml";
    let (code, _, err) = run(xtask()
        .arg("--pins")
        .arg(fixture_pins())
        .args(["render", "--config", missing]));
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    assert!(err.contains(missing), "{err}");

    // A CA file that cannot be read: certs' own I/O error.
    let state = tempfile::tempdir().unwrap();
    let out = state.path().join("certs");
    let (code, _, err) = run(xtask().env("MESH_STATE_DIR", state.path()).args([
        "certs",
        "--key-type",
        "ecdsa-p256",
    ]));
    assert_eq!(code, Some(0), "{err}");
    std::fs::remove_file(out.join("root-key.pem")).unwrap();
    std::fs::create_dir(out.join("root-key.pem")).unwrap();
    std::fs::set_permissions(
        out.join("root-key.pem"),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let (code, _, err) = run(xtask().env("MESH_STATE_DIR", state.path()).args(["certs"]));
    assert_ne!(code, Some(0), "{err}");
    let cause = "Is a directory";
    assert_eq!(err.matches(cause).count(), 1, "{err}");
}
