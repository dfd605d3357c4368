//! `cargo xtask certs` as a user runs it: what it prints, where it writes, its exit codes.

use std::path::Path;
use std::process::{Command, Output};

fn xtask(args: &[&str], state_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .env("MESH_STATE_DIR", state_dir)
        .env_remove("GITHUB_ACTIONS")
        .env_remove("MESH_PINS")
        .output()
        .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// No line of any `*-key.pem` under `dir` appears in `printed`.
fn assert_no_key_material(printed: &str, dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            assert_no_key_material(printed, &path);
        } else if path.to_string_lossy().ends_with("key.pem") {
            for line in std::fs::read_to_string(&path)
                .unwrap()
                .lines()
                .filter(|l| !l.starts_with("-----"))
            {
                assert!(
                    !printed.contains(line),
                    "key material of {} printed",
                    path.display()
                );
            }
        }
    }
}

const THREE_CLUSTERS: &str = include_str!("../../fixtures/topology/three-clusters.toml");

#[test]
fn writes_under_the_state_dir_then_reuses() {
    let state = tempfile::tempdir().unwrap();
    let certs = state.path().join("certs");
    let first = xtask(&["certs", "--key-type", "ecdsa-p256"], state.path());
    let (out, err) = text(&first);
    assert!(first.status.success(), "{out}{err}");
    for line in [
        format!(
            "root CA      created     {}",
            certs.join("root-cert.pem").display()
        ),
        format!(
            "cluster1     created     {}/",
            certs.join("cluster1").display()
        ),
        format!(
            "cluster2     created     {}/",
            certs.join("cluster2").display()
        ),
    ] {
        assert!(out.contains(&line), "expected {line:?} in:\n{out}");
    }
    assert!(out.contains("3 new ECDSA P-256 key(s)"), "{out}");
    assert_no_key_material(&(out.clone() + &err), &certs);

    let second = xtask(&["certs"], state.path());
    let (out, err) = text(&second);
    assert!(second.status.success(), "{out}{err}");
    assert!(out.contains("root CA      reused"), "{out}");
    assert!(out.contains("nothing to do"), "{out}");
}

#[test]
fn force_says_what_it_breaks() {
    let state = tempfile::tempdir().unwrap();
    let out_dir = state.path().join("elsewhere");
    let out_arg = out_dir.to_str().unwrap();
    assert!(
        xtask(
            &["certs", "--out", out_arg, "--key-type", "ecdsa-p256"],
            state.path()
        )
        .status
        .success()
    );
    let forced = xtask(
        &[
            "certs",
            "--out",
            out_arg,
            "--key-type",
            "ecdsa-p256",
            "--force",
        ],
        state.path(),
    );
    let (out, err) = text(&forced);
    assert!(forced.status.success(), "{out}{err}");
    assert!(
        out.contains("--force: regenerating the root and every intermediate"),
        "{out}"
    );
    assert!(out.contains("istiod restart"), "{out}");
    assert!(out.contains("root CA      regenerated"), "{out}");
    assert!(!state.path().join("certs").exists(), "--out is honoured");
}

#[test]
fn a_topology_file_adds_a_cluster() {
    let state = tempfile::tempdir().unwrap();
    assert!(
        xtask(&["certs", "--key-type", "ecdsa-p256"], state.path())
            .status
            .success()
    );
    let topology = state.path().join("three.toml");
    std::fs::write(&topology, THREE_CLUSTERS).unwrap();
    let run = xtask(
        &[
            "certs",
            "--config",
            topology.to_str().unwrap(),
            "--key-type",
            "ecdsa-p256",
        ],
        state.path(),
    );
    let (out, err) = text(&run);
    assert!(run.status.success(), "{out}{err}");
    assert!(out.contains("root CA      reused"), "{out}");
    assert!(out.contains("cluster1     reused"), "{out}");
    assert!(out.contains("cluster3     created"), "{out}");
    assert!(out.contains("1 new ECDSA P-256 key(s)"), "{out}");
    assert!(state.path().join("certs/cluster3/ca-key.pem").exists());
}

#[test]
fn bad_input_exits_2_naming_the_problem() {
    let state = tempfile::tempdir().unwrap();

    let unknown = xtask(&["certs", "--key-type", "rsa2048"], state.path());
    assert_eq!(unknown.status.code(), Some(2));
    let (_, err) = text(&unknown);
    assert!(
        err.contains("[possible values: rsa4096, ecdsa-p256]"),
        "{err}"
    );

    let bad_config = state.path().join("bad.toml");
    std::fs::write(&bad_config, "clusters = 3\n").unwrap();
    let run = xtask(
        &["certs", "--config", bad_config.to_str().unwrap()],
        state.path(),
    );
    let (out, err) = text(&run);
    assert_eq!(run.status.code(), Some(2), "{out}{err}");
    assert!(err.contains("bad.toml"), "{err}");
    assert!(
        !state.path().join("certs").exists(),
        "nothing written on bad input"
    );

    // A tampered set: the root key replaced by an intermediate's.
    assert!(
        xtask(&["certs", "--key-type", "ecdsa-p256"], state.path())
            .status
            .success()
    );
    let certs = state.path().join("certs");
    std::fs::copy(
        certs.join("cluster1/ca-key.pem"),
        certs.join("root-key.pem"),
    )
    .unwrap();
    let run = xtask(&["certs"], state.path());
    let (out, err) = text(&run);
    assert_eq!(run.status.code(), Some(2), "{out}{err}");
    assert!(
        err.contains(&certs.join("root-key.pem").display().to_string()),
        "{err}"
    );
    assert!(
        err.contains("\nhint: `cargo xtask certs --force` regenerates"),
        "{err}"
    );
    assert_no_key_material(&(out + &err), &certs);
}

#[test]
fn an_out_that_is_a_file_is_bad_usage() {
    let state = tempfile::tempdir().unwrap();
    let file = state.path().join("a-file");
    std::fs::write(&file, "mine").unwrap();
    for out in [file.clone(), file.join("sub")] {
        let run = xtask(
            &[
                "certs",
                "--out",
                out.to_str().unwrap(),
                "--key-type",
                "ecdsa-p256",
            ],
            state.path(),
        );
        let (stdout, err) = text(&run);
        assert_eq!(run.status.code(), Some(2), "{stdout}{err}");
        assert!(
            err.contains(&format!("{} is not a directory", file.display())),
            "{err}"
        );
        assert!(err.contains("\nhint: pass a directory as --out"), "{err}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "mine");
    }
}

/// `cargo xtask <args>` under `umask 000`, which would leave what it creates open to all.
fn xtask_with_open_umask(args: &[&str], state_dir: &Path) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg("umask 000 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .env("MESH_STATE_DIR", state_dir)
        .env_remove("GITHUB_ACTIONS")
        .env_remove("MESH_PINS")
        .output()
        .unwrap()
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn modes_do_not_depend_on_the_umask() {
    let state = tempfile::tempdir().unwrap();
    let run = xtask_with_open_umask(&["certs", "--key-type", "ecdsa-p256"], state.path());
    assert!(run.status.success(), "{:?}", text(&run));
    let certs = state.path().join("certs");
    assert_eq!(mode(&certs), 0o700);
    assert_eq!(mode(&certs.join(".certs.lock")), 0o600);
    assert_eq!(mode(&certs.join("root-key.pem")), 0o600);
    assert_eq!(mode(&certs.join("cluster1")), 0o700);
}

#[test]
fn an_out_open_to_others_gets_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let state = tempfile::tempdir().unwrap();
    let out = state.path().join("shared");
    std::fs::create_dir(&out).unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = xtask(
        &[
            "certs",
            "--out",
            out.to_str().unwrap(),
            "--key-type",
            "ecdsa-p256",
        ],
        state.path(),
    );
    let (stdout, err) = text(&run);
    assert!(run.status.success(), "{stdout}{err}");
    assert!(
        err.contains(&format!(
            "warning: {} is open to other users (mode 755)",
            out.display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("chmod 700 {}", out.display())),
        "{err}"
    );
    assert_eq!(
        mode(&out),
        0o755,
        "a directory we did not create keeps its mode"
    );

    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o700)).unwrap();
    let run = xtask(&["certs", "--out", out.to_str().unwrap()], state.path());
    let (stdout, err) = text(&run);
    assert!(run.status.success(), "{stdout}{err}");
    assert!(!err.contains("warning"), "{err}");
}

#[test]
fn a_key_open_to_others_is_refused_with_the_chmod() {
    use std::os::unix::fs::PermissionsExt;
    let state = tempfile::tempdir().unwrap();
    assert!(
        xtask(&["certs", "--key-type", "ecdsa-p256"], state.path())
            .status
            .success()
    );
    let key = state.path().join("certs/cluster2/ca-key.pem");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    for args in [&["certs"][..], &["render"][..]] {
        let run = xtask(args, state.path());
        let (stdout, err) = text(&run);
        assert_eq!(run.status.code(), Some(2), "{args:?}: {stdout}{err}");
        assert!(
            err.contains(&format!("chmod 600 {}", key.display())),
            "{args:?}: {err}"
        );
    }
}
