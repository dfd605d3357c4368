//! What the mesh steps and probes ask of workloads: is a Deployment rolled out, which
//! address did a LoadBalancer Service get, which endpoints of a Service are ready, does a
//! Secret carry a key yet, which pods run which images. Each is one look (an
//! observation) plus, where a step waits for it, a wait built on [`eventually`].

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;

use super::objects::describe;
use super::{Cluster, KubeError};
use crate::wait::{Probe, Wait, eventually};

/// How far a Deployment's rollout is, judged as `kubectl rollout status` judges it
/// (kubernetes/kubernetes:staging/src/k8s.io/kubectl/pkg/polymorphichelpers/rollout_status.go
/// `DeploymentStatusViewer.Status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rollout {
    Complete,
    /// Not yet, and why (kubectl's wording).
    Waiting(String),
    /// It exceeded its progress deadline: it will not finish without a change.
    Failed(String),
}

/// The rollout state of `deployment`.
pub fn rollout_of(deployment: &Deployment) -> Rollout {
    let name = deployment.metadata.name.as_deref().unwrap_or_default();
    let generation = deployment.metadata.generation.unwrap_or(0);
    let status = deployment.status.clone().unwrap_or_default();
    if generation > status.observed_generation.unwrap_or(0) {
        return Rollout::Waiting("waiting for the deployment spec update to be observed".into());
    }
    let progress_deadline_exceeded = status.conditions.iter().flatten().any(|c| {
        c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    });
    if progress_deadline_exceeded {
        return Rollout::Failed(format!(
            "deployment \"{name}\" exceeded its progress deadline"
        ));
    }
    let updated = status.updated_replicas.unwrap_or(0);
    let replicas = status.replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    if let Some(desired) = deployment.spec.as_ref().and_then(|s| s.replicas)
        && updated < desired
    {
        return Rollout::Waiting(format!(
            "{updated} out of {desired} new replicas have been updated"
        ));
    }
    if replicas > updated {
        return Rollout::Waiting(format!(
            "{} old replicas are pending termination",
            replicas - updated
        ));
    }
    if available < updated {
        return Rollout::Waiting(format!(
            "{available} of {updated} updated replicas are available"
        ));
    }
    Rollout::Complete
}

/// One container of a pod: what it was asked to run, and what runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    pub name: String,
    /// The image of the pod spec.
    pub image: String,
    /// From `status.containerStatuses`, once the kubelet reports the container.
    pub status: Option<ContainerRunning>,
}

/// What the kubelet reports of a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRunning {
    /// The image as the runtime resolved it.
    pub image: String,
    /// The image's ID with its digest (`docker.io/istio/pilot@sha256:...`): what proves
    /// which build runs.
    pub image_id: String,
    pub ready: bool,
    pub restart_count: i32,
}

/// A pod and its containers (init containers left out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodInfo {
    pub name: String,
    /// `Pending`, `Running`, ...; `None` before the first status.
    pub phase: Option<String>,
    pub containers: Vec<ContainerInfo>,
}

fn pod_info(pod: &Pod) -> PodInfo {
    let statuses = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default();
    let containers = pod
        .spec
        .iter()
        .flat_map(|s| &s.containers)
        .map(|c| ContainerInfo {
            name: c.name.clone(),
            image: c.image.clone().unwrap_or_default(),
            status: statuses
                .iter()
                .find(|s| s.name == c.name)
                .map(|s| ContainerRunning {
                    image: s.image.clone(),
                    image_id: s.image_id.clone(),
                    ready: s.ready,
                    restart_count: s.restart_count,
                }),
        })
        .collect();
    PodInfo {
        name: pod.metadata.name.clone().unwrap_or_default(),
        phase: pod.status.as_ref().and_then(|s| s.phase.clone()),
        containers,
    }
}

impl Cluster {
    fn wait_for(&self, what: String, timeout: Duration) -> Wait {
        Wait::new(format!("cluster `{}`: {what}", self.name()), timeout)
            .every(self.polling().interval)
    }

    /// How far the rollout of Deployment `namespace/name` is.
    pub async fn rollout(&self, namespace: &str, name: &str) -> Result<Rollout, KubeError> {
        let deployment: Deployment = self.get(namespace, name).await?;
        Ok(rollout_of(&deployment))
    }

    /// Waits until Deployment `namespace/name` exists and is rolled out; fails at once
    /// if it exceeded its progress deadline.
    pub async fn wait_rollout(
        &self,
        namespace: &str,
        name: &str,
        timeout: Duration,
    ) -> Result<(), KubeError> {
        let what = describe::<Deployment>(namespace, name);
        let wait = self.wait_for(format!("{what} rolled out"), timeout);
        eventually(&wait, || async {
            let Some(deployment) = self.get_opt::<Deployment>(namespace, name).await? else {
                return Ok(Probe::NotYet(format!("{what} does not exist yet")));
            };
            match rollout_of(&deployment) {
                Rollout::Complete => Ok(Probe::Ready(())),
                Rollout::Waiting(why) => Ok(Probe::NotYet(why)),
                Rollout::Failed(message) => Err(KubeError::RolloutFailed {
                    cluster: self.name().clone(),
                    message,
                }),
            }
        })
        .await
    }

    /// The ingress IPs a LoadBalancer Service has been given (MetalLB writes them to
    /// `status.loadBalancer.ingress`); empty until then. Hostname-only entries are
    /// left out.
    pub async fn load_balancer_ips(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Vec<IpAddr>, KubeError> {
        let service: Service = self.get(namespace, name).await?;
        Ok(service
            .status
            .and_then(|s| s.load_balancer)
            .and_then(|lb| lb.ingress)
            .unwrap_or_default()
            .iter()
            .filter_map(|ingress| ingress.ip.as_deref()?.parse().ok())
            .collect())
    }

    /// Waits until Service `namespace/name` has a LoadBalancer ingress IP; returns the
    /// first.
    pub async fn wait_load_balancer_ip(
        &self,
        namespace: &str,
        name: &str,
        timeout: Duration,
    ) -> Result<IpAddr, KubeError> {
        let what = describe::<Service>(namespace, name);
        let wait = self.wait_for(format!("a LoadBalancer IP for {what}"), timeout);
        eventually(&wait, || async {
            match self.load_balancer_ips(namespace, name).await {
                Ok(ips) => Ok(match ips.first() {
                    Some(ip) => Probe::Ready(*ip),
                    None => Probe::NotYet(format!("{what} has no ingress IP yet")),
                }),
                Err(e) if e.is_not_found() => {
                    Ok(Probe::NotYet(format!("{what} does not exist yet")))
                }
                Err(e) => Err(e),
            }
        })
        .await
    }

    /// The addresses of Service `namespace/name`'s ready endpoints, sorted: every
    /// EndpointSlice labelled `kubernetes.io/service-name=<name>`, every endpoint whose
    /// `conditions.ready` is not false ("a nil value should be interpreted as true",
    /// k8s.io/api discovery/v1 `EndpointConditions.Ready`).
    pub async fn ready_endpoints(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Vec<String>, KubeError> {
        // The label the EndpointSlice controller sets (k8s.io/api discovery/v1 `LabelServiceName`).
        let selector = format!("kubernetes.io/service-name={name}");
        let slices: Vec<EndpointSlice> = self.list(namespace, &selector).await?;
        let mut addresses: Vec<String> = slices
            .iter()
            .flat_map(|slice| &slice.endpoints)
            .filter(|e| e.conditions.as_ref().and_then(|c| c.ready) != Some(false))
            .flat_map(|e| e.addresses.iter().cloned())
            .collect();
        addresses.sort();
        addresses.dedup();
        Ok(addresses)
    }

    /// The value of `key` in Secret `namespace/name`'s data: `None` while the Secret or
    /// the key is missing or empty (the token controller fills `token` and `ca.crt`
    /// after the Secret is created).
    pub async fn secret_value(
        &self,
        namespace: &str,
        name: &str,
        key: &str,
    ) -> Result<Option<Vec<u8>>, KubeError> {
        let Some(secret) = self.get_opt::<Secret>(namespace, name).await? else {
            return Ok(None);
        };
        Ok(secret
            .data
            .and_then(|mut data| data.remove(key))
            .map(|bytes| bytes.0)
            .filter(|bytes| !bytes.is_empty()))
    }

    /// Waits until Secret `namespace/name` carries every one of `keys` (non-empty), and
    /// returns their values.
    pub async fn wait_secret_keys(
        &self,
        namespace: &str,
        name: &str,
        keys: &[&str],
        timeout: Duration,
    ) -> Result<BTreeMap<String, Vec<u8>>, KubeError> {
        let what = describe::<Secret>(namespace, name);
        let wait = self.wait_for(format!("data {keys:?} in {what}"), timeout);
        eventually(&wait, || async {
            let Some(secret) = self.get_opt::<Secret>(namespace, name).await? else {
                return Ok(Probe::NotYet(format!("{what} does not exist yet")));
            };
            let data = secret.data.unwrap_or_default();
            let missing: Vec<&str> = keys
                .iter()
                .copied()
                .filter(|key| data.get(*key).is_none_or(|v| v.0.is_empty()))
                .collect();
            if !missing.is_empty() {
                let has: Vec<&String> = data.keys().collect();
                return Ok(Probe::NotYet(format!(
                    "{what} lacks {missing:?} (it has {has:?})"
                )));
            }
            Ok(Probe::Ready(
                keys.iter()
                    .map(|key| ((*key).to_owned(), data[*key].0.clone()))
                    .collect(),
            ))
        })
        .await
    }

    /// The pods of `namespace` matching the label `selector`, by name, with their
    /// containers and what the kubelet reports of them.
    pub async fn pods(&self, namespace: &str, selector: &str) -> Result<Vec<PodInfo>, KubeError> {
        let pods: Vec<Pod> = self.list(namespace, selector).await?;
        let mut pods: Vec<PodInfo> = pods.iter().map(pod_info).collect();
        pods.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(pods)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(generation: i64, spec_replicas: i32, status: serde_json::Value) -> Deployment {
        serde_json::from_value(json!({
            "metadata": {"name": "istiod", "generation": generation},
            "spec": {"replicas": spec_replicas, "selector": {}, "template": {}},
            "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn rollout_follows_kubectl() {
        let cases = [
            (
                deployment(2, 1, json!({"observedGeneration": 1})),
                Rollout::Waiting("waiting for the deployment spec update to be observed".into()),
            ),
            (
                deployment(
                    2,
                    2,
                    json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1}),
                ),
                Rollout::Waiting("1 out of 2 new replicas have been updated".into()),
            ),
            (
                deployment(
                    2,
                    1,
                    json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1}),
                ),
                Rollout::Waiting("1 old replicas are pending termination".into()),
            ),
            (
                deployment(
                    2,
                    1,
                    json!({"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 0}),
                ),
                Rollout::Waiting("0 of 1 updated replicas are available".into()),
            ),
            (
                deployment(
                    2,
                    1,
                    json!({"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}),
                ),
                Rollout::Complete,
            ),
            (
                deployment(
                    2,
                    1,
                    json!({"observedGeneration": 2, "conditions": [
                {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}]}),
                ),
                Rollout::Failed("deployment \"istiod\" exceeded its progress deadline".into()),
            ),
        ];
        for (deployment, expected) in cases {
            assert_eq!(rollout_of(&deployment), expected, "{:?}", deployment.status);
        }
    }

    #[test]
    fn pods_pair_spec_containers_with_their_statuses() {
        let pod: Pod = serde_json::from_value(json!({
            "metadata": {"name": "istiod-1"},
            "spec": {"containers": [{"name": "discovery", "image": "istio/pilot:1.24.1"},
                                    {"name": "sidecar", "image": "busybox"}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "discovery", "image": "docker.io/istio/pilot:1.24.1",
                 "imageID": "docker.io/istio/pilot@sha256:abc", "ready": true, "restartCount": 2}]},
        }))
        .unwrap();
        assert_eq!(
            pod_info(&pod),
            PodInfo {
                name: "istiod-1".into(),
                phase: Some("Running".into()),
                containers: vec![
                    ContainerInfo {
                        name: "discovery".into(),
                        image: "istio/pilot:1.24.1".into(),
                        status: Some(ContainerRunning {
                            image: "docker.io/istio/pilot:1.24.1".into(),
                            image_id: "docker.io/istio/pilot@sha256:abc".into(),
                            ready: true,
                            restart_count: 2,
                        }),
                    },
                    ContainerInfo {
                        name: "sidecar".into(),
                        image: "busybox".into(),
                        status: None,
                    },
                ],
            }
        );
    }
}
