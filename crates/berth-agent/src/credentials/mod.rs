//! Task role credentials, the agent's side of ECS's "IAM roles for tasks": a task whose definition (or RunTask
//! overrides) names `taskRoleArn` gets temporary credentials of that role, which boto3, the aws CLI and the AWS
//! SDKs inside its containers find without configuration, as on ECS.
//!
//! What this module owns:
//! - [`CredentialsSource`], where a task's role credentials come from: [`ServerSource`] asks the server with the
//!   agent operation `GetTaskCredentials`; tests put their own in its place.
//! - [`Store`], the credentials the metadata endpoint serves on `GET /v2/credentials/{id}` (see
//!   [`crate::metadata::server`]): one entry per task, under an unguessable credentials id, with the task's own
//!   authorization token, so a task reads its own credentials and no other's.
//! - [`fetch_for_start`], the first fetch, whose failure is the task's stop reason ([`assume_role_failure`]), and
//!   [`Refresher`], which fetches again when less than a third of the lifetime is left.
//! - What containers get: [`env`] (`AWS_CONTAINER_CREDENTIALS_FULL_URI`, `AWS_CONTAINER_AUTHORIZATION_TOKEN`) and the
//!   labels [`ID_LABEL`] and [`TOKEN_LABEL`], which carry the id and token across an agent restart (the containers'
//!   environment cannot change, so a restarted agent must serve the same id with the same token).
//! - [`host`]: making 169.254.170.2 an address of the host.
//! - [`web_identity`]: tokens of Berth's OIDC issuer for containers that ask for them (agent operation
//!   `GetTaskWebIdentityToken`), in files the AWS SDKs read through `AWS_WEB_IDENTITY_TOKEN_FILE`.
//! - [`ca`]: Berth's CA, mounted into the containers of tasks with a role and named by `AWS_CA_BUNDLE`, so the SDKs
//!   inside can reach an HTTPS Berth.
//!
//! The engine decides when (`engine::task`): the fetch happens at task start, before images and containers; the
//! entry goes when the task stops.
//!
//! Why 169.254.170.2 and a full URI: the SDKs accept an `http` `AWS_CONTAINER_CREDENTIALS_FULL_URI` only on a loopback
//! address or on 169.254.170.2 / 169.254.170.23 (botocore's `ContainerMetadataFetcher`). A bridge container reaches
//! 169.254.170.2 through its default gateway once the host has that address (on `lo`), and a host-network container
//! reaches it directly, so the agent adds the address and the metadata endpoint listens on it as well. Limits:
//! - `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` is never set: the SDKs resolve it against `http://169.254.170.2` on
//!   port 80, which ECS reaches with a DNAT rule to its agent. Several Berth agents may share a host, each with its
//!   own port, and Berth does not rewrite the host's firewall, so only the full URI (which names the port) is used.
//! - When the address cannot be added (no `CAP_NET_ADMIN`, no `ip` command), the agent warns and the full URI names
//!   the bridge gateway instead: clients that do not check the host (curl, custom code) still work, but the AWS SDKs
//!   refuse that URI.
//! - Anyone who can inspect the containers on the host (the Docker socket) sees the tokens, as on ECS.
//! - Only the task role is served. The execution role's credentials (`TaskRole::Execution`) come from the same
//!   source, fetched with [`fetch_for_start`] for tasks that need them (secrets, registry credentials; see
//!   [`crate::secrets`]); the agent keeps them in memory while the task starts and never serves them.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use berth_client::{Client, ClientError};
use berth_model::agent::{
    AGENT_TARGET_PREFIX, TaskCredentials, TaskCredentialsRequest, TaskRole, TaskWebIdentityToken,
    TaskWebIdentityTokenRequest,
};
use tracing::{info, warn};

use crate::channel::Backoff;

pub mod ca;
pub mod host;
pub mod web_identity;

/// Label holding a container's credentials id.
pub const ID_LABEL: &str = "berth.credentials-id";
/// Label holding a container's credentials authorization token.
pub const TOKEN_LABEL: &str = "berth.credentials-token";

/// The environment variable naming the credentials URI.
pub const FULL_URI_ENV: &str = "AWS_CONTAINER_CREDENTIALS_FULL_URI";
/// The environment variable holding the value the SDKs send as `Authorization`.
pub const AUTHORIZATION_TOKEN_ENV: &str = "AWS_CONTAINER_AUTHORIZATION_TOKEN";

/// Longest one `GetTaskCredentials` call may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a task's start keeps retrying a server that does not answer before the task fails.
pub const START_FETCH_DEADLINE: Duration = Duration::from_secs(60);
/// Shortest wait before a refresh, whatever the expiration says: no busy loop on credentials that are already
/// (nearly) expired or a clock that disagrees with the server's.
const MIN_REFRESH_DELAY: Duration = Duration::from_secs(5);

/// Why credentials could not be had.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The server refused: the role does not exist or does not trust `ecs-tasks.amazonaws.com`, the caller may not
    /// pass it, the task is not on this instance or has stopped, or the server does not know the operation.
    #[error("{code}: {message}")]
    Refused { code: String, message: String },
    /// No answer, or the server failed: worth trying again.
    #[error("{0}")]
    Unavailable(String),
}

impl From<ClientError> for FetchError {
    fn from(e: ClientError) -> Self {
        match e {
            e if e.is_retryable() => FetchError::Unavailable(e.to_string()),
            ClientError::Api { code, message, .. } => FetchError::Refused { code, message },
            // An answer that is not credentials, or a request that cannot be signed, will not get better by itself.
            other => FetchError::Refused { code: "InvalidResponse".to_owned(), message: other.to_string() },
        }
    }
}

/// Where a task's role credentials come from.
#[async_trait]
pub trait CredentialsSource: Send + Sync {
    /// Credentials of `role` of the task `task_arn` (assigned to this instance).
    async fn fetch(&self, task_arn: &str, role: TaskRole) -> Result<TaskCredentials, FetchError>;

    /// A web identity token of the server's OIDC issuer for the task `task_arn` and `audience`. Sources without
    /// them refuse.
    async fn web_identity_token(&self, task_arn: &str, audience: &str) -> Result<TaskWebIdentityToken, FetchError> {
        let _ = (task_arn, audience);
        Err(FetchError::Refused {
            code: "UnknownOperationException".to_owned(),
            message: "this credentials source has no web identity tokens".to_owned(),
        })
    }
}

/// The server, through the agent operation `GetTaskCredentials`.
pub struct ServerSource {
    client: Client,
    cluster: String,
    container_instance: String,
}

impl ServerSource {
    pub fn new(client: Client, cluster: String, container_instance: String) -> Self {
        ServerSource { client, cluster, container_instance }
    }
}

#[async_trait]
impl CredentialsSource for ServerSource {
    async fn fetch(&self, task_arn: &str, role: TaskRole) -> Result<TaskCredentials, FetchError> {
        let request = TaskCredentialsRequest {
            cluster: self.cluster.clone(),
            container_instance: self.container_instance.clone(),
            task: task_arn.to_owned(),
            role,
        };
        let target = format!("{AGENT_TARGET_PREFIX}GetTaskCredentials");
        let credentials: TaskCredentials = self.client.call(&target, &request, Some(FETCH_TIMEOUT)).await?;
        let complete = !credentials.access_key_id.is_empty()
            && !credentials.secret_access_key.is_empty()
            && !credentials.token.is_empty()
            && credentials.expiration.is_finite();
        if !complete {
            return Err(FetchError::Refused {
                code: "InvalidResponse".to_owned(),
                message: "GetTaskCredentials answered incomplete credentials".to_owned(),
            });
        }
        Ok(credentials)
    }

    async fn web_identity_token(&self, task_arn: &str, audience: &str) -> Result<TaskWebIdentityToken, FetchError> {
        let request = TaskWebIdentityTokenRequest {
            cluster: self.cluster.clone(),
            container_instance: self.container_instance.clone(),
            task: task_arn.to_owned(),
            audience: audience.to_owned(),
        };
        let target = format!("{AGENT_TARGET_PREFIX}GetTaskWebIdentityToken");
        let token: TaskWebIdentityToken = self.client.call(&target, &request, Some(FETCH_TIMEOUT)).await?;
        if token.token.split('.').count() != 3 || !token.expiration.is_finite() {
            return Err(FetchError::Refused {
                code: "InvalidResponse".to_owned(),
                message: "GetTaskWebIdentityToken answered something that is not a JWT".to_owned(),
            });
        }
        Ok(token)
    }
}

/// One task's entry in the [`Store`].
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub task_arn: String,
    /// What the task's containers must send as `Authorization`.
    pub token: String,
    /// `None` until the first fetch has answered (a restarted agent registers adopted tasks before that).
    pub credentials: Option<TaskCredentials>,
}

/// The credentials the metadata endpoint serves, by credentials id.
#[derive(Debug, Default)]
pub struct Store {
    entries: RwLock<HashMap<String, Entry>>,
}

impl Store {
    /// Makes `id` lead to the task with `token`, without credentials yet (kept when already registered).
    pub fn register(&self, id: &str, task_arn: &str, token: &str) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        entries.entry(id.to_owned()).or_insert_with(|| Entry {
            task_arn: task_arn.to_owned(),
            token: token.to_owned(),
            credentials: None,
        });
    }

    /// Replaces the credentials of a registered id. Returns false when the id is gone (the task stopped): a refresh
    /// that finishes after the removal must not bring the entry back.
    pub fn set(&self, id: &str, credentials: TaskCredentials) -> bool {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        match entries.get_mut(id) {
            Some(entry) => {
                entry.credentials = Some(credentials);
                true
            }
            None => false,
        }
    }

    pub fn remove(&self, id: &str) {
        self.entries.write().unwrap_or_else(PoisonError::into_inner).remove(id);
    }

    pub fn get(&self, id: &str) -> Option<Entry> {
        self.entries.read().unwrap_or_else(PoisonError::into_inner).get(id).cloned()
    }

    /// How many tasks have an entry.
    pub fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(PoisonError::into_inner).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A fresh credentials id (a UUID, as ECS's).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A fresh authorization token (64 hex characters).
pub fn new_token() -> String {
    crate::link::new_token()
}

/// What a container of a task with a role gets: the full URI of its credentials on `endpoint` (the base URL,
/// e.g. `http://169.254.170.2:51679`) and the token to send.
pub fn env(endpoint: &str, id: &str, token: &str) -> Vec<(String, String)> {
    let base = endpoint.trim_end_matches('/');
    vec![
        (FULL_URI_ENV.to_owned(), format!("{base}/v2/credentials/{id}")),
        (AUTHORIZATION_TOKEN_ENV.to_owned(), token.to_owned()),
    ]
}

/// ECS's stop reason for a task role that cannot be assumed.
pub fn assume_role_failure(role_arn: &str) -> String {
    format!(
        "CannotStartContainerError: ECS was unable to assume the role '{role_arn}' that was provided for this task. \
         Please verify that the role being passed has the proper trust relationship and permissions and that your \
         IAM user has permissions to pass this role."
    )
}

/// Seconds since the epoch, as the server's `expiration`.
pub fn epoch_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// How long until credentials expiring at `expiration` are fetched again, seen at `now` (both seconds since the
/// epoch): once two thirds of what is left have passed, as ECS's agent does (6 h credentials are refreshed after
/// 4 h), so the endpoint serves credentials with a long life left and a failing server has hours of retries.
pub fn refresh_delay(expiration: f64, now: f64) -> Duration {
    let left = expiration - now;
    if !left.is_finite() || left <= 0.0 {
        return MIN_REFRESH_DELAY;
    }
    Duration::try_from_secs_f64(left * 2.0 / 3.0).unwrap_or(MIN_REFRESH_DELAY).max(MIN_REFRESH_DELAY)
}

/// The first fetch of a task's credentials, when the task starts. A server that does not answer (or fails) is
/// retried with backoff for up to [`START_FETCH_DEADLINE`]; a refusal is final. The error is the task's stop reason.
pub async fn fetch_for_start(
    source: &dyn CredentialsSource,
    task_arn: &str,
    role: TaskRole,
    role_arn: &str,
) -> Result<TaskCredentials, String> {
    fetch_with_retries(source, task_arn, role, role_arn).await.map_err(|e| match e {
        FetchError::Refused { .. } => assume_role_failure(role_arn),
        FetchError::Unavailable(e) => format!(
            "ResourceInitializationError: unable to get credentials for the task role '{role_arn}' from the server: {e}"
        ),
    })
}

/// Fetches `role`'s credentials for a task's start: a server that does not answer (or fails) is retried with
/// backoff for up to [`START_FETCH_DEADLINE`], a refusal is final; the error is the last one.
pub async fn fetch_with_retries(
    source: &dyn CredentialsSource,
    task_arn: &str,
    role: TaskRole,
    role_arn: &str,
) -> Result<TaskCredentials, FetchError> {
    let deadline = tokio::time::Instant::now() + START_FETCH_DEADLINE;
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(10));
    loop {
        match source.fetch(task_arn, role).await {
            Ok(credentials) => return Ok(credentials),
            Err(FetchError::Refused { code, message }) => {
                warn!(task = %task_arn, role = %role_arn, %code, %message, "the server refused the role's credentials");
                return Err(FetchError::Refused { code, message });
            }
            Err(FetchError::Unavailable(e)) => {
                let delay = backoff.next_delay();
                if tokio::time::Instant::now() + delay > deadline {
                    warn!(task = %task_arn, role = %role_arn, error = %e, "no credentials for the role; giving up");
                    return Err(FetchError::Unavailable(e));
                }
                warn!(task = %task_arn, role = %role_arn, error = %e, retry_in_ms = delay.as_millis() as u64,
                    "no credentials for the role yet; retrying");
                tokio::time::sleep(delay).await;
            }
        }
    }
}

/// Keeps one task's credentials fresh in the [`Store`] until dropped, or until the task's entry is gone. Failures
/// are retried with backoff (capped at a minute) for as long as the task runs: the credentials served meanwhile
/// stay valid until their expiration, which a refresh at two thirds of the lifetime leaves hours away.
pub struct Refresher(tokio::task::JoinHandle<()>);

impl Refresher {
    /// Starts refreshing `id` (already registered in `store`) after `first`; `Duration::ZERO` fetches at once (an
    /// adopted task, whose credentials the restarted agent does not have).
    pub fn spawn(
        source: Arc<dyn CredentialsSource>,
        store: Arc<Store>,
        id: String,
        task_arn: String,
        role: TaskRole,
        first: Duration,
    ) -> Refresher {
        Refresher(tokio::spawn(refresh_loop(source, store, id, task_arn, role, first)))
    }
}

impl Drop for Refresher {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn refresh_loop(
    source: Arc<dyn CredentialsSource>,
    store: Arc<Store>,
    id: String,
    task_arn: String,
    role: TaskRole,
    first: Duration,
) {
    let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
    let mut delay = first;
    loop {
        tokio::time::sleep(delay).await;
        if store.get(&id).is_none() {
            return;
        }
        match source.fetch(&task_arn, role).await {
            Ok(credentials) => {
                backoff.reset();
                delay = refresh_delay(credentials.expiration, epoch_now());
                let expiration = credentials.expiration;
                if !store.set(&id, credentials) {
                    return;
                }
                info!(task = %task_arn, ?role, expiration, next_in_s = delay.as_secs(), "task role credentials refreshed");
            }
            Err(e) => {
                delay = backoff.next_delay();
                warn!(task = %task_arn, ?role, error = %e, retry_in_ms = delay.as_millis() as u64,
                    "refreshing the task role's credentials failed; retrying");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(key: &str) -> TaskCredentials {
        TaskCredentials {
            access_key_id: key.to_owned(),
            secret_access_key: "secret".to_owned(),
            token: "session".to_owned(),
            expiration: 2_000_000_000.0,
            role_arn: "arn:aws:iam::000000000000:role/app".to_owned(),
        }
    }

    #[test]
    fn refresh_comes_when_a_third_of_the_lifetime_is_left() {
        let now = 1_000_000.0;
        assert_eq!(refresh_delay(now + 6.0 * 3600.0, now), Duration::from_secs(4 * 3600));
        assert_eq!(refresh_delay(now + 900.0, now), Duration::from_secs(600));
        // Expired, nearly expired or nonsense: soon, but not in a busy loop.
        assert_eq!(refresh_delay(now - 10.0, now), MIN_REFRESH_DELAY);
        assert_eq!(refresh_delay(now + 1.0, now), MIN_REFRESH_DELAY);
        assert_eq!(refresh_delay(f64::NAN, now), MIN_REFRESH_DELAY);
        assert_eq!(refresh_delay(f64::INFINITY, now), MIN_REFRESH_DELAY);
    }

    #[test]
    fn store_never_brings_back_a_removed_entry() {
        let store = Store::default();
        assert!(!store.set("id", credentials("A")));
        store.register("id", "task", "tok");
        assert_eq!(store.get("id").and_then(|e| e.credentials), None);
        assert!(store.set("id", credentials("A")));
        // Registering again keeps what is there.
        store.register("id", "task", "tok");
        assert_eq!(store.get("id").and_then(|e| e.credentials).map(|c| c.access_key_id).as_deref(), Some("A"));
        store.remove("id");
        assert!(!store.set("id", credentials("B")));
        assert!(store.get("id").is_none() && store.is_empty());
    }

    #[test]
    fn env_names_the_full_uri_and_token() {
        assert_eq!(
            env("http://169.254.170.2:51679/", "abc", "tok"),
            vec![
                (FULL_URI_ENV.to_owned(), "http://169.254.170.2:51679/v2/credentials/abc".to_owned()),
                (AUTHORIZATION_TOKEN_ENV.to_owned(), "tok".to_owned()),
            ]
        );
        assert_ne!(new_id(), new_id());
        assert_eq!(new_token().len(), 64);
    }

    #[test]
    fn client_errors_split_into_refusals_and_retries() {
        let refused = FetchError::from(ClientError::Api {
            status: 400,
            code: "UnknownOperationException".to_owned(),
            message: "no such operation".to_owned(),
        });
        assert!(matches!(refused, FetchError::Refused { ref code, .. } if code == "UnknownOperationException"));
        let busy = FetchError::from(ClientError::Api { status: 503, code: "X".to_owned(), message: String::new() });
        assert!(matches!(busy, FetchError::Unavailable(_)));
        let down = FetchError::from(ClientError::Transport { endpoint: "e".to_owned(), message: "refused".to_owned() });
        assert!(matches!(down, FetchError::Unavailable(_)));
        assert!(matches!(FetchError::from(ClientError::Decode("x".to_owned())), FetchError::Refused { .. }));
    }
}
