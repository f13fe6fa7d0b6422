//! Reading Docker's stats JSON: cumulative CPU time, sampling time and memory in use, and the CPU rate between
//! two of one container's samples. One-shot samples carry no `precpu_stats`, so the rate always comes from the
//! collector's own consecutive samples.

use std::time::Instant;

use serde_json::Value;

/// What one stats sample of a container says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// Nanoseconds of CPU the container has used since it started.
    pub cpu_total_ns: u64,
    /// When Docker took the sample (seconds since the epoch), when it says.
    pub read_at: Option<f64>,
    /// When the agent received it, for when Docker's time is missing.
    pub received: Instant,
    /// Bytes in use, without the page cache the kernel can reclaim (as `docker stats` shows it).
    pub memory_bytes: u64,
}

impl Reading {
    /// Reads a sample; `None` when it has no CPU figure (a container that is not running).
    pub fn parse(raw: &Value, received: Instant) -> Option<Reading> {
        let cpu_total_ns = raw.pointer("/cpu_stats/cpu_usage/total_usage")?.as_u64()?;
        let read_at = raw
            .get("read")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<jiff::Timestamp>().ok())
            .filter(|t| t.as_second() > 0)
            .map(|t| t.as_second() as f64 + f64::from(t.subsec_nanosecond()) / 1e9);
        Some(Reading { cpu_total_ns, read_at, received, memory_bytes: memory_in_use(raw) })
    }

    /// Cores in use on average between `previous` and this sample (1.0 = one full core), or `None` when the two
    /// cannot be compared (no time between them, or a counter that went back: the container restarted).
    pub fn cores_since(&self, previous: &Reading) -> Option<f64> {
        let seconds = match (previous.read_at, self.read_at) {
            (Some(a), Some(b)) => b - a,
            _ => self.received.saturating_duration_since(previous.received).as_secs_f64(),
        };
        if seconds <= 0.0 || self.cpu_total_ns < previous.cpu_total_ns {
            return None;
        }
        Some((self.cpu_total_ns - previous.cpu_total_ns) as f64 / 1e9 / seconds)
    }
}

/// Memory usage minus the inactive page cache: `inactive_file` on cgroup v2, `total_inactive_file` on v1 (the
/// figure `docker stats` and the ECS agent report).
fn memory_in_use(raw: &Value) -> u64 {
    let Some(memory) = raw.get("memory_stats") else { return 0 };
    let usage = memory.get("usage").and_then(Value::as_u64).unwrap_or(0);
    let stats = memory.get("stats");
    let field = |name: &str| stats.and_then(|s| s.get(name)).and_then(Value::as_u64);
    let cache = field("inactive_file").or_else(|| field("total_inactive_file")).unwrap_or(0);
    usage.saturating_sub(cache)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    fn raw(total: u64, read: &str, usage: u64, stats: Value) -> Value {
        json!({"read": read, "cpu_stats": {"cpu_usage": {"total_usage": total}},
               "memory_stats": {"usage": usage, "stats": stats}})
    }

    #[test]
    fn cpu_rate_between_samples() {
        let t0 = Instant::now();
        let a = Reading::parse(&raw(1_000_000_000, "2026-01-01T00:00:00Z", 0, json!({})), t0).unwrap();
        let b = Reading::parse(&raw(3_000_000_000, "2026-01-01T00:00:02Z", 0, json!({})), t0).unwrap();
        assert_eq!(b.cores_since(&a), Some(1.0));
        // Half a core over 4 s.
        let c = Reading::parse(&raw(5_000_000_000, "2026-01-01T00:00:06Z", 0, json!({})), t0).unwrap();
        assert_eq!(c.cores_since(&b), Some(0.5));
        // A restarted container's counter starts again: no figure.
        let d = Reading::parse(&raw(10, "2026-01-01T00:00:08Z", 0, json!({})), t0).unwrap();
        assert_eq!(d.cores_since(&c), None);
        assert_eq!(a.cores_since(&a), None);
    }

    #[test]
    fn without_docker_time_the_receive_time_counts() {
        let t0 = Instant::now();
        let a = Reading::parse(&raw(0, "0001-01-01T00:00:00Z", 0, json!({})), t0).unwrap();
        assert_eq!(a.read_at, None);
        let b = Reading::parse(&raw(500_000_000, "", 0, json!({})), t0 + Duration::from_secs(1)).unwrap();
        assert_eq!(b.cores_since(&a), Some(0.5));
    }

    #[test]
    fn memory_leaves_out_the_inactive_cache() {
        let t0 = Instant::now();
        let v2 = Reading::parse(&raw(0, "", 100 << 20, json!({"inactive_file": 30 << 20})), t0).unwrap();
        assert_eq!(v2.memory_bytes, 70 << 20);
        let v1 = Reading::parse(&raw(0, "", 100 << 20, json!({"total_inactive_file": 10 << 20})), t0).unwrap();
        assert_eq!(v1.memory_bytes, 90 << 20);
        let none = Reading::parse(&raw(0, "", 5, json!({"inactive_file": 50})), t0).unwrap();
        assert_eq!(none.memory_bytes, 0);
        assert_eq!(Reading::parse(&json!({"read": "", "cpu_stats": {}}), t0), None);
    }
}
