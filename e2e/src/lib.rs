//! Multi-primary, multi-network Istio on kind: the framework behind `cargo xtask`.
//!
//! Data flows one way: config → plan → steps → state → tests. Pure modules (`config`,
//! `pins`, `net`, `render`) take values and return values; edge modules take a toolbox,
//! a provider or a client that tests can replace.

pub mod certs;
pub mod cluster;
pub mod config;
pub mod dirs;
pub mod error;
pub mod executor;
pub mod fsx;
pub mod kube;
pub mod lifecycle;
pub mod names;
pub mod net;
pub mod pins;
pub mod plan;
pub mod probe;
pub mod render;
pub mod runner;
pub mod state;
pub mod tools;
mod validated;
pub mod wait;
pub mod yaml;

pub use error::{Error, ErrorKind};
