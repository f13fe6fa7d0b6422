//! The CloudWatch Logs API (`Logs_20140328`). Placeholder until the handlers land.

use std::sync::Arc;

use serde_json::Value;

use crate::api::Api;
use crate::error::{ApiError, ApiResult, ErrorCode};

/// Runs the named Logs operation.
pub async fn dispatch(_api: Arc<Api>, name: &str, _body: Value) -> ApiResult<Value> {
    Err(ApiError::new(
        ErrorCode::UnknownOperationException,
        format!("Unknown operation {}.", berth_model::names::truncate(name, 128)),
    ))
}
