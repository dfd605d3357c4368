//! The sample workloads: helloworld (the service every cluster calls) and curl (the
//! client). Shapes follow istio/istio@1.24.1:samples/helloworld/helloworld.yaml and
//! samples/curl/curl.yaml; images come from the pins.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, PodSpec, PodTemplateSpec, ResourceRequirements, Service,
    ServiceAccount, ServicePort, ServiceSpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::config::AppVersion;
use crate::names::{CURL, CURL_PORT, HELLOWORLD, HELLOWORLD_PORT, SAMPLE_NAMESPACE};
use crate::pins::ImageRef;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn meta(name: &str, labels: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some(SAMPLE_NAMESPACE.into()),
        labels: Some(labels),
        ..ObjectMeta::default()
    }
}

/// A Service named like its pods' `app` label, forwarding `port` to the same port.
fn service(name: &str, port: u16) -> Service {
    Service {
        metadata: meta(name, labels(&[("app", name), ("service", name)])),
        spec: Some(ServiceSpec {
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: port.into(),
                target_port: Some(IntOrString::Int(port.into())),
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
/// ("you must deploy a Kubernetes Service to each cluster that consumes that service":
/// https://istio.io/latest/docs/ops/deployment/deployment-models/; istio/istio#39843).
pub fn helloworld_service() -> Service {
    service(HELLOWORLD, HELLOWORLD_PORT)
}

/// `helloworld-<version>`, answering `Hello version: <version>`.
pub fn helloworld_deployment(version: &AppVersion, image: &ImageRef) -> Deployment {
    let pod_labels = labels(&[("app", HELLOWORLD), ("version", version.as_str())]);
    one_replica(
        &format!("{HELLOWORLD}-{version}"),
        pod_labels,
        PodSpec {
            containers: vec![Container {
                name: HELLOWORLD.into(),
                image: Some(image.to_string()),
                image_pull_policy: Some("IfNotPresent".into()),
                ports: Some(vec![ContainerPort {
                    container_port: HELLOWORLD_PORT.into(),
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
            name: Some(CURL.into()),
            namespace: Some(SAMPLE_NAMESPACE.into()),
            ..ObjectMeta::default()
        },
        ..ServiceAccount::default()
    }
}

pub fn curl_service() -> Service {
    service(CURL, CURL_PORT)
}

/// The client the live suite execs `curl` in; it sleeps otherwise.
pub fn curl_deployment(image: &ImageRef) -> Deployment {
    one_replica(
        CURL,
        labels(&[("app", CURL)]),
        PodSpec {
            termination_grace_period_seconds: Some(0),
            service_account_name: Some(CURL.into()),
            containers: vec![Container {
                name: CURL.into(),
                image: Some(image.to_string()),
                image_pull_policy: Some("IfNotPresent".into()),
                command: Some(vec!["/bin/sleep".into(), "infinity".into()]),
                ..Container::default()
            }],
            ..PodSpec::default()
        },
    )
}
