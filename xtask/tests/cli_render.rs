//! `cargo xtask render` as a user runs it: what it says it stood in for, where it writes,
//! its exit codes and hints.

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

#[test]
fn without_certs_or_docker_it_says_what_it_stood_in_for() {
    let state = tempfile::tempdir().unwrap();
    let run = xtask(&["render"], state.path());
    let (out, err) = text(&run);
    assert!(run.status.success(), "{out}{err}");
    assert!(
        err.contains("note: assuming the kind docker network is 172.18.0.0/16"),
        "{err}"
    );
    let certs = state.path().join("certs");
    assert!(
        out.contains(&format!(
            "cacerts: no certificates in {} for cluster1, cluster2",
            certs.display()
        )),
        "{out}"
    );
    assert!(
        out.contains("remote secrets: server, CA and token are PLACEHOLDERs"),
        "{out}"
    );
    let rendered = state.path().join("rendered");
    assert!(
        out.contains(&format!("into {}", rendered.display())),
        "{out}"
    );
    assert!(rendered.join("cluster1/21-cacerts-secret.yaml").is_file());
}

#[test]
fn a_given_subnet_and_made_certs_are_used() {
    let state = tempfile::tempdir().unwrap();
    let certs = xtask(&["certs", "--key-type", "ecdsa-p256"], state.path());
    assert!(certs.status.success(), "{:?}", text(&certs));
    let run = xtask(&["render", "--docker-subnet", "10.89.0.0/24"], state.path());
    let (out, err) = text(&run);
    assert!(run.status.success(), "{out}{err}");
    assert!(!err.contains("note: assuming"), "{err}");
    assert!(
        out.contains("MetalLB range 10.89.0.224-10.89.0.239"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "cacerts: from {}",
            state.path().join("certs").display()
        )),
        "{out}"
    );
    let secret = std::fs::read_to_string(
        state
            .path()
            .join("rendered/cluster1/21-cacerts-secret.yaml"),
    )
    .unwrap();
    assert!(!secret.contains("PLACEHOLDER"), "real CA files are used");
}

#[test]
fn bad_input_exits_2_with_the_fix() {
    let state = tempfile::tempdir().unwrap();

    let run = xtask(&["render", "--docker-subnet", "172.18.0.0"], state.path());
    let (_, err) = text(&run);
    assert_eq!(run.status.code(), Some(2), "{err}");
    assert!(err.contains("is not an IPv4 CIDR"), "{err}");

    let run = xtask(&["render", "--docker-subnet", "10.0.0.0/8"], state.path());
    let (_, err) = text(&run);
    assert_eq!(run.status.code(), Some(2), "{err}");
    assert!(err.contains("overlaps the kind docker network"), "{err}");

    let foreign = state.path().join("mine");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "keep").unwrap();
    let run = xtask(
        &["render", "--out", foreign.to_str().unwrap()],
        state.path(),
    );
    let (_, err) = text(&run);
    assert_eq!(run.status.code(), Some(2), "{err}");
    assert!(err.contains("refusing to replace it"), "{err}");
    assert!(
        err.contains("\nhint: pass an empty or new --out directory"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&foreign).unwrap().count(), 1);
}

#[test]
fn an_out_under_a_file_is_bad_usage() {
    let state = tempfile::tempdir().unwrap();
    let file = state.path().join("a-file");
    std::fs::write(&file, "mine").unwrap();
    for out in [file.clone(), file.join("sub")] {
        let run = xtask(&["render", "--out", out.to_str().unwrap()], state.path());
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

#[test]
fn folders_holding_secrets_are_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let state = tempfile::tempdir().unwrap();
    let out = state.path().join("new/deep/rendered");
    let run = Command::new("sh")
        .arg("-c")
        .arg("umask 000 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_xtask"))
        .args(["render", "--out", out.to_str().unwrap()])
        .env("MESH_STATE_DIR", state.path())
        .env_remove("MESH_PINS")
        .output()
        .unwrap();
    assert!(run.status.success(), "{:?}", text(&run));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    for dir in [
        state.path().join("new"),
        state.path().join("new/deep"),
        out.clone(),
        out.join("cluster1"),
        out.join("cluster2"),
    ] {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
    }
    assert_eq!(mode(&out.join("cluster1/21-cacerts-secret.yaml")), 0o600);
    assert_eq!(mode(&out.join("cluster1/00-kind.yaml")), 0o644);
}

#[test]
fn an_unreadable_certs_directory_is_an_error_naming_it() {
    let state = tempfile::tempdir().unwrap();
    // A directory that cannot be opened, even by root: a symlink to itself.
    let certs = state.path().join("certs");
    std::os::unix::fs::symlink(&certs, &certs).unwrap();
    let run = xtask(&["render"], state.path());
    let (stdout, err) = text(&run);
    assert_ne!(run.status.code(), Some(0), "{stdout}{err}");
    assert!(err.contains(&certs.display().to_string()), "{err}");
    assert!(!stdout.contains("PLACEHOLDER"), "{stdout}");
    assert!(!state.path().join("rendered").exists());
}

#[test]
fn an_existing_open_out_is_replaced_by_a_private_one() {
    use std::os::unix::fs::PermissionsExt;
    // `render` swaps in a whole new directory, so an open `--out` does not stay open (and
    // needs no warning, unlike `certs --out`, which keeps the directory it is given).
    let state = tempfile::tempdir().unwrap();
    let out = state.path().join("open");
    std::fs::create_dir(&out).unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = xtask(&["render", "--out", out.to_str().unwrap()], state.path());
    let (stdout, err) = text(&run);
    assert!(run.status.success(), "{stdout}{err}");
    assert!(!err.contains("warning"), "{err}");
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o700);
}
