//! ECS resource types, ARNs, validation and the cluster query language.
//!
//! This crate owns the shapes Berth stores and returns (camelCase on the wire, snake_case in Rust, names as in the
//! botocore ECS model) and the rules ECS applies to them. It does no I/O. Validation failures are [`ModelError`]s;
//! the server maps them once to ECS error codes.

pub mod agent;
pub mod arn;
pub mod cluster;
pub mod common;
pub mod error;
pub mod instance;
pub mod logs;
pub mod names;
pub mod ports;
pub mod query;
pub mod service;
pub mod task;
pub mod taskdef;
pub mod utilization;

pub use common::{Attribute, Failure, Tag};
pub use error::ModelError;
