//! Sends the engine's state changes to the server with `SubmitTaskStateChange`, in the order they happened.
//! A change that cannot be delivered (server down) is retried with backoff until it is; later changes wait behind
//! it, so the server never sees them out of order. Rejected changes (4xx) are logged and dropped: the server
//! merges forward only, and the next full report of the task supersedes them.

use berth_client::{Client, ClientError};
use berth_model::agent::TaskStateChange;
use serde_json::Value;
use std::time::Duration;
use tokio::sync::mpsc;

use crate::channel::Backoff;

/// Delivers changes until the channel closes.
pub async fn run(client: Client, mut changes: mpsc::UnboundedReceiver<TaskStateChange>) {
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
    while let Some(change) = changes.recv().await {
        loop {
            match client.ecs::<_, Value>("SubmitTaskStateChange", &change).await {
                Ok(_) => {
                    backoff.reset();
                    break;
                }
                Err(e) if e.is_retryable() => {
                    let delay = backoff.next_delay();
                    tracing::warn!(error = %e, task = ?change.task, "state report not delivered; retrying");
                    tokio::time::sleep(delay).await;
                }
                Err(ClientError::Api { code, message, .. }) => {
                    tracing::warn!(%code, %message, task = ?change.task, "state report rejected");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, task = ?change.task, "state report failed");
                    break;
                }
            }
        }
    }
}
