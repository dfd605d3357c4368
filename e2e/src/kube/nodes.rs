//! Whether a cluster's nodes are Ready, and why not.
//!
//! `kind create cluster --wait <d>` is not enough on its own: it waits for the
//! control-plane nodes only, and when that wait times out it warns and still exits 0
//! (kubernetes-sigs/kind@v0.32.0:pkg/cluster/internal/create/actions/waitforready/waitforready.go:
//! "WARNING: Timed out waiting for Ready", `return nil`). So a step asks the API server.

use std::fmt;
use std::time::Duration;

use k8s_openapi::api::core::v1::Node;
use kube::Api;
use kube::api::ListParams;

use super::{Cluster, KubeError};
use crate::wait::{Probe, Wait, eventually};

/// One node's `Ready` condition, as the kubelet last reported it
/// (kubernetes/kubernetes:pkg/kubelet/nodestatus/setters.go `ReadyCondition`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeReadiness {
    pub name: String,
    pub ready: bool,
    /// `Ready`, or what the condition says instead: `Ready=False (KubeletNotReady:
    /// container runtime network not ready: ...)`, or that there is no condition yet.
    pub why: String,
}

/// Every node of a cluster and whether it is Ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodesReport {
    pub nodes: Vec<NodeReadiness>,
}

impl NodesReport {
    /// There is a node, and every node is Ready.
    pub fn all_ready(&self) -> bool {
        !self.nodes.is_empty() && self.nodes.iter().all(|n| n.ready)
    }

    pub fn not_ready(&self) -> impl Iterator<Item = &NodeReadiness> {
        self.nodes.iter().filter(|n| !n.ready)
    }
}

impl fmt::Display for NodesReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nodes.is_empty() {
            return f.write_str("no node has registered");
        }
        let ready = self.nodes.iter().filter(|n| n.ready).count();
        write!(f, "{ready} of {} node(s) Ready", self.nodes.len())?;
        for (i, node) in self.not_ready().enumerate() {
            let sep = if i == 0 { "; not Ready: " } else { ", " };
            write!(f, "{sep}{} ({})", node.name, node.why)?;
        }
        Ok(())
    }
}

fn readiness(node: &Node) -> NodeReadiness {
    let name = node.metadata.name.clone().unwrap_or_default();
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"));
    match ready {
        Some(c) if c.status == "True" => NodeReadiness {
            name,
            ready: true,
            why: "Ready".into(),
        },
        Some(c) => {
            let detail = [c.reason.as_deref(), c.message.as_deref()]
                .into_iter()
                .flatten()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(": ");
            let why = if detail.is_empty() {
                format!("Ready={}", c.status)
            } else {
                format!("Ready={}, {detail}", c.status)
            };
            NodeReadiness {
                name,
                ready: false,
                why,
            }
        }
        None => NodeReadiness {
            name,
            ready: false,
            why: "no Ready condition reported yet".into(),
        },
    }
}

impl Cluster {
    /// Every node and whether it is Ready, in name order.
    pub async fn nodes_ready(&self) -> Result<NodesReport, KubeError> {
        let nodes = Api::<Node>::all(self.client().clone())
            .list(&ListParams::default())
            .await
            .map_err(|e| self.error("listing nodes", e))?;
        let mut nodes: Vec<_> = nodes.items.iter().map(readiness).collect();
        nodes.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(NodesReport { nodes })
    }

    /// Waits until `expected` nodes have registered and all are Ready; the timeout error
    /// carries the last report (which nodes, and why not).
    pub async fn wait_nodes_ready(
        &self,
        expected: usize,
        timeout: Duration,
    ) -> Result<NodesReport, KubeError> {
        let wait = Wait::new(
            format!("cluster `{}`: {expected} node(s) Ready", self.name()),
            timeout,
        )
        .every(self.polling().interval);
        eventually(&wait, || async {
            let report = self.nodes_ready().await?;
            Ok(if report.nodes.len() >= expected && report.all_ready() {
                Probe::Ready(report)
            } else if report.nodes.len() < expected {
                Probe::NotYet(format!(
                    "{} of {expected} node(s) registered; {report}",
                    report.nodes.len()
                ))
            } else {
                Probe::NotYet(report.to_string())
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, condition: Option<serde_json::Value>) -> Node {
        let conditions = condition.map(|c| vec![c]).unwrap_or_default();
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name},
            "status": {"conditions": conditions},
        }))
        .unwrap()
    }

    #[test]
    fn readiness_says_why_not() {
        let ready = node(
            "a",
            Some(serde_json::json!({"type": "Ready", "status": "True", "reason": "KubeletReady"})),
        );
        let not_ready = node(
            "b",
            Some(
                serde_json::json!({"type": "Ready", "status": "False", "reason": "KubeletNotReady",
                "message": "container runtime network not ready"}),
            ),
        );
        let unknown = node(
            "c",
            Some(serde_json::json!({"type": "Ready", "status": "Unknown"})),
        );
        let report = NodesReport {
            nodes: [ready, not_ready, unknown, node("d", None)]
                .iter()
                .map(readiness)
                .collect(),
        };
        assert!(!report.all_ready());
        assert_eq!(
            report.to_string(),
            "1 of 4 node(s) Ready; not Ready: b (Ready=False, KubeletNotReady: container runtime network not ready), c (Ready=Unknown), d (no Ready condition reported yet)"
        );
    }

    #[test]
    fn no_nodes_is_not_ready() {
        let report = NodesReport { nodes: vec![] };
        assert!(!report.all_ready());
        assert_eq!(report.to_string(), "no node has registered");
    }
}
