//! What a run has made, in `state.json` under the state directory: written as the run
//! goes (atomically, through [`crate::fsx::write_atomic`], after every step that creates
//! something), so a failed or interrupted `up` can always be taken down, and `down`
//! deletes exactly what is recorded here and nothing else.

mod layout;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

pub use layout::Layout;

use crate::config::{ClusterName, Topology};
use crate::error::ErrorKind;
use crate::fsx::{self, FsError};
use crate::pins::{IstioRow, Pins};
use crate::plan::StepId;

/// The version of the file this code writes and reads.
pub const VERSION: u32 = 1;

/// The record of one `up` (and the runs that resumed it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub version: u32,
    /// [`config_hash`] of what was asked: an `up` with another hash refuses to touch this.
    pub config_hash: String,
    pub istio: String,
    pub tools: ToolVersions,
    /// The `kind` docker network's IPv4 subnet, as first read.
    pub docker_subnet: Option<Ipv4Net>,
    pub clusters: BTreeMap<ClusterName, ClusterRecord>,
    /// Every step that started, in start order, with its latest outcome.
    pub steps: Vec<StepRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolVersions {
    pub kind: String,
    pub helm: String,
}

/// How a recorded cluster came to be ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// `up` ran `kind create cluster` for it (recorded before the call, so a create that
    /// failed half-way is still taken down).
    Created,
    /// It existed and `up --reuse` used it: `down` leaves it alone.
    Reused,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterRecord {
    pub origin: Origin,
    pub kubeconfig: PathBuf,
    pub peer_kubeconfig: Option<PathBuf>,
    pub control_plane_ip: Option<Ipv4Addr>,
    /// `a.b.c.d-e.f.g.h`, once rendered.
    pub metallb_range: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRecord {
    pub id: StepId,
    pub started_unix_ms: u64,
    pub ended_unix_ms: Option<u64>,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "status")]
pub enum Outcome {
    Running,
    Succeeded,
    Failed {
        error: String,
    },
    /// Stopped by Ctrl-C before it finished.
    Interrupted,
}

/// Milliseconds since the Unix epoch, for step records.
pub fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// What decides what `up` builds: the topology and everything of the row that reaches a
/// cluster. Same inputs, same hash; the hash of a field order change is the same too,
/// since serde writes fields in declaration order.
pub fn config_hash(topology: &Topology, pins: &Pins, row: &IstioRow) -> String {
    #[derive(Serialize)]
    struct Inputs<'a> {
        topology: &'a Topology,
        istio: String,
        hub: &'a str,
        node_image: &'a str,
        kind: &'a str,
        helm: &'a str,
        metallb: &'a str,
        samples: Vec<String>,
    }
    let mut samples: Vec<String> = pins
        .samples()
        .helloworld
        .values()
        .map(ToString::to_string)
        .collect();
    samples.push(pins.samples().curl.to_string());
    let inputs = Inputs {
        topology,
        istio: row.version.to_string(),
        hub: row.hub.as_str(),
        node_image: row.node_image.as_str(),
        kind: row.kind.version.as_str(),
        helm: pins.helm().version.as_str(),
        metallb: pins.metallb().version.as_str(),
        samples,
    };
    let bytes = serde_json::to_vec(&inputs).expect("plain data");
    hex::encode(sha2::Sha256::digest(bytes))
}

impl State {
    /// A new record for a run of `row` on `topology`.
    pub fn new(topology: &Topology, pins: &Pins, row: &IstioRow) -> Self {
        Self {
            version: VERSION,
            config_hash: config_hash(topology, pins, row),
            istio: row.version.to_string(),
            tools: ToolVersions {
                kind: row.kind.version.to_string(),
                helm: pins.helm().version.to_string(),
            },
            docker_subnet: None,
            clusters: BTreeMap::new(),
            steps: Vec::new(),
        }
    }

    /// Reads the record, if there is one. A file of another version, or one that is not a
    /// record at all, is an error that says how to delete `topology`'s clusters by hand.
    pub fn load(layout: &Layout, topology: &Topology) -> Result<Option<Self>, StateError> {
        let path = layout.state_file();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StateError::Read { path, source }),
        };
        let cleanup = || manual_cleanup(layout, topology.cluster_names());
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| StateError::Corrupt {
                path: path.clone(),
                reason: e.to_string(),
                cleanup: cleanup(),
            })?;
        match value.get("version") {
            Some(v) if v.as_u64() == Some(u64::from(VERSION)) => {}
            other => {
                return Err(StateError::UnknownVersion {
                    path,
                    found: other.map_or_else(|| "none".to_owned(), ToString::to_string),
                    cleanup: cleanup(),
                });
            }
        }
        serde_json::from_value(value)
            .map(Some)
            .map_err(|e| StateError::Corrupt {
                path,
                reason: e.to_string(),
                cleanup: cleanup(),
            })
    }

    /// Writes the record atomically (readers see the old one or the new one).
    pub fn save(&self, layout: &Layout) -> Result<(), StateError> {
        fsx::create_private_dir(layout.root())?;
        let mut text = serde_json::to_string_pretty(self).expect("plain data");
        text.push('\n');
        fsx::write_atomic(&layout.state_file(), text.as_bytes(), 0o644)?;
        Ok(())
    }

    /// Removes the record (after `down` deleted everything in it).
    pub fn remove(layout: &Layout) -> Result<(), StateError> {
        let path = layout.state_file();
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(FsError::during("remove", &path)(source).into()),
        }
    }

    /// The latest record of step `id`.
    pub fn step(&self, id: &StepId) -> Option<&StepRecord> {
        self.steps.iter().rev().find(|s| &s.id == id)
    }

    /// Records that `id` started.
    pub fn start(&mut self, id: &StepId) {
        self.steps.push(StepRecord {
            id: id.clone(),
            started_unix_ms: now_unix_ms(),
            ended_unix_ms: None,
            outcome: Outcome::Running,
        });
    }

    /// Records how `id` ended.
    pub fn finish(&mut self, id: &StepId, outcome: Outcome) {
        if let Some(record) = self.steps.iter_mut().rev().find(|s| &s.id == id) {
            record.ended_unix_ms = Some(now_unix_ms());
            record.outcome = outcome;
        }
    }

    /// The clusters `down` deletes: those `up` created.
    pub fn created(&self) -> impl Iterator<Item = (&ClusterName, &ClusterRecord)> {
        self.clusters
            .iter()
            .filter(|(_, r)| r.origin == Origin::Created)
    }
}

/// `kind delete cluster --name N --kubeconfig K`, one line per cluster: what to run by hand
/// when the record cannot be read.
pub fn manual_cleanup<'a>(
    layout: &Layout,
    clusters: impl IntoIterator<Item = &'a ClusterName>,
) -> Vec<String> {
    clusters
        .into_iter()
        .map(|c| crate::cluster::kind::delete(c, &layout.kubeconfig(c)).command_line())
        .collect()
}

fn lines(cleanup: &[String]) -> String {
    cleanup.iter().map(|l| format!("\n    {l}")).collect()
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(
        "{} has state version {found}, which this checkout does not read (it reads {VERSION}); it was written by another version of this framework. Take its clusters down with that version, or delete them by hand and remove the file:{}",
        path.display(), lines(cleanup)
    )]
    UnknownVersion {
        path: PathBuf,
        found: String,
        cleanup: Vec<String>,
    },
    #[error(
        "{} is not a state file this checkout can read ({reason}). Delete the clusters it may describe by hand and remove the file:{}",
        path.display(), lines(cleanup)
    )]
    Corrupt {
        path: PathBuf,
        reason: String,
        cleanup: Vec<String>,
    },
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Write(#[from] FsError),
}

impl StateError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            StateError::UnknownVersion { .. } | StateError::Corrupt { .. } => ErrorKind::BadInput,
            StateError::Read { .. } | StateError::Write(_) => ErrorKind::Failed,
        }
    }

    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            StateError::UnknownVersion { path, .. }
            | StateError::Corrupt { path, .. }
            | StateError::Read { path, .. } => path,
            StateError::Write(e) => &e.path,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pins() -> Pins {
        Pins::parse(
            include_str!("../../../fixtures/pins/two-rows.toml"),
            Path::new("versions.toml"),
        )
        .unwrap()
    }

    #[test]
    fn a_record_round_trips_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path().join("state"));
        let pins = pins();
        let topology = Topology::default();
        assert_eq!(State::load(&layout, &topology).unwrap(), None);
        let mut state = State::new(&topology, &pins, pins.default_row());
        let c1: ClusterName = "cluster1".parse().unwrap();
        state.clusters.insert(
            c1.clone(),
            ClusterRecord {
                origin: Origin::Created,
                kubeconfig: layout.kubeconfig(&c1),
                peer_kubeconfig: None,
                control_plane_ip: Some(Ipv4Addr::new(172, 18, 0, 3)),
                metallb_range: Some("172.18.255.224-172.18.255.239".into()),
            },
        );
        let id = StepId::of(&c1, "create");
        state.start(&id);
        state.finish(
            &id,
            Outcome::Failed {
                error: "boom".into(),
            },
        );
        state.save(&layout).unwrap();
        let back = State::load(&layout, &topology).unwrap().unwrap();
        assert_eq!(back, state);
        assert_eq!(
            back.step(&id).unwrap().outcome,
            Outcome::Failed {
                error: "boom".into()
            }
        );
        State::remove(&layout).unwrap();
        State::remove(&layout).unwrap();
        assert_eq!(State::load(&layout, &topology).unwrap(), None);
    }

    #[test]
    fn the_hash_follows_what_reaches_a_cluster() {
        let pins = pins();
        let topology = Topology::default();
        let row = pins.default_row();
        let a = config_hash(&topology, &pins, row);
        assert_eq!(a, config_hash(&topology, &pins, row));
        let other_row = pins.row(&"1.24.1".parse().unwrap()).unwrap();
        assert_ne!(a, config_hash(&topology, &pins, other_row));
        let mut changed = topology.clone();
        changed.clusters[1].pod_subnet = "10.21.0.0/16".parse().unwrap();
        assert_ne!(a, config_hash(&changed, &pins, row));
    }

    #[test]
    fn an_unreadable_record_says_how_to_clean_up_by_hand() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(dir.path());
        let topology = Topology::default();
        std::fs::write(layout.state_file(), r#"{"version": 7}"#).unwrap();
        let err = State::load(&layout, &topology).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadInput);
        let text = err.to_string();
        assert!(text.contains("state version 7"), "{text}");
        for c in ["cluster1", "cluster2"] {
            let line = format!(
                "kind delete cluster --name {c} --kubeconfig {}",
                layout.kubeconfig(&c.parse().unwrap()).display()
            );
            assert!(text.contains(&line), "{text}");
        }
        std::fs::write(layout.state_file(), "{not json").unwrap();
        let err = State::load(&layout, &topology).unwrap_err();
        assert!(matches!(err, StateError::Corrupt { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("kind delete cluster --name cluster2"),
            "{err}"
        );
        std::fs::write(layout.state_file(), r#"{"version": 1, "surprise": true}"#).unwrap();
        assert!(matches!(
            State::load(&layout, &topology),
            Err(StateError::Corrupt { .. })
        ));
    }
}
