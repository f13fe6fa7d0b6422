//! GetSecretValue, BatchGetSecretValue, DescribeSecret, ListSecrets and ListSecretVersionIds.
//!
//! Only GetSecretValue and BatchGetSecretValue open values; DescribeSecret, ListSecrets and ListSecretVersionIds show
//! metadata and staging labels. A secret scheduled for deletion refuses its value (`InvalidRequestException`) but is
//! still described, and listed with `IncludePlannedDeletion`. Reading a value records the day in
//! `LastAccessedDate` (at most one store write per secret and day; a write lost to a concurrent change is skipped).

use serde::Deserialize;
use serde_json::{Value, json};

use super::record::{SecretRecord, VersionMeta, day_of};
use super::validate::{self, SortBy};
use super::{invalid_parameter, store};
use crate::api::Api;
use crate::error::ApiResult;
use crate::state::{self, Versioned};

/// One page of `items` (each with its sort key, sorted ascending or, when `descending`, descending by it) after
/// the key `after`, and the token of the next page.
pub fn page<T>(
    items: Vec<(String, T)>,
    after: Option<&str>,
    size: usize,
    descending: bool,
) -> (Vec<T>, Option<String>) {
    let mut rest: Vec<(String, T)> = items
        .into_iter()
        .filter(|(k, _)| match after {
            None => true,
            Some(a) if descending => k.as_str() < a,
            Some(a) => k.as_str() > a,
        })
        .collect();
    let more = rest.len() > size;
    rest.truncate(size);
    let token = if more { rest.last().map(|(k, _)| validate::token_after(k)) } else { None };
    (rest.into_iter().map(|(_, v)| v).collect(), token)
}

/// Records today as the secret's `LastAccessedDate` unless it already says so (best effort).
async fn touch(api: &Api, secret: &Versioned<SecretRecord>) {
    let today = day_of(api.now());
    if secret.value.last_accessed_date == Some(today) {
        return;
    }
    let mut updated = secret.value.clone();
    updated.last_accessed_date = Some(today);
    let Ok(put) = state::put(&secret.key, &updated) else { return };
    if let Err(e) = api.store.txn(vec![secret.unchanged()], vec![put]).await {
        tracing::warn!(error = %e, "could not record a secret's last access");
    }
}

/// A version's value and metadata as GetSecretValue returns them.
async fn value_entry(api: &Api, secret: &SecretRecord, version: &VersionMeta) -> ApiResult<Value> {
    let plaintext = store::open_value(api, secret, &version.id).await?;
    let (member, value) = store::value_member(version.kind, plaintext);
    let mut out = json!({
        "ARN": secret.arn,
        "Name": secret.name,
        "VersionId": version.id,
        "VersionStages": version.stages,
        "CreatedDate": version.created_date,
    });
    out[member] = Value::String(value);
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetSecretValueRequest {
    secret_id: String,
    version_id: Option<String>,
    version_stage: Option<String>,
}

/// A checked GetSecretValue.
#[derive(Debug, PartialEq)]
pub struct Get {
    pub secret_id: String,
    pub version_id: Option<String>,
    pub stage: Option<String>,
}

pub fn parse_get(req: GetSecretValueRequest) -> ApiResult<Get> {
    validate::secret_id(&req.secret_id)?;
    if let Some(id) = &req.version_id {
        validate::version_id("VersionId", id)?;
    }
    if let Some(s) = &req.version_stage {
        validate::stage("VersionStage", s)?;
    }
    Ok(Get { secret_id: req.secret_id, version_id: req.version_id, stage: req.version_stage })
}

pub async fn get_secret_value(api: &Api, req: GetSecretValueRequest) -> ApiResult<Value> {
    let get = parse_get(req)?;
    let secret = store::load(api, &get.secret_id).await?;
    secret.value.ensure_active()?;
    let version = secret.value.select(get.version_id.as_deref(), get.stage.as_deref())?;
    let out = value_entry(api, &secret.value, version).await?;
    touch(api, &secret).await;
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchGetSecretValueRequest {
    secret_id_list: Option<Vec<String>>,
    filters: Option<Vec<validate::FilterInput>>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

/// What BatchGetSecretValue fetches.
#[derive(Debug, PartialEq)]
pub enum Batch {
    /// These secrets (1 to 20), each answered with its value or an error entry.
    Ids(Vec<String>),
    /// The secrets passing the filters, a page at a time.
    Filtered { filters: Vec<validate::Filter>, size: usize, after: Option<String> },
}

pub fn parse_batch(req: BatchGetSecretValueRequest) -> ApiResult<Batch> {
    match (req.secret_id_list, req.filters) {
        (Some(ids), None) => {
            if req.max_results.is_some() {
                return Err(invalid_parameter(
                    "'Filters' not specified. 'Filters' must also be specified when 'MaxResults' is provided.",
                ));
            }
            if ids.is_empty() || ids.len() > 20 {
                return Err(invalid_parameter("SecretIdList must hold 1 to 20 secret ids."));
            }
            for id in &ids {
                validate::secret_id(id)?;
            }
            Ok(Batch::Ids(ids))
        }
        (None, Some(filters)) => Ok(Batch::Filtered {
            filters: validate::filters(filters)?,
            size: validate::max_results(req.max_results, 20)?,
            after: validate::next_token(req.next_token.as_deref())?,
        }),
        _ => Err(invalid_parameter("Either 'SecretIdList' or 'Filters' must be provided, but not both.")),
    }
}

pub async fn batch_get_secret_value(api: &Api, req: BatchGetSecretValueRequest) -> ApiResult<Value> {
    let batch = parse_batch(req)?;
    let mut values = Vec::new();
    let mut errors = Vec::new();
    let mut next_token = None;
    let secrets: Vec<(String, Option<Versioned<SecretRecord>>)> = match batch {
        Batch::Ids(ids) => {
            let mut found = Vec::with_capacity(ids.len());
            for id in ids {
                let s = store::find(api, &id).await?;
                found.push((id, s));
            }
            found
        }
        Batch::Filtered { filters, size, after } => {
            let now = api.now();
            let matching: Vec<(String, Versioned<SecretRecord>)> = all(api)
                .await?
                .into_iter()
                .filter(|s| !s.value.is_scheduled_for_deletion() && !s.value.is_expired(now))
                .filter(|s| validate::matches(&filters, &searchable(&s.value)))
                .map(|s| (s.value.name.clone(), s))
                .collect();
            let (secrets, token) = page(matching, after.as_deref(), size, false);
            next_token = token;
            secrets.into_iter().map(|s| (s.value.name.clone(), Some(s))).collect()
        }
    };
    for (id, secret) in secrets {
        let entry = match &secret {
            None => Err(store::not_found()),
            Some(s) => match s.value.ensure_active().and_then(|_| s.value.select(None, None)) {
                Ok(version) => value_entry(api, &s.value, version).await,
                Err(e) => Err(e),
            },
        };
        match entry {
            Ok(v) => {
                if let Some(s) = &secret {
                    touch(api, s).await;
                }
                values.push(v);
            }
            Err(e) => errors.push(json!({ "SecretId": id, "ErrorCode": e.code.as_str(), "Message": e.message })),
        }
    }
    Ok(json!({ "SecretValues": values, "Errors": errors, "NextToken": next_token }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeSecretRequest {
    secret_id: String,
}

pub async fn describe_secret(api: &Api, req: DescribeSecretRequest) -> ApiResult<Value> {
    validate::secret_id(&req.secret_id)?;
    let secret = store::load(api, &req.secret_id).await?;
    Ok(secret.value.present("VersionIdsToStages"))
}

/// Every secret record (including those scheduled for deletion).
async fn all(api: &Api) -> ApiResult<Vec<Versioned<SecretRecord>>> {
    state::list::<SecretRecord>(api.store.as_ref(), store::SECRETS).await
}

fn searchable(s: &SecretRecord) -> validate::Searchable<'_> {
    validate::Searchable { name: &s.name, description: s.description.as_deref(), tags: &s.tags }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSecretsRequest {
    include_planned_deletion: Option<bool>,
    max_results: Option<i64>,
    next_token: Option<String>,
    filters: Option<Vec<validate::FilterInput>>,
    sort_order: Option<String>,
    sort_by: Option<String>,
}

/// A checked ListSecrets.
#[derive(Debug, PartialEq)]
pub struct List {
    pub include_planned_deletion: bool,
    pub size: usize,
    pub after: Option<String>,
    pub filters: Vec<validate::Filter>,
    pub descending: bool,
    pub sort_by: SortBy,
}

pub fn parse_list(req: ListSecretsRequest) -> ApiResult<List> {
    Ok(List {
        include_planned_deletion: req.include_planned_deletion.unwrap_or(false),
        size: validate::max_results(req.max_results, 100)?,
        after: validate::next_token(req.next_token.as_deref())?,
        filters: validate::filters(req.filters.unwrap_or_default())?,
        descending: validate::descending(req.sort_order.as_deref())?,
        sort_by: validate::sort_by(req.sort_by.as_deref())?,
    })
}

/// The key ListSecrets sorts by.
fn sort_key(s: &SecretRecord, by: SortBy) -> String {
    match by {
        SortBy::Name => s.name.clone(),
        SortBy::CreatedDate => validate::date_key(s.created_date, &s.name),
        SortBy::LastChangedDate => validate::date_key(s.last_changed_date, &s.name),
        SortBy::LastAccessedDate => validate::date_key(s.last_accessed_date.unwrap_or(0.0), &s.name),
    }
}

pub async fn list_secrets(api: &Api, req: ListSecretsRequest) -> ApiResult<Value> {
    let list = parse_list(req)?;
    let now = api.now();
    let mut items: Vec<(String, SecretRecord)> = all(api)
        .await?
        .into_iter()
        .map(|s| s.value)
        .filter(|s| !s.is_expired(now))
        .filter(|s| list.include_planned_deletion || !s.is_scheduled_for_deletion())
        .filter(|s| validate::matches(&list.filters, &searchable(s)))
        .map(|s| (sort_key(&s, list.sort_by), s))
        .collect();
    items.sort_by(|a, b| if list.descending { b.0.cmp(&a.0) } else { a.0.cmp(&b.0) });
    let (secrets, token) = page(items, list.after.as_deref(), list.size, list.descending);
    Ok(json!({
        "SecretList": secrets.iter().map(|s| s.present("SecretVersionsToStages")).collect::<Vec<_>>(),
        "NextToken": token,
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSecretVersionIdsRequest {
    secret_id: String,
    max_results: Option<i64>,
    next_token: Option<String>,
    include_deprecated: Option<bool>,
}

pub async fn list_secret_version_ids(api: &Api, req: ListSecretVersionIdsRequest) -> ApiResult<Value> {
    validate::secret_id(&req.secret_id)?;
    let size = validate::max_results(req.max_results, 100)?;
    let after = validate::next_token(req.next_token.as_deref())?;
    let include_deprecated = req.include_deprecated.unwrap_or(false);
    let secret = store::load(api, &req.secret_id).await?.value;
    // Newest first.
    let mut versions: Vec<(String, &VersionMeta)> = secret
        .versions
        .iter()
        .filter(|v| include_deprecated || !v.stages.is_empty())
        .map(|v| (validate::date_key(v.created_date, &v.id), v))
        .collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    let (versions, token) = page(versions, after.as_deref(), size, true);
    let versions: Vec<Value> = versions
        .into_iter()
        .map(|v| {
            let mut entry = json!({ "VersionId": v.id, "CreatedDate": v.created_date });
            if !v.stages.is_empty() {
                entry["VersionStages"] = json!(v.stages);
            }
            entry
        })
        .collect();
    Ok(json!({ "Versions": versions, "NextToken": token, "ARN": secret.arn, "Name": secret.name }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispatch::decode_input;

    #[test]
    fn pages_ascending_and_descending() {
        let items = |keys: &[&str]| keys.iter().map(|k| (k.to_string(), k.to_string())).collect::<Vec<_>>();
        let (p, t) = page(items(&["a", "b", "c"]), None, 2, false);
        assert_eq!(p, ["a", "b"]);
        let after = validate::next_token(t.as_deref()).unwrap();
        let (p, t) = page(items(&["a", "b", "c"]), after.as_deref(), 2, false);
        assert_eq!((p, t), (vec!["c".to_owned()], None));
        let (p, t) = page(items(&["c", "b", "a"]), None, 2, true);
        assert_eq!(p, ["c", "b"]);
        let after = validate::next_token(t.as_deref()).unwrap();
        assert_eq!(page(items(&["c", "b", "a"]), after.as_deref(), 2, true).0, ["a"]);
    }

    #[test]
    fn get_requests() {
        let get = |body: Value| decode_input(body).and_then(parse_get);
        let g = get(json!({"SecretId": "db", "VersionStage": "AWSPREVIOUS"})).unwrap();
        assert_eq!(g.stage.as_deref(), Some("AWSPREVIOUS"));
        assert!(get(json!({"SecretId": "db", "VersionId": "x"})).unwrap_err().message.contains("VersionId"));
        assert!(get(json!({})).unwrap_err().message.contains("SecretId"));
    }

    #[test]
    fn batch_requests() {
        let batch = |body: Value| decode_input(body).and_then(parse_batch);
        assert_eq!(batch(json!({"SecretIdList": ["a", "b"]})).unwrap(), Batch::Ids(vec!["a".into(), "b".into()]));
        assert!(matches!(
            batch(json!({"Filters": [{"Key": "name", "Values": ["a"]}], "MaxResults": 5})).unwrap(),
            Batch::Filtered { size: 5, .. }
        ));
        let e = batch(json!({"SecretIdList": ["a"], "Filters": [{"Key": "name", "Values": ["a"]}]})).unwrap_err();
        assert!(e.message.contains("SecretIdList"));
        assert!(batch(json!({})).is_err());
        assert!(batch(json!({"SecretIdList": ["a"], "MaxResults": 5})).unwrap_err().message.contains("MaxResults"));
        assert!(batch(json!({"SecretIdList": []})).is_err());
        assert!(batch(json!({"SecretIdList": (0..21).map(|i| i.to_string()).collect::<Vec<_>>()})).is_err());
        assert!(batch(json!({"Filters": [{"Key": "name", "Values": ["a"]}], "MaxResults": 21})).is_err());
    }

    #[test]
    fn list_requests() {
        let list = |body: Value| decode_input(body).and_then(parse_list);
        let l = list(json!({})).unwrap();
        assert_eq!(
            (l.size, l.descending, l.sort_by, l.include_planned_deletion),
            (100, true, SortBy::CreatedDate, false)
        );
        let l = list(json!({"SortOrder": "asc", "SortBy": "name", "IncludePlannedDeletion": true, "MaxResults": 3}))
            .unwrap();
        assert_eq!((l.size, l.descending, l.sort_by, l.include_planned_deletion), (3, false, SortBy::Name, true));
        assert!(list(json!({"NextToken": "not hex"})).is_err());
        assert!(list(json!({"MaxResults": 0})).is_err());
    }
}
