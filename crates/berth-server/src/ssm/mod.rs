//! SSM Parameter Store: the JSON 1.1 API (target prefix `AmazonSSM.`, signed for `ssm`). Every operation of the botocore
//! `ssm` model is in [`OPERATIONS`]; those without a handler answer `InvalidRequestException` naming the operation, names outside
//! the model `UnknownOperationException`.
//!
//! Served: the Parameter Store part of SSM: parameters (String, StringList, SecureString) in hierarchies, with
//! versions (at most 100 kept), labels, tiers, allowed patterns and tags. Modules: [`names`] (names, paths,
//! selectors, labels), [`pattern`] (AllowedPattern's regular expressions), [`record`] (the stored parameter and its
//! pure transitions), [`input`] (other input checks), [`store`] (keys and sealing), [`params`] (put, get, delete,
//! history), [`search`] (by path, describe, filters), [`labels`], [`tags`].
//!
//! SecureString values are sealed at rest with `api.sealer` (`crate::sealing`), bound to the parameter and the
//! version; without `WithDecryption` reads return the sealed text. Limits: no KMS (only `alias/aws/ssm`), no
//! parameter policies, DataType `text` only, no public (`/aws/...`) parameters, no sharing; the rest of SSM (run
//! command, documents, sessions, ...) answers `InvalidRequestException`. Input errors answer `ValidationException`
//! naming the field unless Parameter Store has a code of its own.

use std::sync::Arc;

use serde_json::Value;

use crate::api::Api;
use crate::dispatch::{HandlerFuture, Operation};
use crate::error::{ApiError, ApiResult, ErrorCode};

pub mod input;
mod labels;
pub mod names;
mod params;
pub mod pattern;
pub mod record;
mod search;
pub mod store;
mod tags;

/// `ValidationException`: input outside Parameter Store's rules.
pub fn validation(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::Service("ValidationException"), message)
}

/// For authorization: the tags of the parameter `name` names (a name or ARN, with or without a selector); empty
/// when it names none.
pub async fn parameter_tags(api: &Api, name: &str) -> ApiResult<Vec<(String, String)>> {
    let Ok(reference) = names::reference(&api.scope, "Name", name) else { return Ok(Vec::new()) };
    Ok(match store::get(api, &reference.name).await? {
        Some(p) => p.value.tags.into_iter().map(|t| (t.key, t.value)).collect(),
        None => Vec::new(),
    })
}

/// The ARN of the parameter a name, ARN or `name:selector` refers to (for authorization); `None` for one that is not
/// a parameter name.
pub fn parameter_arn(api: &Api, given: &str) -> Option<String> {
    let reference = names::reference(&api.scope, "Name", given).ok()?;
    Some(names::arn(&api.scope, &reference.name.key))
}

/// The `X-Amz-Target` prefix of the API.
pub const TARGET_PREFIX: &str = "AmazonSSM.";

/// The service name requests are signed for.
pub const SIGNING_NAME: &str = "ssm";

/// Wraps `handler(&Api, Input) -> ApiResult<Value>` as a table entry; a request that does not decode is a
/// `ValidationException` naming the member.
macro_rules! handler {
    ($f:path) => {
        |api: Arc<Api>, body: Value| -> HandlerFuture {
            Box::pin(async move {
                let input = crate::dispatch::decode_input(body).map_err(|e| validation(e.message))?;
                $f(&api, input).await
            })
        }
    };
}

/// Every operation of the `ssm` model (botocore), sorted by name.
pub static OPERATIONS: &[Operation] = &[
    Operation { name: "AddTagsToResource", handler: Some(handler!(tags::add_tags_to_resource)) },
    Operation { name: "AssociateOpsItemRelatedItem", handler: None },
    Operation { name: "CancelCommand", handler: None },
    Operation { name: "CancelMaintenanceWindowExecution", handler: None },
    Operation { name: "CreateActivation", handler: None },
    Operation { name: "CreateAssociation", handler: None },
    Operation { name: "CreateAssociationBatch", handler: None },
    Operation { name: "CreateDocument", handler: None },
    Operation { name: "CreateMaintenanceWindow", handler: None },
    Operation { name: "CreateOpsItem", handler: None },
    Operation { name: "CreateOpsMetadata", handler: None },
    Operation { name: "CreatePatchBaseline", handler: None },
    Operation { name: "CreateResourceDataSync", handler: None },
    Operation { name: "DeleteActivation", handler: None },
    Operation { name: "DeleteAssociation", handler: None },
    Operation { name: "DeleteDocument", handler: None },
    Operation { name: "DeleteInventory", handler: None },
    Operation { name: "DeleteMaintenanceWindow", handler: None },
    Operation { name: "DeleteOpsItem", handler: None },
    Operation { name: "DeleteOpsMetadata", handler: None },
    Operation { name: "DeleteParameter", handler: Some(handler!(params::delete_parameter)) },
    Operation { name: "DeleteParameters", handler: Some(handler!(params::delete_parameters)) },
    Operation { name: "DeletePatchBaseline", handler: None },
    Operation { name: "DeleteResourceDataSync", handler: None },
    Operation { name: "DeleteResourcePolicy", handler: None },
    Operation { name: "DeregisterManagedInstance", handler: None },
    Operation { name: "DeregisterPatchBaselineForPatchGroup", handler: None },
    Operation { name: "DeregisterTargetFromMaintenanceWindow", handler: None },
    Operation { name: "DeregisterTaskFromMaintenanceWindow", handler: None },
    Operation { name: "DescribeActivations", handler: None },
    Operation { name: "DescribeAssociation", handler: None },
    Operation { name: "DescribeAssociationExecutionTargets", handler: None },
    Operation { name: "DescribeAssociationExecutions", handler: None },
    Operation { name: "DescribeAutomationExecutions", handler: None },
    Operation { name: "DescribeAutomationStepExecutions", handler: None },
    Operation { name: "DescribeAvailablePatches", handler: None },
    Operation { name: "DescribeDocument", handler: None },
    Operation { name: "DescribeDocumentPermission", handler: None },
    Operation { name: "DescribeEffectiveInstanceAssociations", handler: None },
    Operation { name: "DescribeEffectivePatchesForPatchBaseline", handler: None },
    Operation { name: "DescribeInstanceAssociationsStatus", handler: None },
    Operation { name: "DescribeInstanceInformation", handler: None },
    Operation { name: "DescribeInstancePatchStates", handler: None },
    Operation { name: "DescribeInstancePatchStatesForPatchGroup", handler: None },
    Operation { name: "DescribeInstancePatches", handler: None },
    Operation { name: "DescribeInstanceProperties", handler: None },
    Operation { name: "DescribeInventoryDeletions", handler: None },
    Operation { name: "DescribeMaintenanceWindowExecutionTaskInvocations", handler: None },
    Operation { name: "DescribeMaintenanceWindowExecutionTasks", handler: None },
    Operation { name: "DescribeMaintenanceWindowExecutions", handler: None },
    Operation { name: "DescribeMaintenanceWindowSchedule", handler: None },
    Operation { name: "DescribeMaintenanceWindowTargets", handler: None },
    Operation { name: "DescribeMaintenanceWindowTasks", handler: None },
    Operation { name: "DescribeMaintenanceWindows", handler: None },
    Operation { name: "DescribeMaintenanceWindowsForTarget", handler: None },
    Operation { name: "DescribeOpsItems", handler: None },
    Operation { name: "DescribeParameters", handler: Some(handler!(search::describe_parameters)) },
    Operation { name: "DescribePatchBaselines", handler: None },
    Operation { name: "DescribePatchGroupState", handler: None },
    Operation { name: "DescribePatchGroups", handler: None },
    Operation { name: "DescribePatchProperties", handler: None },
    Operation { name: "DescribeSessions", handler: None },
    Operation { name: "DisassociateOpsItemRelatedItem", handler: None },
    Operation { name: "GetAccessToken", handler: None },
    Operation { name: "GetAutomationExecution", handler: None },
    Operation { name: "GetCalendarState", handler: None },
    Operation { name: "GetCommandInvocation", handler: None },
    Operation { name: "GetConnectionStatus", handler: None },
    Operation { name: "GetDefaultPatchBaseline", handler: None },
    Operation { name: "GetDeployablePatchSnapshotForInstance", handler: None },
    Operation { name: "GetDocument", handler: None },
    Operation { name: "GetExecutionPreview", handler: None },
    Operation { name: "GetInventory", handler: None },
    Operation { name: "GetInventorySchema", handler: None },
    Operation { name: "GetMaintenanceWindow", handler: None },
    Operation { name: "GetMaintenanceWindowExecution", handler: None },
    Operation { name: "GetMaintenanceWindowExecutionTask", handler: None },
    Operation { name: "GetMaintenanceWindowExecutionTaskInvocation", handler: None },
    Operation { name: "GetMaintenanceWindowTask", handler: None },
    Operation { name: "GetOpsItem", handler: None },
    Operation { name: "GetOpsMetadata", handler: None },
    Operation { name: "GetOpsSummary", handler: None },
    Operation { name: "GetParameter", handler: Some(handler!(params::get_parameter)) },
    Operation { name: "GetParameterHistory", handler: Some(handler!(params::get_parameter_history)) },
    Operation { name: "GetParameters", handler: Some(handler!(params::get_parameters)) },
    Operation { name: "GetParametersByPath", handler: Some(handler!(search::get_parameters_by_path)) },
    Operation { name: "GetPatchBaseline", handler: None },
    Operation { name: "GetPatchBaselineForPatchGroup", handler: None },
    Operation { name: "GetResourcePolicies", handler: None },
    Operation { name: "GetServiceSetting", handler: None },
    Operation { name: "LabelParameterVersion", handler: Some(handler!(labels::label_parameter_version)) },
    Operation { name: "ListAssociationVersions", handler: None },
    Operation { name: "ListAssociations", handler: None },
    Operation { name: "ListCommandInvocations", handler: None },
    Operation { name: "ListCommands", handler: None },
    Operation { name: "ListComplianceItems", handler: None },
    Operation { name: "ListComplianceSummaries", handler: None },
    Operation { name: "ListDocumentMetadataHistory", handler: None },
    Operation { name: "ListDocumentVersions", handler: None },
    Operation { name: "ListDocuments", handler: None },
    Operation { name: "ListInventoryEntries", handler: None },
    Operation { name: "ListNodes", handler: None },
    Operation { name: "ListNodesSummary", handler: None },
    Operation { name: "ListOpsItemEvents", handler: None },
    Operation { name: "ListOpsItemRelatedItems", handler: None },
    Operation { name: "ListOpsMetadata", handler: None },
    Operation { name: "ListResourceComplianceSummaries", handler: None },
    Operation { name: "ListResourceDataSync", handler: None },
    Operation { name: "ListTagsForResource", handler: Some(handler!(tags::list_tags_for_resource)) },
    Operation { name: "ModifyDocumentPermission", handler: None },
    Operation { name: "PutComplianceItems", handler: None },
    Operation { name: "PutInventory", handler: None },
    Operation { name: "PutParameter", handler: Some(handler!(params::put_parameter)) },
    Operation { name: "PutResourcePolicy", handler: None },
    Operation { name: "RegisterDefaultPatchBaseline", handler: None },
    Operation { name: "RegisterPatchBaselineForPatchGroup", handler: None },
    Operation { name: "RegisterTargetWithMaintenanceWindow", handler: None },
    Operation { name: "RegisterTaskWithMaintenanceWindow", handler: None },
    Operation { name: "RemoveTagsFromResource", handler: Some(handler!(tags::remove_tags_from_resource)) },
    Operation { name: "ResetServiceSetting", handler: None },
    Operation { name: "ResumeSession", handler: None },
    Operation { name: "SendAutomationSignal", handler: None },
    Operation { name: "SendCommand", handler: None },
    Operation { name: "StartAccessRequest", handler: None },
    Operation { name: "StartAssociationsOnce", handler: None },
    Operation { name: "StartAutomationExecution", handler: None },
    Operation { name: "StartChangeRequestExecution", handler: None },
    Operation { name: "StartExecutionPreview", handler: None },
    Operation { name: "StartSession", handler: None },
    Operation { name: "StopAutomationExecution", handler: None },
    Operation { name: "TerminateSession", handler: None },
    Operation { name: "UnlabelParameterVersion", handler: Some(handler!(labels::unlabel_parameter_version)) },
    Operation { name: "UpdateAssociation", handler: None },
    Operation { name: "UpdateAssociationStatus", handler: None },
    Operation { name: "UpdateDocument", handler: None },
    Operation { name: "UpdateDocumentDefaultVersion", handler: None },
    Operation { name: "UpdateDocumentMetadata", handler: None },
    Operation { name: "UpdateMaintenanceWindow", handler: None },
    Operation { name: "UpdateMaintenanceWindowTarget", handler: None },
    Operation { name: "UpdateMaintenanceWindowTask", handler: None },
    Operation { name: "UpdateManagedInstanceRole", handler: None },
    Operation { name: "UpdateOpsItem", handler: None },
    Operation { name: "UpdateOpsMetadata", handler: None },
    Operation { name: "UpdatePatchBaseline", handler: None },
    Operation { name: "UpdateResourceDataSync", handler: None },
    Operation { name: "UpdateServiceSetting", handler: None },
];

/// The operation named `name`, if the model has it.
pub fn find(name: &str) -> Option<&'static Operation> {
    crate::dispatch::find_in(OPERATIONS, name)
}

/// Runs the named operation.
pub async fn dispatch(api: Arc<Api>, name: &str, body: Value) -> ApiResult<Value> {
    crate::dispatch::run(OPERATIONS, api, name, body, |name| {
        ApiError::new(
            ErrorCode::Service("InvalidRequestException"),
            format!("{name} is not supported by Berth. See docs/API-COVERAGE.md for the SSM Parameter Store operations it serves."),
        )
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table holds exactly the operations of the model in the installed botocore package.
    #[test]
    fn table_matches_the_botocore_model() {
        crate::dispatch::botocore_model::assert_table_matches("ssm", OPERATIONS.iter().map(|o| o.name));
    }

    #[tokio::test]
    async fn secure_strings_are_sealed_and_tags_are_found() {
        use serde_json::json;
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn berth_store::Store> =
            Arc::new(berth_store::SqliteStore::open(&dir.path().join("state.db")).unwrap());
        let config = crate::ServerConfig::new("us-east-1", "123456789012", crate::AuthMode::Disabled);
        let api = crate::build_api(store, &config).await.unwrap();
        let call = |op: &'static str, body: Value| dispatch(api.clone(), op, body);
        let plain = "ssm-plain-91b2";
        call(
            "PutParameter",
            json!({"Name": "/app/token", "Value": plain, "Type": "SecureString",
            "Tags": [{"Key": "team", "Value": "ml"}]}),
        )
        .await
        .unwrap();
        let all = api.store.list("", Default::default()).await.unwrap();
        assert!(all.kvs.iter().all(|kv| !String::from_utf8_lossy(&kv.value).contains(plain)));
        let sealed = call("GetParameter", json!({"Name": "/app/token"})).await.unwrap();
        assert_ne!(sealed["Parameter"]["Value"], plain);
        let open = call("GetParameter", json!({"Name": "/app/token", "WithDecryption": true})).await.unwrap();
        assert_eq!(open["Parameter"]["Value"], plain);
        let tags = parameter_tags(&api, "/app/token:1").await.unwrap();
        assert_eq!(tags, [("team".to_owned(), "ml".to_owned())]);
        let by_arn = parameter_tags(&api, "arn:aws:ssm:us-east-1:123456789012:parameter/app/token").await.unwrap();
        assert_eq!(by_arn.len(), 1);
        assert!(parameter_tags(&api, "/nope").await.unwrap().is_empty());
        assert!(parameter_tags(&api, "bad name").await.unwrap().is_empty());
        let e = call("PutParameter", json!({"Name": "/x", "Value": "v"})).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::Service("ValidationException"));
        let e = call("PutParameter", json!({"Name": "/x"})).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::Service("ValidationException"), "undecodable input too");
    }
}
