//! The API stand-in itself (`testkit::kube_api`), driven by the plain kube-rs client: what
//! other tests rely on it to answer as the API server does.

use e2e::config::ClusterName;
use e2e::kube::Cluster;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, Service};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::core::Status;
use serde_json::{Value, json};
use testkit::kube_api::{KubeApi, Verb};

async fn client(api: &KubeApi) -> (tempfile::TempDir, kube::Client) {
    let dir = tempfile::tempdir().unwrap();
    let east: ClusterName = "east".parse().unwrap();
    let path = api.write_kubeconfig(dir.path(), &east);
    let cluster = Cluster::connect(&east, &path).await.unwrap();
    (dir, cluster.client().clone())
}

fn api_status(error: kube::Error) -> Status {
    match error {
        kube::Error::Api(status) => *status,
        other => panic!("not an API error: {other:?}"),
    }
}

fn config_map(name: &str) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name}, "data": {"k": "v"}})).unwrap()
}

#[tokio::test]
async fn an_unknown_group_version_is_a_not_found_status() {
    let api = KubeApi::start();
    let (_dir, client) = client(&api).await;
    let gv = "metallb.io/v1beta1".parse().unwrap();
    let Err(error) = kube::discovery::pinned_group(&client, &gv).await else {
        panic!("metallb.io/v1beta1 is not served")
    };
    let status = api_status(error);
    assert_eq!((status.code, status.reason.as_str()), (404, "NotFound"));
    assert_eq!(
        status.message,
        "the server could not find the requested resource"
    );
    let groups = kube::Discovery::new(client).run().await.unwrap();
    assert!(groups.has_group("apps"));
    assert!(!groups.has_group("metallb.io"));
}

#[tokio::test]
async fn writes_follow_the_api_servers_rules() {
    let api = KubeApi::start();
    let (_dir, client) = client(&api).await;
    let maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");

    let created = maps
        .create(&PostParams::default(), &config_map("a"))
        .await
        .unwrap();
    let meta = &created.metadata;
    assert!(meta.uid.is_some() && meta.resource_version.is_some());
    assert_eq!(meta.namespace.as_deref(), Some("default"));

    let status = api_status(
        maps.create(&PostParams::default(), &config_map("a"))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status.code, status.reason.as_str(), status.message.as_str()),
        (409, "AlreadyExists", "configmaps \"a\" already exists")
    );

    // A stale resourceVersion is a conflict; the current one replaces the object.
    let mut stale = created.clone();
    stale.metadata.resource_version = Some("1".into());
    let status = api_status(
        maps.replace("a", &PostParams::default(), &stale)
            .await
            .unwrap_err(),
    );
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
    let mut next = created.clone();
    next.data = Some([("k".to_owned(), "w".to_owned())].into());
    let replaced = maps
        .replace("a", &PostParams::default(), &next)
        .await
        .unwrap();
    assert_eq!(replaced.data.unwrap()["k"], "w");
    assert_ne!(
        replaced.metadata.resource_version,
        created.metadata.resource_version
    );

    // A namespaced object needs its Namespace.
    let elsewhere: Api<ConfigMap> = Api::namespaced(client.clone(), "nowhere");
    let status = api_status(
        elsewhere
            .create(&PostParams::default(), &config_map("b"))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status.code, status.message.as_str()),
        (404, "namespaces \"nowhere\" not found")
    );

    // Apply needs a field manager.
    let status = api_status(
        maps.patch(
            "c",
            &PatchParams::default(),
            &Patch::Apply(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
            ),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(status.code, 400);

    // Watches are not served.
    let status = api_status(
        maps.watch(&kube::api::WatchParams::default(), "0")
            .await
            .err()
            .expect("no watch"),
    );
    assert_eq!(status.code, 405);
}

#[tokio::test]
async fn apply_merges_maps_and_keeps_the_status_apart() {
    let api = KubeApi::start();
    let (_dir, client) = client(&api).await;
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let params = PatchParams::apply("istio-mc-kind").force();
    let first = json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "gw", "labels": {"a": "1"}},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 15443}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}});
    let applied = services
        .patch("gw", &params, &Patch::Apply(&first))
        .await
        .unwrap();
    assert_eq!(applied.status, None, "status goes through /status only");
    assert_eq!(applied.metadata.generation, Some(1));

    let second = json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "gw", "labels": {"b": "2"}},
        "spec": {"ports": [{"port": 15443}, {"port": 15012}]}});
    let applied = services
        .patch("gw", &params, &Patch::Apply(&second))
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&applied.metadata.labels).unwrap(),
        json!({"a": "1", "b": "2"})
    );
    let spec = applied.spec.unwrap();
    assert_eq!(spec.type_.as_deref(), Some("LoadBalancer"));
    assert_eq!(spec.ports.unwrap().len(), 2, "lists are replaced");
    assert_eq!(applied.metadata.generation, Some(2));

    api.set_status(
        "services",
        Some("default"),
        "gw",
        json!({"loadBalancer": {"ingress": [{"ip": "172.18.255.200"}]}}),
    );
    let with_status = services.get_status("gw").await.unwrap();
    let ingress = with_status
        .status
        .unwrap()
        .load_balancer
        .unwrap()
        .ingress
        .unwrap();
    assert_eq!(ingress[0].ip.as_deref(), Some("172.18.255.200"));
    assert_eq!(api.count(Verb::Get, "services/status"), 1);
}

#[tokio::test]
async fn secrets_fold_string_data_and_namespaces_take_their_objects_along() {
    let api = KubeApi::start();
    let (_dir, client) = client(&api).await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "istio-system"}})).unwrap(),
        )
        .await
        .unwrap();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "istio-system");
    let secret: Secret =
        serde_json::from_value(json!({"metadata": {"name": "s"}, "stringData": {"token": "abc"}}))
            .unwrap();
    let created = secrets
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    assert_eq!(created.string_data, None);
    assert_eq!(created.data.unwrap()["token"].0, b"abc");

    namespaces
        .delete("istio-system", &DeleteParams::default())
        .await
        .unwrap();
    let all: Api<Secret> = Api::all(client);
    assert!(
        all.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(api.objects("secrets").is_empty());
    let stored: Vec<Value> = api.objects("namespaces");
    let names: Vec<&str> = stored
        .iter()
        .map(|n| n["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["default", "kube-node-lease", "kube-public", "kube-system"]
    );
}
