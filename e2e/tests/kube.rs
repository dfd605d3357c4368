//! `e2e::kube` against the API stand-in (`testkit::kube_api`): the real kube-rs client,
//! built from a kubeconfig file each test writes, over HTTP on 127.0.0.1.

use std::time::Duration;

use e2e::ErrorKind;
use e2e::config::ClusterName;
use e2e::kube::{Cluster, KubeError, Polling};
use k8s_openapi::api::core::v1::Secret;
use serde_json::{Value, json};
use testkit::kube_api::{Fault, KubeApi, Verb, status};

/// A stand-in, the kubeconfig file written for it, and a client built from that file.
struct Fixture {
    api: KubeApi,
    _dir: tempfile::TempDir,
    cluster: Cluster,
}

/// Waits in these tests look every few milliseconds: they run on the real clock (the
/// client's own timeouts need it), and assert what was seen, never how long it took.
fn quick() -> Polling {
    Polling {
        interval: Duration::from_millis(5),
        webhook_timeout: Duration::from_secs(20),
        crd_timeout: Duration::from_secs(20),
        exec_timeout: Duration::from_secs(20),
    }
}

fn name(text: &str) -> ClusterName {
    text.parse().unwrap()
}

async fn fixture() -> Fixture {
    let api = KubeApi::start();
    let dir = tempfile::tempdir().unwrap();
    let path = api.write_kubeconfig(dir.path(), &name("east"));
    let cluster = Cluster::connect(&name("east"), &path)
        .await
        .unwrap()
        .with_polling(quick());
    Fixture {
        api,
        _dir: dir,
        cluster,
    }
}

fn secret(namespace: &str, name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "data": {"k": "dg=="}})
}

fn names<K: kube::Resource>(objects: &[K]) -> Vec<String> {
    objects
        .iter()
        .map(|o| o.meta().name.clone().unwrap_or_default())
        .collect()
}

// ---------------------------------------------------------------- the client

#[tokio::test]
async fn the_client_comes_from_our_kubeconfig_file_and_sends_its_token() {
    let f = fixture().await;
    assert_eq!(f.cluster.name().as_str(), "east");
    f.cluster.nodes_ready().await.unwrap();
    let requests = f.api.requests();
    let nodes = requests
        .iter()
        .find(|r| r.path == "/api/v1/nodes")
        .expect("the node list reached the stand-in");
    assert_eq!(nodes.method, "GET");
    assert_eq!(nodes.verb, Some(Verb::List));
    assert_eq!(nodes.bearer.as_deref(), Some("stand-in-token-east"));
}

#[tokio::test]
async fn a_missing_kubeconfig_or_context_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.kubeconfig");
    let err = Cluster::connect(&name("east"), &missing).await.unwrap_err();
    assert!(matches!(err, KubeError::Kubeconfig { .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::BadInput);
    assert!(err.to_string().contains("nope.kubeconfig"), "{err}");

    // A file for `east` has no context `kind-west`.
    let api = KubeApi::start();
    let path = api.write_kubeconfig(dir.path(), &name("east"));
    let err = Cluster::connect(&name("west"), &path).await.unwrap_err();
    assert!(matches!(err, KubeError::Kubeconfig { .. }), "{err:?}");
    assert!(err.to_string().contains("kind-west"), "{err}");
    assert_eq!(e2e::Error::from(err).kind(), ErrorKind::BadInput);
    assert!(api.requests().is_empty(), "nothing was asked of any server");
}

// ---------------------------------------------------------------- nodes

fn node(name: &str, ready: &str, reason: &str, message: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
    "status": {"conditions": [
        {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory"},
        {"type": "Ready", "status": ready, "reason": reason, "message": message},
    ]}})
}

#[tokio::test]
async fn nodes_not_ready_are_reported_with_the_reason() {
    let f = fixture().await;
    f.api.seed(node(
        "east-control-plane",
        "True",
        "KubeletReady",
        "kubelet is posting ready status",
    ));
    f.api.seed(node(
        "east-worker",
        "False",
        "KubeletNotReady",
        "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized",
    ));

    let report = f.cluster.nodes_ready().await.unwrap();
    assert!(!report.all_ready());
    let not_ready: Vec<_> = report.not_ready().map(|n| n.name.as_str()).collect();
    assert_eq!(not_ready, ["east-worker"]);
    assert!(
        report.nodes[1]
            .why
            .starts_with("Ready=False, KubeletNotReady: container runtime network not ready"),
        "{}",
        report.nodes[1].why
    );

    let err = f
        .cluster
        .wait_nodes_ready(2, Duration::from_millis(100))
        .await
        .unwrap_err();
    let KubeError::Wait(wait) = &err else {
        panic!("a timeout: {err:?}")
    };
    assert_eq!(wait.what, "cluster `east`: 2 node(s) Ready");
    let seen = wait.last_seen.as_deref().unwrap();
    assert!(
        seen.starts_with(
            "1 of 2 node(s) Ready; not Ready: east-worker (Ready=False, KubeletNotReady"
        ),
        "{seen}"
    );
    assert_eq!(err.kind(), ErrorKind::Failed);

    // Three nodes expected, two registered: the report says so.
    let err = f
        .cluster
        .wait_nodes_ready(3, Duration::from_millis(50))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("2 of 3 node(s) registered"),
        "{err}"
    );

    f.api.set_status(
        "nodes",
        None,
        "east-worker",
        json!({"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}),
    );
    let report = f
        .cluster
        .wait_nodes_ready(2, Duration::from_secs(20))
        .await
        .unwrap();
    assert!(report.all_ready());
    assert_eq!(report.to_string(), "2 of 2 node(s) Ready");
}

// ---------------------------------------------------------------- objects

#[tokio::test]
async fn a_missing_object_is_a_typed_not_found() {
    let f = fixture().await;
    let err = f
        .cluster
        .get::<Secret>("istio-system", "nope")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    let status = err.status().unwrap();
    assert_eq!((status.code, status.reason.as_str()), (404, "NotFound"));
    assert_eq!(
        err.to_string(),
        "cluster `east`: getting Secret istio-system/nope: secrets \"nope\" not found"
    );
    assert_eq!(
        f.cluster
            .get_opt::<Secret>("istio-system", "nope")
            .await
            .unwrap(),
        None
    );
    assert!(!f.cluster.delete::<Secret>("default", "nope").await.unwrap());
}

#[tokio::test]
async fn lists_select_by_label() {
    let f = fixture().await;
    f.api.seed(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}}),
    );
    f.api.seed(secret(
        "istio-system",
        "a",
        json!({"app": "demo", "tier": "x"}),
    ));
    f.api.seed(secret(
        "istio-system",
        "b",
        json!({"app": "demo", "tier": "y"}),
    ));
    f.api
        .seed(secret("istio-system", "c", json!({"app": "other"})));
    f.api.seed(secret("default", "d", json!({"app": "demo"})));
    let list = |selector: &'static str| {
        let cluster = f.cluster.clone();
        async move {
            names(
                &cluster
                    .list::<Secret>("istio-system", selector)
                    .await
                    .unwrap(),
            )
        }
    };
    assert_eq!(list("").await, ["a", "b", "c"]);
    assert_eq!(list("app=demo").await, ["a", "b"]);
    assert_eq!(list("app!=demo").await, ["c"]);
    assert_eq!(list("tier").await, ["a", "b"]);
    assert_eq!(list("!tier").await, ["c"]);
    assert_eq!(list("tier in (y,z)").await, ["b"]);
    assert_eq!(list("tier notin (y)").await, ["a", "c"]);
    let recorded = f.api.requests();
    let last = recorded.last().unwrap();
    assert_eq!(last.query("labelSelector"), Some("tier notin (y)"));

    let err = f
        .cluster
        .list::<Secret>("istio-system", "tier in (y")
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.code), Some(400), "{err:?}");
}

#[tokio::test]
async fn a_label_goes_on_and_off_a_secret() {
    let f = fixture().await;
    f.api.seed(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}}),
    );
    f.api.seed(secret(
        "istio-system",
        "istio-remote-secret-west",
        json!({"keep": "me"}),
    ));
    let labels = |api: &KubeApi| {
        api.object("secrets", Some("istio-system"), "istio-remote-secret-west")
            .unwrap()["metadata"]["labels"]
            .clone()
    };

    let changed: Secret = f
        .cluster
        .set_label(
            "istio-system",
            "istio-remote-secret-west",
            e2e::names::MULTICLUSTER_LABEL,
            Some("true"),
        )
        .await
        .unwrap();
    let expected = json!({"keep": "me", "istio/multiCluster": "true"});
    assert_eq!(labels(&f.api), expected);
    assert_eq!(
        serde_json::to_value(changed.metadata.labels).unwrap(),
        expected
    );

    f.cluster
        .set_label::<Secret>(
            "istio-system",
            "istio-remote-secret-west",
            e2e::names::MULTICLUSTER_LABEL,
            None,
        )
        .await
        .unwrap();
    assert_eq!(labels(&f.api), json!({"keep": "me"}));
    assert_eq!(
        f.api
            .object("secrets", Some("istio-system"), "istio-remote-secret-west")
            .unwrap()["data"],
        json!({"k": "dg=="}),
        "nothing but the label changed"
    );

    let patches: Vec<_> = f
        .api
        .requests()
        .into_iter()
        .filter(|r| r.verb == Some(Verb::Patch))
        .collect();
    assert_eq!(patches.len(), 2);
    assert_eq!(
        patches[1].content_type.as_deref(),
        Some("application/merge-patch+json")
    );
    assert_eq!(
        serde_json::from_str::<Value>(&patches[1].body).unwrap(),
        json!({"metadata": {"labels": {"istio/multiCluster": null}}})
    );

    let err = f
        .cluster
        .set_label::<Secret>("istio-system", "gone", "a", Some("b"))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
async fn an_api_failure_keeps_its_status_and_is_not_retried() {
    let f = fixture().await;
    f.api.fail(
        Fault::new(
            Verb::Get,
            "secrets",
            status::internal_error("etcd is having a bad day"),
        )
        .named("cacerts"),
    );
    let err = f
        .cluster
        .get::<Secret>("istio-system", "cacerts")
        .await
        .unwrap_err();
    let KubeError::Api { status, .. } = &err else {
        panic!("an API error: {err:?}")
    };
    assert_eq!(
        (status.code, status.reason.as_str()),
        (500, "InternalError")
    );
    assert_eq!(err.kind(), ErrorKind::Failed);
    assert_eq!(
        err.to_string(),
        "cluster `east`: getting Secret istio-system/cacerts: Internal error occurred: etcd is having a bad day (HTTP 500 InternalError)"
    );
    assert_eq!(f.api.count(Verb::Get, "secrets"), 1, "no hidden retry");

    // The fault was used up: the next get reaches the store (which has no such Secret).
    let err = f
        .cluster
        .get::<Secret>("istio-system", "cacerts")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
}

#[tokio::test]
async fn a_stopped_server_is_a_request_error() {
    let f = fixture().await;
    drop(f.api);
    let err = f.cluster.nodes_ready().await.unwrap_err();
    assert!(matches!(err, KubeError::Request { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("cluster `east`: listing nodes: "),
        "{err}"
    );
}
