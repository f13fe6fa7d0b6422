//! IAM's checks of the strings in `Resource`/`NotResource` of an identity policy, with IAM's messages, as moto
//! records IAM's answers (moto `iam/policy_validation.py` and its tests): the shape of the ARN's first segments
//! (`Resource x must be in ARN format or "*".`, `Partition "p" is not valid for resource "..."`, the
//! no-region rule of IAM and S3 ARNs, the resource types of IAM ARNs) and the older "legacy" parser's rule against
//! empty segments, which fails with the generic `The policy failed legacy parsing`.
//!
//! Only those first segments are checked: whatever follows the fifth colon is the service's business, and a service
//! IAM does not know is accepted (`arn:aws:invalid-service:::x` is a valid policy).

use crate::error::{self, PolicyError};

/// The partitions of AWS, and `*`.
const PARTITIONS: &[&str] = &["aws", "aws-cn", "aws-us-gov", "*"];

/// The resource types an IAM ARN may name.
const IAM_RESOURCE_TYPES: &[&str] = &[
    "user/",
    "federated-user/",
    "role/",
    "group/",
    "instance-profile/",
    "mfa/",
    "server-certificate/",
    "policy/",
    "sms-mfa/",
    "saml-provider/",
    "oidc-provider/",
    "report/",
    "access-report/",
];

/// The first format rule `resource` breaks, with IAM's message.
pub(crate) fn format_error(resource: &str) -> Option<PolicyError> {
    if resource == "*" {
        return None;
    }
    // The first segment is not checked to be "arn": IAM names the second as the partition whatever the first is.
    let Some((_, rest)) = resource.split_once(':') else {
        return Some(PolicyError::new(format!("Resource {resource} must be in ARN format or \"*\".")));
    };
    let (partition, after_partition) = split_colon(rest);
    if !PARTITIONS.contains(&partition) {
        return Some(invalid_partition(partition, after_partition.unwrap_or("")));
    }
    let Some(after_partition) = after_partition else {
        return Some(PolicyError::new(error::RESOURCE_VENDOR));
    };
    let (service, after_service) = split_colon(after_partition);
    let after_service = after_service.unwrap_or("");
    // IAM and S3 ARNs have no region: the text after the service must start with the region's (empty) colon.
    if !after_service.starts_with(':') {
        match service {
            "iam" => {
                return Some(PolicyError::new(format!("IAM resource {resource} cannot contain region information.")));
            }
            "s3" => return Some(PolicyError::new(format!("Resource {resource} can not contain region information."))),
            _ => {}
        }
    }
    if service == "iam" {
        let (_, after_region) = split_colon(after_service);
        let (_, resource_part) = split_colon(after_region.unwrap_or(""));
        let resource_part = resource_part.unwrap_or("");
        if !resource_part.starts_with('*') && !IAM_RESOURCE_TYPES.iter().any(|t| resource_part.starts_with(t)) {
            return Some(PolicyError::new(format!(
                "IAM resource path must either be \"*\" or start with {}.",
                IAM_RESOURCE_TYPES.join(", ")
            )));
        }
    }
    None
}

/// The legacy parser's rule: an ARN with an empty segment (`::`) must have all six segments, and the service
/// segment must not be empty.
pub(crate) fn fails_legacy(resource: &str) -> bool {
    resource != "*"
        && ((resource.matches(':').count() < 5 && resource.contains("::"))
            || resource.split(':').nth(2).is_none_or(str::is_empty))
}

/// Text before the first colon, and after it if there is one (Python's `str.partition`).
fn split_colon(text: &str) -> (&str, Option<&str>) {
    match text.split_once(':') {
        Some((before, after)) => (before, Some(after)),
        None => (text, None),
    }
}

/// IAM's message names the resource rebuilt from the segments after the partition, `*` for missing ones.
fn invalid_partition(partition: &str, rest: &str) -> PolicyError {
    let parts: Vec<&str> = rest.split(':').collect();
    let segment = |i: usize| parts.get(i).copied().unwrap_or("*");
    let first = if parts[0].is_empty() && parts.len() == 1 { "*" } else { parts[0] };
    let last = if parts.len() > 3 { parts[3..].join(":") } else { "*".to_owned() };
    PolicyError::new(format!(
        "Partition \"{partition}\" is not valid for resource \"arn:{partition}:{first}:{}:{}:{last}\".",
        segment(1),
        segment(2)
    ))
}

#[cfg(test)]
mod tests {
    use super::{fails_legacy, format_error};

    fn message(resource: &str) -> Option<String> {
        format_error(resource).map(|e| e.to_string())
    }

    // Cases of moto's IAM policy tests, recorded against IAM.
    #[test]
    fn formats() {
        assert_eq!(
            message("invalid resource").as_deref(),
            Some("Resource invalid resource must be in ARN format or \"*\".")
        );
        assert_eq!(message("").as_deref(), Some("Resource  must be in ARN format or \"*\"."));
        assert_eq!(
            message("a:bsdfdsafsad").as_deref(),
            Some("Partition \"bsdfdsafsad\" is not valid for resource \"arn:bsdfdsafsad:*:*:*:*\".")
        );
        assert_eq!(
            message("a:b:cadfsdf").as_deref(),
            Some("Partition \"b\" is not valid for resource \"arn:b:cadfsdf:*:*:*\".")
        );
        assert_eq!(
            message("a:b:c:d:e:f:g:h").as_deref(),
            Some("Partition \"b\" is not valid for resource \"arn:b:c:d:e:f:g:h\".")
        );
        assert_eq!(
            message("aws:s3:::example_bucket").as_deref(),
            Some("Partition \"s3\" is not valid for resource \"arn:s3:::example_bucket:*\".")
        );
        assert_eq!(
            message("arn:aws").as_deref(),
            Some("Resource vendor must be fully qualified and cannot contain regexes.")
        );
        assert_eq!(
            message("arn:aws:iam:us-east-1::example_bucket").as_deref(),
            Some("IAM resource arn:aws:iam:us-east-1::example_bucket cannot contain region information.")
        );
        assert_eq!(
            message("arn:aws:s3:us-east-1::example_bucket").as_deref(),
            Some("Resource arn:aws:s3:us-east-1::example_bucket can not contain region information.")
        );
        assert!(message("arn:aws:iam:::example_bucket").unwrap().starts_with("IAM resource path must either be \"*\""));
        for ok in [
            "*",
            "arn:aws:s3:::example_bucket",
            "arn:aws:iam:::user/example_bucket",
            "arn:aws:s33:::example_bucket",
            "arn:aws:fdsasf",
            "arn:aws:cloudwatch:us-east-1::example_bucket",
            "arn:aws:invalid-service:us-east-1::example_bucket",
            "arn:aws:iam::*:user/${aws:username}",
            "arn:aws:ecs:*:*:task-definition/web:*",
        ] {
            assert_eq!(message(ok), None, "{ok}");
            assert!(!fails_legacy(ok), "{ok}");
        }
    }

    #[test]
    fn legacy() {
        for bad in ["arn:aws:s3::example_bucket", "arn:aws::::example_bucket", "arn:aws::fdsasf"] {
            assert!(fails_legacy(bad), "{bad}");
        }
    }
}
