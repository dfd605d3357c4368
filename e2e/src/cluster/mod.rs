//! The kind clusters: creating, inspecting and deleting them goes here, behind a provider
//! that tests replace. For now, the check that a container engine answers at all, which
//! the live path makes before it starts anything.

pub mod docker;

pub use docker::DockerError;
