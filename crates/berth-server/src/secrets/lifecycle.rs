//! DeleteSecret and RestoreSecret.
//!
//! DeleteSecret with a recovery window (7 to 30 days, 30 by default) marks the secret: its value is refused with
//! `InvalidRequestException` ("... marked for deletion."), DescribeSecret shows `DeletedDate`, and ListSecrets hides
//! it unless `IncludePlannedDeletion`; RestoreSecret brings it back. Once the window has passed the secret is gone:
//! any lookup treats it as absent and removes it with its values, and the reaper removes those nobody looks up
//! ([`super::store::purge_expired`]). `ForceDeleteWithoutRecovery` removes the secret and every sealed value at once
//! (also one already scheduled for deletion).

use serde::Deserialize;
use serde_json::{Value, json};

use super::store;
use super::validate::{self, Deletion};
use crate::api::Api;
use crate::error::ApiResult;
use crate::state;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteSecretRequest {
    secret_id: String,
    recovery_window_in_days: Option<i64>,
    force_delete_without_recovery: Option<bool>,
}

/// A checked DeleteSecret.
#[derive(Debug, PartialEq)]
pub struct Delete {
    pub secret_id: String,
    pub how: Deletion,
}

pub fn parse_delete(req: DeleteSecretRequest) -> ApiResult<Delete> {
    validate::secret_id(&req.secret_id)?;
    let how = validate::deletion(req.recovery_window_in_days, req.force_delete_without_recovery)?;
    Ok(Delete { secret_id: req.secret_id, how })
}

pub async fn delete_secret(api: &Api, req: DeleteSecretRequest) -> ApiResult<Value> {
    let delete = parse_delete(req)?;
    let db = api.store.as_ref();
    state::commit(db, || async {
        let current = store::load(api, &delete.secret_id).await?;
        let now = api.now();
        let (arn, name) = (current.value.arn.clone(), current.value.name.clone());
        match delete.how {
            Deletion::Now => {
                let (compares, ops) = store::removal(api, &current).await?;
                Ok((compares, ops, json!({ "ARN": arn, "Name": name, "DeletionDate": now })))
            }
            Deletion::After(days) => {
                let mut secret = current.value.clone();
                let when = secret.schedule_deletion(days, now)?;
                let ops = vec![state::put(&current.key, &secret)?];
                Ok((vec![current.unchanged()], ops, json!({ "ARN": arn, "Name": name, "DeletionDate": when })))
            }
        }
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RestoreSecretRequest {
    secret_id: String,
}

pub async fn restore_secret(api: &Api, req: RestoreSecretRequest) -> ApiResult<Value> {
    validate::secret_id(&req.secret_id)?;
    let db = api.store.as_ref();
    state::commit(db, || async {
        let current = store::load(api, &req.secret_id).await?;
        let mut secret = current.value.clone();
        secret.restore(api.now());
        let out = json!({ "ARN": secret.arn, "Name": secret.name });
        if secret == current.value {
            return Ok((vec![], vec![], out));
        }
        Ok((vec![current.unchanged()], vec![state::put(&current.key, &secret)?], out))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispatch::decode_input;

    #[test]
    fn delete_requests() {
        let parse = |body: Value| decode_input(body).and_then(parse_delete);
        assert_eq!(parse(json!({"SecretId": "db"})).unwrap().how, Deletion::After(30));
        assert_eq!(parse(json!({"SecretId": "db", "RecoveryWindowInDays": 7})).unwrap().how, Deletion::After(7));
        assert_eq!(parse(json!({"SecretId": "db", "ForceDeleteWithoutRecovery": true})).unwrap().how, Deletion::Now);
        assert!(parse(json!({"SecretId": "db", "RecoveryWindowInDays": 3})).is_err());
        assert!(
            parse(json!({"SecretId": "db", "RecoveryWindowInDays": 7, "ForceDeleteWithoutRecovery": true})).is_err()
        );
        assert!(parse(json!({"SecretId": "db", "RecoveryWindowInDays": "x"})).is_err());
    }
}
