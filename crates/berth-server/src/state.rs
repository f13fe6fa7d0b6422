//! Typed access to the store: JSON values under the key layout of DESIGN.md section 2, read with the mod revision
//! a later compare-and-swap needs.

use berth_store::{Compare, ListOptions, Op, Revision, Store};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult};

/// Key layout. Revisions are zero-padded so that key order is numeric order.
pub mod keys {
    /// IAM users, groups, roles and managed policies, by kind and lowercased name (IAM names are unique without
    /// regard to case): `iam/user/alice`.
    pub fn iam(kind: &str, name: &str) -> String {
        format!("iam/{kind}/{}", name.to_ascii_lowercase())
    }
    pub fn iam_of(kind: &str) -> String {
        format!("iam/{kind}/")
    }
    pub const IAM: &str = "iam/";

    pub fn cluster(name: &str) -> String {
        format!("clusters/{name}")
    }
    pub const CLUSTERS: &str = "clusters/";

    pub fn taskdef(family: &str, revision: i64) -> String {
        format!("taskdefs/{family}/{revision:010}")
    }
    /// Per-family record holding the last revision handed out, so revisions are never reused.
    pub fn family(family: &str) -> String {
        format!("families/{family}")
    }
    /// Index of revisions by status (`taskdef-status/<STATUS>/<family>/<revision>` -> ARN), so listing and
    /// finding the latest ACTIVE revision read small keys instead of whole definitions.
    pub fn taskdef_status(status: &str, family: &str, revision: i64) -> String {
        format!("taskdef-status/{status}/{family}/{revision:010}")
    }
    pub fn taskdef_status_prefix(status: &str) -> String {
        format!("taskdef-status/{status}/")
    }

    pub fn instance(cluster: &str, id: &str) -> String {
        format!("instances/{cluster}/{id}")
    }
    pub const INSTANCES: &str = "instances/";
    pub fn instances_of(cluster: &str) -> String {
        format!("instances/{cluster}/")
    }

    pub fn task(cluster: &str, id: &str) -> String {
        format!("tasks/{cluster}/{id}")
    }
    pub fn tasks_of(cluster: &str) -> String {
        format!("tasks/{cluster}/")
    }
    pub const TASKS: &str = "tasks/";

    /// What one instance must run: written when a task is placed and when its desired status changes (never for
    /// the agent's own reports), so an agent's watch wakes only for work.
    pub fn assignment(cluster: &str, instance_id: &str, task_id: &str) -> String {
        format!("assignments/{cluster}/{instance_id}/{task_id}")
    }
    pub const ASSIGNMENTS: &str = "assignments/";

    pub fn assignments_of_cluster(cluster: &str) -> String {
        format!("assignments/{cluster}/")
    }
    pub fn assignments_of(cluster: &str, instance_id: &str) -> String {
        format!("assignments/{cluster}/{instance_id}/")
    }

    /// RunTask `clientToken` records, for idempotency.
    pub fn client_token(cluster: &str, token_hash: &str) -> String {
        format!("client-tokens/{cluster}/{token_hash}")
    }
    pub fn service(cluster: &str, name: &str) -> String {
        format!("services/{cluster}/{name}")
    }
    pub const SERVICES: &str = "services/";
    pub fn services_of(cluster: &str) -> String {
        format!("services/{cluster}/")
    }

    /// CloudWatch Logs groups (`loggroups/<name>`): group names cannot contain `%` or `:`, and a name is always the
    /// key's last segment, so a `/` in it is harmless here.
    pub fn log_group(name: &str) -> String {
        format!("loggroups/{name}")
    }
    pub const LOG_GROUPS: &str = "loggroups/";
    /// The index of a group's streams and the instances holding them (`logstreams/<group>/<stream>`). The group is
    /// escaped (`%` and `/` as `%25` and `%2F`) so that no group's prefix covers another's streams (`/a` and `/a/b`).
    pub fn log_streams_of(group: &str) -> String {
        format!("logstreams/{}/", group.replace('%', "%25").replace('/', "%2F"))
    }
    pub fn log_stream(group: &str, stream: &str) -> String {
        format!("{}{stream}", log_streams_of(group))
    }

    /// ECS account settings of one principal (`root`, `user/<name>`, `role/<name>`, IAM names lowercased), by
    /// setting name: `account-settings/user/alice/taskLongArnFormat`. The root's are the account default.
    pub fn account_setting(principal: &str, name: &str) -> String {
        format!("account-settings/{principal}/{name}")
    }
    pub fn account_settings_of(principal: &str) -> String {
        format!("account-settings/{principal}/")
    }

    /// The cluster a cluster-scoped key is under (`tasks/<cluster>/<id>`, `instances/<cluster>/<id>`, ...): ARNs in
    /// the short format do not name it, so code that needs it from a stored record reads it here.
    pub fn cluster_of(key: &str) -> Option<&str> {
        let mut parts = key.splitn(3, '/');
        let _kind = parts.next()?;
        let cluster = parts.next()?;
        parts.next()?;
        Some(cluster)
    }

    pub fn access_key(id: &str) -> String {
        format!("auth/keys/{id}")
    }
    pub const ACCESS_KEYS: &str = "auth/keys/";
}

/// A decoded value and the mod revision it was read at.
#[derive(Debug, Clone)]
pub struct Versioned<T> {
    pub value: T,
    pub key: String,
    pub mod_revision: Revision,
}

impl<T> Versioned<T> {
    /// The compare that holds while this value is unchanged.
    pub fn unchanged(&self) -> Compare {
        Compare::unchanged(self.key.clone(), self.mod_revision)
    }
}

fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(bytes).map_err(|e| ApiError::server(format!("stored value at {key} is unreadable: {e}")))
}

/// Encodes a value as a put.
pub fn put<T: Serialize>(key: impl Into<String>, value: &T) -> ApiResult<Op> {
    let bytes = serde_json::to_vec(value).map_err(|e| ApiError::server(format!("cannot encode value: {e}")))?;
    Ok(Op::put(key, bytes))
}

/// Reads one key.
pub async fn get<T: DeserializeOwned>(store: &dyn Store, key: &str) -> ApiResult<Option<Versioned<T>>> {
    match store.get(key).await? {
        Some(kv) => {
            Ok(Some(Versioned { value: decode(&kv.key, &kv.value)?, key: kv.key, mod_revision: kv.mod_revision }))
        }
        None => Ok(None),
    }
}

/// Reads every key under a prefix, in key order.
pub async fn list<T: DeserializeOwned>(store: &dyn Store, prefix: &str) -> ApiResult<Vec<Versioned<T>>> {
    let result = store.list(prefix, ListOptions::default()).await?;
    result
        .kvs
        .into_iter()
        .map(|kv| Ok(Versioned { value: decode(&kv.key, &kv.value)?, key: kv.key, mod_revision: kv.mod_revision }))
        .collect()
}

/// One page of keys under a prefix, after `start_after`, with whether more follow.
pub async fn list_page<T: DeserializeOwned>(
    store: &dyn Store,
    prefix: &str,
    start_after: Option<String>,
    limit: usize,
) -> ApiResult<(Vec<Versioned<T>>, bool)> {
    let result = store.list(prefix, ListOptions { start_after, limit: Some(limit), revision: None }).await?;
    let items = result
        .kvs
        .into_iter()
        .map(|kv| Ok(Versioned { value: decode(&kv.key, &kv.value)?, key: kv.key, mod_revision: kv.mod_revision }))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok((items, result.more))
}

/// Applies a read-modify-write until it commits: `attempt` reads what it needs and returns the compares and ops
/// (or an error that ends the loop). Conflicts with concurrent writers retry a bounded number of times.
pub async fn commit<F, Fut, R>(store: &dyn Store, mut attempt: F) -> ApiResult<R>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ApiResult<(Vec<Compare>, Vec<Op>, R)>>,
{
    const ATTEMPTS: usize = 64;
    for _ in 0..ATTEMPTS {
        let (compares, ops, result) = attempt().await?;
        if store.txn(compares, ops).await?.succeeded {
            return Ok(result);
        }
    }
    Err(ApiError::server("The request conflicted with concurrent changes too often; retry it."))
}

#[cfg(test)]
mod tests {
    use super::keys;

    #[test]
    fn the_cluster_of_a_key() {
        assert_eq!(keys::cluster_of(&keys::task("ml", "t1")), Some("ml"));
        assert_eq!(keys::cluster_of(&keys::instance("default", "i1")), Some("default"));
        assert_eq!(keys::cluster_of(&keys::cluster("ml")), None, "a cluster's own key is under no cluster");
        assert_eq!(
            keys::account_setting("user/alice", "containerInsights"),
            "account-settings/user/alice/containerInsights"
        );
    }
}
