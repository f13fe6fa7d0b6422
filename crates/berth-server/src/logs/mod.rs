//! The CloudWatch Logs API (`Logs_20140328`, signed for `logs`): the operation table and its handlers.
//!
//! The server keeps log groups and an index of which container instance holds each stream; the events stay on
//! the hosts, and the agents serve them over their link endpoint ([`berth_model::logs`]). Modules: [`validate`]
//! (input checks), [`groups`] (the group operations), [`tags`] (tags on groups), [`index`] (the stream index
//! written when tasks are placed), [`link`] (calling agents), [`streams`] (DescribeLogStreams), [`events`]
//! (GetLogEvents, FilterLogEvents).
//!
//! Every operation of the botocore Logs model is in [`OPERATIONS`]; those without a handler answer
//! `InvalidOperationException` naming the operation, and names outside the model `UnknownOperationException`.

use std::sync::Arc;

use serde_json::Value;

use crate::api::Api;
use crate::dispatch::{HandlerFuture, Operation, decode_input};
use crate::error::{ApiError, ApiResult, ErrorCode};

mod events;
mod groups;
mod index;
pub(crate) mod link;
mod streams;
mod tags;
mod validate;

pub use groups::LogGroupRecord;
pub use index::{ensure_groups, stream_ops};

/// The log group inside the rest of a log group ARN (`aws:logs:<region>:<account>:log-group:<name>[:*]`).
pub fn group_of_arn_rest(rest: &str) -> Option<&str> {
    validate::arn_group(rest)
}

/// Milliseconds since the epoch, as CloudWatch Logs timestamps are sent.
pub(crate) fn now_millis() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
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

/// Every operation of the CloudWatch Logs model (botocore logs 2014-03-28), sorted by name.
pub static OPERATIONS: &[Operation] = &[
    Operation { name: "AssociateKmsKey", handler: None },
    Operation { name: "AssociateSourceToS3TableIntegration", handler: None },
    Operation { name: "CancelExportTask", handler: None },
    Operation { name: "CancelImportTask", handler: None },
    Operation { name: "CreateDelivery", handler: None },
    Operation { name: "CreateExportTask", handler: None },
    Operation { name: "CreateImportTask", handler: None },
    Operation { name: "CreateLogAnomalyDetector", handler: None },
    Operation { name: "CreateLogGroup", handler: Some(handler!(groups::create_log_group)) },
    Operation { name: "CreateLogStream", handler: None },
    Operation { name: "CreateLookupTable", handler: None },
    Operation { name: "CreateScheduledQuery", handler: None },
    Operation { name: "DeleteAccountPolicy", handler: None },
    Operation { name: "DeleteDataProtectionPolicy", handler: None },
    Operation { name: "DeleteDelivery", handler: None },
    Operation { name: "DeleteDeliveryDestination", handler: None },
    Operation { name: "DeleteDeliveryDestinationPolicy", handler: None },
    Operation { name: "DeleteDeliverySource", handler: None },
    Operation { name: "DeleteDestination", handler: None },
    Operation { name: "DeleteIndexPolicy", handler: None },
    Operation { name: "DeleteIntegration", handler: None },
    Operation { name: "DeleteLogAnomalyDetector", handler: None },
    Operation { name: "DeleteLogGroup", handler: Some(handler!(groups::delete_log_group)) },
    Operation { name: "DeleteLogStream", handler: None },
    Operation { name: "DeleteLookupTable", handler: None },
    Operation { name: "DeleteMetricFilter", handler: None },
    Operation { name: "DeleteQueryDefinition", handler: None },
    Operation { name: "DeleteResourcePolicy", handler: None },
    Operation { name: "DeleteRetentionPolicy", handler: Some(handler!(groups::delete_retention_policy)) },
    Operation { name: "DeleteScheduledQuery", handler: None },
    Operation { name: "DeleteSubscriptionFilter", handler: None },
    Operation { name: "DeleteTransformer", handler: None },
    Operation { name: "DescribeAccountPolicies", handler: None },
    Operation { name: "DescribeConfigurationTemplates", handler: None },
    Operation { name: "DescribeDeliveries", handler: None },
    Operation { name: "DescribeDeliveryDestinations", handler: None },
    Operation { name: "DescribeDeliverySources", handler: None },
    Operation { name: "DescribeDestinations", handler: None },
    Operation { name: "DescribeExportTasks", handler: None },
    Operation { name: "DescribeFieldIndexes", handler: None },
    Operation { name: "DescribeImportTaskBatches", handler: None },
    Operation { name: "DescribeImportTasks", handler: None },
    Operation { name: "DescribeIndexPolicies", handler: None },
    Operation { name: "DescribeLogGroups", handler: Some(handler!(groups::describe_log_groups)) },
    Operation { name: "DescribeLogStreams", handler: Some(handler!(streams::describe_log_streams)) },
    Operation { name: "DescribeLookupTables", handler: None },
    Operation { name: "DescribeMetricFilters", handler: None },
    Operation { name: "DescribeQueries", handler: None },
    Operation { name: "DescribeQueryDefinitions", handler: None },
    Operation { name: "DescribeResourcePolicies", handler: None },
    Operation { name: "DescribeSubscriptionFilters", handler: None },
    Operation { name: "DisassociateKmsKey", handler: None },
    Operation { name: "DisassociateSourceFromS3TableIntegration", handler: None },
    Operation { name: "FilterLogEvents", handler: Some(handler!(events::filter_log_events)) },
    Operation { name: "GetDataProtectionPolicy", handler: None },
    Operation { name: "GetDelivery", handler: None },
    Operation { name: "GetDeliveryDestination", handler: None },
    Operation { name: "GetDeliveryDestinationPolicy", handler: None },
    Operation { name: "GetDeliverySource", handler: None },
    Operation { name: "GetIntegration", handler: None },
    Operation { name: "GetLogAnomalyDetector", handler: None },
    Operation { name: "GetLogEvents", handler: Some(handler!(events::get_log_events)) },
    Operation { name: "GetLogFields", handler: None },
    Operation { name: "GetLogGroupFields", handler: None },
    Operation { name: "GetLogObject", handler: None },
    Operation { name: "GetLogRecord", handler: None },
    Operation { name: "GetLookupTable", handler: None },
    Operation { name: "GetQueryResults", handler: None },
    Operation { name: "GetScheduledQuery", handler: None },
    Operation { name: "GetScheduledQueryHistory", handler: None },
    Operation { name: "GetTransformer", handler: None },
    Operation { name: "ListAggregateLogGroupSummaries", handler: None },
    Operation { name: "ListAnomalies", handler: None },
    Operation { name: "ListIntegrations", handler: None },
    Operation { name: "ListLogAnomalyDetectors", handler: None },
    Operation { name: "ListLogGroups", handler: None },
    Operation { name: "ListLogGroupsForQuery", handler: None },
    Operation { name: "ListScheduledQueries", handler: None },
    Operation { name: "ListSourcesForS3TableIntegration", handler: None },
    Operation { name: "ListTagsForResource", handler: Some(handler!(tags::list_tags_for_resource)) },
    Operation { name: "ListTagsLogGroup", handler: Some(handler!(tags::list_tags_log_group)) },
    Operation { name: "PutAccountPolicy", handler: None },
    Operation { name: "PutBearerTokenAuthentication", handler: None },
    Operation { name: "PutDataProtectionPolicy", handler: None },
    Operation { name: "PutDeliveryDestination", handler: None },
    Operation { name: "PutDeliveryDestinationPolicy", handler: None },
    Operation { name: "PutDeliverySource", handler: None },
    Operation { name: "PutDestination", handler: None },
    Operation { name: "PutDestinationPolicy", handler: None },
    Operation { name: "PutIndexPolicy", handler: None },
    Operation { name: "PutIntegration", handler: None },
    Operation { name: "PutLogEvents", handler: None },
    Operation { name: "PutLogGroupDeletionProtection", handler: None },
    Operation { name: "PutMetricFilter", handler: None },
    Operation { name: "PutQueryDefinition", handler: None },
    Operation { name: "PutResourcePolicy", handler: None },
    Operation { name: "PutRetentionPolicy", handler: Some(handler!(groups::put_retention_policy)) },
    Operation { name: "PutSubscriptionFilter", handler: None },
    Operation { name: "PutTransformer", handler: None },
    Operation { name: "StartLiveTail", handler: None },
    Operation { name: "StartQuery", handler: None },
    Operation { name: "StopQuery", handler: None },
    Operation { name: "TagLogGroup", handler: Some(handler!(tags::tag_log_group)) },
    Operation { name: "TagResource", handler: Some(handler!(tags::tag_resource)) },
    Operation { name: "TestMetricFilter", handler: None },
    Operation { name: "TestTransformer", handler: None },
    Operation { name: "UntagLogGroup", handler: Some(handler!(tags::untag_log_group)) },
    Operation { name: "UntagResource", handler: Some(handler!(tags::untag_resource)) },
    Operation { name: "UpdateAnomaly", handler: None },
    Operation { name: "UpdateDeliveryConfiguration", handler: None },
    Operation { name: "UpdateLogAnomalyDetector", handler: None },
    Operation { name: "UpdateLookupTable", handler: None },
    Operation { name: "UpdateScheduledQuery", handler: None },
];

/// The operation named `name`, if the Logs model has it.
pub fn find(name: &str) -> Option<&'static Operation> {
    crate::dispatch::find_in(OPERATIONS, name)
}

/// Runs the named Logs operation.
pub async fn dispatch(api: Arc<Api>, name: &str, body: Value) -> ApiResult<Value> {
    crate::dispatch::run(OPERATIONS, api, name, body, |name| {
        ApiError::new(
            ErrorCode::InvalidOperationException,
            format!(
                "{name} is not supported by Berth. See docs/API-COVERAGE.md for the CloudWatch Logs operations it \
                 serves."
            ),
        )
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        for pair in OPERATIONS.windows(2) {
            assert!(pair[0].name < pair[1].name, "{} must sort before {}", pair[0].name, pair[1].name);
        }
        assert!(find("GetLogEvents").and_then(|o| o.handler).is_some());
        assert!(find("PutLogEvents").is_some_and(|o| o.handler.is_none()));
        assert!(find("Nope").is_none());
    }

    /// The table holds exactly the operations of the Logs model in the installed botocore package.
    #[test]
    fn table_matches_the_botocore_model() {
        crate::dispatch::botocore_model::assert_table_matches("logs", OPERATIONS.iter().map(|o| o.name));
    }
}
