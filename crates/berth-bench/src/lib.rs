//! Benchmarks behind `berth bench`. Each module owns one measurement and prints its figures as one JSON line;
//! none asserts a timing.
//!
//! - [`api`]: a closed-loop load generator for the ECS JSON API that signs every request with SigV4 (as the AWS
//!   SDKs do), so the same client can drive Berth and a peer such as moto's server.

pub mod api;
