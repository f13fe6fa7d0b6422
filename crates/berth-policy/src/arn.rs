//! ARN matching for `Resource`/`NotResource` and the `Arn*` condition operators, as IAM does it: an ARN is six
//! colon-separated segments (`arn:partition:service:region:account:resource`), each matched on its own, so a `*`
//! in the region cannot swallow the account; the resource segment is everything after the fifth colon, colons
//! included, so `arn:aws:ecs:*:*:task-definition/web:*` matches every revision of `web` and `*` may span the `/`
//! and `:` inside it (IAM User Guide, "IAM JSON policy elements: Resource", and the ARN operators on
//! "Condition operators").
//!
//! A pattern with fewer than six segments (`arn:aws:ecs:*`) is completed with `*` segments, as IAM does for
//! identity policies. A value that is not an ARN (fewer than six segments, e.g. the `*` of actions without
//! resource-level permissions) is compared with the whole pattern, so only `*`-like patterns match it. Case
//! sensitive.

use crate::wildcard::{self, Token};

/// Whether `pattern` (tokens of a policy ARN) matches the ARN `value`.
pub(crate) fn matches(pattern: &[Token], value: &str) -> bool {
    if pattern == [Token::Any] {
        return true;
    }
    // Fixed arrays: this runs for every statement of every request.
    let mut values = [""; 6];
    let mut count = 0;
    for (slot, part) in values.iter_mut().zip(value.splitn(6, ':')) {
        *slot = part;
        count += 1;
    }
    if count < 6 {
        return wildcard::matches(pattern, value);
    }
    segments(pattern).iter().zip(&values).all(|(pattern, value)| wildcard::matches(pattern, value))
}

/// The pattern's six segments: split at its first five literal colons, padded with `*`.
fn segments(pattern: &[Token]) -> [&[Token]; 6] {
    const ANY: &[Token] = &[Token::Any];
    let mut segments = [ANY; 6];
    let mut count = 0;
    let mut start = 0;
    for (i, token) in pattern.iter().enumerate() {
        if count == 5 {
            break;
        }
        if *token == Token::Char(':') {
            segments[count] = &pattern[start..i];
            count += 1;
            start = i + 1;
        }
    }
    segments[count] = &pattern[start..];
    segments
}

#[cfg(test)]
mod tests {
    use super::matches;
    use crate::wildcard::compile;

    fn m(pattern: &str, value: &str) -> bool {
        matches(&compile(pattern), value)
    }

    #[test]
    fn segments_are_matched_separately() {
        assert!(m("arn:aws:ecs:*:*:task-definition/web:*", "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3"));
        assert!(!m(
            "arn:aws:ecs:*:*:task-definition/web:*",
            "arn:aws:ecs:us-east-1:123456789012:task-definition/api:3"
        ));
        assert!(m("arn:aws:ecs:*:*:*", "arn:aws:ecs:us-east-1:123456789012:task/c/abc"));
        assert!(m("arn:aws:ecs:*", "arn:aws:ecs:us-east-1:123456789012:task/c/abc"));
        assert!(!m("arn:aws:ecs:*", "arn:aws:iam::123456789012:user/bob"));
        assert!(m("arn:aws:s3:::bucket/*/test/*", "arn:aws:s3:::bucket/1/2/test/3/object.jpg"));
        assert!(!m("arn:aws:s3:::bucket/*/test/*", "arn:aws:s3:::bucket/1-test/object.jpg"));
        assert!(m("*", "*"));
        assert!(m("*", "anything"));
        assert!(!m("arn:aws:ecs:*:*:*", "*"));
        assert!(!m("arn:aws:ecs:*:*:cluster/Prod", "arn:aws:ecs:us-east-1:123456789012:cluster/prod"));
    }

    // IAM User Guide, "Condition operators", ARN condition operators: the first `*` of the pattern must stop at
    // the region, so ArnLike fails where StringLike would match.
    #[test]
    fn a_star_does_not_span_segments() {
        let pattern = "arn:aws:someservice:*:111122223333:finance/*";
        let value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt";
        assert!(!m(pattern, value));
        assert!(crate::wildcard::matches(&compile(pattern), value));
    }
}
