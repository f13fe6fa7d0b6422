//! The ECS operation table: every operation of the botocore ECS model, with its handler where Berth implements
//! it. An operation without a handler answers `UnsupportedFeatureException` naming it; a name outside the model
//! answers `UnknownOperationException`. docs/API-COVERAGE.md is checked against this table by a test.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::api::Api;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::ops;

/// The future a handler returns.
pub type HandlerFuture = Pin<Box<dyn Future<Output = ApiResult<Value>> + Send>>;

/// A handler: the API context and the request body, already known to be a JSON object.
pub type Handler = fn(Arc<Api>, Value) -> HandlerFuture;

/// One operation of the ECS model.
pub struct Operation {
    pub name: &'static str,
    pub handler: Option<Handler>,
}

/// Decodes a request body into an operation's input type; a mistyped or missing field is an
/// `InvalidParameterException` that names it.
pub fn decode_input<T: DeserializeOwned>(body: Value) -> ApiResult<T> {
    serde_path_to_error::deserialize(body).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            ApiError::invalid(format!("Invalid request: {inner}."))
        } else {
            ApiError::invalid(format!("Invalid value for parameter {path}: {inner}."))
        }
    })
}

/// Wraps `handler(&Api, Input) -> ApiResult<Value>` as a table entry.
macro_rules! handler {
    ($f:path) => {
        |api: Arc<Api>, body: Value| -> HandlerFuture {
            Box::pin(async move {
                let input = decode_input(body)?;
                $f(&api, input).await
            })
        }
    };
}

/// Wraps `handler(&Api, &Caller, Input) -> ApiResult<Value>`, for the operations whose effect depends on who asks
/// (account settings: the ARN format of what they create, a new cluster's containerInsights).
macro_rules! handler_as {
    ($f:path) => {
        |api: Arc<Api>, body: Value| -> HandlerFuture {
            let caller = current_caller();
            Box::pin(async move {
                let input = decode_input(body)?;
                $f(&api, &caller, input).await
            })
        }
    };
}

tokio::task_local! {
    /// The caller of the ECS request being dispatched ([`dispatch_as`]), for the handlers wrapped by `handler_as!`.
    static CALLER: Caller;
}

/// The caller of the request being dispatched: the account root when none was given ([`dispatch`] without a
/// caller, as with `--auth none`).
fn current_caller() -> Caller {
    CALLER.try_with(Caller::clone).unwrap_or(Caller::Root)
}

/// Every operation of the ECS model (botocore ecs 2014-11-13), sorted by name.
pub static OPERATIONS: &[Operation] = &[
    Operation { name: "ContinueServiceDeployment", handler: None },
    Operation { name: "CreateCapacityProvider", handler: None },
    Operation { name: "CreateCluster", handler: Some(handler_as!(ops::clusters::create_cluster)) },
    Operation { name: "CreateDaemon", handler: None },
    Operation { name: "CreateExpressGatewayService", handler: None },
    Operation { name: "CreateService", handler: Some(handler_as!(ops::services::create_service)) },
    Operation { name: "CreateTaskSet", handler: None },
    Operation { name: "DeleteAccountSetting", handler: Some(handler_as!(ops::account::delete_account_setting)) },
    Operation { name: "DeleteAttributes", handler: Some(handler!(ops::attributes::delete_attributes)) },
    Operation { name: "DeleteCapacityProvider", handler: None },
    Operation { name: "DeleteCluster", handler: Some(handler!(ops::clusters::delete_cluster)) },
    Operation { name: "DeleteDaemon", handler: None },
    Operation { name: "DeleteDaemonTaskDefinition", handler: None },
    Operation { name: "DeleteExpressGatewayService", handler: None },
    Operation { name: "DeleteService", handler: Some(handler!(ops::services::delete_service)) },
    Operation { name: "DeleteTaskDefinitions", handler: Some(handler!(ops::taskdefs::delete_task_definitions)) },
    Operation { name: "DeleteTaskSet", handler: None },
    Operation {
        name: "DeregisterContainerInstance",
        handler: Some(handler!(ops::instances::deregister_container_instance)),
    },
    Operation { name: "DeregisterTaskDefinition", handler: Some(handler!(ops::taskdefs::deregister_task_definition)) },
    Operation { name: "DescribeCapacityProviders", handler: None },
    Operation { name: "DescribeClusters", handler: Some(handler!(ops::clusters::describe_clusters)) },
    Operation {
        name: "DescribeContainerInstances",
        handler: Some(handler!(ops::instances::describe_container_instances)),
    },
    Operation { name: "DescribeDaemon", handler: None },
    Operation { name: "DescribeDaemonDeployments", handler: None },
    Operation { name: "DescribeDaemonRevisions", handler: None },
    Operation { name: "DescribeDaemonTaskDefinition", handler: None },
    Operation { name: "DescribeExpressGatewayService", handler: None },
    Operation {
        name: "DescribeServiceDeployments",
        handler: Some(handler!(ops::services::describe_service_deployments)),
    },
    Operation { name: "DescribeServiceRevisions", handler: None },
    Operation { name: "DescribeServices", handler: Some(handler!(ops::services::describe_services)) },
    Operation { name: "DescribeTaskDefinition", handler: Some(handler!(ops::taskdefs::describe_task_definition)) },
    Operation { name: "DescribeTaskSets", handler: None },
    Operation { name: "DescribeTasks", handler: Some(handler!(ops::tasks::describe_tasks)) },
    Operation { name: "DiscoverPollEndpoint", handler: None },
    Operation { name: "ExecuteCommand", handler: None },
    Operation { name: "GetTaskProtection", handler: None },
    Operation { name: "ListAccountSettings", handler: Some(handler_as!(ops::account::list_account_settings)) },
    Operation { name: "ListAttributes", handler: Some(handler!(ops::attributes::list_attributes)) },
    Operation { name: "ListClusters", handler: Some(handler!(ops::clusters::list_clusters)) },
    Operation { name: "ListContainerInstances", handler: Some(handler!(ops::instances::list_container_instances)) },
    Operation { name: "ListDaemonDeployments", handler: None },
    Operation { name: "ListDaemonTaskDefinitions", handler: None },
    Operation { name: "ListDaemons", handler: None },
    Operation { name: "ListServiceDeployments", handler: Some(handler!(ops::services::list_service_deployments)) },
    Operation { name: "ListServices", handler: Some(handler!(ops::services::list_services)) },
    Operation { name: "ListServicesByNamespace", handler: None },
    Operation { name: "ListTagsForResource", handler: Some(handler!(ops::tags::list_tags_for_resource)) },
    Operation {
        name: "ListTaskDefinitionFamilies",
        handler: Some(handler!(ops::taskdefs::list_task_definition_families)),
    },
    Operation { name: "ListTaskDefinitions", handler: Some(handler!(ops::taskdefs::list_task_definitions)) },
    Operation { name: "ListTasks", handler: Some(handler!(ops::tasks::list_tasks)) },
    Operation { name: "PutAccountSetting", handler: Some(handler_as!(ops::account::put_account_setting)) },
    Operation {
        name: "PutAccountSettingDefault",
        handler: Some(handler_as!(ops::account::put_account_setting_default)),
    },
    Operation { name: "PutAttributes", handler: Some(handler!(ops::attributes::put_attributes)) },
    Operation { name: "PutClusterCapacityProviders", handler: None },
    Operation {
        name: "RegisterContainerInstance",
        handler: Some(handler_as!(ops::instances::register_container_instance)),
    },
    Operation { name: "RegisterDaemonTaskDefinition", handler: None },
    Operation { name: "RegisterTaskDefinition", handler: Some(handler!(ops::taskdefs::register_task_definition)) },
    Operation { name: "RunTask", handler: Some(handler_as!(ops::tasks::run_task)) },
    Operation { name: "StartTask", handler: Some(handler_as!(ops::tasks::start_task)) },
    Operation { name: "StopServiceDeployment", handler: None },
    Operation { name: "StopTask", handler: Some(handler!(ops::tasks::stop_task)) },
    Operation { name: "SubmitAttachmentStateChanges", handler: None },
    Operation {
        name: "SubmitContainerStateChange",
        handler: Some(handler!(ops::agent::submit_container_state_change)),
    },
    Operation { name: "SubmitTaskStateChange", handler: Some(handler!(ops::agent::submit_task_state_change)) },
    Operation { name: "TagResource", handler: Some(handler!(ops::tags::tag_resource)) },
    Operation { name: "UntagResource", handler: Some(handler!(ops::tags::untag_resource)) },
    Operation { name: "UpdateCapacityProvider", handler: None },
    Operation { name: "UpdateCluster", handler: Some(handler!(ops::clusters::update_cluster)) },
    Operation { name: "UpdateClusterSettings", handler: Some(handler!(ops::clusters::update_cluster_settings)) },
    Operation { name: "UpdateContainerAgent", handler: None },
    Operation {
        name: "UpdateContainerInstancesState",
        handler: Some(handler!(ops::instances::update_container_instances_state)),
    },
    Operation { name: "UpdateDaemon", handler: None },
    Operation { name: "UpdateExpressGatewayService", handler: None },
    Operation { name: "UpdateService", handler: Some(handler!(ops::services::update_service)) },
    Operation { name: "UpdateServicePrimaryTaskSet", handler: None },
    Operation { name: "UpdateTaskProtection", handler: None },
    Operation { name: "UpdateTaskSet", handler: None },
];

/// Berth's agent-only operations, under `berth_model::agent::AGENT_TARGET_PREFIX`.
pub static AGENT_OPERATIONS: &[Operation] = &[
    Operation { name: "GetTaskCredentials", handler: Some(handler!(ops::agent::get_task_credentials)) },
    Operation { name: "GetTaskWebIdentityToken", handler: Some(handler!(ops::agent::get_task_web_identity_token)) },
    Operation {
        name: "GetInstanceCredentials",
        handler: Some(handler!(ops::instance_identity::get_instance_credentials)),
    },
    Operation { name: "GetLinkCertificate", handler: Some(handler!(ops::link::get_link_certificate)) },
    Operation { name: "Poll", handler: Some(handler!(ops::agent::poll)) },
    Operation { name: "SubmitTaskStats", handler: Some(handler!(ops::agent::submit_task_stats)) },
];

/// Runs the named agent operation.
pub async fn dispatch_agent(api: Arc<Api>, name: &str, body: Value) -> ApiResult<Value> {
    match AGENT_OPERATIONS.iter().find(|op| op.name == name).and_then(|op| op.handler) {
        Some(handler) => handler(api, body).await,
        None => Err(ApiError::new(
            ErrorCode::UnknownOperationException,
            format!("Unknown agent operation {}.", berth_model::names::truncate(name, 128)),
        )),
    }
}

/// The operation named `name`, if the ECS model has it.
pub fn find(name: &str) -> Option<&'static Operation> {
    find_in(OPERATIONS, name)
}

/// The operation named `name` in a table sorted by name.
pub fn find_in(table: &'static [Operation], name: &str) -> Option<&'static Operation> {
    table.binary_search_by(|op| op.name.cmp(name)).ok().map(|i| &table[i])
}

/// Runs the named operation for `caller` (authorized already).
pub async fn dispatch_as(api: Arc<Api>, caller: Caller, name: &str, body: Value) -> ApiResult<Value> {
    CALLER.scope(caller, dispatch(api, name, body)).await
}

/// Runs the named operation; handlers that ask who is calling see the account root unless [`dispatch_as`] runs
/// it.
pub async fn dispatch(api: Arc<Api>, name: &str, body: Value) -> ApiResult<Value> {
    run(OPERATIONS, api, name, body, |name| {
        ApiError::new(
            ErrorCode::UnsupportedFeatureException,
            format!("{name} is not supported by Berth yet. See docs/API-COVERAGE.md for the operations it serves."),
        )
    })
    .await
}

/// Runs `name` from a model's operation table: a name outside the model answers `UnknownOperationException`, an
/// operation of the model without a handler answers `unsupported(name)`.
pub async fn run(
    table: &'static [Operation],
    api: Arc<Api>,
    name: &str,
    body: Value,
    unsupported: impl FnOnce(&str) -> ApiError,
) -> ApiResult<Value> {
    let Some(op) = find_in(table, name) else {
        return Err(ApiError::new(
            ErrorCode::UnknownOperationException,
            format!("Unknown operation {}.", berth_model::names::truncate(name, 128)),
        ));
    };
    match op.handler {
        Some(handler) => handler(api, body).await,
        None => Err(unsupported(name)),
    }
}

#[cfg(test)]
pub(crate) mod botocore_model {
    /// Asserts that an operation table names exactly the operations of `service`'s model in the installed botocore
    /// package (the suite's virtualenv pins it; tests/run-all.sh creates it; a bare python3 is the fallback).
    pub(crate) fn assert_table_matches<'a>(service: &str, table: impl IntoIterator<Item = &'a str>) {
        let script = format!(
            "import json, botocore.session\nprint(json.dumps(sorted(botocore.session.get_session().get_service_model('{service}').operation_names)))"
        );
        let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
        let python = if venv.exists() { venv.to_string_lossy().into_owned() } else { "python3".to_owned() };
        let out = std::process::Command::new(&python).args(["-c", &script]).output().expect("python with botocore");
        assert!(out.status.success(), "botocore must be installed: {}", String::from_utf8_lossy(&out.stderr));
        let model: Vec<String> = serde_json::from_slice(&out.stdout).expect("a JSON list of names");
        assert_eq!(table.into_iter().collect::<Vec<_>>(), model.iter().map(String::as_str).collect::<Vec<_>>());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        for pair in OPERATIONS.windows(2) {
            assert!(pair[0].name < pair[1].name, "{} must sort before {}", pair[0].name, pair[1].name);
        }
        assert!(find("CreateCluster").and_then(|o| o.handler).is_some());
        assert!(find("RunTask").is_some());
        assert!(find("Nope").is_none());
    }
}
