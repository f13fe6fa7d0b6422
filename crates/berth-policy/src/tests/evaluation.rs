//! IAM's decision logic on the IAM User Guide's own examples: explicit deny over allow over implicit deny,
//! `NotAction`, `NotResource`, actions and ARN wildcards.

use super::{decide, identity, statement};
use crate::{Context, Decision};
use Decision::{Allow, ExplicitDeny, ImplicitDeny};

type Case<'a> = (&'a str, &'a str, Decision);

fn check(policies: &[&crate::Policy], cases: &[Case], context: &Context) {
    for (action, resource, expected) in cases {
        assert_eq!(decide(policies, action, resource, context), *expected, "{action} on {resource}");
    }
}

// IAM User Guide, "Policy evaluation logic", "Example identity-based and resource-based policy evaluation"
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html):
// the policy of user carlossalazar; saving to his -logs bucket is denied, to his own bucket allowed.
#[test]
fn carlos_and_his_logs_bucket() {
    let carlos = identity(
        r#"{
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowS3ListRead",
                "Effect": "Allow",
                "Action": ["s3:GetBucketLocation", "s3:GetAccountPublicAccessBlock", "s3:ListAccessPoints", "s3:ListAllMyBuckets"],
                "Resource": "arn:aws:s3:::*"
            },
            {
                "Sid": "AllowS3Self",
                "Effect": "Allow",
                "Action": "s3:*",
                "Resource": ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"]
            },
            {
                "Sid": "DenyS3Logs",
                "Effect": "Deny",
                "Action": "s3:*",
                "Resource": "arn:aws:s3:::*log*"
            }
        ]
    }"#,
    );
    check(
        &[&carlos],
        &[
            ("s3:PutObject", "arn:aws:s3:::carlossalazar-logs/file.txt", ExplicitDeny),
            ("s3:PutObject", "arn:aws:s3:::carlossalazar/file.txt", Allow),
            ("s3:DeleteBucket", "arn:aws:s3:::carlossalazar", Allow),
            ("s3:GetBucketLocation", "arn:aws:s3:::someone-else", Allow),
            ("s3:GetBucketLocation", "arn:aws:s3:::weblogs", ExplicitDeny),
            ("s3:GetObject", "arn:aws:s3:::someone-else/file.txt", ImplicitDeny),
            ("ec2:RunInstances", "arn:aws:s3:::carlossalazar", ImplicitDeny),
        ],
        &Context::new(),
    );
}

// IAM User Guide, "The difference between explicit and implicit denies"
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_AccessPolicyLanguage_Interplay.html):
// Get*/List* allowed, other IAM actions implicitly denied, *Report explicitly denied even when another policy
// allows it.
#[test]
fn explicit_and_implicit_denies() {
    let policy = identity(
        r#"{
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "AllowGetList", "Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"},
            {"Sid": "DenyReports", "Effect": "Deny", "Action": "iam:*Report", "Resource": "*"}
        ]
    }"#,
    );
    let admin = statement("Allow", r#""Action": "iam:*", "Resource": "*""#);
    check(
        &[&policy],
        &[
            ("iam:GetUser", "*", Allow),
            ("iam:ListRoles", "*", Allow),
            ("IAM:getuser", "*", Allow),
            ("iam:CreatePolicy", "*", ImplicitDeny),
            ("iam:GetOrganizationsAccessReport", "*", ExplicitDeny),
        ],
        &Context::new(),
    );
    check(
        &[&policy, &admin],
        &[("iam:GenerateCredentialReport", "*", ExplicitDeny), ("iam:CreatePolicy", "*", Allow)],
        &Context::new(),
    );
    check(&[], &[("iam:GetUser", "*", ImplicitDeny)], &Context::new());
}

// IAM User Guide, "IAM JSON policy elements: NotAction"
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html).
#[test]
fn not_action() {
    // All S3 actions on S3 resources except deleting a bucket; ListAllMyBuckets needs the "*" resource, so it is
    // not allowed either.
    let s3_but_delete = statement("Allow", r#""NotAction": "s3:DeleteBucket", "Resource": "arn:aws:s3:::*""#);
    check(
        &[&s3_but_delete],
        &[
            ("s3:PutObject", "arn:aws:s3:::bucket/key", Allow),
            ("s3:DeleteBucket", "arn:aws:s3:::bucket", ImplicitDeny),
            ("s3:ListAllMyBuckets", "*", ImplicitDeny),
        ],
        &Context::new(),
    );
    // Everything except IAM.
    let all_but_iam = statement("Allow", r#""NotAction": "iam:*", "Resource": "*""#);
    check(&[&all_but_iam], &[("ecs:RunTask", "*", Allow), ("iam:CreateUser", "*", ImplicitDeny)], &Context::new());
    // DenyAllUsersNotUsingMFA: non-IAM actions are denied unless signed in with MFA (BoolIfExists also denies
    // when the key is absent).
    let deny_without_mfa = identity(
        r#"{
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyAllUsersNotUsingMFA",
            "Effect": "Deny",
            "NotAction": "iam:*",
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
        }]
    }"#,
    );
    let everything = statement("Allow", r#""Action": "*", "Resource": "*""#);
    let policies = [&deny_without_mfa, &everything];
    let mfa = |value: &str| Context::new().with("aws:MultiFactorAuthPresent", [value]);
    check(&policies, &[("ecs:RunTask", "*", ExplicitDeny), ("iam:ListUsers", "*", Allow)], &mfa("false"));
    check(&policies, &[("ecs:RunTask", "*", ExplicitDeny)], &Context::new());
    check(&policies, &[("ecs:RunTask", "*", Allow)], &mfa("true"));
}

// IAM User Guide, "IAM JSON policy elements: NotResource"
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html): the HRPayroll
// group is denied every S3 resource but the Payroll folder; the deny does not reach other services.
#[test]
fn not_resource() {
    let payroll_only = identity(
        r#"{
        "Version": "2012-10-17",
        "Statement": {
            "Effect": "Deny",
            "Action": "s3:*",
            "NotResource": ["arn:aws:s3:::HRBucket/Payroll", "arn:aws:s3:::HRBucket/Payroll/*"]
        }
    }"#,
    );
    let everything = statement("Allow", r#""Action": "*", "Resource": "*""#);
    check(
        &[&payroll_only, &everything],
        &[
            ("s3:GetObject", "arn:aws:s3:::HRBucket/Payroll/january.pdf", Allow),
            ("s3:ListBucket", "arn:aws:s3:::HRBucket/Payroll", Allow),
            ("s3:GetObject", "arn:aws:s3:::HRBucket/Benefits/plan.pdf", ExplicitDeny),
            // ARNs are case-sensitive.
            ("s3:GetObject", "arn:aws:s3:::hrbucket/payroll/january.pdf", ExplicitDeny),
            ("ec2:RunInstances", "arn:aws:ec2:us-east-1:123456789012:instance/*", Allow),
        ],
        &Context::new(),
    );
    // The statement the page warns against: everything but one bucket.
    let all_but_hr = statement("Allow", r#""Action": "*", "NotResource": "arn:aws:s3:::HRBucket""#);
    check(
        &[&all_but_hr],
        &[("s3:DeleteBucket", "arn:aws:s3:::HRBucket", ImplicitDeny), ("s3:DeleteBucket", "arn:aws:s3:::Other", Allow)],
        &Context::new(),
    );
}

// IAM User Guide, "IAM JSON policy elements: Resource", wildcards in resource ARNs
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html): `*` expands
// within the resource segment, `/` included.
#[test]
fn resource_wildcards() {
    let test_objects =
        statement("Allow", r#""Action": "s3:GetObject", "Resource": "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*/test/*""#);
    let bucket = "arn:aws:s3:::DOC-EXAMPLE-BUCKET/";
    for matching in [
        "1/test/object.jpg",
        "1/2/test/object.jpg",
        "1/2/test/3/object.jpg",
        "1/2/3/test/4/object.jpg",
        "1///test///object.jpg",
        "1/test/.jpg",
        "/test/object.jpg",
        "1/test/",
    ] {
        assert_eq!(decide(&[&test_objects], "s3:GetObject", &format!("{bucket}{matching}"), &Context::new()), Allow);
    }
    for other in ["1-test/object.jpg", "test/object.jpg", "1/2/test.jpg"] {
        assert_eq!(
            decide(&[&test_objects], "s3:GetObject", &format!("{bucket}{other}"), &Context::new()),
            ImplicitDeny,
            "{other}"
        );
    }
}

// The ECS resources Berth serves: task definition revisions, clusters, `?` and action wildcards.
#[test]
fn ecs_resources() {
    let policy = identity(
        r#"{
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["ecs:RunTask", "ecs:Describe*"], "Resource": "arn:aws:ecs:*:*:task-definition/web:*"},
            {"Effect": "Allow", "Action": "ecs:List*", "Resource": "*"},
            {"Effect": "Allow", "Action": "ecs:StopTask", "Resource": "arn:aws:ecs:us-east-1:123456789012:task/ml-?/*"}
        ]
    }"#,
    );
    let td = |name: &str| format!("arn:aws:ecs:us-east-1:123456789012:task-definition/{name}");
    check(
        &[&policy],
        &[
            ("ecs:RunTask", &td("web:3"), Allow),
            ("ecs:DescribeTaskDefinition", &td("web:12"), Allow),
            ("ecs:RunTask", &td("webapp:1"), ImplicitDeny),
            ("ecs:RegisterTaskDefinition", &td("web:3"), ImplicitDeny),
            ("ecs:ListClusters", "*", Allow),
            ("ecs:StopTask", "arn:aws:ecs:us-east-1:123456789012:task/ml-a/0f3c", Allow),
            ("ecs:StopTask", "arn:aws:ecs:us-east-1:123456789012:task/ml-ab/0f3c", ImplicitDeny),
            ("ecs:StopTask", "arn:aws:ecs:us-west-2:123456789012:task/ml-a/0f3c", ImplicitDeny),
        ],
        &Context::new(),
    );
}

#[test]
fn decisions_combine() {
    use Decision::*;
    assert_eq!(Allow.union(ImplicitDeny), Allow);
    assert_eq!(Allow.union(ExplicitDeny), ExplicitDeny);
    assert_eq!(ImplicitDeny.union(ImplicitDeny), ImplicitDeny);
    // A session policy or permissions boundary limits what identity policies allow.
    assert_eq!(Allow.intersect(Allow), Allow);
    assert_eq!(Allow.intersect(ImplicitDeny), ImplicitDeny);
    assert_eq!(ImplicitDeny.intersect(ExplicitDeny), ExplicitDeny);
    assert!(Allow.is_allowed() && !ImplicitDeny.is_allowed());
}
