//! The work channel: a loop of long `Poll` calls, each answering the instance's full task manifest when it changes
//! (or when the wait ends), handed to the engine. A broken connection is retried with exponential backoff and
//! jitter; the first answer after a reconnect is a full manifest, so nothing missed while away is lost.

use std::sync::Arc;
use std::time::Duration;

use berth_client::Client;
use berth_model::agent::{AGENT_TARGET_PREFIX, PollRequest, PollResponse};

use crate::engine::Engine;

/// How long one poll waits on the server for a change.
const POLL_WAIT_SECONDS: u32 = 20;

/// Polls until the task is aborted.
pub async fn run(client: Client, cluster: String, instance_arn: String, engine: Arc<Engine>) {
    let mut revision = 0;
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(15));
    let target = format!("{AGENT_TARGET_PREFIX}Poll");
    loop {
        let request = PollRequest {
            cluster: cluster.clone(),
            container_instance: instance_arn.clone(),
            after_revision: Some(revision),
            wait_seconds: Some(POLL_WAIT_SECONDS),
        };
        let timeout = Duration::from_secs(u64::from(POLL_WAIT_SECONDS) + 15);
        match client.call::<_, PollResponse>(&target, &request, Some(timeout)).await {
            Ok(manifest) => {
                backoff.reset();
                revision = manifest.revision;
                engine.apply_manifest(manifest.tasks).await;
            }
            Err(e) => {
                let delay = backoff.next_delay();
                tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "work channel broken");
                // A manifest after the break must be complete, so ask for it at once.
                revision = 0;
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// Exponential backoff with jitter.
#[derive(Debug)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    current: Duration,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Self {
        Backoff { first, max, current: first }
    }

    pub fn reset(&mut self) {
        self.current = self.first;
    }

    /// The next delay: the current step with up to 50% jitter, then the step doubles up to the maximum.
    pub fn next_delay(&mut self) -> Duration {
        let step = self.current;
        self.current = (self.current * 2).min(self.max);
        let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0]) * step.as_millis() as u64 / 512;
        step + Duration::from_millis(jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let first = b.next_delay();
        assert!(first >= Duration::from_millis(100) && first < Duration::from_millis(150));
        for _ in 0..10 {
            b.next_delay();
        }
        let capped = b.next_delay();
        assert!(capped >= Duration::from_secs(1) && capped < Duration::from_millis(1500));
        b.reset();
        assert!(b.next_delay() < Duration::from_millis(150));
    }
}
