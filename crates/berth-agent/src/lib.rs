//! The Berth agent: one per host. It registers the host as a container instance, holds the work channel to the
//! server, runs tasks through the container runtime and reports what happens to them.

pub mod metadata;
pub mod runtime;
