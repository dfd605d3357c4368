//! The live suite: built only with the `live` feature and run only in the `live` nextest
//! profile, both of which `cargo xtask e2e` sets, against the mesh recorded in the state
//! directory. Missing state is a failure, never a skip.

#[test]
fn mesh_state_is_recorded() {
    let path = e2e::dirs::state_dir().join("state.json");
    assert!(
        path.is_file(),
        "no mesh state at {}: the live suite runs through `cargo xtask e2e`, which brings the mesh up first",
        path.display()
    );
}
