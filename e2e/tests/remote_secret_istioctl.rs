//! Our remote secret against what `istioctl create-remote-secret` prints for the same
//! inputs, at both ends of the supported range. The recorded outputs
//! (`fixtures/istioctl/<version>/create-remote-secret.cluster2.stdout`) follow Istio's own
//! golden strings (istio/istio@1.24.1 and release-1.31:
//! istioctl/pkg/multicluster/remote_secret_test.go). Parsed structures are compared, not
//! bytes; every place where ours differs on purpose is one step below, which first checks
//! that the difference is really there, so the list cannot outlive the differences.

use std::collections::BTreeMap;
use std::path::Path;

use e2e::config::{ClusterName, Topology};
use e2e::net::DockerNetwork;
use e2e::pins::{IstioRow, Pins};
use e2e::render::remote_secret::RemoteAccess;
use e2e::render::{ItemBody, ItemKey, MeshInputs, Object, placeholder_cacerts, render_mesh};
use serde_json::{Map, Value};

/// The values the recorded istioctl run was given: `--server https://172.18.0.3:6443`, and
/// the reader token Secret's `ca.crt` and `token` (fake, as the fixture's header says).
fn cluster2_access() -> RemoteAccess {
    RemoteAccess {
        server: "https://172.18.0.3:6443".parse().unwrap(),
        ca_pem: "-----BEGIN CERTIFICATE-----\nFAKE cluster2 kubernetes CA (ca.crt of the reader token secret) for istio-mc-kind test fixtures\n-----END CERTIFICATE-----\n".into(),
        token: "FAKE-SERVICE-ACCOUNT-TOKEN-cluster2-istio-reader-service-account".into(),
    }
}

fn pins() -> Pins {
    let root = e2e::dirs::workspace_root();
    let text = std::fs::read_to_string(root.join("fixtures/pins/two-rows.toml")).unwrap();
    Pins::parse(&text, Path::new("versions.toml")).unwrap()
}

fn cluster(name: &str) -> ClusterName {
    name.parse().unwrap()
}

/// cluster1's remote secret for cluster2 in the default topology, as server-side apply
/// would send it.
fn ours(row: &IstioRow, pins: &Pins) -> Value {
    let topology = Topology::default();
    let cacerts = topology
        .cluster_names()
        .map(|n| (n.clone(), placeholder_cacerts(n)))
        .collect();
    let access = BTreeMap::from([
        (
            cluster("cluster1"),
            RemoteAccess::placeholder(&cluster("cluster1")),
        ),
        (cluster("cluster2"), cluster2_access()),
    ]);
    let rendered = render_mesh(&MeshInputs {
        topology: &topology,
        row,
        samples: pins.samples(),
        network: DockerNetwork::from_subnet("172.18.0.0/16".parse().unwrap()),
        cacerts: &cacerts,
        remote_access: &access,
    })
    .unwrap();
    assert_eq!(rendered[0].cluster(), &cluster("cluster1"));
    let item = rendered[0]
        .item(&ItemKey::RemoteSecret(cluster("cluster2")))
        .expect("cluster1 holds the remote secret of its peer cluster2");
    let ItemBody::Object(object @ Object::Secret(_)) = item.body() else {
        panic!("a remote secret is a Secret")
    };
    object.to_json()
}

/// istioctl's output for `version`: one YAML document (the `#` lines are comments, the
/// trailing `---` starts an empty one).
fn istioctl(version: &str) -> Value {
    let path = e2e::dirs::workspace_root()
        .join("fixtures/istioctl")
        .join(version)
        .join("create-remote-secret.cluster2.stdout");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut documents = e2e::yaml::documents(&text).unwrap();
    assert_eq!(documents.len(), 1, "{}", path.display());
    documents.remove(0)
}

fn object(value: &mut Value) -> &mut Map<String, Value> {
    value.as_object_mut().expect("an object")
}

/// Takes `key` out of `map`, which must hold it.
fn take(map: &mut Map<String, Value>, key: &str) -> Value {
    map.remove(key)
        .unwrap_or_else(|| panic!("`{key}` is missing from {map:?}"))
}

fn kubeconfig(text: &str) -> Value {
    e2e::yaml::from_str(text).unwrap()
}

fn row<'p>(pins: &'p Pins, version: &str) -> &'p IstioRow {
    pins.rows()
        .iter()
        .find(|r| r.version.to_string() == version)
        .unwrap_or_else(|| panic!("the fixture pins have no row {version}"))
}

/// Both secrets with every listed difference taken out, each after checking it is there.
fn without_differences(mut ours: Value, mut theirs: Value, istio_1_24: bool) -> (Value, Value) {
    // 1. `data` (base64) where istioctl prints `stringData`. istioctl converts to
    //    stringData only "for easier review"; the API server stores it as data
    //    (istio/istio@1.24.1:istioctl/pkg/multicluster/remote_secret.go
    //    `CreateRemoteSecret`), and istiod reads `Data`
    //    (pkg/kube/multicluster/secretcontroller.go `addSecret`). We apply a typed Secret,
    //    whose `data` is what the API server returns, so a re-apply finds its own field.
    let mut data = take(object(&mut ours), "data");
    assert!(
        object(&mut theirs).get("data").is_none(),
        "istioctl prints no data"
    );
    let string_data = object(&mut theirs)
        .get_mut("stringData")
        .and_then(Value::as_object_mut)
        .expect("istioctl prints stringData");
    for (key, value) in string_data.iter_mut() {
        *value = kubeconfig(value.as_str().expect("stringData values are strings"));
        let encoded = take(object(&mut data), key);
        let decoded: k8s_openapi::ByteString = serde_json::from_value(encoded).unwrap();
        object(&mut data).insert(
            key.clone(),
            kubeconfig(std::str::from_utf8(&decoded.0).unwrap()),
        );
    }
    object(&mut ours).insert("stringData".into(), data);

    // 2. `type: Opaque` spelled out; istioctl leaves the type empty, which the API server
    //    defaults to Opaque (kubernetes/kubernetes pkg/apis/core/v1/defaults.go
    //    `SetDefaults_Secret`). Server-side apply then owns the value it would get anyway.
    assert_eq!(take(object(&mut ours), "type"), "Opaque");
    assert!(object(&mut theirs).get("type").is_none());

    let metadata = object(&mut theirs)
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
        .unwrap();
    if istio_1_24 {
        // 3. 1.24.1's serializer prints the zero `creationTimestamp: null` of an object
        //    never stored; later k8s.io/apimachinery tags the field `omitzero`
        //    (pkg/apis/meta/v1/types.go). It is no field anyone sets.
        assert_eq!(take(metadata, "creationTimestamp"), Value::Null);
    } else {
        assert!(metadata.get("creationTimestamp").is_none());
    }
    let config = theirs
        .pointer_mut("/stringData/cluster2")
        .and_then(Value::as_object_mut)
        .expect("istioctl's kubeconfig for cluster2");
    if istio_1_24 {
        // 4. ... and clientcmd's empty `preferences: {}`, which holds nothing.
        assert_eq!(take(config, "preferences"), serde_json::json!({}));
    } else {
        assert!(config.get("preferences").is_none());
    }
    (ours, theirs)
}

fn compare(version: &str, istio_1_24: bool) {
    let pins = pins();
    let (ours, theirs) = without_differences(
        ours(row(&pins, version), &pins),
        istioctl(version),
        istio_1_24,
    );
    // Everything else is equal: name, namespace, the label istiod selects on, the cluster
    // annotation, the data key, and the kubeconfig field by field.
    assert_eq!(ours, theirs, "Istio {version}");
}

#[test]
fn our_remote_secret_equals_istioctl_1_24_1_but_for_the_listed_differences() {
    compare("1.24.1", true);
}

#[test]
fn our_remote_secret_equals_istioctl_1_31_but_for_the_listed_differences() {
    compare("1.31.1", false);
}

#[test]
fn any_other_difference_fails_the_comparison() {
    let pins = pins();
    let rendered = ours(row(&pins, "1.31.1"), &pins);
    let changes: [(&str, Value); 4] = [
        ("/metadata/labels/istio~1multiCluster", "false".into()),
        (
            "/metadata/annotations/networking.istio.io~1cluster",
            "cluster3".into(),
        ),
        ("/metadata/namespace", "istio-other".into()),
        ("/metadata/name", "istio-remote-secret-cluster3".into()),
    ];
    for (pointer, value) in changes {
        let mut changed = rendered.clone();
        *changed.pointer_mut(pointer).unwrap() = value;
        let (ours, theirs) = without_differences(changed, istioctl("1.31.1"), false);
        assert_ne!(ours, theirs, "{pointer}");
    }
    // Inside the kubeconfig: another token.
    let mut access = cluster2_access();
    access.token.push('x');
    let secret = e2e::render::remote_secret::remote_secret(&cluster("cluster2"), &access);
    let changed = serde_json::to_value(&secret).unwrap();
    let (ours, theirs) = without_differences(changed, istioctl("1.31.1"), false);
    assert_ne!(ours, theirs);
    assert_eq!(
        ours["stringData"]["cluster2"]["users"][0]["user"]["token"],
        "FAKE-SERVICE-ACCOUNT-TOKEN-cluster2-istio-reader-service-accountx"
    );
}
