//! When each instance's agent was last heard from. Agents hold a `Poll` open almost all the time, so an agent
//! counts as present while a poll is in flight and for the deadline after its last one ended. This is in memory:
//! after a server restart every agent gets a full deadline to come back before it is declared lost.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
struct Seen {
    last: Instant,
    in_flight: u32,
}

/// Agent contact times by instance key.
#[derive(Debug)]
pub struct Liveness {
    seen: Arc<Mutex<HashMap<String, Seen>>>,
    started: Instant,
}

impl Default for Liveness {
    fn default() -> Self {
        Liveness { seen: Arc::default(), started: Instant::now() }
    }
}

/// Held for the length of one poll.
pub struct PollGuard {
    seen: Arc<Mutex<HashMap<String, Seen>>>,
    key: String,
}

impl Drop for PollGuard {
    fn drop(&mut self) {
        if let Ok(mut seen) = self.seen.lock()
            && let Some(s) = seen.get_mut(&self.key)
        {
            s.in_flight = s.in_flight.saturating_sub(1);
            s.last = Instant::now();
        }
    }
}

impl Liveness {
    /// Notes a poll starting for `instance_key`.
    pub fn begin(&self, instance_key: &str) -> PollGuard {
        if let Ok(mut seen) = self.seen.lock() {
            let s = seen.entry(instance_key.to_owned()).or_insert(Seen { last: Instant::now(), in_flight: 0 });
            s.in_flight += 1;
            s.last = Instant::now();
        }
        PollGuard { seen: self.seen.clone(), key: instance_key.to_owned() }
    }

    /// How long the instance's agent has been silent: zero while it polls; since server start if never seen.
    pub fn silent_for(&self, instance_key: &str) -> Duration {
        let Ok(seen) = self.seen.lock() else { return Duration::ZERO };
        match seen.get(instance_key) {
            Some(s) if s.in_flight > 0 => Duration::ZERO,
            Some(s) => s.last.elapsed(),
            None => self.started.elapsed(),
        }
    }

    /// Forgets an instance (deregistered).
    pub fn forget(&self, instance_key: &str) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.remove(instance_key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silent_only_between_polls() {
        let l = Liveness::default();
        let guard = l.begin("instances/c/a");
        assert_eq!(l.silent_for("instances/c/a"), Duration::ZERO);
        drop(guard);
        std::thread::sleep(Duration::from_millis(5));
        assert!(l.silent_for("instances/c/a") >= Duration::from_millis(5));
        assert!(l.silent_for("instances/c/never") > Duration::ZERO);
    }
}
