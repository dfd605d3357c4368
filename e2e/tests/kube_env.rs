//! A client built by `e2e::kube::Cluster::connect` ignores the environment kube-rs would
//! otherwise read: `KUBECONFIG`, `~/.kube/config` and `HTTPS_PROXY`
//! (kube-client@5.0.0:src/config/file_config.rs `Kubeconfig::read`, src/config/file_loader.rs
//! `proxy_url`). The environment is the process's, so this is the only test in its binary.

use e2e::config::ClusterName;
use e2e::kube::Cluster;
use testkit::kube_api::KubeApi;

#[tokio::test]
async fn the_environment_kubeconfig_home_and_proxy_are_ignored() {
    let traps = tempfile::tempdir().unwrap();
    // A kubeconfig whose server is a closed port; a proxy on a closed port.
    let trap = traps.path().join("trap.kubeconfig");
    std::fs::write(
        &trap,
        "apiVersion: v1\nkind: Config\ncurrent-context: kind-east\nclusters:\n- name: kind-east\n  cluster:\n    server: http://127.0.0.1:9\ncontexts:\n- name: kind-east\n  context:\n    cluster: kind-east\n    user: kind-east\nusers:\n- name: kind-east\n  user:\n    token: trap\n",
    )
    .unwrap();
    // SAFETY: the only test of this binary sets these before it starts anything that
    // reads the environment; no other thread of this process reads it meanwhile.
    unsafe {
        std::env::set_var("KUBECONFIG", &trap);
        std::env::set_var("HOME", traps.path());
        std::env::set_var("HTTPS_PROXY", "http://127.0.0.1:9");
        std::env::set_var("https_proxy", "http://127.0.0.1:9");
    }

    let api = KubeApi::start();
    let dir = tempfile::tempdir().unwrap();
    let east: ClusterName = "east".parse().unwrap();
    let path = api.write_kubeconfig(dir.path(), &east);
    let cluster = Cluster::connect(&east, &path).await.unwrap();
    let report = cluster.nodes_ready().await.unwrap();
    assert!(report.nodes.is_empty());
    let requests = api.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].path, "/api/v1/nodes");
    assert_eq!(requests[0].bearer.as_deref(), Some("stand-in-token-east"));
}
