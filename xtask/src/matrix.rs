//! `cargo xtask matrix`: the rows CI runs live, for `strategy.matrix` in GitHub Actions.

use serde_json::json;

pub fn run() -> anyhow::Result<()> {
    let pins = e2e::pins::Pins::load(&e2e::dirs::pins_file())?;
    println!("{}", matrix_json(&pins));
    Ok(())
}

/// `{"include":[{"istio":"1.31.1","kind":"v0.33.0","node_image":"..."}, ...]}`.
fn matrix_json(pins: &e2e::pins::Pins) -> serde_json::Value {
    let include: Vec<_> = pins
        .matrix
        .iter()
        .map(|version| {
            let row = pins.row(version).expect("validated: matrix rows exist");
            json!({
                "istio": row.version.to_string(),
                "kind": pins.kind_for(row).to_string(),
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
        let pins = e2e::pins::Pins::load(&e2e::dirs::pins_file()).unwrap();
        let json = matrix_json(&pins);
        let rows = json["include"].as_array().unwrap();
        assert_eq!(rows.len(), pins.matrix.len());
        let old = rows.iter().find(|r| r["istio"] == "1.24.1").unwrap();
        assert_eq!(old["kind"], "v0.31.0");
        assert_eq!(rows[0]["istio"], pins.matrix[0].to_string());
    }
}
