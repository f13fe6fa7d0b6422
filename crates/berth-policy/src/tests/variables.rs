//! Policy variables on the examples of the IAM User Guide, "IAM policy elements: Variables and tags"
//! (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html).

use super::{condition_holds, context, decide, identity};
use crate::{Context, Decision, Policy, PolicyKind};

fn user(name: &str) -> Context {
    context(&[("aws:username", &[name])])
}

// "Using variables in policies": each user gets their own prefix of mybucket.
#[test]
fn home_directory_per_user() {
    let policy = identity(
        r#"{
        "Version": "2012-10-17",
        "Statement": [
            {
                "Action": ["s3:ListBucket"],
                "Effect": "Allow",
                "Resource": ["arn:aws:s3:::mybucket"],
                "Condition": {"StringLike": {"s3:prefix": ["${aws:username}/*"]}}
            },
            {
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Effect": "Allow",
                "Resource": ["arn:aws:s3:::mybucket/${aws:username}/*"]
            }
        ]
    }"#,
    );
    let david = user("David");
    assert_eq!(decide(&[&policy], "s3:GetObject", "arn:aws:s3:::mybucket/David/notes.txt", &david), Decision::Allow);
    assert_eq!(
        decide(&[&policy], "s3:GetObject", "arn:aws:s3:::mybucket/Adele/notes.txt", &david),
        Decision::ImplicitDeny
    );
    let listing = |prefix: &str| david.clone().with("s3:prefix", [prefix]);
    assert_eq!(decide(&[&policy], "s3:ListBucket", "arn:aws:s3:::mybucket", &listing("David/2024/")), Decision::Allow);
    assert_eq!(
        decide(&[&policy], "s3:ListBucket", "arn:aws:s3:::mybucket", &listing("Adele/")),
        Decision::ImplicitDeny
    );
    // "Policy variables with no value": the resource then matches nothing.
    assert_eq!(
        decide(&[&policy], "s3:GetObject", "arn:aws:s3:::mybucket/${aws:username}/x", &Context::new()),
        Decision::ImplicitDeny
    );
}

// "Where you can use policy variables", Resource element: queues named after the user, and the access-key policy.
#[test]
fn resource_element() {
    let queues = identity(
        r#"{
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ListForConsole", "Effect": "Allow", "Action": "sqs:ListQueues", "Resource": "*"},
            {"Sid": "AllQueueActions", "Effect": "Allow", "Action": "sqs:*", "Resource": "arn:aws:sqs:us-east-2:*:${aws:username}-queue"}
        ]
    }"#,
    );
    let queue = |name: &str| format!("arn:aws:sqs:us-east-2:123456789012:{name}");
    assert_eq!(decide(&[&queues], "sqs:SendMessage", &queue("alice-queue"), &user("alice")), Decision::Allow);
    assert_eq!(decide(&[&queues], "sqs:SendMessage", &queue("bob-queue"), &user("alice")), Decision::ImplicitDeny);

    let keys = identity(
        r#"{"Version": "2012-10-17", "Statement": [{"Action": ["iam:*AccessKey*"], "Effect": "Allow", "Resource": ["arn:aws:iam::123456789012:user/${aws:username}"]}]}"#,
    );
    let arn = |name: &str| format!("arn:aws:iam::123456789012:user/{name}");
    assert_eq!(decide(&[&keys], "iam:CreateAccessKey", &arn("David"), &user("David")), Decision::Allow);
    assert_eq!(decide(&[&keys], "iam:CreateAccessKey", &arn("Adele"), &user("David")), Decision::ImplicitDeny);
}

// "Tags as policy variables" and "Specifying default values": the team bucket, or the company-wide one.
#[test]
fn principal_tags_and_defaults() {
    let policy = identity(
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::DOC-EXAMPLE-BUCKET-${aws:PrincipalTag/team, 'company-wide'}"}}"#,
    );
    let yellow = context(&[("aws:PrincipalTag/team", &["yellow"])]);
    let bucket = |name: &str| format!("arn:aws:s3:::DOC-EXAMPLE-BUCKET-{name}");
    assert_eq!(decide(&[&policy], "s3:ListBucket", &bucket("yellow"), &yellow), Decision::Allow);
    assert_eq!(decide(&[&policy], "s3:ListBucket", &bucket("company-wide"), &yellow), Decision::ImplicitDeny);
    assert_eq!(decide(&[&policy], "s3:ListBucket", &bucket("company-wide"), &Context::new()), Decision::Allow);
    assert_eq!(decide(&[&policy], "s3:ListBucket", &bucket("yellow"), &Context::new()), Decision::ImplicitDeny);
}

// "Policy variables with no value": positive operators do not match an absent variable, negated ones do.
#[test]
fn variables_without_value_in_conditions() {
    let object_team = |team: &str| context(&[("s3:ExistingObjectTag/Team", &[team])]);
    let condition = r#"{"StringNotEquals": {"s3:ExistingObjectTag/Team": "${aws:PrincipalTag/Team}"}}"#;
    assert!(condition_holds(condition, &object_team("blue")));
    let blue = object_team("blue").with("aws:PrincipalTag/Team", ["blue"]);
    assert!(!condition_holds(condition, &blue));
    let equals = r#"{"StringEquals": {"s3:ExistingObjectTag/Team": "${aws:PrincipalTag/Team}"}}"#;
    assert!(!condition_holds(equals, &object_team("blue")));
    assert!(condition_holds(equals, &blue));
    // A NotResource whose variable has no value excludes nothing.
    let deny = identity(
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::home-${aws:username}/*"}}"#,
    );
    assert_eq!(decide(&[&deny], "s3:GetObject", "arn:aws:s3:::home-/x", &Context::new()), Decision::ExplicitDeny);
    assert_eq!(decide(&[&deny], "s3:GetObject", "arn:aws:s3:::home-al/x", &user("al")), Decision::ImplicitDeny);
}

// "Special characters": ${*}, ${?} and ${$} are literal characters, not wildcards.
#[test]
fn escapes() {
    let name = |v: &str| context(&[("aws:PrincipalTag/name", &[v])]);
    let condition = r#"{"StringLike": {"aws:PrincipalTag/name": "a${*}b${?}c${$}*"}}"#;
    assert!(condition_holds(condition, &name("a*b?c$anything")));
    assert!(!condition_holds(condition, &name("axbycz")));
    let policy = identity(
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/${*}"}}"#,
    );
    assert_eq!(decide(&[&policy], "s3:GetObject", "arn:aws:s3:::b/*", &Context::new()), Decision::Allow);
    assert_eq!(decide(&[&policy], "s3:GetObject", "arn:aws:s3:::b/x", &Context::new()), Decision::ImplicitDeny);
    // A substituted value is literal too.
    let star_user = user("*");
    let home = identity(
        r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/${aws:username}"}}"#,
    );
    assert_eq!(decide(&[&home], "s3:GetObject", "arn:aws:s3:::b/other", &star_user), Decision::ImplicitDeny);
}

// Variables only exist in 2012-10-17; without Version (2008-10-17) `${aws:username}` is text.
#[test]
fn only_in_2012_10_17() {
    for version in [r#""Version": "2008-10-17","#, ""] {
        let policy = Policy::parse(
            &format!(r#"{{{version} "Statement": {{"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/${{aws:username}}"}}}}"#),
            PolicyKind::Identity,
        )
        .unwrap();
        assert_eq!(decide(&[&policy], "s3:GetObject", "arn:aws:s3:::b/alice", &user("alice")), Decision::ImplicitDeny);
        assert_eq!(
            decide(&[&policy], "s3:GetObject", "arn:aws:s3:::b/${aws:username}", &user("alice")),
            Decision::Allow
        );
    }
    // Variables are not substituted in numeric, date, IP, binary or Null values.
    let n = context(&[("n", &["5"]), ("limit", &["5"])]);
    assert!(!condition_holds(r#"{"NumericEquals": {"n": "${limit}"}}"#, &n));
    // Bool and ARN values take them.
    let flags = context(&[("aws:SecureTransport", &["true"]), ("wanted", &["true"])]);
    assert!(condition_holds(r#"{"Bool": {"aws:SecureTransport": "${wanted}"}}"#, &flags));
    let arns =
        context(&[("aws:SourceArn", &["arn:aws:sns:us-east-1:123456789012:alice"]), ("aws:username", &["alice"])]);
    assert!(condition_holds(r#"{"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:*:${aws:username}"}}"#, &arns));
}
