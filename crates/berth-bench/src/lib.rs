//! Benchmarks behind `berth bench`. Each module owns one measurement and prints its figures as one JSON line;
//! none asserts a timing.
//!
//! - [`api`]: a closed-loop load generator for the ECS JSON API that signs every request with SigV4 (as the AWS
//!   SDKs do), so the same client can drive Berth and a peer such as moto's server.
//! - [`cluster`]: hollow agents (the real agent on a fake runtime) join a server's cluster, RunTask places tasks on
//!   them, and the clock stops when the server counts them all RUNNING; with the server's peak memory.
//! - [`placement`]: the scheduler alone, deciding placements over a large synthetic cluster in memory.

pub mod api;
pub mod cluster;
pub mod placement;

/// The p-th percentile of sorted microsecond samples, in milliseconds.
pub(crate) fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    f64::from(sorted[idx.min(sorted.len() - 1)]) / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let s: Vec<u32> = (1..=100).map(|x| x * 1000).collect();
        assert_eq!(pct(&s, 50.0), 51.0);
        assert_eq!(pct(&s, 99.0), 99.0);
        assert_eq!(pct(&[], 99.0), 0.0);
    }
}
