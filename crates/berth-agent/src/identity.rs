//! The agent's instance identity. The key the agent starts with (an operator's) registers the host; then the agent
//! asks for its container instance's credentials (`GetInstanceCredentials`) and signs everything else with them,
//! so all it can do is the agent operations for its own instance and the state reports of its tasks (the server's
//! `authz::instance`). The credentials are renewed with themselves when a third of their lifetime is left; when
//! that is refused (the instance was deregistered and registered again, the server lost its session key), the
//! registration key asks again. A server that does not serve the operation, or a key not allowed it, leaves the
//! agent acting with its key, with a warning.

use std::time::Duration;

use berth_client::{AccessKey, Client, ClientError};
use berth_model::agent::{AGENT_TARGET_PREFIX, InstanceCredentials, InstanceCredentialsRequest};

use crate::channel::Backoff;

/// Retry of a renewal that did not reach the server.
const RETRY: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(60));

/// Switches `client` (and its clones) to the instance's identity; the credentials' expiry (seconds since the epoch).
pub async fn assume(client: &Client, cluster: &str, instance_arn: &str) -> Result<f64, ClientError> {
    let request =
        InstanceCredentialsRequest { cluster: cluster.to_owned(), container_instance: instance_arn.to_owned() };
    let target = format!("{AGENT_TARGET_PREFIX}GetInstanceCredentials");
    let credentials: InstanceCredentials = client.call(&target, &request, Some(Duration::from_secs(15))).await?;
    let key = AccessKey { access_key_id: credentials.access_key_id, secret_access_key: credentials.secret_access_key };
    client.use_credentials(&key, Some(&credentials.session_token));
    Ok(credentials.expiration)
}

/// Renews the identity until the agent stops: with itself, else with `registration_key`.
pub async fn keep(client: Client, registration_key: AccessKey, cluster: String, instance_arn: String, expires: f64) {
    let mut expires = expires;
    let mut backoff = Backoff::new(RETRY.0, RETRY.1);
    loop {
        let left = (expires - now()).max(0.0);
        tokio::time::sleep(Duration::from_secs_f64((left * 2.0 / 3.0).max(1.0))).await;
        loop {
            match assume(&client, &cluster, &instance_arn).await {
                Ok(next) => {
                    expires = next;
                    backoff.reset();
                    tracing::debug!(instance = %instance_arn, "instance identity renewed");
                    break;
                }
                Err(ClientError::Api { code, message, .. }) => {
                    // Refused with the identity itself: the registration key asks.
                    tracing::warn!(%code, %message, "instance identity not renewed; asking with the registration key");
                    client.use_credentials(&registration_key, None);
                    match assume(&client, &cluster, &instance_arn).await {
                        Ok(next) => {
                            expires = next;
                            break;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "acting with the registration key until the identity is back");
                            tokio::time::sleep(backoff.next_delay()).await;
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "instance identity not renewed; trying again");
                    tokio::time::sleep(backoff.next_delay()).await;
                }
            }
        }
    }
}

fn now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}
