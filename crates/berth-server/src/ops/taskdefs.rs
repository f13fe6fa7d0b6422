//! RegisterTaskDefinition, DeregisterTaskDefinition, DeleteTaskDefinitions, DescribeTaskDefinition,
//! ListTaskDefinitions, ListTaskDefinitionFamilies.
//!
//! Each revision is stored under `taskdefs/<family>/<revision>`; `families/<family>` remembers the last revision
//! handed out so a revision number is never reused, even after deletion.

use std::collections::BTreeMap;

use berth_model::arn;
use berth_model::names::truncate;
use berth_model::taskdef::{self, TaskDefinition};
use berth_model::{Failure, Tag};
use berth_store::{Compare, Op};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api::Api;
use crate::error::{ApiError, ApiResult};
use crate::paging::PageRequest;
use crate::state::{self, Versioned, keys};

/// A revision as stored: the definition and its tags.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredTaskDefinition {
    pub definition: TaskDefinition,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// The per-family counter.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FamilyRecord {
    last_revision: i64,
}

pub async fn register_task_definition(api: &Api, body: Value) -> ApiResult<Value> {
    let registration = taskdef::parse_register(body)?;
    let family = registration.definition.family.clone();
    let family_key = keys::family(&family);
    let store = api.store.as_ref();
    let stored = state::commit(store, || async {
        let counter = state::get::<FamilyRecord>(store, &family_key).await?;
        let (compare, revision) = match &counter {
            Some(c) => (c.unchanged(), c.value.last_revision + 1),
            None => (Compare::absent(family_key.clone()), 1),
        };
        let mut definition = registration.definition.clone();
        definition.task_definition_arn = Some(api.scope.task_definition(&family, revision));
        definition.revision = revision;
        definition.status = "ACTIVE".into();
        definition.registered_at = Some(api.now());
        definition.registered_by = Some(format!("arn:aws:iam::{}:root", api.scope.account_id));
        let arn = definition.task_definition_arn.clone();
        let stored = StoredTaskDefinition { definition, tags: registration.tags.clone() };
        let ops = vec![
            state::put(&family_key, &FamilyRecord { last_revision: revision })?,
            state::put(keys::taskdef(&family, revision), &stored)?,
            state::put(keys::taskdef_status("ACTIVE", &family, revision), &arn)?,
        ];
        Ok((vec![compare], ops, stored))
    })
    .await?;
    Ok(json!({ "taskDefinition": stored.definition, "tags": stored.tags }))
}

/// The revision a `taskDefinition` parameter names: `family:rev` or an ARN exactly, a bare family its latest
/// ACTIVE revision.
pub(crate) async fn find(api: &Api, reference: &str) -> ApiResult<Option<Versioned<StoredTaskDefinition>>> {
    let (family, revision) = arn::task_definition_ref(reference).map_err(ApiError::client)?;
    let store = api.store.as_ref();
    let revision = match revision {
        Some(rev) => rev,
        None => {
            let prefix = format!("{}{family}/", keys::taskdef_status_prefix("ACTIVE"));
            let active = store.list(&prefix, berth_store::ListOptions::default()).await?;
            match active.kvs.last().and_then(|kv| revision_of(&kv.key)) {
                Some(rev) => rev,
                None => return Ok(None),
            }
        }
    };
    state::get(store, &keys::taskdef(family, revision)).await
}

/// The revision number at the end of a `taskdef-status/...` or `taskdefs/...` key.
fn revision_of(key: &str) -> Option<i64> {
    key.rsplit('/').next()?.parse().ok()
}

/// The family inside a `taskdef-status/<STATUS>/<family>/<revision>` key.
fn family_of(index_key: &str) -> Option<&str> {
    let mut parts = index_key.splitn(4, '/');
    parts.nth(2)
}

/// Moves a revision's index entry from one status to another (`to` None: out of the index).
fn reindex(definition: &TaskDefinition, from: &str, to: Option<&str>) -> ApiResult<Vec<Op>> {
    if to == Some(from) {
        return Ok(vec![]);
    }
    let mut ops = vec![Op::delete(keys::taskdef_status(from, &definition.family, definition.revision))];
    if let Some(to) = to {
        ops.push(state::put(
            keys::taskdef_status(to, &definition.family, definition.revision),
            &definition.task_definition_arn,
        )?);
    }
    Ok(ops)
}

/// The revision a mutation names; it must carry a revision number.
async fn find_revision(api: &Api, reference: &str) -> ApiResult<Option<Versioned<StoredTaskDefinition>>> {
    let (_, revision) = arn::task_definition_ref(reference).map_err(ApiError::client)?;
    if revision.is_none() {
        return Err(ApiError::invalid(format!(
            "taskDefinition '{}' must name a revision (family:revision or a full ARN).",
            truncate(reference, 256)
        )));
    }
    find(api, reference).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeTaskDefinitionRequest {
    task_definition: String,
    #[serde(default)]
    include: Vec<String>,
}

pub async fn describe_task_definition(api: &Api, req: DescribeTaskDefinitionRequest) -> ApiResult<Value> {
    check_include_tags(&req.include)?;
    let Some(found) = find(api, &req.task_definition).await? else {
        return Err(ApiError::client("Unable to describe task definition."));
    };
    // Without include=TAGS ECS answers an empty list.
    let tags = if req.include.iter().any(|i| i == "TAGS") { found.value.tags } else { vec![] };
    Ok(json!({ "taskDefinition": found.value.definition, "tags": tags }))
}

fn check_include_tags(include: &[String]) -> ApiResult<()> {
    match include.iter().find(|i| i.as_str() != "TAGS") {
        Some(bad) => {
            Err(ApiError::invalid(format!("include value '{}' is not valid. Valid values: TAGS.", truncate(bad, 64))))
        }
        None => Ok(()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeregisterTaskDefinitionRequest {
    task_definition: String,
}

pub async fn deregister_task_definition(api: &Api, req: DeregisterTaskDefinitionRequest) -> ApiResult<Value> {
    let store = api.store.as_ref();
    let definition = state::commit(store, || async {
        let Some(current) = find_revision(api, &req.task_definition).await? else {
            return Err(ApiError::client("The specified task definition does not exist."));
        };
        let mut stored = current.value.clone();
        if stored.definition.status != "ACTIVE" {
            // Deregistering again changes nothing, as in ECS.
            return Ok((vec![], vec![], stored.definition));
        }
        stored.definition.status = "INACTIVE".into();
        stored.definition.deregistered_at = Some(api.now());
        let mut ops = vec![state::put(&current.key, &stored)?];
        ops.extend(reindex(&stored.definition, "ACTIVE", Some("INACTIVE"))?);
        Ok((vec![current.unchanged()], ops, stored.definition))
    })
    .await?;
    Ok(json!({ "taskDefinition": definition }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteTaskDefinitionsRequest {
    task_definitions: Vec<String>,
}

pub async fn delete_task_definitions(api: &Api, req: DeleteTaskDefinitionsRequest) -> ApiResult<Value> {
    if req.task_definitions.is_empty() || req.task_definitions.len() > 10 {
        return Err(ApiError::invalid(format!(
            "taskDefinitions: between 1 and 10 per call, got {}.",
            req.task_definitions.len()
        )));
    }
    let store = api.store.as_ref();
    let mut deleted = Vec::new();
    let mut failures = Vec::new();
    for reference in &req.task_definitions {
        let outcome = state::commit(store, || async {
            let Some(current) = find_revision(api, reference).await? else {
                return Ok((vec![], vec![], Err("The specified task definition does not exist.")));
            };
            let mut stored = current.value.clone();
            if stored.definition.status == "ACTIVE" {
                return Ok((
                    vec![],
                    vec![],
                    Err("The specified task definition is still in ACTIVE status. Please first deregister the target and try again."),
                ));
            }
            stored.definition.status = "DELETE_IN_PROGRESS".into();
            stored.definition.extra.insert("deleteRequestedAt".into(), json!(api.now()));
            let arn = stored.definition.task_definition_arn.clone().unwrap_or_default();
            // A revision still used by a task or service waits in DELETE_IN_PROGRESS; otherwise it goes now.
            let previous = current.value.definition.status.clone();
            let mut ops = if in_use(api, &arn).await? {
                let mut ops = vec![state::put(&current.key, &stored)?];
                ops.extend(reindex(&stored.definition, &previous, Some("DELETE_IN_PROGRESS"))?);
                ops
            } else {
                reindex(&stored.definition, &previous, None)?
            };
            if !ops.iter().any(|op| matches!(op, Op::Put { key, .. } if key == &current.key)) {
                ops.push(Op::delete(current.key.clone()));
            }
            Ok((vec![current.unchanged()], ops, Ok(stored.definition)))
        })
        .await?;
        match outcome {
            Ok(definition) => deleted.push(definition),
            Err(reason) => failures.push(Failure { arn: Some(reference.clone()), reason: reason.into(), detail: None }),
        }
    }
    Ok(json!({ "taskDefinitions": deleted, "failures": failures }))
}

/// Whether a task that has not stopped, or a service, refers to this revision.
async fn in_use(api: &Api, arn: &str) -> ApiResult<bool> {
    let store = api.store.as_ref();
    for prefix in ["tasks/", "services/"] {
        for item in state::list::<Value>(store, prefix).await? {
            let uses = item.value.get("taskDefinitionArn").and_then(Value::as_str) == Some(arn)
                || item.value.get("taskDefinition").and_then(Value::as_str) == Some(arn);
            let stopped = item.value.get("lastStatus").and_then(Value::as_str) == Some("STOPPED")
                || item.value.get("status").and_then(Value::as_str) == Some("INACTIVE");
            if uses && !stopped {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

const DEFINITION_STATUSES: [&str; 3] = ["ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS"];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTaskDefinitionsRequest {
    family_prefix: Option<String>,
    status: Option<String>,
    sort: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

pub async fn list_task_definitions(api: &Api, req: ListTaskDefinitionsRequest) -> ApiResult<Value> {
    let page = PageRequest::new(req.next_token.as_deref(), req.max_results, 100)?;
    let status = req.status.as_deref().unwrap_or("ACTIVE");
    if !DEFINITION_STATUSES.contains(&status) {
        return Err(ApiError::invalid(format!(
            "status '{}' is not valid. Valid values: ACTIVE, INACTIVE, DELETE_IN_PROGRESS.",
            truncate(status, 64)
        )));
    }
    let descending = match req.sort.as_deref() {
        None | Some("ASC") => false,
        Some("DESC") => true,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "sort '{}' is not valid. Valid values: ASC, DESC.",
                truncate(other, 64)
            )));
        }
    };
    // familyPrefix names one whole family, as in ECS.
    let mut prefix = keys::taskdef_status_prefix(status);
    if let Some(f) = req.family_prefix.as_deref().filter(|f| !f.is_empty()) {
        prefix.push_str(f);
        prefix.push('/');
    }
    let store = api.store.as_ref();
    let (arns, next) = if descending {
        // The store lists ascending only; the index values are short, so reading them all is cheap.
        let mut all: Vec<(String, String)> =
            state::list::<String>(store, &prefix).await?.into_iter().map(|v| (v.key, v.value)).collect();
        all.reverse();
        let (items, next) = page.apply_ordered(all, |(k, _)| k.clone(), true);
        (items.into_iter().map(|(_, a)| a).collect::<Vec<_>>(), next)
    } else {
        let after = page.after().map(str::to_owned);
        let (items, more) = state::list_page::<String>(store, &prefix, after, page.size()).await?;
        let next = if more { items.last().map(|v| PageRequest::token_after(&v.key)) } else { None };
        (items.into_iter().map(|v| v.value).collect(), next)
    };
    Ok(json!({ "taskDefinitionArns": arns, "nextToken": next }))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTaskDefinitionFamiliesRequest {
    family_prefix: Option<String>,
    status: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

pub async fn list_task_definition_families(api: &Api, req: ListTaskDefinitionFamiliesRequest) -> ApiResult<Value> {
    let page = PageRequest::new(req.next_token.as_deref(), req.max_results, 100)?;
    let status = req.status.as_deref().unwrap_or("ALL");
    if !matches!(status, "ACTIVE" | "INACTIVE" | "ALL") {
        return Err(ApiError::invalid(format!(
            "status '{}' is not valid. Valid values: ACTIVE, INACTIVE, ALL.",
            truncate(status, 64)
        )));
    }
    // family -> whether it has an ACTIVE revision, from the status index.
    let family_prefix = req.family_prefix.as_deref().unwrap_or("");
    let mut families: BTreeMap<String, bool> = BTreeMap::new();
    for st in DEFINITION_STATUSES {
        let prefix = format!("{}{family_prefix}", keys::taskdef_status_prefix(st));
        for kv in api.store.list(&prefix, berth_store::ListOptions::default()).await?.kvs {
            if let Some(family) = family_of(&kv.key) {
                *families.entry(family.to_owned()).or_insert(false) |= st == "ACTIVE";
            }
        }
    }
    let names: Vec<String> = families
        .into_iter()
        .filter(|(_, active)| match status {
            "ACTIVE" => *active,
            "INACTIVE" => !*active,
            _ => true,
        })
        .map(|(f, _)| f)
        .collect();
    let (names, next) = page.apply(names, |f| f.clone());
    Ok(json!({ "families": names, "nextToken": next }))
}
