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
    let cause = std::error::Error::source(&err).unwrap().to_string();
    assert!(
        cause.starts_with("failed to read kubeconfig from"),
        "{cause}"
    );

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
    assert_eq!(err.to_string(), "cluster `east`: listing nodes");
    let cause = std::error::Error::source(&err).expect("what kube-rs said");
    assert!(!cause.to_string().is_empty());
}

// ---------------------------------------------------------------- server-side apply

const METALLB_SUBSET: &str = include_str!("../../fixtures/kube/metallb-native-subset.yaml");
/// Stands in for the CRDs `istio/base` installs: the rendered cross-network Gateway needs
/// its kind served.
const GATEWAY_CRD: &str = include_str!("../../fixtures/crds/istio-gateway-1.30.3.yaml");

fn pins() -> e2e::pins::Pins {
    e2e::pins::Pins::parse(
        include_str!("../../fixtures/pins/two-rows.toml"),
        std::path::Path::new("versions.toml"),
    )
    .unwrap()
}

/// Every field of `sent` is in `stored`, with the same value (maps may have more keys).
fn assert_contains(stored: &Value, sent: &Value, path: &str) {
    match (stored, sent) {
        (Value::Object(stored), Value::Object(sent)) => {
            for (key, value) in sent {
                let child = format!("{path}.{key}");
                let Some(found) = stored.get(key) else {
                    panic!("{child} was sent but is not stored")
                };
                assert_contains(found, value, &child);
            }
        }
        _ => assert_eq!(stored, sent, "{path}"),
    }
}

fn is_our_apply(request: &testkit::kube_api::Recorded) -> bool {
    request.verb == Some(Verb::Apply)
        && request.content_type.as_deref() == Some("application/apply-patch+yaml")
        && request.query("fieldManager") == Some("istio-mc-kind")
        && request.query("force") == Some("true")
        && request.query("fieldValidation") == Some("Strict")
}

#[tokio::test]
async fn every_rendered_object_is_applied_and_reads_back() {
    let f = fixture().await;
    f.cluster
        .apply_manifest("metallb-native-subset.yaml", METALLB_SUBSET)
        .await
        .unwrap();
    f.cluster
        .apply_manifest("istio-gateway CRD", GATEWAY_CRD)
        .await
        .unwrap();
    let before = f.api.requests().len();

    let pins = pins();
    let no_certs = tempfile::tempdir().unwrap();
    let resolved = e2e::render::resolve(&pins, e2e::render::Sources::new(no_certs.path())).unwrap();
    let rendered = resolved.render().unwrap();
    let objects: Vec<&e2e::render::Object> = rendered[0]
        .items()
        .iter()
        .filter_map(|item| match item.body() {
            e2e::render::ItemBody::Object(object) => Some(object),
            _ => None,
        })
        .collect();
    assert!(objects.len() >= 12, "{} objects", objects.len());

    for object in &objects {
        let sent = object.to_json();
        let applied = f.cluster.apply(object).await.unwrap();
        let api_version = sent["apiVersion"].as_str().unwrap();
        let kind = sent["kind"].as_str().unwrap();
        let name = sent["metadata"]["name"].as_str().unwrap();
        assert_eq!(applied.metadata.name.as_deref(), Some(name));
        // Read back through the client, as any kind: discovery says where it lives.
        let served = f.cluster.served_kind(api_version, kind).await.unwrap();
        let api: kube::Api<kube::api::DynamicObject> = match sent["metadata"]["namespace"].as_str()
        {
            Some(ns) => {
                kube::Api::namespaced_with(f.cluster.client().clone(), ns, &served.resource)
            }
            None => kube::Api::all_with(f.cluster.client().clone(), &served.resource),
        };
        let read = serde_json::to_value(api.get(name).await.unwrap()).unwrap();
        assert_contains(&read, &sent, &format!("{kind} {name}"));
        assert_eq!(read["metadata"]["generation"], json!(1));
    }
    let applies: Vec<_> = f.api.requests()[before..]
        .iter()
        .filter(|r| r.verb == Some(Verb::Apply))
        .cloned()
        .collect();
    assert_eq!(applies.len(), objects.len());
    assert!(applies.iter().all(is_our_apply), "{applies:#?}");

    // Applying the same objects again changes nothing the API server counts as a change.
    for object in &objects {
        let again = f.cluster.apply(object).await.unwrap();
        assert_eq!(
            again.metadata.generation,
            Some(1),
            "{:?}",
            again.metadata.name
        );
    }
}

#[tokio::test]
async fn a_manifest_applies_its_crds_first_and_waits_until_they_are_established() {
    let f = fixture().await;
    f.api.delay_crd_establishment(3);
    let applied = f
        .cluster
        .apply_manifest("metallb-native-subset.yaml", METALLB_SUBSET)
        .await
        .unwrap();
    let applied: Vec<String> = applied.iter().map(ToString::to_string).collect();
    assert_eq!(
        applied,
        [
            "CustomResourceDefinition ipaddresspools.metallb.io",
            "CustomResourceDefinition l2advertisements.metallb.io",
            "Namespace metallb-system",
            "ServiceAccount metallb-system/controller",
            "Service metallb-system/metallb-webhook-service",
            "Deployment metallb-system/controller",
            "ValidatingWebhookConfiguration metallb-webhook-configuration",
        ]
    );

    let requests = f.api.requests();
    let crd_gets = |name: &str| {
        requests
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                r.verb == Some(Verb::Get)
                    && r.resource.as_deref()
                        == Some("customresourcedefinitions.apiextensions.k8s.io")
                    && r.name.as_deref() == Some(name)
            })
            .map(|(i, _)| i)
            .collect::<Vec<_>>()
    };
    // Established on the third read: the wait read each CRD three times.
    let pools = crd_gets("ipaddresspools.metallb.io");
    let l2 = crd_gets("l2advertisements.metallb.io");
    assert_eq!((pools.len(), l2.len()), (3, 3));
    let first_other_apply = requests
        .iter()
        .position(|r| r.verb == Some(Verb::Apply) && r.resource.as_deref() == Some("namespaces"))
        .unwrap();
    assert!(pools.iter().chain(&l2).all(|&i| i < first_other_apply));
    assert!(
        requests
            .iter()
            .all(|r| r.verb != Some(Verb::Apply) || is_our_apply(r))
    );

    // Discovery was asked once per group-version the manifest uses.
    for gv in [
        "apiextensions.k8s.io/v1",
        "v1",
        "apps/v1",
        "admissionregistration.k8s.io/v1",
    ] {
        assert_eq!(f.api.count(Verb::Discover, gv), 1, "{gv}");
    }
    // The CRDs' kinds are served now, and our rendered pool applies.
    let served = f
        .cluster
        .served_kind("metallb.io/v1beta1", "IPAddressPool")
        .await
        .unwrap();
    assert!(served.namespaced);
    assert_eq!(served.resource.plural, "ipaddresspools");
    let stored = f
        .api
        .object("deployments.apps", Some("metallb-system"), "controller")
        .unwrap();
    assert_eq!(
        stored["spec"]["template"]["spec"]["serviceAccountName"],
        "controller"
    );
}

#[tokio::test]
async fn a_crd_that_never_becomes_established_times_out_with_its_conditions() {
    let f = fixture().await;
    f.api.delay_crd_establishment(usize::MAX);
    let short = Polling {
        crd_timeout: Duration::from_millis(60),
        ..quick()
    };
    let cluster = f.cluster.clone().with_polling(short);
    let err = cluster
        .apply_manifest("metallb-native-subset.yaml", METALLB_SUBSET)
        .await
        .unwrap_err();
    let KubeError::Wait(wait) = &err else {
        panic!("a timeout: {err:?}")
    };
    assert_eq!(
        wait.what,
        "cluster `east`: CustomResourceDefinition ipaddresspools.metallb.io Established"
    );
    assert_eq!(
        wait.last_seen.as_deref(),
        Some("NamesAccepted=True (NoConflicts), Established=False (Installing)")
    );
    assert_eq!(
        f.api.count(Verb::Apply, "namespaces"),
        0,
        "nothing after the CRDs"
    );
}

#[tokio::test]
async fn a_manifest_with_a_bad_document_applies_nothing() {
    let f = fixture().await;
    let cases = [
        (
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  namespace: a\n",
            "broken.yaml, document 2: the ConfigMap has no metadata.name",
        ),
        (
            "kind: Namespace\nmetadata: {name: a}\n",
            "broken.yaml, document 1: the Namespace has no apiVersion",
        ),
        (
            "---\n- just\n- a list\n",
            "broken.yaml, document 1: is not a mapping, so not a Kubernetes object",
        ),
        ("# nothing\n", "broken.yaml: has no documents"),
    ];
    for (text, message) in cases {
        let err = f
            .cluster
            .apply_manifest("broken.yaml", text)
            .await
            .unwrap_err();
        assert!(matches!(err, KubeError::Manifest { .. }), "{err:?}");
        assert_eq!(err.to_string(), message);
        assert_eq!(err.kind(), ErrorKind::BadInput);
    }
    // A namespaced document must name its namespace.
    let err = f
        .cluster
        .apply_manifest(
            "broken.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
        )
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "broken.yaml, document 1: the ConfigMap c names no namespace, and its kind is namespaced"
    );
    assert!(f.api.requests().iter().all(|r| r.verb != Some(Verb::Apply)));
}

fn pool_object() -> e2e::render::Object {
    let range = e2e::net::Ipv4Range::new(
        "172.18.255.200".parse().unwrap(),
        "172.18.255.250".parse().unwrap(),
    )
    .unwrap();
    e2e::render::Object::IpAddressPool(e2e::render::metallb::address_pool(range))
}

const POOL_WEBHOOK: &str = "ipaddresspoolvalidationwebhook.metallb.io";

fn webhook_down() -> Value {
    status::webhook_unavailable(
        POOL_WEBHOOK,
        "failed to call webhook: Post \"https://metallb-webhook-service.metallb-system.svc:443/validate-metallb-io-v1beta1-ipaddresspool?timeout=10s\": dial tcp 10.96.81.4:443: connect: connection refused",
    )
}

#[tokio::test]
async fn an_apply_is_retried_while_the_webhook_cannot_be_called_and_only_then() {
    let f = fixture().await;
    f.cluster
        .apply_manifest("metallb-native-subset.yaml", METALLB_SUBSET)
        .await
        .unwrap();

    // Fails twice with the webhook error, then goes through.
    f.api
        .fail(Fault::new(Verb::Apply, "ipaddresspools.metallb.io", webhook_down()).times(2));
    let applied = f.cluster.apply(&pool_object()).await.unwrap();
    assert_eq!(
        applied.metadata.name.as_deref(),
        Some(e2e::names::METALLB_POOL)
    );
    assert_eq!(f.api.count(Verb::Apply, "ipaddresspools.metallb.io"), 3);
    assert!(
        f.api
            .object(
                "ipaddresspools.metallb.io",
                Some("metallb-system"),
                e2e::names::METALLB_POOL
            )
            .is_some()
    );

    // Another 500 is not retried.
    f.api.fail(Fault::new(
        Verb::Apply,
        "ipaddresspools.metallb.io",
        status::internal_error("etcdserver: request timed out"),
    ));
    let err = f.cluster.apply(&pool_object()).await.unwrap_err();
    let status = err.status().expect("an API error");
    assert_eq!(
        (status.code, status.reason.as_str()),
        (500, "InternalError")
    );
    assert!(
        err.to_string()
            .contains("applying IPAddressPool metallb-system/default-pool"),
        "{err}"
    );
    assert_eq!(f.api.count(Verb::Apply, "ipaddresspools.metallb.io"), 4);

    // A webhook that never answers: the wait ends with the API server's last word.
    f.api.fail(
        Fault::new(Verb::Apply, "ipaddresspools.metallb.io", webhook_down()).times(usize::MAX),
    );
    let cluster = f.cluster.clone().with_polling(Polling {
        webhook_timeout: Duration::from_millis(60),
        ..quick()
    });
    let err = cluster.apply(&pool_object()).await.unwrap_err();
    let KubeError::Wait(wait) = &err else {
        panic!("a timeout: {err:?}")
    };
    assert_eq!(
        wait.what,
        "cluster `east`: admission webhooks to accept IPAddressPool metallb-system/default-pool"
    );
    let seen = wait.last_seen.as_deref().unwrap();
    assert!(
        seen.starts_with(&format!(
            "Internal error occurred: failed calling webhook \"{POOL_WEBHOOK}\""
        )),
        "{seen}"
    );
    assert!(f.api.count(Verb::Apply, "ipaddresspools.metallb.io") >= 6);
}

#[tokio::test]
async fn a_misspelt_field_in_a_custom_resource_is_refused() {
    let f = fixture().await;
    f.cluster
        .apply_manifest("metallb-native-subset.yaml", METALLB_SUBSET)
        .await
        .unwrap();
    let typo = "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: typo, namespace: metallb-system}\nspec:\n  addresses: [172.18.255.200-172.18.255.250]\n  autoAsign: false\n";
    let err = f
        .cluster
        .apply_manifest("pool.yaml", typo)
        .await
        .unwrap_err();
    let KubeError::Api { status, .. } = &err else {
        panic!("refused by the API server: {err:?}")
    };
    assert_eq!(status.code, 500);
    assert!(
        status
            .message
            .ends_with(".spec.autoAsign: field not declared in schema"),
        "{}",
        status.message
    );
    assert!(
        f.api
            .object("ipaddresspools.metallb.io", Some("metallb-system"), "typo")
            .is_none()
    );
    assert_eq!(
        f.api.count(Verb::Apply, "ipaddresspools.metallb.io"),
        1,
        "not retried"
    );

    // A value of the wrong type is Invalid.
    let wrong = typo.replace("autoAsign: false", "autoAssign: maybe");
    let err = f
        .cluster
        .apply_manifest("pool.yaml", &wrong)
        .await
        .unwrap_err();
    assert_eq!(
        err.status().map(|s| (s.code, s.reason.as_str())),
        Some((422, "Invalid")),
        "{err:?}"
    );

    // Spelt right, it is stored.
    let right = typo.replace("autoAsign", "autoAssign");
    f.cluster.apply_manifest("pool.yaml", &right).await.unwrap();
    let stored = f
        .api
        .object("ipaddresspools.metallb.io", Some("metallb-system"), "typo")
        .unwrap();
    assert_eq!(stored["spec"]["autoAssign"], json!(false));
}

// ---------------------------------------------------------------- exec

#[tokio::test]
async fn exec_returns_output_and_exit_codes() {
    use e2e::kube::{ExecOutput, PodExec};
    let f = fixture().await;
    let clusterz = ["pilot-discovery", "request", "GET", "/debug/clusterz"];
    // Larger than kube-rs' pipe buffers and the stand-in's message size: both streams
    // must be read to their ends.
    let big = format!(
        "[{}]\n",
        vec!["{\"id\":\"west\",\"syncStatus\":\"synced\"}"; 4000].join(",")
    );
    f.api.script_exec(
        "istio-system",
        "istiod-6c9c9d8b5-x7k2p",
        "discovery",
        &clusterz,
        [testkit::kube_api::ExecReply {
            stdout: big.clone(),
            stderr: "a warning\n".repeat(500),
            exit_code: 0,
        }],
    );
    let curl = ["curl", "-sS", "helloworld.sample:5000/hello"];
    f.api.script_exec(
        "sample",
        "curl-0",
        "curl",
        &curl,
        [
            testkit::kube_api::ExecReply::failed(
                7,
                "curl: (7) Failed to connect to helloworld.sample port 5000\n",
            ),
            testkit::kube_api::ExecReply::ok("Hello version: v2, instance: helloworld-v2-7f8d\n"),
        ],
    );

    let out = f
        .cluster
        .exec(
            "istio-system",
            "istiod-6c9c9d8b5-x7k2p",
            "discovery",
            &clusterz,
        )
        .await
        .unwrap();
    assert_eq!(
        out,
        ExecOutput {
            stdout: big,
            stderr: "a warning\n".repeat(500),
            exit_code: 0
        }
    );
    let request = f
        .api
        .requests()
        .into_iter()
        .find(|r| r.verb == Some(Verb::Exec))
        .unwrap();
    assert_eq!(
        request.path,
        "/api/v1/namespaces/istio-system/pods/istiod-6c9c9d8b5-x7k2p/exec"
    );
    assert_eq!(request.query("container"), Some("discovery"));
    let command: Vec<&str> = request
        .query
        .iter()
        .filter(|(k, _)| k == "command")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(command, clusterz);

    let failed = f
        .cluster
        .exec("sample", "curl-0", "curl", &curl)
        .await
        .unwrap();
    assert_eq!(
        failed,
        ExecOutput {
            stdout: String::new(),
            stderr: "curl: (7) Failed to connect to helloworld.sample port 5000\n".into(),
            exit_code: 7
        }
    );
    let ok = f
        .cluster
        .exec("sample", "curl-0", "curl", &curl)
        .await
        .unwrap();
    assert_eq!(ok.exit_code, 0);
    assert_eq!(
        ok.stdout,
        "Hello version: v2, instance: helloworld-v2-7f8d\n"
    );

    // Nothing answers another container: the API server's error, not an exit code.
    let err = f
        .cluster
        .exec("sample", "curl-0", "istio-proxy", &curl)
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.code), Some(500), "{err:?}");
    assert!(err.to_string().contains("running [\"curl\""), "{err}");
}

// ---------------------------------------------------------------- workloads

fn deployment(status: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "istiod", "namespace": "istio-system"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "istiod"}},
                 "template": {"metadata": {"labels": {"app": "istiod"}}, "spec": {"containers": []}}},
        "status": status})
}

fn istio_system(api: &KubeApi) {
    api.seed(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}}),
    );
}

#[tokio::test]
async fn a_rollout_is_awaited_and_a_stuck_one_fails_at_once() {
    use e2e::kube::Rollout;
    let f = fixture().await;
    istio_system(&f.api);

    let err = f
        .cluster
        .wait_rollout("istio-system", "istiod", Duration::from_millis(40))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("last seen: Deployment istio-system/istiod does not exist yet"),
        "{err}"
    );

    f.api.seed(deployment(json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 0})));
    assert_eq!(
        f.cluster.rollout("istio-system", "istiod").await.unwrap(),
        Rollout::Waiting("0 of 1 updated replicas are available".into())
    );
    let err = f
        .cluster
        .wait_rollout("istio-system", "istiod", Duration::from_millis(40))
        .await
        .unwrap_err();
    let KubeError::Wait(wait) = &err else {
        panic!("a timeout: {err:?}")
    };
    assert_eq!(
        wait.what,
        "cluster `east`: Deployment istio-system/istiod rolled out"
    );
    assert_eq!(
        wait.last_seen.as_deref(),
        Some("0 of 1 updated replicas are available")
    );

    f.api.set_status(
        "deployments.apps",
        Some("istio-system"),
        "istiod",
        json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}),
    );
    f.cluster
        .wait_rollout("istio-system", "istiod", Duration::from_secs(20))
        .await
        .unwrap();

    f.api.set_status(
        "deployments.apps",
        Some("istio-system"),
        "istiod",
        json!({"observedGeneration": 1, "conditions": [{"type": "Progressing", "status": "False",
            "reason": "ProgressDeadlineExceeded", "message": "ReplicaSet \"istiod-5d\" has timed out progressing."}]}),
    );
    let gets = f.api.count(Verb::Get, "deployments.apps");
    let err = f
        .cluster
        .wait_rollout("istio-system", "istiod", Duration::from_secs(20))
        .await
        .unwrap_err();
    assert!(matches!(err, KubeError::RolloutFailed { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "cluster `east`: deployment \"istiod\" exceeded its progress deadline"
    );
    assert_eq!(
        f.api.count(Verb::Get, "deployments.apps"),
        gets + 1,
        "no second look"
    );
}

#[tokio::test]
async fn a_load_balancer_ip_is_awaited() {
    let f = fixture().await;
    istio_system(&f.api);
    f.api.seed(json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "istio-eastwestgateway", "namespace": "istio-system"},
        "spec": {"type": "LoadBalancer", "ports": [{"name": "tls", "port": 15443}]},
        "status": {"loadBalancer": {}}}));
    assert!(
        f.cluster
            .load_balancer_ips("istio-system", "istio-eastwestgateway")
            .await
            .unwrap()
            .is_empty()
    );
    let err = f
        .cluster
        .wait_load_balancer_ip(
            "istio-system",
            "istio-eastwestgateway",
            Duration::from_millis(40),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().ends_with(
            "last seen: Service istio-system/istio-eastwestgateway has no ingress IP yet"
        ),
        "{err}"
    );

    f.api.set_status(
        "services",
        Some("istio-system"),
        "istio-eastwestgateway",
        json!({"loadBalancer": {"ingress": [{"hostname": "lb.example"}, {"ip": "172.18.255.200", "ipMode": "VIP"}]}}),
    );
    let ip = f
        .cluster
        .wait_load_balancer_ip(
            "istio-system",
            "istio-eastwestgateway",
            Duration::from_secs(20),
        )
        .await
        .unwrap();
    assert_eq!(ip, "172.18.255.200".parse::<std::net::IpAddr>().unwrap());
}

#[tokio::test]
async fn ready_endpoints_come_from_the_services_endpoint_slices() {
    let f = fixture().await;
    f.api
        .seed(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "sample"}}));
    let slice = |name: &str, service: &str, endpoints: Value| {
        json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name, "namespace": "sample", "labels": {"kubernetes.io/service-name": service}},
            "addressType": "IPv4", "endpoints": endpoints})
    };
    f.api.seed(slice(
        "helloworld-abc",
        "helloworld",
        json!([
            {"addresses": ["10.244.1.7"], "conditions": {"ready": true}},
            {"addresses": ["10.244.1.9"], "conditions": {"ready": false, "terminating": true}},
            {"addresses": ["10.244.2.3"]},
        ]),
    ));
    f.api.seed(slice(
        "helloworld-def",
        "helloworld",
        json!([
            {"addresses": ["10.244.0.5"], "conditions": {"ready": true}},
        ]),
    ));
    f.api.seed(slice(
        "curl-xyz",
        "curl",
        json!([
            {"addresses": ["10.244.3.3"], "conditions": {"ready": true}},
        ]),
    ));
    assert_eq!(
        f.cluster
            .ready_endpoints("sample", "helloworld")
            .await
            .unwrap(),
        ["10.244.0.5", "10.244.1.7", "10.244.2.3"]
    );
    assert!(
        f.cluster
            .ready_endpoints("sample", "nothing")
            .await
            .unwrap()
            .is_empty()
    );
    let list = f
        .api
        .requests()
        .into_iter()
        .find(|r| r.resource.as_deref() == Some("endpointslices.discovery.k8s.io"))
        .unwrap();
    assert_eq!(
        list.query("labelSelector"),
        Some("kubernetes.io/service-name=helloworld")
    );
}

#[tokio::test]
async fn secret_keys_are_awaited_until_the_token_controller_fills_them() {
    let f = fixture().await;
    istio_system(&f.api);
    let token_secret = |data: Value| {
        json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
            "metadata": {"name": "istio-reader-service-account-istio-remote-secret-token", "namespace": "istio-system",
                "annotations": {"kubernetes.io/service-account.name": "istio-reader-service-account"}},
            "data": data})
    };
    let name = "istio-reader-service-account-istio-remote-secret-token";
    assert_eq!(
        f.cluster
            .secret_value("istio-system", name, "token")
            .await
            .unwrap(),
        None
    );
    f.api.seed(token_secret(json!({"ca.crt": "Q0E="})));
    assert_eq!(
        f.cluster
            .secret_value("istio-system", name, "token")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        f.cluster
            .secret_value("istio-system", name, "ca.crt")
            .await
            .unwrap(),
        Some(b"CA".to_vec())
    );
    let err = f
        .cluster
        .wait_secret_keys(
            "istio-system",
            name,
            &["ca.crt", "token"],
            Duration::from_millis(40),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().ends_with(&format!(
            "last seen: Secret istio-system/{name} lacks [\"token\"] (it has [\"ca.crt\"])"
        )),
        "{err}"
    );

    f.api.seed(token_secret(
        json!({"ca.crt": "Q0E=", "token": "ZXlKaGJHY2k=", "namespace": "aXN0aW8tc3lzdGVt"}),
    ));
    let values = f
        .cluster
        .wait_secret_keys(
            "istio-system",
            name,
            &["ca.crt", "token"],
            Duration::from_secs(20),
        )
        .await
        .unwrap();
    assert_eq!(
        values,
        [
            ("ca.crt".to_owned(), b"CA".to_vec()),
            ("token".to_owned(), b"eyJhbGci".to_vec())
        ]
        .into()
    );
}

#[tokio::test]
async fn pods_list_with_their_containers_and_images() {
    use e2e::kube::{ContainerInfo, ContainerRunning};
    let f = fixture().await;
    istio_system(&f.api);
    let pod = |name: &str, app: &str, statuses: Value| {
        json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "istio-system", "labels": {"app": app}},
            "spec": {"containers": [{"name": "discovery", "image": "docker.io/istio/pilot:1.31.1"}]},
            "status": {"phase": "Running", "containerStatuses": statuses}})
    };
    f.api.seed(pod(
        "istiod-b",
        "istiod",
        json!([{"name": "discovery", "image": "docker.io/istio/pilot:1.31.1",
        "imageID": "docker.io/istio/pilot@sha256:0123", "ready": true, "restartCount": 0}]),
    ));
    f.api.seed(pod("istiod-a", "istiod", json!([])));
    f.api
        .seed(pod("gateway-a", "istio-eastwestgateway", json!([])));
    let pods = f.cluster.pods("istio-system", "app=istiod").await.unwrap();
    let names: Vec<&str> = pods.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["istiod-a", "istiod-b"]);
    assert_eq!(pods[0].containers[0].status, None);
    assert_eq!(
        pods[1].containers,
        [ContainerInfo {
            name: "discovery".into(),
            image: "docker.io/istio/pilot:1.31.1".into(),
            status: Some(ContainerRunning {
                image: "docker.io/istio/pilot:1.31.1".into(),
                image_id: "docker.io/istio/pilot@sha256:0123".into(),
                ready: true,
                restart_count: 0,
            }),
        }]
    );
}

#[tokio::test]
async fn delete_removes_the_object() {
    let f = fixture().await;
    istio_system(&f.api);
    f.api.seed(secret(
        "istio-system",
        "istio-remote-secret-west",
        json!({}),
    ));
    assert!(
        f.cluster
            .delete::<Secret>("istio-system", "istio-remote-secret-west")
            .await
            .unwrap()
    );
    assert!(
        f.api
            .object("secrets", Some("istio-system"), "istio-remote-secret-west")
            .is_none()
    );
    assert!(
        !f.cluster
            .delete::<Secret>("istio-system", "istio-remote-secret-west")
            .await
            .unwrap()
    );
    assert_eq!(f.api.count(Verb::Delete, "secrets"), 2);
}
