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
        let stored = StoredTaskDefinition { definition, tags: registration.tags.clone() };
        let ops = vec![
            state::put(&family_key, &FamilyRecord { last_revision: revision })?,
            state::put(keys::taskdef(&family, revision), &stored)?,
        ];
        Ok((vec![compare], ops, stored))
    })
    .await?;
    Ok(json!({ "taskDefinition": stored.definition, "tags": stored.tags }))
}

/// The revision a `taskDefinition` parameter names: `family:rev` or an ARN exactly, a bare family its latest
/// ACTIVE revision.
async fn find(api: &Api, reference: &str) -> ApiResult<Option<Versioned<StoredTaskDefinition>>> {
    let (family, revision) = arn::task_definition_ref(reference).map_err(ApiError::client)?;
    let store = api.store.as_ref();
    match revision {
        Some(rev) => state::get(store, &keys::taskdef(family, rev)).await,
        None => Ok(state::list::<StoredTaskDefinition>(store, &keys::taskdef_family_prefix(family))
            .await?
            .into_iter()
            .rev()
            .find(|t| t.value.definition.status == "ACTIVE")),
    }
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
    let mut out = json!({ "taskDefinition": found.value.definition });
    if req.include.iter().any(|i| i == "TAGS") {
        out["tags"] = json!(found.value.tags);
    }
    Ok(out)
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
        Ok((vec![current.unchanged()], vec![state::put(&current.key, &stored)?], stored.definition))
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
            let arn = stored.definition.task_definition_arn.clone().unwrap_or_default();
            // A revision still used by a task or service waits in DELETE_IN_PROGRESS; otherwise it goes now.
            let op = if in_use(api, &arn).await? {
                state::put(&current.key, &stored)?
            } else {
                Op::delete(current.key.clone())
            };
            Ok((vec![current.unchanged()], vec![op], Ok(stored.definition)))
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
    let prefix = match req.family_prefix.as_deref() {
        Some(f) if !f.is_empty() => keys::taskdef_family_prefix(f),
        _ => keys::TASKDEFS.to_owned(),
    };
    let mut found: Vec<(String, String)> = state::list::<StoredTaskDefinition>(api.store.as_ref(), &prefix)
        .await?
        .into_iter()
        .filter(|t| t.value.definition.status == status)
        .map(|t| (t.key, t.value.definition.task_definition_arn.unwrap_or_default()))
        .collect();
    if descending {
        found.reverse();
    }
    let (items, next) = page.apply_ordered(found, |(k, _)| k.clone(), descending);
    let arns: Vec<String> = items.into_iter().map(|(_, a)| a).collect();
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
    let prefix = format!("{}{}", keys::TASKDEFS, req.family_prefix.as_deref().unwrap_or(""));
    // family -> whether it has an ACTIVE revision
    let mut families: BTreeMap<String, bool> = BTreeMap::new();
    for t in state::list::<StoredTaskDefinition>(api.store.as_ref(), &prefix).await? {
        let active = families.entry(t.value.definition.family.clone()).or_insert(false);
        *active |= t.value.definition.status == "ACTIVE";
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
