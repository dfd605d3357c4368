//! Recording a checksum taken from upstream in the pins file, the way Cargo writes
//! `Cargo.lock`: only that slot changes; every comment and the layout stay.

use std::fmt;

use super::{FILE_NAME, IstioVersion, Platform, Sha256, ToolVersion};

/// Where in the pins file a checksum lives, for writing one back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChecksumSlot {
    Kind {
        version: ToolVersion,
        platform: Platform,
    },
    Helm {
        platform: Platform,
    },
    Istio {
        version: IstioVersion,
        platform: Platform,
    },
}

impl fmt::Display for ChecksumSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChecksumSlot::Kind { version, platform } => {
                write!(f, "kind.releases.\"{version}\".sha256.{platform}")
            }
            ChecksumSlot::Helm { platform } => write!(f, "helm.sha256.{platform}"),
            ChecksumSlot::Istio { version, platform } => {
                write!(f, "istio[version = \"{version}\"].sha256.{platform}")
            }
        }
    }
}

/// Returns `text` with `slot` set to `sha`, keeping every comment and the layout.
///
/// Used to record a checksum taken from upstream, the way Cargo writes `Cargo.lock`.
pub fn with_checksum(text: &str, slot: &ChecksumSlot, sha: Sha256) -> Result<String, String> {
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| e.to_string())?;
    let missing = || format!("{FILE_NAME} has no `{slot}` to record the checksum in");
    let table = match slot {
        ChecksumSlot::Kind { version, .. } => doc
            .get_mut("kind")
            .and_then(|k| k.get_mut("releases"))
            .and_then(|r| r.get_mut(version.as_str()))
            .and_then(|r| r.get_mut("sha256")),
        ChecksumSlot::Helm { .. } => doc.get_mut("helm").and_then(|h| h.get_mut("sha256")),
        ChecksumSlot::Istio { version, .. } => doc
            .get_mut("istio")
            .and_then(|i| i.as_array_of_tables_mut())
            .and_then(|rows| {
                rows.iter_mut().find(|row| {
                    row.get("version").and_then(|v| v.as_str()) == Some(&version.to_string())
                })
            })
            .and_then(|row| row.get_mut("sha256")),
    }
    .and_then(|item| item.as_table_like_mut())
    .ok_or_else(missing)?;
    let platform = match slot {
        ChecksumSlot::Kind { platform, .. }
        | ChecksumSlot::Helm { platform }
        | ChecksumSlot::Istio { platform, .. } => platform,
    };
    let key = platform.go_name();
    match table.get_mut(key) {
        Some(item) => {
            let decor = item.as_value().map(|v| v.decor().clone());
            let mut value = toml_edit::Value::from(sha.to_string());
            if let Some(decor) = decor {
                *value.decor_mut() = decor;
            }
            *item = toml_edit::Item::Value(value);
        }
        None => {
            table.insert(key, toml_edit::value(sha.to_string()));
        }
    }
    Ok(doc.to_string())
}
