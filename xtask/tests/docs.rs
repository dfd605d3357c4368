//! What the checkout tells a new user: the `cargo xtask` alias and the README's
//! instructions and claims.

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn readme() -> String {
    std::fs::read_to_string(repo().join("README.md")).unwrap()
}

#[test]
fn the_alias_shows_the_first_build() {
    let config: toml::Table =
        toml::from_str(&std::fs::read_to_string(repo().join(".cargo/config.toml")).unwrap())
            .unwrap();
    let alias = config["alias"]["xtask"].as_str().unwrap();
    let words: Vec<&str> = alias.split_whitespace().collect();
    // A quiet `cargo run` says nothing for the minutes a fresh clone takes to build.
    assert!(
        !words.iter().any(|w| *w == "--quiet" || *w == "-q"),
        "{alias}"
    );
    // The form rust-analyzer's own alias has.
    assert_eq!(words, ["run", "--package", "xtask", "--bin", "xtask", "--"]);
}

#[test]
fn every_cargo_subcommand_the_readme_sends_people_to_is_installable_from_it() {
    let readme = readme();
    for (used, install) in [
        ("cargo insta review", "cargo install --locked cargo-insta"),
        ("cargo xtask test", "cargo install --locked cargo-nextest"),
    ] {
        if readme.contains(used) {
            assert!(readme.contains(install), "`{used}` without `{install}`");
        }
    }
}

#[test]
fn the_readme_documents_the_pins_override() {
    let readme = readme();
    for claim in ["--pins FILE", "MESH_PINS"] {
        assert!(readme.contains(claim), "{claim}");
    }
}
