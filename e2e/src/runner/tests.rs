use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;

fn env_of(tool: Tool, kubeconfig: Option<&Path>, parent: &[(&str, &str)]) -> Vec<(String, String)> {
    let parent = parent
        .iter()
        .map(|(k, v)| (OsString::from(k), OsString::from(v)));
    env::child_env(
        tool,
        &EnvPaths::under(Path::new("/state")),
        kubeconfig,
        parent,
    )
    .into_iter()
    .map(|(k, v)| (k.into_string().unwrap(), v.into_string().unwrap()))
    .collect()
}

fn get<'a>(env: &'a [(String, String)], name: &str) -> Option<&'a str> {
    env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

const PARENT: &[(&str, &str)] = &[
    ("PATH", "/usr/bin"),
    ("HOME", "/home/u"),
    ("KUBECONFIG", "/home/u/.kube/config"),
    ("DOCKER_HOST", "unix:///run/user/docker.sock"),
    ("KIND_CLUSTER_NAME", "theirs"),
    ("KIND_EXPERIMENTAL_DOCKER_NETWORK", "other"),
    ("KIND_EXPERIMENTAL_PROVIDER", "podman"),
    ("HELM_NAMESPACE", "default"),
    ("HELM_KUBECONTEXT", "prod"),
    ("XDG_CACHE_HOME", "/home/u/.cache"),
    ("ISTIOCTL_XDS_ADDRESS", "x"),
    ("ISTIOCONFIG", "/home/u/.istioctl/config.yaml"),
];

#[test]
fn every_tool_gets_our_kubeconfig_and_never_the_users() {
    let ours = Path::new("/state/kubeconfig/cluster1.yaml");
    for tool in [Tool::Kind, Tool::Helm, Tool::Istioctl, Tool::Docker] {
        let env = env_of(tool, Some(ours), PARENT);
        assert_eq!(
            get(&env, "KUBECONFIG"),
            Some("/state/kubeconfig/cluster1.yaml"),
            "{tool}"
        );
        assert_eq!(env.iter().filter(|(k, _)| k == "KUBECONFIG").count(), 1);
        let none = env_of(tool, None, PARENT);
        assert_eq!(
            get(&none, "KUBECONFIG"),
            Some("/state/kubeconfig/none.yaml"),
            "{tool}"
        );
        assert_eq!(
            get(&env, "PATH"),
            Some("/usr/bin"),
            "{tool}: kind finds docker on PATH"
        );
    }
}

#[test]
fn kind_loses_the_name_and_network_overrides_and_keeps_the_provider() {
    let env = env_of(Tool::Kind, None, PARENT);
    assert_eq!(get(&env, "KIND_CLUSTER_NAME"), None);
    assert_eq!(get(&env, "KIND_EXPERIMENTAL_DOCKER_NETWORK"), None);
    assert_eq!(get(&env, "KIND_EXPERIMENTAL_PROVIDER"), Some("podman"));
    assert_eq!(
        get(&env, "DOCKER_HOST"),
        Some("unix:///run/user/docker.sock")
    );
    assert_eq!(get(&env, "HOME"), Some("/home/u"), "docker reads ~/.docker");
}

#[test]
fn helm_writes_only_under_the_state_directory() {
    let env = env_of(Tool::Helm, None, PARENT);
    assert_eq!(get(&env, "HELM_CACHE_HOME"), Some("/state/helm/cache"));
    assert_eq!(get(&env, "HELM_CONFIG_HOME"), Some("/state/helm/config"));
    assert_eq!(get(&env, "HELM_DATA_HOME"), Some("/state/helm/data"));
    assert_eq!(get(&env, "KUBECACHEDIR"), Some("/state/kube-cache"));
    assert_eq!(get(&env, "HELM_NAMESPACE"), None);
    assert_eq!(get(&env, "HELM_KUBECONTEXT"), None);
    assert_eq!(get(&env, "XDG_CACHE_HOME"), None);
}

#[test]
fn istioctl_gets_a_home_of_its_own() {
    let env = env_of(Tool::Istioctl, None, PARENT);
    assert_eq!(get(&env, "HOME"), Some("/state/home/istioctl"));
    assert_eq!(get(&env, "ISTIOCTL_XDS_ADDRESS"), None);
    assert_eq!(get(&env, "ISTIOCONFIG"), None);
}

#[test]
fn docker_keeps_the_users_engine_settings() {
    let env = env_of(Tool::Docker, None, PARENT);
    for name in ["DOCKER_HOST", "HOME", "KIND_CLUSTER_NAME", "HELM_NAMESPACE"] {
        assert!(get(&env, name).is_some(), "{name}");
    }
}

#[test]
fn command_lines_are_shell_quoted_and_start_with_the_tool() {
    let inv = Invocation::new(Tool::Docker, ["info", "--format", "{{.ServerVersion}}"]);
    assert_eq!(inv.argv()[0], "docker");
    assert_eq!(
        inv.command_line(),
        "docker info --format '{{.ServerVersion}}'"
    );
    let inv = Invocation::new(Tool::Kind, ["delete", "cluster", "--name", "c1"])
        .kubeconfig(Path::new("/s/kubeconfig/c1.yaml"));
    assert_eq!(
        inv.command_line(),
        "kind delete cluster --name c1 --kubeconfig /s/kubeconfig/c1.yaml"
    );
    assert_eq!(
        inv.kubeconfig.as_deref(),
        Some(Path::new("/s/kubeconfig/c1.yaml"))
    );
}

#[test]
fn the_stderr_tail_keeps_the_last_twenty_lines() {
    let text: String = (1..=30).map(|i| format!("line {i}\n")).collect();
    let tail = error::stderr_tail(&format!("{text}\n\n"));
    assert_eq!(tail.len(), 20);
    assert_eq!(tail[0], "line 11");
    assert_eq!(tail[19], "line 30");
}

/// A `docker` stand-in: a shell script with `body`.
fn script(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("docker");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn runner(dir: &Path, body: &str) -> Runner {
    Runner::with_docker(
        EnvPaths::under(&dir.join("state")),
        Cancel::new(),
        Some(script(dir, body)),
    )
}

#[tokio::test]
async fn output_is_captured_and_kubeconfig_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let r = runner(dir.path(), r#"echo "out $1 $KUBECONFIG"; echo err >&2"#);
    let inv = Invocation::new(Tool::Docker, ["info"]).kubeconfig(Path::new("/k.yaml"));
    let out = r.run(&inv).await.unwrap();
    assert_eq!(out.stdout, "out info /k.yaml\n");
    assert_eq!(out.stderr, "err\n");
    assert!(out.success());
}

#[tokio::test]
async fn a_failure_names_the_command_status_and_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let r = runner(
        dir.path(),
        "echo 'first' >&2; echo 'ERROR: it broke' >&2; exit 3",
    );
    let inv = Invocation::new(Tool::Docker, ["network", "inspect", "kind"]);
    let err = r.run(&inv).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("`docker network inspect kind` failed (exit status 3)"),
        "{text}"
    );
    assert!(text.ends_with("\n    first\n    ERROR: it broke"), "{text}");
    assert_eq!(err.stderr_tail(), ["first", "ERROR: it broke"]);
    assert_eq!(err.kind(), crate::ErrorKind::Failed);
    // `output` hands the same result back without judging it.
    let out = r.output(&inv).await.unwrap();
    assert_eq!(out.code, Some(3));
}

#[tokio::test]
async fn a_call_past_its_timeout_is_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let r = runner(dir.path(), "exec sleep 60");
    let inv = Invocation::new(Tool::Docker, ["pull", "x"]).timeout(Duration::from_millis(100));
    let err = r.run(&inv).await.unwrap_err();
    assert!(matches!(err, RunError::Timeout { .. }), "{err}");
}

#[tokio::test]
async fn a_cancelled_call_may_finish_within_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let go = dir.path().join("go");
    let started = dir.path().join("started");
    let body = format!(
        "touch {s}; while [ ! -e {g} ]; do sleep 0.01; done; echo finished",
        s = started.display(),
        g = go.display()
    );
    let r = runner(dir.path(), &body).with_grace(Duration::from_secs(60));
    let call = tokio::spawn({
        let r = r.clone();
        async move { r.run(&Invocation::new(Tool::Docker, ["info"])).await }
    });
    while !started.exists() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    r.cancel().cancel();
    tokio::task::yield_now().await;
    std::fs::write(&go, "").unwrap();
    let out = call.await.unwrap().unwrap();
    assert_eq!(out.stdout, "finished\n");
    // Nothing new starts once cancelled.
    let err = r
        .run(&Invocation::new(Tool::Docker, ["info"]))
        .await
        .unwrap_err();
    assert!(matches!(err, RunError::Cancelled { .. }), "{err}");
    assert_eq!(err.kind(), crate::ErrorKind::Interrupted);
}

#[tokio::test]
async fn a_cancelled_call_is_killed_after_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let started = dir.path().join("started");
    let body = format!("touch {}; exec sleep 60", started.display());
    let r = runner(dir.path(), &body).with_grace(Duration::from_millis(50));
    let call = tokio::spawn({
        let r = r.clone();
        async move { r.run(&Invocation::new(Tool::Docker, ["info"])).await }
    });
    while !started.exists() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    r.cancel().cancel();
    let err = call.await.unwrap().unwrap_err();
    assert!(matches!(err, RunError::Cancelled { .. }), "{err}");
}

#[tokio::test]
async fn pinned_tools_come_from_the_toolbox_only() {
    let dir = tempfile::tempdir().unwrap();
    let r = runner(dir.path(), "true");
    let err = r.program(Tool::Kind).unwrap_err();
    assert_eq!(
        err.to_string(),
        "kind is not available: the pinned tools are not fetched yet"
    );
    let none = Runner::with_docker(EnvPaths::under(dir.path()), Cancel::new(), None);
    assert!(none.program(Tool::Docker).is_err());
}

#[test]
fn docker_is_found_on_path() {
    let dir = tempfile::tempdir().unwrap();
    let found = script(dir.path(), "true");
    let path = std::env::join_paths([
        "relative/dir".as_ref(),
        Path::new("/nonexistent"),
        dir.path(),
    ])
    .unwrap();
    assert_eq!(find_on_path("docker", &path), Some(found));
    std::fs::set_permissions(
        dir.path().join("docker"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    assert_eq!(find_on_path("docker", &path), None, "not executable");
}
