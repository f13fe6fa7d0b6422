//! Property tests: a Deny that applies always denies; adding an Allow never takes an Allow away (nor an explicit
//! deny); statement order does not matter; wildcard and ARN matching agree with separately written reference
//! matchers; parse(serialize(policy)) gives the policy back.

use proptest::prelude::{Just, Strategy, any, prop, prop_assert, prop_assert_eq, prop_oneof, proptest};
use proptest::sample::{select, subsequence};
use serde_json::{Value, json};

use crate::{Context, Decision, Policy, PolicyKind, Principal, Request, evaluate};

const ACTIONS: &[&str] = &["ecs:RunTask", "ecs:DescribeClusters", "ecs:ListTasks", "iam:GetUser", "s3:GetObject"];
const ACTION_PATTERNS: &[&str] =
    &["*", "ecs:*", "ecs:Describe*", "ecs:RunTask", "ECS:runtask", "iam:Get*", "s3:*Object", "ecs:?unTask"];
const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
    "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3",
    "arn:aws:s3:::bucket/alice/notes.txt",
    "arn:aws:iam::123456789012:user/alice",
];
const RESOURCE_PATTERNS: &[&str] = &[
    "*",
    "arn:aws:ecs:*:*:cluster/*",
    "arn:aws:ecs:*:*:task-definition/web:*",
    "arn:aws:s3:::bucket/${aws:username}/*",
    "arn:aws:ecs:us-east-1:123456789012:*",
    "arn:aws:s3:::*",
    "arn:aws:iam::*:user/${aws:username}",
];
const CONDITIONS: &[&str] = &[
    r#"{"StringEquals": {"aws:username": "alice"}}"#,
    r#"{"StringNotEquals": {"aws:PrincipalTag/team": "red"}}"#,
    r#"{"ForAllValues:StringLike": {"aws:TagKeys": ["env*", "team"]}}"#,
    r#"{"ForAnyValue:StringEquals": {"aws:TagKeys": "team"}}"#,
    r#"{"BoolIfExists": {"aws:SecureTransport": "true"}}"#,
    r#"{"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}"#,
    r#"{"NumericLessThan": {"n": 5}, "Null": {"aws:PrincipalTag/team": "false"}}"#,
    r#"{"DateGreaterThan": {"aws:CurrentTime": "2024-01-01T00:00:00Z"}}"#,
    r#"{"ArnLike": {"aws:SourceArn": "arn:aws:ecs:*:123456789012:*"}}"#,
];

/// One statement as JSON.
fn statement(effect: impl Strategy<Value = &'static str>) -> impl Strategy<Value = Value> {
    (
        effect,
        any::<bool>(),
        subsequence(ACTION_PATTERNS, 1..=3),
        any::<bool>(),
        subsequence(RESOURCE_PATTERNS, 1..=3),
        prop::option::of(select(CONDITIONS)),
        prop::option::of("[A-Za-z0-9]{1,8}"),
    )
        .prop_map(|(effect, not_action, actions, not_resource, resources, condition, sid)| {
            let mut s = json!({"Effect": effect});
            s[if not_action { "NotAction" } else { "Action" }] = json!(actions);
            s[if not_resource { "NotResource" } else { "Resource" }] = json!(resources);
            if let Some(condition) = condition {
                s["Condition"] = serde_json::from_str(condition).unwrap_or(Value::Null);
            }
            if let Some(sid) = sid {
                s["Sid"] = json!(sid);
            }
            s
        })
}

fn any_statement() -> impl Strategy<Value = Value> {
    statement(prop_oneof![Just("Allow"), Just("Deny")])
}

/// Policies as lists of statements.
fn policy_set() -> impl Strategy<Value = Vec<Vec<Value>>> {
    prop::collection::vec(prop::collection::vec(any_statement(), 1..4), 0..4)
}

fn parse_set(set: &[Vec<Value>]) -> Vec<Policy> {
    set.iter().map(|statements| parse(statements)).collect()
}

fn parse(statements: &[Value]) -> Policy {
    // Sids were drawn independently; keep them unique as IAM requires.
    let mut statements = statements.to_vec();
    for (i, s) in statements.iter_mut().enumerate() {
        if let Some(sid) = s.get("Sid").and_then(Value::as_str) {
            s["Sid"] = json!(format!("{sid}{i}"));
        }
    }
    let document = json!({"Version": "2012-10-17", "Statement": statements}).to_string();
    match Policy::parse(&document, PolicyKind::Identity) {
        Ok(policy) => policy,
        Err(e) => panic!("{e}: {document}"),
    }
}

#[derive(Debug, Clone)]
struct Asked {
    action: &'static str,
    resource: &'static str,
    context: Context,
}

fn request() -> impl Strategy<Value = Asked> {
    let maybe = |values: &'static [&'static str]| prop::option::of(select(values));
    (
        select(ACTIONS),
        select(RESOURCES),
        maybe(&["alice", "bob"]),
        maybe(&["red", "blue"]),
        prop::option::of(subsequence(&["env", "team", "owner"][..], 0..=3)),
        maybe(&["true", "false"]),
        maybe(&["10.1.2.3", "192.168.0.1"]),
        maybe(&["3", "7"]),
        maybe(&["2023-06-01T00:00:00Z", "2025-06-01T00:00:00Z"]),
        maybe(&["arn:aws:ecs:us-east-1:123456789012:task/c/1", "arn:aws:ecs:us-east-1:999999999999:task/c/1"]),
    )
        .prop_map(|(action, resource, user, team, tags, tls, ip, n, time, source)| {
            let mut context = Context::new();
            for (key, value) in [
                ("aws:username", user),
                ("aws:PrincipalTag/team", team),
                ("aws:SecureTransport", tls),
                ("aws:SourceIp", ip),
                ("n", n),
                ("aws:CurrentTime", time),
                ("aws:SourceArn", source),
            ] {
                if let Some(value) = value {
                    context.set(key, vec![value.to_owned()]);
                }
            }
            if let Some(tags) = tags {
                context.set("aws:TagKeys", tags.into_iter().map(str::to_owned).collect());
            }
            Asked { action, resource, context }
        })
}

fn decide(policies: &[Policy], asked: &Asked) -> Decision {
    let alice = Principal::user("123456789012", "/", "alice");
    let request =
        Request { action: asked.action, resource: asked.resource, principal: &alice, context: &asked.context };
    evaluate(&request, policies)
}

/// The reference for IAM wildcards, written independently of `wildcard`: plain recursion over characters.
fn reference_like(pattern: &[char], text: &[char]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some(('*', rest)) => (0..=text.len()).any(|skip| reference_like(rest, &text[skip..])),
        Some(('?', rest)) => !text.is_empty() && reference_like(rest, &text[1..]),
        Some((c, rest)) => text.first() == Some(c) && reference_like(rest, &text[1..]),
    }
}

fn like(pattern: &str, text: &str) -> bool {
    reference_like(&pattern.chars().collect::<Vec<_>>(), &text.chars().collect::<Vec<_>>())
}

/// The reference for ARN matching: split both strings on their first five colons, pad the pattern with `*`,
/// compare segment by segment; a value that is not six segments is compared whole.
fn reference_arn(pattern: &str, value: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let values: Vec<&str> = value.splitn(6, ':').collect();
    if values.len() < 6 {
        return like(pattern, value);
    }
    let mut patterns: Vec<&str> = pattern.splitn(6, ':').collect();
    patterns.resize(6, "*");
    patterns.iter().zip(&values).all(|(p, v)| like(p, v))
}

proptest! {
    #[test]
    fn a_deny_that_applies_always_denies(set in policy_set(), deny in statement(Just("Deny")), asked in request(), at in any::<prop::sample::Index>()) {
        let applies = decide(&[parse(std::slice::from_ref(&deny))], &asked) == Decision::ExplicitDeny;
        let mut with_deny = set.clone();
        if with_deny.is_empty() {
            with_deny.push(vec![deny]);
        } else {
            let policy = at.index(with_deny.len());
            let position = at.index(with_deny[policy].len() + 1);
            with_deny[policy].insert(position, deny);
        }
        let decision = decide(&parse_set(&with_deny), &asked);
        if applies {
            prop_assert_eq!(decision, Decision::ExplicitDeny);
        } else {
            // A Deny that does not apply changes nothing.
            prop_assert_eq!(decision, decide(&parse_set(&set), &asked));
        }
    }

    #[test]
    fn an_added_allow_takes_nothing_away(set in policy_set(), allow in statement(Just("Allow")), asked in request(), alone in any::<bool>()) {
        let before = decide(&parse_set(&set), &asked);
        let mut more = set.clone();
        match more.first_mut() {
            Some(first) if !alone => first.push(allow),
            _ => more.push(vec![allow]),
        }
        let after = decide(&parse_set(&more), &asked);
        match before {
            Decision::Allow => prop_assert_eq!(after, Decision::Allow),
            Decision::ExplicitDeny => prop_assert_eq!(after, Decision::ExplicitDeny),
            Decision::ImplicitDeny => prop_assert!(after != Decision::ExplicitDeny),
        }
    }

    #[test]
    fn order_does_not_matter(set in policy_set(), asked in request()) {
        let mut reversed: Vec<Vec<Value>> = set.iter().rev().cloned().collect();
        for statements in &mut reversed {
            statements.reverse();
        }
        prop_assert_eq!(decide(&parse_set(&set), &asked), decide(&parse_set(&reversed), &asked));
    }

    #[test]
    fn parse_of_serialize_round_trips(statements in prop::collection::vec(any_statement(), 1..5), id in prop::option::of("[a-z0-9-]{1,12}")) {
        let mut policy = parse(&statements);
        policy.id = id;
        let written = policy.to_string();
        let again = Policy::parse(&written, PolicyKind::Identity).map_err(|e| proptest::test_runner::TestCaseError::fail(format!("{e}: {written}")))?;
        prop_assert_eq!(&again, &policy);
        prop_assert_eq!(again.to_string(), written);
    }

    #[test]
    fn wildcards_agree_with_the_reference(pattern in "[ab*?]{0,8}", text in "[ab]{0,10}") {
        prop_assert_eq!(crate::wildcard::matches(&crate::wildcard::compile(&pattern), &text), like(&pattern, &text));
    }

    #[test]
    fn arns_agree_with_the_reference(pattern in "[a:*?]{0,14}", value in "[a:]{0,14}") {
        prop_assert_eq!(crate::arn::matches(&crate::wildcard::compile(&pattern), &value), reference_arn(&pattern, &value));
    }

    #[test]
    fn negated_operators_are_complements(value in "[ab]{0,3}", policy_values in prop::collection::vec("[ab*]{0,3}", 1..3)) {
        let context = Context::new().with("k", [value.as_str()]);
        for (positive, negated) in [("StringEquals", "StringNotEquals"), ("StringLike", "StringNotLike"), ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase")] {
            let holds = |operator: &str| super::condition_holds(&json!({operator: {"k": policy_values}}).to_string(), &context);
            prop_assert_eq!(holds(positive), !holds(negated));
        }
    }
}

#[test]
fn reference_matchers_sanity() {
    assert!(like("a*b?", "axxbc") && !like("a*b?", "axxb"));
    assert!(reference_arn("arn:aws:ecs:*", "arn:aws:ecs:r:1:task/x"));
    assert!(!reference_arn("a:*:b", "a:a:a:a:a:a"));
}
