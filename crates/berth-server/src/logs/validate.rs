//! Input checks shared by the Logs handlers, with CloudWatch's limits and messages: group and stream names, the
//! group a request names (`logGroupName` or `logGroupIdentifier`), limits, timestamps, retention days and filter
//! patterns. Every failure is an `InvalidParameterException` naming the field.

use berth_model::names::truncate;

use crate::error::{ApiError, ApiResult};

/// CloudWatch's largest `limit` for GetLogEvents and FilterLogEvents, and its default.
pub const MAX_EVENTS: i64 = 10_000;
/// CloudWatch's largest `limit` for DescribeLogGroups and DescribeLogStreams, and its default.
pub const MAX_DESCRIBE: i64 = 50;

/// The retention periods CloudWatch accepts (`PutRetentionPolicy`), in days.
pub const RETENTION_DAYS: [u32; 22] =
    [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/// A group name: 1 to 512 of `[.-_/#A-Za-z0-9]`.
pub fn group_name(field: &str, name: &str) -> ApiResult<()> {
    if name.is_empty() || name.len() > 512 {
        return Err(ApiError::invalid(format!("{field} must be 1 to 512 characters long.")));
    }
    if let Some(c) = name.chars().find(|c| !is_group_char(*c)) {
        return Err(ApiError::invalid(format!(
            "{field} '{}' is not valid: '{c}' is not allowed (use letters, digits, '.', '-', '_', '/' and '#').",
            truncate(name, 512)
        )));
    }
    Ok(())
}

/// Whether `name` is a valid group name.
pub fn is_group_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 512 && name.chars().all(is_group_char)
}

fn is_group_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#')
}

/// A stream name (or prefix): 1 to 512 characters, neither `:` nor `*`.
pub fn stream_name(field: &str, name: &str) -> ApiResult<()> {
    if name.is_empty() || name.len() > 512 {
        return Err(ApiError::invalid(format!("{field} must be 1 to 512 characters long.")));
    }
    if name.contains([':', '*']) {
        return Err(ApiError::invalid(format!(
            "{field} '{}' is not valid: ':' and '*' are not allowed in log stream names.",
            truncate(name, 512)
        )));
    }
    Ok(())
}

/// The group a request names: `logGroupName`, or `logGroupIdentifier` (a name or a log group ARN, with or without
/// the trailing `:*`). Exactly one of them must be given.
pub fn group_of(name: Option<&str>, identifier: Option<&str>) -> ApiResult<String> {
    match (name, identifier) {
        (Some(_), Some(_)) => {
            Err(ApiError::invalid("logGroupName and logGroupIdentifier are mutually exclusive; specify one of them."))
        }
        (None, None) => Err(ApiError::invalid("Either logGroupName or logGroupIdentifier must be specified.")),
        (Some(n), None) => {
            group_name("logGroupName", n)?;
            Ok(n.to_owned())
        }
        (None, Some(id)) => {
            let name = match id.strip_prefix("arn:") {
                Some(rest) => arn_group(rest).ok_or_else(|| {
                    ApiError::invalid(format!(
                        "logGroupIdentifier '{}' is not a log group ARN (arn:aws:logs:<region>:<account>:log-group:<name>).",
                        truncate(id, 256)
                    ))
                })?,
                None => id,
            };
            group_name("logGroupIdentifier", name)?;
            Ok(name.to_owned())
        }
    }
}

/// The group name inside `aws:logs:<region>:<account>:log-group:<name>[:*]` (the ARN without `arn:`).
pub(crate) fn arn_group(rest: &str) -> Option<&str> {
    let mut parts = rest.splitn(5, ':');
    let _partition = parts.next()?;
    if parts.next()? != "logs" {
        return None;
    }
    let _region = parts.next()?;
    let _account = parts.next()?;
    let resource = parts.next()?.strip_prefix("log-group:")?;
    Some(resource.strip_suffix(":*").unwrap_or(resource))
}

/// A `limit` within `1..=max`, or `max` when absent.
pub fn limit(value: Option<i64>, max: i64) -> ApiResult<u32> {
    match value {
        None => Ok(max as u32),
        Some(n) if (1..=max).contains(&n) => Ok(n as u32),
        Some(n) => Err(ApiError::invalid(format!("limit must be between 1 and {max}, got {n}."))),
    }
}

/// `startTime` and `endTime` in milliseconds: neither negative.
pub fn time_range(start: Option<i64>, end: Option<i64>) -> ApiResult<()> {
    for (field, value) in [("startTime", start), ("endTime", end)] {
        if let Some(v) = value
            && v < 0
        {
            return Err(ApiError::invalid(format!("{field} must not be negative (milliseconds since the epoch).")));
        }
    }
    Ok(())
}

/// A retention period CloudWatch offers.
pub fn retention(days: i64) -> ApiResult<u32> {
    match u32::try_from(days) {
        Ok(d) if RETENTION_DAYS.contains(&d) => Ok(d),
        _ => Err(ApiError::invalid(format!(
            "retentionInDays {days} is not valid. Valid values: {}.",
            RETENTION_DAYS.map(|d| d.to_string()).join(", ")
        ))),
    }
}

/// A filter pattern Berth can match: terms, `"quoted phrases"`, `?alternatives` and `-exclusions`. JSON
/// (`{ $.x = 1 }`), space-delimited (`[a, b]`) and regular-expression (`%re%`) patterns are refused rather than
/// silently matching nothing (the agents refuse them too; this answers even when no host is asked).
pub fn filter_pattern(pattern: &str) -> ApiResult<()> {
    if pattern.chars().count() > 1024 {
        return Err(ApiError::invalid("filterPattern can be at most 1024 characters."));
    }
    let trimmed = pattern.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') || trimmed.starts_with('%') {
        return Err(ApiError::invalid(
            "filterPattern: JSON, space-delimited and regular-expression patterns are not supported by Berth; use \
             terms, \"quoted phrases\", ?alternatives and -exclusions.",
        ));
    }
    if pattern.chars().filter(|c| *c == '"').count() % 2 == 1 {
        return Err(ApiError::invalid("filterPattern is not valid: a quoted phrase is not closed."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names() {
        assert!(group_name("logGroupName", "/ecs/trainer_1.x#y-z").is_ok());
        assert!(group_name("logGroupName", "").is_err());
        assert!(group_name("logGroupName", &"a".repeat(513)).is_err());
        let e = group_name("logGroupName", "bad name").unwrap_err();
        assert!(e.message.contains("logGroupName"), "{}", e.message);
        assert!(!is_group_name("a:b"));
    }

    #[test]
    fn stream_names() {
        assert!(stream_name("logStreamName", "ecs/trainer/abc").is_ok());
        assert!(stream_name("logStreamName", "a:b").is_err());
        assert!(stream_name("logStreamName", "a*").is_err());
        assert!(stream_name("logStreamName", "").is_err());
    }

    #[test]
    fn groups_by_name_or_arn() {
        assert_eq!(group_of(Some("/ecs/x"), None).unwrap(), "/ecs/x");
        assert_eq!(group_of(None, Some("/ecs/x")).unwrap(), "/ecs/x");
        assert_eq!(group_of(None, Some("arn:aws:logs:us-east-1:123456789012:log-group:/ecs/x:*")).unwrap(), "/ecs/x");
        assert_eq!(group_of(None, Some("arn:aws:logs:us-east-1:123456789012:log-group:/ecs/x")).unwrap(), "/ecs/x");
        assert!(group_of(None, Some("arn:aws:ecs:us-east-1:1:cluster/x")).is_err());
        assert!(group_of(Some("a"), Some("a")).is_err());
        assert!(group_of(None, None).is_err());
    }

    #[test]
    fn limits() {
        assert_eq!(limit(None, MAX_EVENTS).unwrap(), 10_000);
        assert_eq!(limit(Some(1), MAX_EVENTS).unwrap(), 1);
        let e = limit(Some(10_001), MAX_EVENTS).unwrap_err();
        assert!(e.message.contains("limit"), "{}", e.message);
        assert!(limit(Some(0), MAX_DESCRIBE).is_err());
        assert!(limit(Some(i64::MAX), MAX_DESCRIBE).is_err());
        assert!(time_range(Some(-1), None).is_err());
        assert!(time_range(Some(5), Some(1)).is_ok());
    }

    #[test]
    fn retention_days_are_cloudwatchs() {
        assert_eq!(retention(7).unwrap(), 7);
        assert_eq!(retention(3653).unwrap(), 3653);
        assert!(retention(2).is_err());
        assert!(retention(-1).is_err());
        assert!(retention(i64::MAX).is_err());
    }

    #[test]
    fn filter_patterns() {
        assert!(filter_pattern("").is_ok());
        assert!(filter_pattern("ERROR \"disk full\" ?warn -debug").is_ok());
        assert!(filter_pattern("\"open").is_err());
        assert!(filter_pattern("{ $.level = \"x\" }").is_err());
        assert!(filter_pattern("[ip, user]").is_err());
        assert!(filter_pattern("%ERR.*%").is_err());
        assert!(filter_pattern(&"a".repeat(1025)).is_err());
    }
}
