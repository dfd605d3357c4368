//! Everything `render` produces: snapshots per Istio row, typed round trips for every
//! object, upstream schema and chart-values checks, determinism and file modes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use e2e::certs::ClusterCaPem;
use e2e::config::{ClusterName, Topology};
use e2e::net::DockerNetwork;
use e2e::pins::{IstioRow, IstioVersion, Pins};
use e2e::render::remote_secret::{Kubeconfig, RemoteAccess};
use e2e::render::{
    Item, ItemKey, MeshInputs, RenderedCluster, istio_gateway, kind, metallb, placeholder_cacerts,
    render_mesh,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Secret, Service, ServiceAccount};
use serde_json::Value;
use testkit::schema;

fn root() -> PathBuf {
    e2e::dirs::workspace_root()
}

fn pins() -> Pins {
    Pins::load(&e2e::dirs::checkout_pins_file()).unwrap()
}

/// Test stand-ins for what `up` will learn from the running clusters: a container IP, a CA
/// and a token, none of them secret.
fn test_access(index: usize) -> RemoteAccess {
    RemoteAccess {
        server: format!("https://172.18.0.{}:6443", index + 2)
            .parse()
            .unwrap(),
        ca_pem: format!(
            "-----BEGIN CERTIFICATE-----\nTEST-API-SERVER-CA-{index}\n-----END CERTIFICATE-----\n"
        ),
        token: format!("test-reader-token-{index}"),
    }
}

struct Fixture {
    topology: Topology,
    cacerts: BTreeMap<ClusterName, ClusterCaPem>,
    access: BTreeMap<ClusterName, RemoteAccess>,
}

impl Fixture {
    fn new(topology: Topology) -> Self {
        let cacerts = topology
            .cluster_names()
            .map(|n| (n.clone(), placeholder_cacerts(n)))
            .collect();
        let access = topology
            .cluster_names()
            .enumerate()
            .map(|(i, n)| (n.clone(), test_access(i)))
            .collect();
        Self {
            topology,
            cacerts,
            access,
        }
    }

    fn render(&self, pins: &Pins, row: &IstioRow) -> Vec<RenderedCluster> {
        render_mesh(&MeshInputs {
            topology: &self.topology,
            row,
            samples: pins.samples(),
            network: DockerNetwork::from_subnet("172.18.0.0/16".parse().unwrap()),
            cacerts: &self.cacerts,
            remote_access: &self.access,
        })
        .unwrap()
    }
}

fn parse(item: &Item) -> Value {
    e2e::yaml::from_str(&item.to_yaml())
        .unwrap_or_else(|e| panic!("{}: {e}", item.key().file_name()))
}

/// The item `key` of `cluster`, which must have one.
fn item(cluster: &RenderedCluster, key: ItemKey) -> &Item {
    cluster
        .item(&key)
        .unwrap_or_else(|| panic!("{} has no {key:?}", cluster.cluster()))
}

fn every_row_rendered() -> Vec<(IstioRow, Vec<RenderedCluster>)> {
    let pins = pins();
    let fixture = Fixture::new(Topology::default());
    pins.rows()
        .iter()
        .map(|row| (row.clone(), fixture.render(&pins, row)))
        .collect()
}

// ---------------------------------------------------------------- snapshots

fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings
}

/// The file as a reader sees it, with Secret data replaced so no key material or token
/// (real or placeholder) lands in a snapshot.
fn redacted(item: &Item) -> String {
    if !item.key().is_secret() {
        return item.to_yaml();
    }
    let mut value = parse(item);
    let data = value
        .get_mut("data")
        .and_then(Value::as_object_mut)
        .expect("a secret file holds Secret data");
    for v in data.values_mut() {
        *v = Value::String("[redacted]".into());
    }
    let text = item.to_yaml();
    let header = text.lines().next().unwrap();
    format!("{header}\n{}", e2e::yaml::to_string(&value).unwrap())
}

fn snapshot_name(row: &IstioRow, cluster: &ClusterName, file: &str) -> String {
    format!(
        "{}__{}__{}",
        row.version,
        cluster,
        file.trim_end_matches(".yaml")
    )
}

/// Which files of a row differ from the default row's, per cluster.
fn differing_files(default: &[RenderedCluster], other: &[RenderedCluster]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (a, b) in default.iter().zip(other) {
        assert_eq!(a.cluster(), b.cluster());
        let a_keys: Vec<_> = a.items().iter().map(Item::key).collect();
        let b_keys: Vec<_> = b.items().iter().map(Item::key).collect();
        assert_eq!(a_keys, b_keys, "every row renders the same set of files");
        for (ia, ib) in a.items().iter().zip(b.items()) {
            if ia.to_yaml() != ib.to_yaml() {
                names.insert(ia.key().file_name());
            }
        }
    }
    names
}

#[test]
fn snapshots_default_row_every_file_and_other_rows_where_they_differ() {
    let pins = pins();
    let rows = every_row_rendered();
    let (default_row, default_out) = rows
        .iter()
        .find(|(r, _)| r.version == pins.default_row().version)
        .unwrap();
    let mut expected = BTreeSet::new();
    snapshot_settings().bind(|| {
        for cluster in default_out {
            for item in cluster.items() {
                let name = snapshot_name(default_row, cluster.cluster(), &item.key().file_name());
                insta::assert_snapshot!(name.clone(), redacted(item));
                expected.insert(name);
            }
        }
        for (row, out) in rows
            .iter()
            .filter(|(r, _)| r.version != pins.default_row().version)
        {
            let differ = differing_files(default_out, out);
            for cluster in out {
                for item in cluster
                    .items()
                    .iter()
                    .filter(|i| differ.contains(&i.key().file_name()))
                {
                    let name = snapshot_name(row, cluster.cluster(), &item.key().file_name());
                    insta::assert_snapshot!(name.clone(), redacted(item));
                    expected.insert(name);
                }
            }
        }
    });
    // No stale snapshot of a file that is no longer rendered (the kubeconfig one belongs to
    // `the_remote_secret_carries_a_kubeconfig_for_the_peer`).
    let row_versions: Vec<String> = pins
        .rows()
        .iter()
        .map(|r| format!("{}__", r.version))
        .collect();
    let on_disk: BTreeSet<String> = std::fs::read_dir(root().join("snapshots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".snap").map(str::to_owned))
        .filter(|n| {
            row_versions.iter().any(|v| n.starts_with(v.as_str())) && !n.ends_with("-kubeconfig")
        })
        .collect();
    assert_eq!(
        on_disk, expected,
        "snapshots/ holds exactly the rendered files' snapshots"
    );
}

#[test]
fn rows_differ_only_where_the_row_decides() {
    let pins = pins();
    let rows = every_row_rendered();
    let (default_row, default_out) = rows
        .iter()
        .find(|(r, _)| r.version == pins.default_row().version)
        .unwrap();
    for (row, out) in &rows {
        let mut expected = BTreeSet::new();
        if row.version != default_row.version {
            expected.insert("31-istiod-values.yaml".to_owned()); // global.tag
        }
        if row.node_image != default_row.node_image {
            expected.insert("00-kind.yaml".to_owned());
        }
        assert_eq!(
            differing_files(default_out, out),
            expected,
            "Istio {}",
            row.version
        );
    }
}

#[test]
fn the_remote_secret_carries_a_kubeconfig_for_the_peer() {
    let pins = pins();
    let fixture = Fixture::new(Topology::default());
    let out = fixture.render(&pins, pins.default_row());
    let file = item(&out[0], ItemKey::RemoteSecret("cluster2".parse().unwrap()));
    let secret: Secret = serde_json::from_value(parse(file)).unwrap();
    assert_eq!(
        secret.metadata.name.as_deref(),
        Some("istio-remote-secret-cluster2")
    );
    assert_eq!(secret.metadata.namespace.as_deref(), Some("istio-system"));
    assert_eq!(
        secret.metadata.labels.unwrap()["istio/multiCluster"],
        "true"
    );
    assert_eq!(
        secret.metadata.annotations.unwrap()["networking.istio.io/cluster"],
        "cluster2"
    );
    let data = secret.data.unwrap();
    assert_eq!(
        data.keys().collect::<Vec<_>>(),
        ["cluster2"],
        "the data key is the peer's cluster id"
    );
    let kubeconfig: Kubeconfig = e2e::yaml::from_slice(&data["cluster2"].0).unwrap();
    let peer = &fixture.access[&"cluster2".parse::<ClusterName>().unwrap()];
    assert_eq!(kubeconfig.current_context, "cluster2");
    assert_eq!(
        kubeconfig.clusters[0].cluster.server,
        "https://172.18.0.3:6443"
    );
    assert_eq!(kubeconfig.users[0].user.token, peer.token);
    let ca = decode_base64(&kubeconfig.clusters[0].cluster.certificate_authority_data);
    assert_eq!(String::from_utf8(ca).unwrap(), peer.ca_pem);
    assert_eq!(kubeconfig.contexts[0].context.cluster, "cluster2");
    assert_eq!(kubeconfig.contexts[0].context.user, "cluster2");

    // The kubeconfig's shape, with the credentials redacted.
    let mut shape: Value = e2e::yaml::from_slice(&data["cluster2"].0).unwrap();
    shape["clusters"][0]["cluster"]["certificate-authority-data"] = "[redacted]".into();
    shape["users"][0]["user"]["token"] = "[redacted]".into();
    snapshot_settings().bind(|| {
        insta::assert_snapshot!(
            format!(
                "{}__cluster1__50-remote-secret-cluster2-kubeconfig",
                pins.default_row().version
            ),
            e2e::yaml::to_string(&shape).unwrap()
        );
    });
}

fn decode_base64(text: &str) -> Vec<u8> {
    // Decoded through k8s-openapi's ByteString, which implements base64 for Secret data.
    serde_json::from_value::<k8s_openapi::ByteString>(Value::String(text.into()))
        .unwrap()
        .0
}

#[test]
fn each_cluster_gets_its_own_placement_network_and_range() {
    let pins = pins();
    let out = Fixture::new(Topology::default()).render(&pins, pins.default_row());
    let names = |c: &RenderedCluster| {
        c.items()
            .iter()
            .map(|i| i.key().file_name())
            .collect::<Vec<_>>()
    };
    assert!(names(&out[0]).contains(&"62-helloworld-v1-deployment.yaml".into()));
    assert!(!names(&out[0]).iter().any(|n| n.contains("helloworld-v2")));
    assert!(names(&out[1]).contains(&"62-helloworld-v2-deployment.yaml".into()));
    assert!(names(&out[1]).contains(&"50-remote-secret-cluster1.yaml".into()));
    assert!(!out[0].metallb_range().overlaps(out[1].metallb_range()));
    let sorted = |c: &RenderedCluster| {
        let mut n = names(c);
        n.sort();
        n
    };
    assert_eq!(
        names(&out[0]),
        sorted(&out[0]),
        "file names sort in apply order"
    );
}

#[test]
fn three_clusters_get_secrets_for_both_peers() {
    let pins = pins();
    let mut topology = Topology::default();
    let mut third = topology.clusters[1].clone();
    third.name = "cluster3".parse().unwrap();
    third.network = "network3".parse().unwrap();
    third.pod_subnet = "10.30.0.0/16".parse().unwrap();
    third.service_subnet = "10.255.30.0/24".parse().unwrap();
    third.helloworld = vec![];
    topology.clusters.push(third);
    let out = Fixture::new(topology).render(&pins, pins.default_row());
    assert_eq!(out.len(), 3);
    let secrets: Vec<_> = out[2]
        .items()
        .iter()
        .map(|i| i.key().file_name())
        .filter(|name| name.starts_with("50-"))
        .collect();
    assert_eq!(
        secrets,
        [
            "50-remote-secret-cluster1.yaml",
            "50-remote-secret-cluster2.yaml"
        ]
    );
    assert!(
        out[2].item(&ItemKey::HelloworldService).is_some(),
        "the Service goes everywhere"
    );
    assert!(
        !out[2]
            .items()
            .iter()
            .any(|i| matches!(i.key(), ItemKey::HelloworldDeployment(_)))
    );
}

// ---------------------------------------------------------------- typed round trips

/// Deserializes into the typed object, serializes back, and compares with what was
/// rendered: a field the type does not know would be dropped and show up as a difference.
fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(
    value: &Value,
) -> Result<(), String> {
    let typed: T = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    let back = serde_json::to_value(&typed).unwrap();
    if &back == value {
        Ok(())
    } else {
        Err(format!(
            "round trip changed the object:\n{back:#}\nvs\n{value:#}"
        ))
    }
}

/// Checks one rendered Kubernetes object against its type; `Ok(false)` for Helm values.
fn check_object(value: &Value) -> Result<bool, String> {
    let api_version = value.get("apiVersion").and_then(Value::as_str);
    let kind = value.get("kind").and_then(Value::as_str);
    match (api_version, kind) {
        (Some("v1"), Some("Namespace")) => round_trip::<Namespace>(value),
        (Some("v1"), Some("Secret")) => round_trip::<Secret>(value),
        (Some("v1"), Some("Service")) => round_trip::<Service>(value),
        (Some("v1"), Some("ServiceAccount")) => round_trip::<ServiceAccount>(value),
        (Some("apps/v1"), Some("Deployment")) => round_trip::<Deployment>(value),
        (Some("kind.x-k8s.io/v1alpha4"), Some("Cluster")) => round_trip::<kind::KindCluster>(value),
        (Some("metallb.io/v1beta1"), Some("IPAddressPool")) => {
            round_trip::<metallb::IpAddressPool>(value)
        }
        (Some("metallb.io/v1beta1"), Some("L2Advertisement")) => {
            round_trip::<metallb::L2Advertisement>(value)
        }
        (Some("networking.istio.io/v1"), Some("Gateway")) => {
            round_trip::<istio_gateway::IstioGateway>(value)
        }
        (None, None) => return Ok(false),
        other => Err(format!("no type check for {other:?}")),
    }
    .map(|()| true)
}

#[test]
fn every_object_round_trips_through_its_type() {
    for (row, out) in every_row_rendered() {
        for cluster in &out {
            for item in cluster.items() {
                let name = item.key().file_name();
                let is_object = check_object(&parse(item)).unwrap_or_else(|e| {
                    panic!("Istio {} {}/{name}: {e}", row.version, cluster.cluster())
                });
                assert_eq!(
                    is_object,
                    !name.contains("-values"),
                    "{name}: only Helm values lack a kind",
                );
            }
        }
    }
}

#[test]
fn a_misspelt_field_fails_the_type_check() {
    let pins = pins();
    let out = Fixture::new(Topology::default()).render(&pins, pins.default_row());
    let file = |key: ItemKey| parse(item(&out[0], key));

    let mut deployment = file(ItemKey::CurlDeployment);
    deployment["spec"]["template"]["spec"]["serviceAcountName"] = "curl".into();
    assert!(
        check_object(&deployment)
            .unwrap_err()
            .contains("round trip changed")
    );

    let mut gateway = file(ItemKey::CrossNetworkGateway);
    gateway["spec"]["selectr"] = gateway["spec"]["selector"].clone();
    assert!(
        check_object(&gateway)
            .unwrap_err()
            .contains("unknown field `selectr`")
    );

    let mut kind_config = file(ItemKey::KindConfig);
    kind_config["networking"]["podSubnets"] = "10.10.0.0/16".into();
    assert!(
        check_object(&kind_config)
            .unwrap_err()
            .contains("unknown field `podSubnets`")
    );
}

// ---------------------------------------------------------------- upstream schemas

fn yaml_file(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    e2e::yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `openAPIV3Schema` of `version` in a CRD fixture.
fn crd_schema(file: &str, version: &str) -> Value {
    let crd = yaml_file(&root().join("fixtures/crds").join(file));
    crd["spec"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == version)
        .unwrap_or_else(|| panic!("{file} has no {version}"))["schema"]["openAPIV3Schema"]
        .clone()
}

fn assert_valid(schema: &Value, value: &Value, what: &str) {
    let errors = schema::validate(schema, schema, value);
    assert!(errors.is_empty(), "{what}:\n{}", errors.join("\n"));
}

/// Like [`assert_valid`] for a custom resource: the API server accepts `apiVersion`,
/// `kind` and `metadata` on every object whether the CRD's schema lists them or not
/// (Istio's do not), so they are only checked where listed.
fn assert_valid_resource(schema: &Value, value: &Value, what: &str) {
    let mut value = value.clone();
    let listed = schema["properties"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for implicit in ["apiVersion", "kind", "metadata"] {
        if !listed.contains_key(implicit) {
            value.as_object_mut().unwrap().remove(implicit);
        }
    }
    let errors = schema::validate(schema, schema, &value);
    assert!(errors.is_empty(), "{what}:\n{}", errors.join("\n"));
}

#[test]
fn crds_match_the_upstream_schemas() {
    let pins = pins();
    let pool = crd_schema("crd-ipaddresspools.yaml", "v1beta1");
    let l2 = crd_schema("crd-l2advertisements.yaml", "v1beta1");
    let gateways = [
        ("1.24.1", crd_schema("istio-gateway-1.24.1.yaml", "v1")),
        ("1.30.3", crd_schema("istio-gateway-1.30.3.yaml", "v1")),
    ];
    let out = Fixture::new(Topology::default()).render(&pins, pins.default_row());
    for cluster in &out {
        let file = |key: ItemKey| parse(item(cluster, key));
        assert_valid_resource(&pool, &file(ItemKey::MetallbPool), "IPAddressPool");
        assert_valid_resource(
            &l2,
            &file(ItemKey::MetallbL2Advertisement),
            "L2Advertisement",
        );
        for (version, schema) in &gateways {
            assert_valid_resource(
                schema,
                &file(ItemKey::CrossNetworkGateway),
                &format!("Gateway vs Istio {version} CRD"),
            );
        }
    }

    // The checker can fail: a misspelt field and a wrong enum value are caught.
    let mut bad = parse(item(&out[0], ItemKey::CrossNetworkGateway));
    bad["spec"]["servers"][0]["tls"]["mode"] = "AUTO_PASS".into();
    bad["spec"]["servers"][0]["prot"] = 1.into();
    let errors = schema::validate(&gateways[0].1, &gateways[0].1, &bad);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("\"AUTO_PASS\" is not one of")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e.contains("unknown field `prot`")),
        "{errors:?}"
    );
}

/// The chart data of `version`'s minor release in `fixtures/charts/` (folder named by the
/// upstream tag it was taken from). A row without one fails: checking against another
/// minor's charts would prove nothing about this one.
fn chart_dir(version: &IstioVersion) -> (String, PathBuf) {
    let dir = root().join("fixtures/charts");
    let prefix = format!("{}.{}.", version.major, version.minor);
    let mut same_minor: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(&prefix))
        .collect();
    same_minor.sort();
    match same_minor.as_slice() {
        [one] => (one.clone(), dir.join(one)),
        [] => panic!(
            "no chart data for Istio {version} in {}: add base-values.yaml, istiod-values.yaml and \
             gateway-values.schema.json from istio/istio@{}.{}.x:manifests/charts/ (see fixtures/README.md)",
            dir.display(),
            version.major,
            version.minor
        ),
        many => panic!("more than one chart data folder for Istio {version}: {many:?}"),
    }
}

fn chart_defaults(path: &Path) -> Value {
    let values = yaml_file(path);
    values
        .get("_internal_defaults_do_not_set")
        .cloned()
        .unwrap_or(values)
}

#[test]
fn helm_values_use_only_keys_each_chart_version_has() {
    for (row, out) in every_row_rendered() {
        let (chart_version, dir) = chart_dir(&row.version);
        let base = chart_defaults(&dir.join("base-values.yaml"));
        let istiod = chart_defaults(&dir.join("istiod-values.yaml"));
        let gateway_schema: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("gateway-values.schema.json")).unwrap(),
        )
        .unwrap();
        for cluster in &out {
            let file = |key: ItemKey| parse(item(cluster, key));
            let what = |f: &str| {
                format!(
                    "Istio {} (chart {chart_version}) {}/{f}",
                    row.version,
                    cluster.cluster()
                )
            };
            assert_eq!(
                schema::unknown_value_paths(&file(ItemKey::BaseValues), &base, ""),
                Vec::<String>::new(),
                "{}",
                what("base")
            );
            assert_eq!(
                schema::unknown_value_paths(&file(ItemKey::IstiodValues), &istiod, ""),
                Vec::<String>::new(),
                "{}",
                what("istiod")
            );
            assert_valid(
                &gateway_schema,
                &file(ItemKey::EastWestGatewayValues),
                &what("gateway"),
            );
        }
    }
}

#[test]
fn a_misspelt_values_key_fails_the_chart_check() {
    let pins = pins();
    let out = Fixture::new(Topology::default()).render(&pins, pins.default_row());
    let file = |key: ItemKey| parse(item(&out[0], key));
    let (_, dir) = chart_dir(&pins.default_row().version);

    let mut istiod = file(ItemKey::IstiodValues);
    istiod["global"]["meshId"] = "mesh1".into();
    assert_eq!(
        schema::unknown_value_paths(
            &istiod,
            &chart_defaults(&dir.join("istiod-values.yaml")),
            ""
        ),
        ["global.meshId"]
    );

    // Against the 1.24.1 schema too, whose `additionalProperties: false` sits at the top.
    for version in ["1.24.1", "1.30.3"] {
        let schema: Value = serde_json::from_str(
            &std::fs::read_to_string(
                root()
                    .join("fixtures/charts")
                    .join(version)
                    .join("gateway-values.schema.json"),
            )
            .unwrap(),
        )
        .unwrap();
        let mut gateway = file(ItemKey::EastWestGatewayValues);
        let network = gateway["networkGateway"].take();
        gateway.as_object_mut().unwrap().remove("networkGateway");
        gateway["networkGatway"] = network;
        let errors = schema::validate(&schema, &schema, &gateway);
        assert_eq!(
            errors,
            ["<root>: unknown field `networkGatway`"],
            "{version}"
        );
    }
}

// ---------------------------------------------------------------- the version differences

fn gateway_labels(out: &[RenderedCluster], cluster: usize) -> Value {
    parse(item(&out[cluster], ItemKey::EastWestGatewayValues))["labels"].clone()
}

#[test]
fn the_gateway_pods_network_label_comes_from_istiod_not_from_our_labels() {
    // The injector labels every injected pod, gateways included, with istiod's
    // `global.network` (istio/istio@1.24.1:pkg/kube/inject/webhook.go `applyMetadata`),
    // and from 1.26 the chart also does from `networkGateway`; a `labels` entry would
    // only repeat the key on the gateway's Service. So no row sets it, and both sources
    // name the cluster's own network.
    let pins = pins();
    let fixture = Fixture::new(Topology::default());
    for row in pins.rows() {
        let out = fixture.render(&pins, row);
        for (i, cluster) in out.iter().enumerate() {
            assert!(
                gateway_labels(&out, i)
                    .get("topology.istio.io/network")
                    .is_none(),
                "Istio {}",
                row.version
            );
            let network = Topology::default().clusters[i].network.to_string();
            let istiod = parse(item(cluster, ItemKey::IstiodValues));
            assert_eq!(istiod["global"]["network"], network.as_str());
            let gateway = parse(item(cluster, ItemKey::EastWestGatewayValues));
            assert_eq!(gateway["networkGateway"], network.as_str());
        }
    }
}

#[test]
fn the_gateway_selector_and_istiod_identity_match_the_topology() {
    for (row, out) in every_row_rendered() {
        for (i, cluster) in out.iter().enumerate() {
            let file = |key: ItemKey| parse(item(cluster, key));
            assert_eq!(gateway_labels(&out, i)["istio"], "eastwestgateway");
            assert_eq!(
                file(ItemKey::CrossNetworkGateway)["spec"]["selector"]["istio"],
                "eastwestgateway"
            );
            let istiod = file(ItemKey::IstiodValues);
            assert_eq!(
                istiod["global"]["multiCluster"]["clusterName"],
                cluster.cluster().as_str()
            );
            assert_eq!(istiod["global"]["tag"], row.version.to_string());
            assert_eq!(istiod["global"]["hub"], row.hub.as_str());
            let network = &Topology::default().clusters[i].network;
            assert_eq!(istiod["global"]["network"], network.as_str());
            assert_eq!(
                file(ItemKey::EastWestGatewayValues)["networkGateway"],
                network.as_str()
            );
            assert_eq!(
                file(ItemKey::IstioSystemNamespace)["metadata"]["labels"]["topology.istio.io/network"],
                network.as_str()
            );
            assert_eq!(
                file(ItemKey::KindConfig)["nodes"][0]["image"],
                row.node_image.as_str()
            );
        }
    }
}

// ---------------------------------------------------------------- writing

fn read_tree(dir: &Path) -> BTreeMap<String, (Vec<u8>, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut files = BTreeMap::new();
    for cluster in std::fs::read_dir(dir).unwrap() {
        let cluster = cluster.unwrap().path();
        if !cluster.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&cluster).unwrap() {
            let path = file.unwrap().path();
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            let key = path
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            files.insert(key, (std::fs::read(&path).unwrap(), mode));
        }
    }
    files
}

#[test]
fn writing_is_deterministic_with_secrets_0600() {
    let pins = pins();
    let fixture = Fixture::new(Topology::default());
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("rendered");
    e2e::render::write_rendered(&out, &fixture.render(&pins, pins.default_row())).unwrap();
    let first = read_tree(&out);
    e2e::render::write_rendered(&out, &fixture.render(&pins, pins.default_row())).unwrap();
    assert_eq!(
        read_tree(&out),
        first,
        "a second render writes the same bytes"
    );
    assert_eq!(first.len(), 32);
    for (name, (_, mode)) in &first {
        let secret = name.contains("cacerts") || name.contains("remote-secret");
        assert_eq!(*mode, if secret { 0o600 } else { 0o644 }, "{name}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers,
        ["rendered"],
        "no staging or old directory left behind"
    );
}

#[test]
fn a_new_render_replaces_the_old_one_entirely() {
    let pins = pins();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("rendered");
    let mut three = Topology::default();
    let mut third = three.clusters[1].clone();
    third.name = "cluster3".parse().unwrap();
    third.network = "network3".parse().unwrap();
    third.pod_subnet = "10.30.0.0/16".parse().unwrap();
    third.service_subnet = "10.255.30.0/24".parse().unwrap();
    third.helloworld = vec![];
    three.clusters.push(third);
    e2e::render::write_rendered(&out, &Fixture::new(three).render(&pins, pins.default_row()))
        .unwrap();
    assert!(out.join("cluster3").is_dir());
    e2e::render::write_rendered(
        &out,
        &Fixture::new(Topology::default()).render(&pins, pins.default_row()),
    )
    .unwrap();
    assert!(
        !out.join("cluster3").exists(),
        "a cluster no longer in the topology leaves no stale files"
    );
}

#[test]
fn a_foreign_directory_is_never_replaced() {
    let pins = pins();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("notes.txt"), "mine").unwrap();
    let rendered = Fixture::new(Topology::default()).render(&pins, pins.default_row());
    let err = e2e::render::write_rendered(tmp.path(), &rendered).unwrap_err();
    assert!(
        err.to_string()
            .contains("was not written by `cargo xtask render`"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("notes.txt")).unwrap(),
        "mine"
    );
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        1,
        "nothing added"
    );
}

// ---------------------------------------------------------------- inputs the renderer refuses

#[test]
fn rendering_refuses_bad_inputs_with_the_fix() {
    let pins = pins();
    let fixture = Fixture::new(Topology::default());
    let row = pins.default_row();
    let inputs = |network: DockerNetwork, cacerts: &'static BTreeMap<ClusterName, ClusterCaPem>| {
        render_mesh(&MeshInputs {
            topology: &fixture.topology,
            row,
            samples: pins.samples(),
            network,
            cacerts,
            remote_access: &fixture.access,
        })
    };
    let net = |s: &str| DockerNetwork::from_subnet(s.parse().unwrap());
    let certs: &'static BTreeMap<_, _> = Box::leak(Box::new(fixture.cacerts.clone()));

    let err = inputs(net("10.0.0.0/8"), certs).unwrap_err();
    assert!(
        err.to_string()
            .contains("overlaps the kind docker network 10.0.0.0/8"),
        "{err}"
    );

    let err = inputs(net("192.168.1.0/27"), certs).unwrap_err();
    assert!(
        err.to_string().contains("has room for 0 MetalLB range(s)"),
        "{err}"
    );

    let empty: &'static BTreeMap<_, _> = Box::leak(Box::new(BTreeMap::new()));
    let err = inputs(net("172.18.0.0/16"), empty).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no CA certificates for cluster `cluster1`; run `cargo xtask certs` for this topology"
    );
}
