//! `cargo xtask matrix`: the rows CI runs live, for `strategy.matrix` in GitHub Actions.

use serde_json::json;

pub fn run() -> Result<(), crate::error::CliError> {
    let pins = e2e::pins::Pins::load(&e2e::dirs::pins_file())?;
    println!("{}", matrix_json(&pins));
    Ok(())
}

/// `{"include":[{"istio":"1.31.1","kind":"v0.33.0","node_image":"..."}, ...]}`.
fn matrix_json(pins: &e2e::pins::Pins) -> serde_json::Value {
    let include: Vec<_> = pins
        .matrix()
        .map(|row| {
            json!({
                "istio": row.version.to_string(),
                "kind": row.kind.version.to_string(),
                "node_image": row.node_image.to_string(),
            })
        })
        .collect();
    json!({ "include": include })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_lists_every_row_with_its_kind() {
        let pins = e2e::pins::Pins::parse(
            include_str!("../../fixtures/pins/two-rows.toml"),
            std::path::Path::new("versions.toml"),
        )
        .unwrap();
        assert_eq!(
            matrix_json(&pins),
            json!({"include": [
                {
                    "istio": "1.31.1",
                    "kind": "v0.33.0",
                    "node_image": "kindest/node:v1.36.4@sha256:099e049362a1526b2db71494e1947aae99bd16290d7c895f2b7ea312e3cbfaed",
                },
                {
                    "istio": "1.24.1",
                    "kind": "v0.31.0",
                    "node_image": "kindest/node:v1.31.14@sha256:6f86cf509dbb42767b6e79debc3f2c32e4ee01386f0489b3b2be24b0a55aac2b",
                },
            ]})
        );
    }
}
