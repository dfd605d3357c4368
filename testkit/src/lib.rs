//! What the workspace's tests share. Only ever a dev-dependency: nothing here is part of
//! `cargo xtask`.
//!
//! - [`server`]: an HTTP/1.1 server on 127.0.0.1 with fault injection that counts the
//!   requests per path, so tests assert downloads and cache hits, not timings.
//! - [`archive`]: tar.gz archives written entry by entry, including ones a careful writer
//!   refuses to produce.
//! - [`release`]: artifacts laid out like the kind, helm, Istio and MetalLB releases, and
//!   their paths on a mirror.
//! - [`pins`]: a pins file (`versions.toml`) describing those artifacts.
//! - [`fixture`]: all of it wired together: a server, a temp dir with a cache and a pins
//!   file, and fetch options pointing at them.
//! - [`schema`]: just enough JSON Schema to check rendered objects against upstream schemas.
//! - [`certs`]: certificates issued under the mesh's CAs, to prove what those may sign.
//! - [`files`]: listing what a run left on disk.
//! - [`fake_tool`]: fake kind/docker/helm executables (the `fake-tool` bin) driven by a
//!   JSON script, strict about argv and flags, recording every call.
//! - [`kube_api`]: a Kubernetes API server stand-in on 127.0.0.1 that stores objects,
//!   serves discovery, server-side apply, label selectors, status, faults and scripted
//!   exec, so tests drive the real kube-rs client from a kubeconfig file.
//! - The `fetch-tools` binary: `e2e::tools::ensure` as a process of its own, so tests run
//!   real concurrent processes against one cache (`tests/tools_concurrent.rs`).
//! - The openssl probe: `build.rs` sets `cfg(openssl_on_path)` for this crate, so the openssl
//!   second opinion (`tests/certs_openssl.rs`) is ignored, with its reason, where openssl is
//!   missing, and `E2E_REQUIRE_OPENSSL=1` makes a missing openssl a build error.
//!
//! This crate depends on `e2e`, and `e2e` has it as a dev-dependency (a cycle cargo allows,
//! as tokio has with tokio-test). Integration tests and examples of `e2e` and `xtask` use
//! it; `e2e`'s own unit tests (`#[cfg(test)]` in e2e/src) cannot, as they would see a
//! second copy of e2e's types.

pub mod archive;
pub mod certs;
pub mod fake_tool;
pub mod files;
pub mod fixture;
pub mod kube_api;
pub mod pins;
pub mod release;
pub mod schema;
pub mod server;

pub use archive::{Entry, tar_gz};
pub use files::{list, tree};
pub use fixture::{Fixture, fast_http};
pub use pins::{Recorded, Sizes, pins_text, sha256};
pub use release::{
    Artifacts, HELM, ISTIO, KIND, METALLB, Paths, helm_archive, istio_archive, script,
};
pub use server::{Behaviour, Gate, TestServer};
