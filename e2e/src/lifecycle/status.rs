//! `status`: per cluster, recorded, exists, answers, nodes Ready.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::{Env, prepare_tools};
use crate::Error;
use crate::cluster::Provider;
use crate::config::{ClusterName, Topology};
use crate::executor::error_chain;
use crate::kube::Cluster;
use crate::pins::Pins;
use crate::state::{Origin, State};

/// How long `status` gives an API server to answer.
pub const API_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusReport {
    /// `state.json`, when there is one.
    pub state_file: Option<PathBuf>,
    pub istio: Option<String>,
    /// Why the clusters that exist could not be listed (Docker down), if so.
    pub list_error: Option<String>,
    pub clusters: Vec<ClusterStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterStatus {
    pub name: ClusterName,
    /// In `state.json`, and how it came to be ours.
    pub recorded: Option<Origin>,
    /// Listed by `kind get clusters` (`None` when that failed).
    pub exists: Option<bool>,
    pub kubeconfig: Option<PathBuf>,
    pub api: ApiStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum ApiStatus {
    /// No kubeconfig of ours for it.
    NotChecked,
    Unreachable {
        reason: String,
    },
    Reachable {
        nodes: usize,
        nodes_ready: usize,
    },
}

/// The clusters of `state.json`, or of the default topology when there is none.
pub async fn status<P: Provider>(
    provider: P,
    env: &Env,
    pins: &Pins,
) -> Result<StatusReport, Error> {
    let topology = Topology::default();
    let state = State::load(&env.layout, &topology)?;
    let row = state
        .as_ref()
        .and_then(|s| {
            pins.rows()
                .iter()
                .find(|r| r.version.to_string() == s.istio)
        })
        .unwrap_or(pins.default_row())
        .clone();
    let names: Vec<ClusterName> = match &state {
        Some(s) => s.clusters.keys().cloned().collect(),
        None => topology.cluster_names().cloned().collect(),
    };
    prepare_tools(env, pins, &row).await?;
    let (existing, list_error) = match provider.list().await {
        Ok(list) => (Some(list), None),
        Err(e) => (None, Some(error_chain(&e))),
    };
    let mut clusters = Vec::new();
    for name in names {
        let record = state.as_ref().and_then(|s| s.clusters.get(&name));
        let kubeconfig = record.map(|r| r.kubeconfig.clone()).filter(|p| p.is_file());
        let exists = existing
            .as_ref()
            .map(|list| list.iter().any(|e| e == name.as_str()));
        let api = match (&kubeconfig, exists) {
            (Some(path), Some(true) | None) => probe(&name, path).await,
            _ => ApiStatus::NotChecked,
        };
        clusters.push(ClusterStatus {
            recorded: record.map(|r| r.origin),
            exists,
            kubeconfig,
            api,
            name,
        });
    }
    Ok(StatusReport {
        state_file: state.as_ref().map(|_| env.layout.state_file()),
        istio: state.map(|s| s.istio),
        list_error,
        clusters,
    })
}

async fn probe(name: &ClusterName, kubeconfig: &std::path::Path) -> ApiStatus {
    let ask = async {
        let api = Cluster::connect(name, kubeconfig).await?;
        api.nodes_ready().await
    };
    match tokio::time::timeout(API_TIMEOUT, ask).await {
        Ok(Ok(report)) => ApiStatus::Reachable {
            nodes: report.nodes.len(),
            nodes_ready: report.nodes.iter().filter(|n| n.ready).count(),
        },
        Ok(Err(e)) => ApiStatus::Unreachable {
            reason: error_chain(&e),
        },
        Err(_) => ApiStatus::Unreachable {
            reason: format!("no answer within {API_TIMEOUT:?}"),
        },
    }
}
