//! Role trust policies (`PolicyKind::Resource`): who may assume a role, on the examples of the IAM User Guide,
//! "AWS JSON policy elements: Principal"
//! (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html), and the ECS
//! task role trust policy of the Amazon ECS Developer Guide, "Task IAM role"
//! (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html).

use super::{ACCOUNT, context};
use crate::{Context, Decision, Policy, PolicyKind, Principal, Request, evaluate};

fn trust(document: &str) -> Policy {
    match Policy::parse(document, PolicyKind::Resource) {
        Ok(policy) => policy,
        Err(e) => panic!("{e}: {document}"),
    }
}

fn assume(policy: &Policy, principal: &Principal, context: &Context) -> Decision {
    let request =
        Request { action: "sts:AssumeRole", resource: "arn:aws:iam::123456789012:role/app", principal, context };
    evaluate(&request, [policy])
}

fn one_statement(principal: &str) -> Policy {
    trust(&format!(
        r#"{{"Version": "2012-10-17", "Statement": {{"Effect": "Allow", "Principal": {principal}, "Action": "sts:AssumeRole"}}}}"#
    ))
}

// "AWS account principals": the account ID and the root ARN are the same and mean every principal of the account.
#[test]
fn account_principals() {
    let alice = Principal::user(ACCOUNT, "/", "alice");
    let session = Principal::assumed_role(ACCOUNT, "deploy", "ci");
    let stranger = Principal::user("111122223333", "/", "alice");
    for principal in [
        r#"{"AWS": "123456789012"}"#,
        r#"{"AWS": "arn:aws:iam::123456789012:root"}"#,
        r#"{"AWS": ["arn:aws:iam::123456789012:root", "999999999999"]}"#,
    ] {
        let policy = one_statement(principal);
        for inside in [&alice, &session, &Principal::root(ACCOUNT)] {
            assert_eq!(assume(&policy, inside, &Context::new()), Decision::Allow, "{principal} {inside:?}");
        }
        assert_eq!(assume(&policy, &stranger, &Context::new()), Decision::ImplicitDeny);
        assert_eq!(
            assume(&policy, &Principal::service("ecs-tasks.amazonaws.com"), &Context::new()),
            Decision::ImplicitDeny
        );
    }
}

// "IAM user principals", "IAM role principals", "Role session principals".
#[test]
fn user_role_and_session_principals() {
    let alice = Principal::user(ACCOUNT, "/", "alice");
    let bob = Principal::user(ACCOUNT, "/", "bob");
    let user_policy = one_statement(r#"{"AWS": "arn:aws:iam::123456789012:user/alice"}"#);
    assert_eq!(assume(&user_policy, &alice, &Context::new()), Decision::Allow);
    assert_eq!(assume(&user_policy, &bob, &Context::new()), Decision::ImplicitDeny);

    // A role principal stands for every session of the role, whatever the role's path.
    let role_policy = one_statement(r#"{"AWS": "arn:aws:iam::123456789012:role/ops/deploy"}"#);
    assert_eq!(
        assume(&role_policy, &Principal::assumed_role(ACCOUNT, "deploy", "any"), &Context::new()),
        Decision::Allow
    );
    assert_eq!(
        assume(&role_policy, &Principal::assumed_role("111122223333", "deploy", "any"), &Context::new()),
        Decision::ImplicitDeny
    );
    assert_eq!(assume(&role_policy, &alice, &Context::new()), Decision::ImplicitDeny);

    let session_policy = one_statement(r#"{"AWS": "arn:aws:sts::123456789012:assumed-role/deploy/ci"}"#);
    assert_eq!(
        assume(&session_policy, &Principal::assumed_role(ACCOUNT, "deploy", "ci"), &Context::new()),
        Decision::Allow
    );
    assert_eq!(
        assume(&session_policy, &Principal::assumed_role(ACCOUNT, "deploy", "other"), &Context::new()),
        Decision::ImplicitDeny
    );

    let everyone = one_statement(r#""*""#);
    assert_eq!(assume(&everyone, &Principal::service("ecs-tasks.amazonaws.com"), &Context::new()), Decision::Allow);
    assert_eq!(assume(&one_statement(r#"{"AWS": "*"}"#), &bob, &Context::new()), Decision::Allow);
}

// The ECS task role: ecs-tasks.amazonaws.com may assume it, for tasks of this account only (the confused-deputy
// conditions of the ECS guide).
#[test]
fn ecs_task_role() {
    let policy = trust(
        r#"{
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": ["ecs-tasks.amazonaws.com"]},
            "Action": "sts:AssumeRole",
            "Condition": {
                "ArnLike": {"aws:SourceArn": "arn:aws:ecs:us-west-2:111122223333:*"},
                "StringEquals": {"aws:SourceAccount": "111122223333"}
            }
        }]
    }"#,
    );
    let tasks = Principal::service("ecs-tasks.amazonaws.com");
    let from = |arn: &str, account: &str| context(&[("aws:SourceArn", &[arn]), ("aws:SourceAccount", &[account])]);
    let task = "arn:aws:ecs:us-west-2:111122223333:task/default/0123";
    assert_eq!(assume(&policy, &tasks, &from(task, "111122223333")), Decision::Allow);
    assert_eq!(
        assume(&policy, &tasks, &from("arn:aws:ecs:us-west-2:444455556666:task/x/1", "444455556666")),
        Decision::ImplicitDeny
    );
    assert_eq!(
        assume(&policy, &Principal::service("ec2.amazonaws.com"), &from(task, "111122223333")),
        Decision::ImplicitDeny
    );
    assert_eq!(
        assume(&policy, &Principal::user("111122223333", "/", "x"), &from(task, "111122223333")),
        Decision::ImplicitDeny
    );
}

// "Web identity session principals": a federated provider, with the audience checked in a condition.
#[test]
fn federated_principals() {
    let provider = "arn:aws:iam::123456789012:oidc-provider/berth.example";
    let policy = trust(&format!(
        r#"{{
        "Version": "2012-10-17",
        "Statement": {{
            "Effect": "Allow",
            "Principal": {{"Federated": "{provider}"}},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {{"StringEquals": {{"berth.example:aud": "sts.amazonaws.com"}}}}
        }}
    }}"#
    ));
    let caller = Principal::federated(ACCOUNT, provider);
    let request = |context: &Context| {
        evaluate(
            &Request { action: "sts:AssumeRoleWithWebIdentity", resource: "*", principal: &caller, context },
            [&policy],
        )
    };
    assert_eq!(request(&context(&[("berth.example:aud", &["sts.amazonaws.com"])])), Decision::Allow);
    assert_eq!(request(&context(&[("berth.example:aud", &["other"])])), Decision::ImplicitDeny);
    assert_eq!(
        assume(&policy, &caller, &context(&[("berth.example:aud", &["sts.amazonaws.com"])])),
        Decision::ImplicitDeny
    );
}

// "AWS JSON policy elements: NotPrincipal": deny everyone but the listed principals.
#[test]
fn not_principal_with_deny() {
    let policy = trust(
        r#"{
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "sts:AssumeRole"},
            {"Effect": "Deny", "NotPrincipal": {"AWS": ["arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:root"]}, "Action": "sts:AssumeRole"}
        ]
    }"#,
    );
    assert_eq!(assume(&policy, &Principal::user(ACCOUNT, "/", "alice"), &Context::new()), Decision::Allow);
    assert_eq!(assume(&policy, &Principal::user(ACCOUNT, "/", "bob"), &Context::new()), Decision::ExplicitDeny);
}

// A trust policy has no Resource: it applies to its role whatever the request names.
#[test]
fn trust_policies_ignore_the_resource() {
    let policy = one_statement(r#"{"AWS": "123456789012"}"#);
    let alice = Principal::user(ACCOUNT, "/", "alice");
    let request = Request { action: "sts:AssumeRole", resource: "*", principal: &alice, context: &Context::new() };
    assert_eq!(evaluate(&request, [&policy]), Decision::Allow);
    let tag = Request { action: "sts:TagSession", ..request };
    assert_eq!(evaluate(&tag, [&policy]), Decision::ImplicitDeny);
}
