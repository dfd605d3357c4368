//! `cargo xtask matrix`: the rows CI runs live, for `strategy.matrix` in GitHub Actions.

use std::path::Path;

use e2e::pins::{Arch, Os, Pins, Platform};
use serde_json::json;

use crate::error::CliError;

/// The platform of the live jobs: GitHub's `ubuntu-24.04` runners are x86-64 Linux.
const CI_PLATFORM: Platform = Platform {
    os: Os::Linux,
    arch: Arch::Amd64,
};

pub fn run(pins_file: &Path) -> Result<(), CliError> {
    let pins = Pins::load(pins_file)?;
    crate::output::print(format_args!("{}\n", matrix_json(&pins)?))
}

/// `{"include":[{"istio":"1.31.1","kind":"v0.33.0","node_image":"...","locked":true}, ...]}`.
///
/// `locked` says whether every checksum the row's tools need on CI's platform is recorded,
/// so the job can run `tools --locked`; a row without them takes them from upstream and
/// asks for a commit instead of failing.
fn matrix_json(pins: &Pins) -> Result<serde_json::Value, CliError> {
    let mut include = Vec::new();
    for row in pins.matrix() {
        let artifacts = e2e::tools::artifact::for_row(pins, row, CI_PLATFORM)?;
        let locked = artifacts.all().iter().all(|a| a.recorded().is_some());
        include.push(json!({
            "istio": row.version.to_string(),
            "kind": row.kind.version.to_string(),
            "node_image": row.node_image.to_string(),
            "locked": locked,
        }));
    }
    Ok(json!({ "include": include }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_lists_every_row_with_its_kind_and_whether_it_can_run_locked() {
        let pins = Pins::parse(
            include_str!("../../fixtures/pins/two-rows.toml"),
            std::path::Path::new("versions.toml"),
        )
        .unwrap();
        assert_eq!(
            matrix_json(&pins).unwrap(),
            json!({"include": [
                {
                    "istio": "1.31.1",
                    "kind": "v0.33.0",
                    "node_image": "kindest/node:v1.36.4@sha256:099e049362a1526b2db71494e1947aae99bd16290d7c895f2b7ea312e3cbfaed",
                    "locked": true,
                },
                {
                    "istio": "1.24.1",
                    "kind": "v0.31.0",
                    "node_image": "kindest/node:v1.31.14@sha256:6f86cf509dbb42767b6e79debc3f2c32e4ee01386f0489b3b2be24b0a55aac2b",
                    "locked": false,
                },
            ]})
        );
    }
}
