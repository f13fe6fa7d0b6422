//! LabelParameterVersion and UnlabelParameterVersion. Labels live on the version records; a label names one version
//! of a parameter at a time, so labelling a version takes the label from the version that had it (both change in
//! one transaction). Labels that break the rules (1 to 100 of letters, digits, `.-_`, not beginning with a digit,
//! `aws` or `ssm`) come back in `InvalidLabels`, as in Parameter Store.

use serde::Deserialize;
use serde_json::{Value, json};

use super::params::plain_name;
use super::record::{self, VersionRecord};
use super::{store, validation};
use crate::api::Api;
use crate::error::ApiResult;
use crate::state;

/// `Labels`: 1 to 10 labels of at most 100 characters (other rules answer in `InvalidLabels`).
pub fn labels(given: &[String]) -> ApiResult<()> {
    if given.is_empty() || given.len() > 10 {
        return Err(validation(
            "1 validation error detected: Value at 'labels' failed to satisfy constraint: Member must have length \
             between 1 and 10 (Labels).",
        ));
    }
    if given.iter().any(|l| l.is_empty() || l.chars().count() > 100) {
        return Err(validation(
            "1 validation error detected: Value at 'labels' failed to satisfy constraint: Member must satisfy \
             constraint: [Member must have length less than or equal to 100, Member must have length greater than or \
             equal to 1] (Labels).",
        ));
    }
    Ok(())
}

fn version_number(v: Option<i64>) -> ApiResult<Option<u64>> {
    match v {
        None => Ok(None),
        Some(n) if n >= 1 => Ok(Some(n as u64)),
        Some(n) => Err(validation(format!("ParameterVersion must be 1 or more, got {n}."))),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LabelParameterVersionRequest {
    name: String,
    parameter_version: Option<i64>,
    labels: Vec<String>,
}

pub async fn label_parameter_version(api: &Api, req: LabelParameterVersionRequest) -> ApiResult<Value> {
    let name = plain_name(api, "Name", &req.name)?;
    labels(&req.labels)?;
    let version = version_number(req.parameter_version)?;
    state::commit(api.store.as_ref(), || async {
        let record = store::load(api, &name).await?;
        let target = version.unwrap_or(record.value.latest.version);
        let stored = store::versions(api, store::key_of_record(&record.key)).await?;
        let mut versions: Vec<VersionRecord> = stored.iter().map(|v| v.value.clone()).collect();
        let (invalid, changed) = record::label(&mut versions, target, &req.labels)?;
        let mut compares = vec![record.unchanged()];
        let mut ops = Vec::new();
        for i in changed {
            compares.push(stored[i].unchanged());
            ops.push(state::put(&stored[i].key, &versions[i])?);
        }
        Ok((compares, ops, json!({ "InvalidLabels": invalid, "ParameterVersion": target })))
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UnlabelParameterVersionRequest {
    name: String,
    parameter_version: i64,
    labels: Vec<String>,
}

pub async fn unlabel_parameter_version(api: &Api, req: UnlabelParameterVersionRequest) -> ApiResult<Value> {
    let name = plain_name(api, "Name", &req.name)?;
    labels(&req.labels)?;
    let Some(version) = version_number(Some(req.parameter_version))? else {
        return Err(validation("ParameterVersion is required."));
    };
    state::commit(api.store.as_ref(), || async {
        let record = store::load(api, &name).await?;
        let key = store::key_of_record(&record.key);
        let Some(stored) = store::version(api, key, version).await? else {
            return Err(record::version_not_found(version));
        };
        let mut updated = stored.value.clone();
        let (removed, invalid) = record::unlabel(&mut updated, &req.labels);
        let out = json!({ "RemovedLabels": removed, "InvalidLabels": invalid });
        if removed.is_empty() {
            return Ok((vec![], vec![], out));
        }
        Ok((vec![record.unchanged(), stored.unchanged()], vec![state::put(&stored.key, &updated)?], out))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_lists() {
        assert!(labels(&["prod".into()]).is_ok());
        assert!(labels(&[]).is_err());
        assert!(labels(&(0..11).map(|i| format!("l{i}")).collect::<Vec<_>>()).unwrap_err().message.contains("Labels"));
        assert!(labels(&["x".repeat(101)]).is_err());
        assert!(labels(&["1bad".into()]).is_ok(), "rule breakers come back in InvalidLabels");
        assert!(version_number(Some(0)).is_err());
        assert_eq!(version_number(Some(3)).unwrap(), Some(3));
    }
}
