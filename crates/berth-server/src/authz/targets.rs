//! What a request asks to be authorized for: the operation's IAM action (from [`super::reference`]), each resource
//! ARN it acts on (of the resource types the reference lists, built from the request's own parameters) and the
//! condition keys the request carries (`ecs:cluster`, `aws:RequestTag/*`, `aws:TagKeys`, `aws:ResourceTag/*`).
//!
//! When the reference lists no resource type for an action (ListClusters, DescribeLogGroups, ListUsers), or the
//! request names none of them, the resource is `*`, as on AWS.

use std::collections::BTreeMap;

use serde_json::Value;

use super::reference::{self, Action};
use crate::api::Api;
use crate::auth::Caller;
use crate::error::ApiResult;
use crate::iam::entities::{self as iam_entities, Kind};
use crate::state::{self, keys};

/// One (action, resource) pair to authorize, with its condition keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub action: String,
    pub resource: String,
    pub context: Vec<(String, Vec<String>)>,
}

/// The checks of one request. `resource_tags`: whether any of the caller's policies reads `aws:ResourceTag/*`;
/// when none does, ECS resources' and log groups' tags are not looked up (a store read each).
pub async fn checks(
    api: &Api,
    caller: &Caller,
    service: &str,
    operation: &str,
    input: &Value,
    resource_tags: bool,
) -> ApiResult<Vec<Check>> {
    let Some((svc, action)) = reference::service(service).and_then(|s| s.action(operation).map(|a| (s, a))) else {
        // Berth's own operations, and any the reference lacks.
        return Ok(vec![Check { action: format!("{service}:{operation}"), resource: "*".into(), context: vec![] }]);
    };
    let name = format!("{}:{}", svc.prefix, action.name);
    let mut context = request_tags(input);
    let resources = match svc.prefix {
        "ecs" => ecs(api, action, input, &mut context, resource_tags).await?,
        "logs" => logs(api, action, input, resource_tags).await?,
        "iam" => iam(api, caller, action, input).await?,
        "secretsmanager" => secrets(api, operation, input, &mut context).await?,
        "ssm" => ssm(api, operation, input, &mut context).await?,
        _ => vec![],
    };
    let mut out: Vec<Check> = if resources.is_empty() {
        vec![Check { action: name.clone(), resource: "*".into(), context: flatten(&context) }]
    } else {
        let mut checks = Vec::new();
        for (arn, tags) in resources {
            let mut ctx = context.clone();
            for (k, v) in tags {
                ctx.insert(format!("aws:ResourceTag/{k}"), vec![v]);
            }
            checks.push(Check { action: name.clone(), resource: arn, context: flatten(&ctx) });
        }
        checks
    };
    // BatchGetSecretValue also needs GetSecretValue on every secret it reads (as on AWS). With Filters instead of
    // a list, the secrets are not known before the handler runs, so GetSecretValue is asked on every secret.
    if svc.prefix == "secretsmanager" && operation == "BatchGetSecretValue" {
        let ids = str_list(input, "SecretIdList");
        let targets = if ids.is_empty() {
            vec![(format!("arn:aws:secretsmanager:{}:{}:secret:*", api.scope.region, api.scope.account_id), vec![])]
        } else {
            let mut targets = Vec::new();
            for id in &ids {
                targets.push(secret_arn(api, id).await?);
            }
            targets
        };
        for (arn, tags) in targets {
            let context = tags
                .iter()
                .flat_map(|(k, v)| {
                    [
                        (format!("aws:ResourceTag/{k}"), vec![v.clone()]),
                        (format!("secretsmanager:ResourceTag/{k}"), vec![v.clone()]),
                    ]
                })
                .collect();
            out.push(Check { action: "secretsmanager:GetSecretValue".into(), resource: arn, context });
        }
    }
    // Running or deploying a definition with roles passes them to ECS: iam:PassRole on each.
    if svc.prefix == "ecs" && matches!(operation, "RunTask" | "StartTask" | "CreateService" | "UpdateService") {
        for role in passed_roles(api, input).await? {
            out.push(Check {
                action: "iam:PassRole".into(),
                resource: role,
                context: vec![("iam:PassedToService".into(), vec!["ecs-tasks.amazonaws.com".into()])],
            });
        }
    }
    // Tagging on creation also needs the service's TagResource (ECS's tagResourceAuthorization, on by default).
    let tags_given = context.contains_key("aws:TagKeys");
    if tags_given
        && svc.prefix == "ecs"
        && matches!(operation, "CreateCluster" | "CreateService" | "RunTask" | "StartTask" | "RegisterTaskDefinition")
        // [account settings] ... unless the caller's tagResourceAuthorization account setting is `off`.
        && crate::account_settings::tag_on_create_needs_tag_resource(api, caller).await?
    {
        let first = out.first().cloned();
        if let Some(first) = first {
            out.push(Check { action: "ecs:TagResource".into(), ..first });
        }
    }
    Ok(out)
}

fn flatten(context: &BTreeMap<String, Vec<String>>) -> Vec<(String, Vec<String>)> {
    context.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// `aws:RequestTag/<key>` and `aws:TagKeys` from the request's tags: ECS's `[{key, value}]`, IAM's `[{Key, Value}]`
/// or CloudWatch Logs' `{key: value}`.
fn request_tags(input: &Value) -> BTreeMap<String, Vec<String>> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for field in ["tags", "Tags"] {
        match input.get(field) {
            Some(Value::Array(items)) => {
                for t in items {
                    let key = t.get("key").or_else(|| t.get("Key")).and_then(Value::as_str);
                    let value = t.get("value").or_else(|| t.get("Value")).and_then(Value::as_str).unwrap_or("");
                    if let Some(k) = key {
                        pairs.push((k.to_owned(), value.to_owned()));
                    }
                }
            }
            Some(Value::Object(map)) => {
                pairs.extend(map.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned())));
            }
            _ => {}
        }
    }
    // UntagResource's keys are the request's tag keys too.
    for field in ["tagKeys", "TagKeys"] {
        if let Some(Value::Array(keys)) = input.get(field) {
            pairs.extend(keys.iter().filter_map(Value::as_str).map(|k| (k.to_owned(), String::new())));
        }
    }
    let mut context = BTreeMap::new();
    if pairs.is_empty() {
        return context;
    }
    for (k, v) in &pairs {
        context.insert(format!("aws:RequestTag/{k}"), vec![v.clone()]);
    }
    context.insert("aws:TagKeys".into(), pairs.into_iter().map(|(k, _)| k).collect());
    context
}

fn str_field<'a>(input: &'a Value, field: &str) -> Option<&'a str> {
    input.get(field).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn str_list(input: &Value, field: &str) -> Vec<String> {
    input
        .get(field)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// A resource ARN and the resource's tags.
type Target = (String, Vec<(String, String)>);

/// ECS: clusters, services, tasks, container instances, task definitions and service deployments named in the
/// request; `ecs:cluster` for the cluster it acts in.
async fn ecs(
    api: &Api,
    action: &Action,
    input: &Value,
    context: &mut BTreeMap<String, Vec<String>>,
    with_tags: bool,
) -> ApiResult<Vec<Target>> {
    let scope = &api.scope;
    let cluster = if action.name == "CreateCluster" {
        str_field(input, "clusterName").unwrap_or(crate::api::DEFAULT_CLUSTER).to_owned()
    } else {
        Api::cluster_name(str_field(input, "cluster")).to_owned()
    };
    let cluster_arn = scope.cluster(&cluster);
    let with_cluster = action.condition_keys.contains(&"ecs:cluster")
        || action.resources.iter().any(|r| r.condition_keys.contains(&"ecs:cluster"));
    if with_cluster {
        context.insert("ecs:cluster".into(), vec![cluster_arn.clone()]);
    }
    // [account settings] PutAccountSetting(Default) and DeleteAccountSetting: the setting's name.
    if action.condition_keys.contains(&"ecs:account-setting")
        && let Some(setting) = str_field(input, "name")
    {
        context.insert("ecs:account-setting".into(), vec![setting.to_owned()]);
    }
    // Which of the action's resource types the request names: required ones first.
    let mut kinds: Vec<&str> = action.resources.iter().filter(|r| r.required).map(|r| r.resource_type).collect();
    if kinds.is_empty() {
        kinds = action.resources.iter().map(|r| r.resource_type).collect();
    }
    // Tagging operations name the resource by ARN.
    if let Some(arn) = str_field(input, "resourceArn") {
        return Ok(vec![(arn.to_owned(), vec![])]);
    }
    let mut targets = Vec::new();
    for kind in kinds {
        let named: Vec<String> = match kind {
            "cluster" => {
                let listed = str_list(input, "clusters");
                if action.name == "DescribeClusters" && listed.is_empty() {
                    vec![scope.cluster(crate::api::DEFAULT_CLUSTER)]
                } else if listed.is_empty() {
                    vec![cluster_arn.clone()]
                } else {
                    listed.iter().map(|c| scope.cluster(berth_model::arn::cluster_name(c))).collect()
                }
            }
            "service" => {
                let mut names = str_list(input, "services");
                names.extend(["service", "serviceName"].iter().filter_map(|f| str_field(input, f)).map(str::to_owned));
                names.iter().map(|s| scoped(s, || scope.service(&cluster, s))).collect()
            }
            "task" => {
                let mut ids = str_list(input, "tasks");
                ids.extend(str_field(input, "task").map(str::to_owned));
                ids.iter().map(|t| scoped(t, || scope.task(&cluster, t))).collect()
            }
            "container-instance" => {
                let mut ids = str_list(input, "containerInstances");
                ids.extend(str_field(input, "containerInstance").map(str::to_owned));
                if let Some(attributes) = input.get("attributes").and_then(Value::as_array) {
                    ids.extend(
                        attributes
                            .iter()
                            .filter_map(|a| a.get("targetId"))
                            .filter_map(Value::as_str)
                            .map(str::to_owned),
                    );
                }
                if ids.is_empty() && matches!(action.name, "ListTasks" | "ListAttributes") {
                    vec![format!("arn:aws:ecs:{}:{}:container-instance/{cluster}/*", scope.region, scope.account_id)]
                } else {
                    ids.iter().map(|i| scoped(i, || scope.container_instance(&cluster, i))).collect()
                }
            }
            "task-definition" => match str_field(input, "taskDefinition").or_else(|| str_field(input, "family")) {
                Some(reference) => vec![task_definition_arn(api, action.name, reference).await?],
                None => vec![],
            },
            "service-deployment" => str_list(input, "serviceDeploymentArns"),
            _ => vec![],
        };
        for arn in named {
            let tags = if with_tags { resource_tags(api, &arn).await? } else { vec![] };
            targets.push((arn, tags));
        }
    }
    Ok(targets)
}

/// The ARNs of the roles a RunTask, StartTask, CreateService or UpdateService hands to ECS: the task definition's
/// `taskRoleArn` and `executionRoleArn`, and those of RunTask's overrides.
async fn passed_roles(api: &Api, input: &Value) -> ApiResult<Vec<String>> {
    let account = &api.scope.account_id;
    let mut refs: Vec<String> = Vec::new();
    if let Some(overrides) = input.get("overrides") {
        refs.extend(
            ["taskRoleArn", "executionRoleArn"].iter().filter_map(|f| str_field(overrides, f)).map(str::to_owned),
        );
    }
    if let Some(reference) = str_field(input, "taskDefinition")
        && let Ok(Some(found)) = crate::ops::taskdefs::find(api, reference).await
    {
        let def = &found.value.definition;
        refs.extend(def.task_role_arn().map(str::to_owned));
        refs.extend(def.execution_role_arn().map(str::to_owned));
    }
    let mut arns = Vec::new();
    for r in refs {
        let arn = match crate::sts::role_name_of(account, &r) {
            Some(name) => match crate::iam::load(api, Kind::Role, &name).await {
                Ok(role) => role.value.arn(Kind::Role, account),
                Err(_) => iam_entities::arn(Kind::Role, account, "/", &name),
            },
            None => r,
        };
        if !arns.contains(&arn) {
            arns.push(arn);
        }
    }
    Ok(arns)
}

/// An ARN as given, or the one `make` builds from a bare name or id.
fn scoped(reference: &str, make: impl FnOnce() -> String) -> String {
    if reference.starts_with("arn:") { reference.to_owned() } else { make() }
}

/// The task definition a request names: an ARN as given; `family:revision`; a bare family its latest ACTIVE revision
/// (RegisterTaskDefinition: the next one, written as `family:*` since it does not exist yet).
async fn task_definition_arn(api: &Api, action: &str, reference: &str) -> ApiResult<String> {
    if reference.starts_with("arn:") {
        return Ok(reference.to_owned());
    }
    if action == "RegisterTaskDefinition" {
        return Ok(format!("arn:aws:ecs:{}:{}:task-definition/{reference}:*", api.scope.region, api.scope.account_id));
    }
    if let Some((family, revision)) = reference.split_once(':')
        && let Ok(revision) = revision.parse::<i64>()
    {
        return Ok(api.scope.task_definition(family, revision));
    }
    Ok(match crate::ops::taskdefs::find(api, reference).await {
        Ok(Some(found)) => found.value.definition.task_definition_arn.unwrap_or_default(),
        _ => format!("arn:aws:ecs:{}:{}:task-definition/{reference}:*", api.scope.region, api.scope.account_id),
    })
}

/// The tags of the cluster, service or task definition an ARN names (none for other resources, or ones that do not
/// exist yet).
async fn resource_tags(api: &Api, arn: &str) -> ApiResult<Vec<(String, String)>> {
    let Some(resource) = berth_model::arn::resource_part(arn) else { return Ok(vec![]) };
    let pairs = |tags: Option<Vec<berth_model::Tag>>| -> Vec<(String, String)> {
        tags.unwrap_or_default().into_iter().map(|t| (t.key, t.value.unwrap_or_default())).collect()
    };
    let store = api.store.as_ref();
    if let Some(name) = resource.strip_prefix("cluster/") {
        let c = state::get::<berth_model::cluster::Cluster>(store, &keys::cluster(name)).await?;
        return Ok(pairs(c.and_then(|c| c.value.tags)));
    }
    if let Some(rest) = resource.strip_prefix("service/")
        && let Some((cluster, name)) = rest.split_once('/')
    {
        let s = state::get::<crate::ops::services::StoredService>(store, &keys::service(cluster, name)).await?;
        return Ok(pairs(s.and_then(|s| s.value.service.tags)));
    }
    if resource.starts_with("task-definition/")
        && !resource.ends_with(":*")
        && let Ok(Some(found)) = crate::ops::taskdefs::find(api, arn).await
    {
        return Ok(pairs(Some(found.value.tags)));
    }
    Ok(vec![])
}

/// CloudWatch Logs: the log group (or stream) the request names, with the group's tags.
async fn logs(api: &Api, action: &Action, input: &Value, with_tags: bool) -> ApiResult<Vec<Target>> {
    let group = str_field(input, "logGroupName").map(str::to_owned).or_else(|| {
        let id = str_field(input, "logGroupIdentifier").or_else(|| str_field(input, "resourceArn"))?;
        match id.strip_prefix("arn:") {
            Some(rest) => crate::logs::group_of_arn_rest(rest).map(str::to_owned),
            None => Some(id.to_owned()),
        }
    });
    let Some(group) = group else { return Ok(vec![]) };
    let base = format!("arn:aws:logs:{}:{}:log-group:{group}", api.scope.region, api.scope.account_id);
    let wants_stream = action.resources.iter().any(|r| r.required && r.resource_type == "log-stream");
    let arn = match (wants_stream, str_field(input, "logStreamName")) {
        (true, Some(stream)) => format!("{base}:log-stream:{stream}"),
        (true, None) => format!("{base}:log-stream:*"),
        (false, _) => base,
    };
    if !with_tags {
        return Ok(vec![(arn, vec![])]);
    }
    let tags = match state::get::<crate::logs::LogGroupRecord>(api.store.as_ref(), &keys::log_group(&group)).await {
        Ok(Some(g)) => g.value.tags.into_iter().collect(),
        _ => vec![],
    };
    Ok(vec![(arn, tags)])
}

/// IAM: the user, group, role or policy the request names (without a user name, operations on users act on the
/// caller).
async fn iam(api: &Api, caller: &Caller, action: &Action, input: &Value) -> ApiResult<Vec<Target>> {
    let account = &api.scope.account_id;
    let mut targets = Vec::new();
    for resource in action.resources.iter().filter(|r| r.required) {
        let arn = match resource.resource_type {
            "user" => {
                let name = str_field(input, "UserName").map(str::to_owned).or_else(|| match caller {
                    Caller::User { name, .. } => Some(name.clone()),
                    Caller::Root | Caller::Role { .. } | Caller::Instance { .. } => None,
                });
                match name {
                    Some(n) => Some(identity_arn(api, Kind::User, &n, input).await),
                    None => None,
                }
            }
            "group" => match str_field(input, "GroupName") {
                Some(n) => Some(identity_arn(api, Kind::Group, n, input).await),
                None => None,
            },
            "role" => match str_field(input, "RoleName") {
                Some(n) => Some(identity_arn(api, Kind::Role, n, input).await),
                None => None,
            },
            "policy" => match (str_field(input, "PolicyArn"), str_field(input, "PolicyName")) {
                (Some(arn), _) => Some(arn.to_owned()),
                (None, Some(name)) => {
                    Some(iam_entities::arn(Kind::Policy, account, str_field(input, "Path").unwrap_or("/"), name))
                }
                _ => None,
            },
            _ => None,
        };
        if let Some(arn) = arn {
            targets.push((arn, vec![]));
        }
    }
    Ok(targets)
}

/// Secrets Manager: the secret the request names (`SecretId`, or `Name` for CreateSecret), with its tags as
/// `aws:ResourceTag/*` and `secretsmanager:ResourceTag/*`, and the service's own condition keys.
async fn secrets(
    api: &Api,
    operation: &str,
    input: &Value,
    context: &mut BTreeMap<String, Vec<String>>,
) -> ApiResult<Vec<Target>> {
    for (key, field) in [
        ("secretsmanager:SecretId", "SecretId"),
        ("secretsmanager:Name", "Name"),
        ("secretsmanager:Description", "Description"),
        ("secretsmanager:KmsKeyId", "KmsKeyId"),
        ("secretsmanager:VersionId", "VersionId"),
        ("secretsmanager:VersionStage", "VersionStage"),
    ] {
        if let Some(v) = str_field(input, field) {
            context.insert(key.into(), vec![v.to_owned()]);
        }
    }
    if let Some(days) = input.get("RecoveryWindowInDays").and_then(Value::as_i64) {
        context.insert("secretsmanager:RecoveryWindowInDays".into(), vec![days.to_string()]);
    }
    if let Some(force) = input.get("ForceDeleteWithoutRecovery").and_then(Value::as_bool) {
        context.insert("secretsmanager:ForceDeleteWithoutRecovery".into(), vec![force.to_string()]);
    }
    let target = match (operation, str_field(input, "SecretId"), str_field(input, "Name")) {
        // A new secret's ARN ends in a random suffix not chosen yet: `name-??????` matches `name-*` and `name*`.
        ("CreateSecret", _, Some(name)) => Some((
            format!("arn:aws:secretsmanager:{}:{}:secret:{name}-??????", api.scope.region, api.scope.account_id),
            vec![],
        )),
        (_, Some(id), _) => Some(secret_arn(api, id).await?),
        _ => None,
    };
    Ok(target
        .map(|(arn, tags)| {
            let with_service_keys = tags.iter().map(|(k, v)| (format!("secretsmanager:ResourceTag/{k}"), v.clone()));
            for (k, v) in with_service_keys {
                context.insert(k, vec![v]);
            }
            vec![(arn, tags)]
        })
        .unwrap_or_default())
}

/// A secret's ARN and tags; for a secret that does not exist, the ARN the id names (or `secret:<name>-??????`).
async fn secret_arn(api: &Api, id: &str) -> ApiResult<Target> {
    if let Some(found) = crate::secrets::resource(api, id).await? {
        return Ok(found);
    }
    let arn = if id.starts_with("arn:") {
        id.to_owned()
    } else {
        format!("arn:aws:secretsmanager:{}:{}:secret:{id}-??????", api.scope.region, api.scope.account_id)
    };
    Ok((arn, vec![]))
}

/// SSM Parameter Store: each parameter the request names (`Name`, `Names`, `ResourceId`) or the path it reads,
/// with the parameter's tags; `ssm:Overwrite` and `ssm:Recursive`.
async fn ssm(
    api: &Api,
    operation: &str,
    input: &Value,
    context: &mut BTreeMap<String, Vec<String>>,
) -> ApiResult<Vec<Target>> {
    if let Some(overwrite) = input.get("Overwrite").and_then(Value::as_bool) {
        context.insert("ssm:Overwrite".into(), vec![overwrite.to_string()]);
    }
    if let Some(recursive) = input.get("Recursive").and_then(Value::as_bool) {
        context.insert("ssm:Recursive".into(), vec![recursive.to_string()]);
    }
    let mut names: Vec<String> = str_list(input, "Names");
    names.extend(str_field(input, "Name").map(str::to_owned));
    if matches!(operation, "AddTagsToResource" | "RemoveTagsFromResource" | "ListTagsForResource") {
        names.extend(str_field(input, "ResourceId").map(str::to_owned));
    }
    if let Some(path) = str_field(input, "Path") {
        let path = path.trim_end_matches('/');
        let arn = crate::ssm::names::arn(&api.scope, if path.is_empty() { "/" } else { path });
        return Ok(vec![(arn, vec![])]);
    }
    let mut targets = Vec::new();
    for name in names {
        let Some(arn) = crate::ssm::parameter_arn(api, &name) else { continue };
        let tags = crate::ssm::parameter_tags(api, &name).await?;
        targets.push((arn, tags));
    }
    Ok(targets)
}

/// The ARN of a user, group or role: with its path when it exists, else the path the request gives (creation).
async fn identity_arn(api: &Api, kind: Kind, name: &str, input: &Value) -> String {
    let account = &api.scope.account_id;
    match crate::iam::load(api, kind, name).await {
        Ok(found) => found.value.arn(kind, account),
        Err(_) => iam_entities::arn(kind, account, str_field(input, "Path").unwrap_or("/"), name),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn request_tags_come_from_every_protocol_s_shape() {
        let ecs = request_tags(&json!({"tags": [{"key": "team", "value": "ml"}]}));
        assert_eq!(ecs["aws:RequestTag/team"], ["ml"]);
        assert_eq!(ecs["aws:TagKeys"], ["team"]);
        let iam = request_tags(&json!({"Tags": [{"Key": "a", "Value": "1"}, {"Key": "b"}]}));
        assert_eq!(iam["aws:TagKeys"], ["a", "b"]);
        let logs = request_tags(&json!({"tags": {"cost": "42"}}));
        assert_eq!(logs["aws:RequestTag/cost"], ["42"]);
        assert!(request_tags(&json!({"cluster": "x"})).is_empty());
    }
}
