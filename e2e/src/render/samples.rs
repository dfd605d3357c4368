//! The sample workloads: helloworld (the service every cluster calls) and curl (the
//! client). Shapes follow Istio's `samples/helloworld/helloworld.yaml` and
//! `samples/curl/curl.yaml` (reference: istio-multicluster.md §8); images come from the pins.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, PodSpec, PodTemplateSpec, ResourceRequirements, Service,
    ServiceAccount, ServicePort, ServiceSpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::namespaces::SAMPLE;
use crate::config::AppVersion;
use crate::pins::ImageRef;

/// helloworld's HTTP port (`GET /hello`).
pub const HELLOWORLD_PORT: i32 = 5000;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn meta(name: &str, labels: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some(SAMPLE.into()),
        labels: Some(labels),
        ..ObjectMeta::default()
    }
}

fn service(name: &str, port: i32, target: i32) -> Service {
    Service {
        metadata: meta(name, labels(&[("app", name), ("service", name)])),
        spec: Some(ServiceSpec {
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port,
                target_port: Some(IntOrString::Int(target)),
                ..ServicePort::default()
            }]),
            selector: Some(labels(&[("app", name)])),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// In every cluster, including those running no helloworld pod: the client resolves the
/// name through its own cluster's DNS, and Istio never copies Services between clusters
/// (reference: istio-multicluster.md §10.1, pitfalls.md §9).
pub fn helloworld_service() -> Service {
    service("helloworld", HELLOWORLD_PORT, HELLOWORLD_PORT)
}

/// `helloworld-<version>`, answering `Hello version: <version>`.
pub fn helloworld_deployment(version: &AppVersion, image: &ImageRef) -> Deployment {
    let pod_labels = labels(&[("app", "helloworld"), ("version", version.as_str())]);
    one_replica(
        &format!("helloworld-{version}"),
        pod_labels,
        PodSpec {
            containers: vec![Container {
                name: "helloworld".into(),
                image: Some(image.to_string()),
                image_pull_policy: Some("IfNotPresent".into()),
                ports: Some(vec![ContainerPort {
                    container_port: HELLOWORLD_PORT,
                    ..ContainerPort::default()
                }]),
                resources: Some(ResourceRequirements {
                    requests: Some(BTreeMap::from([(
                        "cpu".to_owned(),
                        Quantity("100m".into()),
                    )])),
                    ..ResourceRequirements::default()
                }),
                ..Container::default()
            }],
            ..PodSpec::default()
        },
    )
}

/// A Deployment of one pod whose labels are also the Deployment's and its selector.
fn one_replica(name: &str, pod_labels: BTreeMap<String, String>, pod: PodSpec) -> Deployment {
    Deployment {
        metadata: meta(name, pod_labels.clone()),
        spec: Some(DeploymentSpec {
            replicas: Some(1),
            selector: LabelSelector {
                match_labels: Some(pod_labels.clone()),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    }
}

pub fn curl_service_account() -> ServiceAccount {
    ServiceAccount {
        metadata: ObjectMeta {
            name: Some("curl".into()),
            namespace: Some(SAMPLE.into()),
            ..ObjectMeta::default()
        },
        ..ServiceAccount::default()
    }
}

pub fn curl_service() -> Service {
    service("curl", 80, 80)
}

/// The client the live suite execs `curl` in; it sleeps otherwise.
pub fn curl_deployment(image: &ImageRef) -> Deployment {
    one_replica(
        "curl",
        labels(&[("app", "curl")]),
        PodSpec {
            termination_grace_period_seconds: Some(0),
            service_account_name: Some("curl".into()),
            containers: vec![Container {
                name: "curl".into(),
                image: Some(image.to_string()),
                image_pull_policy: Some("IfNotPresent".into()),
                command: Some(vec!["/bin/sleep".into(), "infinity".into()]),
                ..Container::default()
            }],
            ..PodSpec::default()
        },
    )
}
