//! Condition operators on the IAM User Guide's examples: "IAM JSON policy elements: Condition operators"
//! (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html),
//! "Conditions with multiple context keys or values"
//! (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html),
//! "Multivalued context key examples"
//! (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition_examples-multi-valued-context-keys.html)
//! and the example policies they link.

use super::{condition_holds, context, decide, identity, statement};
use crate::{Context, Decision};

/// `(request context, whether the condition holds)` rows for one condition.
fn table(condition: &str, rows: &[(Context, bool)]) {
    for (context, expected) in rows {
        assert_eq!(condition_holds(condition, context), *expected, "{condition} with {context:?}");
    }
}

// "String condition operators": the principal must be tagged job-category=iamuser-admin.
#[test]
fn string_equals_principal_tag() {
    let policy = identity(
        r#"{
        "Version": "2012-10-17",
        "Statement": {
            "Effect": "Allow",
            "Action": "iam:*AccessKey*",
            "Resource": "arn:aws:iam::123456789012:user/*",
            "Condition": {"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}}
        }
    }"#,
    );
    let user = "arn:aws:iam::123456789012:user/bob";
    let run = |c: &Context| decide(&[&policy], "iam:CreateAccessKey", user, c);
    assert_eq!(run(&context(&[("aws:PrincipalTag/job-category", &["iamuser-admin"])])), Decision::Allow);
    // Keys are case-insensitive, values are not.
    assert_eq!(run(&context(&[("AWS:principaltag/JOB-CATEGORY", &["iamuser-admin"])])), Decision::Allow);
    assert_eq!(run(&context(&[("aws:PrincipalTag/job-category", &["IAMUSER-ADMIN"])])), Decision::ImplicitDeny);
    assert_eq!(run(&Context::new()), Decision::ImplicitDeny);
    assert_eq!(decide(&[&policy], "iam:ListAccessKeys", user, &Context::new()), Decision::ImplicitDeny);
}

#[test]
fn string_operators() {
    let team = |v: &str| context(&[("aws:PrincipalTag/team", &[v])]);
    table(
        r#"{"StringEqualsIgnoreCase": {"aws:PrincipalTag/team": "Blue"}}"#,
        &[(team("BLUE"), true), (team("blue"), true), (team("green"), false), (Context::new(), false)],
    );
    table(
        r#"{"StringNotEqualsIgnoreCase": {"aws:PrincipalTag/team": "Blue"}}"#,
        &[(team("BLUE"), false), (team("green"), true), (Context::new(), true)],
    );
    table(
        r#"{"StringLike": {"aws:PrincipalTag/team": ["ml-*", "o?s"]}}"#,
        &[(team("ml-training"), true), (team("ops"), true), (team("ML-training"), false), (team("opps"), false)],
    );
    table(
        r#"{"StringNotLike": {"aws:PrincipalTag/team": ["ml-*", "o?s"]}}"#,
        &[(team("ml-training"), false), (team("ops"), false), (team("web"), true), (Context::new(), true)],
    );
    // Without Like, wildcard characters are plain characters.
    table(r#"{"StringEquals": {"aws:PrincipalTag/team": "ml-*"}}"#, &[(team("ml-*"), true), (team("ml-x"), false)]);
}

// "Numeric condition operators": list up to 10 objects at a time; numbers may be written unquoted.
#[test]
fn numeric() {
    let keys = |v: &str| context(&[("s3:max-keys", &[v])]);
    for condition in
        [r#"{"NumericLessThanEquals": {"s3:max-keys": "10"}}"#, r#"{"NumericLessThanEquals": {"s3:max-keys": 10}}"#]
    {
        table(
            condition,
            &[
                (keys("10"), true),
                (keys("9.5"), true),
                (keys("11"), false),
                (keys("ten"), false),
                (Context::new(), false),
            ],
        );
    }
    table(
        r#"{"NumericEquals": {"n": "3"}}"#,
        &[(context(&[("n", &["3.0"])]), true), (context(&[("n", &["4"])]), false)],
    );
    table(
        r#"{"NumericNotEquals": {"n": ["3", "4"]}}"#,
        &[(context(&[("n", &["3"])]), false), (context(&[("n", &["5"])]), true)],
    );
    table(
        r#"{"NumericLessThan": {"n": "3"}}"#,
        &[(context(&[("n", &["2"])]), true), (context(&[("n", &["3"])]), false)],
    );
    table(
        r#"{"NumericGreaterThan": {"n": "3"}}"#,
        &[(context(&[("n", &["4"])]), true), (context(&[("n", &["3"])]), false)],
    );
    table(
        r#"{"NumericGreaterThanEquals": {"n": "-1.5"}}"#,
        &[
            (context(&[("n", &["-1.5"])]), true),
            (context(&[("n", &["-2"])]), false),
            (context(&[("n", &["inf"])]), false),
        ],
    );
}

// "Date condition operators" and the example "AWS: Allows access based on date and time"
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_aws-dates.html).
#[test]
fn dates() {
    let issued = |v: &str| context(&[("aws:TokenIssueTime", &[v])]);
    table(
        r#"{"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}}"#,
        &[
            (issued("2020-06-01T00:00:00Z"), true),
            (issued("1590969600"), true),
            (issued("2020-01-01T00:00:01Z"), false),
            (issued("2019-12-31T23:59:59Z"), false),
            (Context::new(), false),
        ],
    );
    let second_quarter = r#"{
        "DateGreaterThan": {"aws:CurrentTime": "2020-04-01T00:00:00Z"},
        "DateLessThan": {"aws:CurrentTime": "2020-06-30T23:59:59Z"}
    }"#;
    let now = |v: &str| context(&[("aws:CurrentTime", &[v])]);
    table(
        second_quarter,
        &[
            (now("2020-05-15T12:00:00Z"), true),
            (now("2020-07-01T00:00:00Z"), false),
            (now("2020-03-31T23:59:59Z"), false),
        ],
    );
    let epoch = |v: &str| context(&[("aws:EpochTime", &[v])]);
    table(
        r#"{"DateLessThanEquals": {"aws:EpochTime": "1577836800"}}"#,
        &[(epoch("1577836800"), true), (epoch("1577836801"), false)],
    );
    table(
        r#"{"DateGreaterThanEquals": {"aws:EpochTime": "2020-01-01"}}"#,
        &[(epoch("1577836800"), true), (epoch("1577836799"), false)],
    );
    table(
        r#"{"DateEquals": {"aws:CurrentTime": "2020-01-01T01:00:00+01:00"}}"#,
        &[(now("2020-01-01T00:00:00Z"), true), (now("2020-01-01T00:00:01Z"), false)],
    );
    table(
        r#"{"DateNotEquals": {"aws:CurrentTime": "2020-01-01"}}"#,
        &[(now("2020-01-01T00:00:00Z"), false), (now("2021-01-01"), true)],
    );
}

// "Boolean condition operators": deny S3 unless the request came over TLS.
#[test]
fn bool_secure_transport() {
    let deny = identity(
        r#"{
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "BooleanExample",
            "Action": "s3:*",
            "Effect": "Deny",
            "Resource": ["arn:aws:s3:::DOC-EXAMPLE-BUCKET", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}
        }]
    }"#,
    );
    let all = statement("Allow", r#""Action": "*", "Resource": "*""#);
    let object = "arn:aws:s3:::DOC-EXAMPLE-BUCKET/key";
    let tls = |v: &str| context(&[("aws:SecureTransport", &[v])]);
    assert_eq!(decide(&[&deny, &all], "s3:GetObject", object, &tls("false")), Decision::ExplicitDeny);
    assert_eq!(decide(&[&deny, &all], "s3:GetObject", object, &tls("FALSE")), Decision::ExplicitDeny);
    assert_eq!(decide(&[&deny, &all], "s3:GetObject", object, &tls("true")), Decision::Allow);
    // Unquoted JSON booleans are accepted.
    table(
        r#"{"Bool": {"aws:SecureTransport": true}}"#,
        &[(tls("true"), true), (tls("false"), false), (Context::new(), false)],
    );
}

// "Binary condition operators": the policy holds the base64 of the bytes, compared byte for byte.
#[test]
fn binary() {
    let key = |v: &str| context(&[("key", &[v])]);
    table(
        r#"{"BinaryEquals": {"key": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}"#,
        &[(key("QmluYXJ5VmFsdWVJbkJhc2U2NA=="), true), (key("QmluYXJ5VmFsdWVJbkJhc2U2NA"), true), (key("QQ=="), false)],
    );
}

// "IP address condition operators", IPv4 and mixed IPv4/IPv6, and "AWS: Denies access to AWS based on the source
// IP" (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_aws_deny-ip.html).
#[test]
fn ip_addresses() {
    let ip = |v: &str| context(&[("aws:SourceIp", &[v])]);
    table(
        r#"{"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}"#,
        &[(ip("203.0.113.77"), true), (ip("198.51.100.1"), false), (Context::new(), false)],
    );
    table(
        r#"{"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:DB8:1234:5678::/64"]}}"#,
        &[(ip("2001:db8:1234:5678:0:0:0:1"), true), (ip("2001:db8:1234:9999::1"), false), (ip("203.0.113.1"), true)],
    );
    let deny = identity(
        r#"{
        "Version": "2012-10-17",
        "Statement": {
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {
                "NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24"]},
                "Bool": {"aws:ViaAWSService": "false"}
            }
        }
    }"#,
    );
    let all = statement("Allow", r#""Action": "*", "Resource": "*""#);
    let request = |ip: &str, via_service: &str| {
        decide(
            &[&deny, &all],
            "ecs:RunTask",
            "*",
            &context(&[("aws:SourceIp", &[ip]), ("aws:ViaAWSService", &[via_service])]),
        )
    };
    assert_eq!(request("192.0.2.10", "false"), Decision::Allow);
    assert_eq!(request("203.0.113.10", "false"), Decision::Allow);
    assert_eq!(request("198.51.100.10", "false"), Decision::ExplicitDeny);
    // Both conditions must hold: a service calling on the principal's behalf is not denied.
    assert_eq!(request("198.51.100.10", "true"), Decision::Allow);
}

// "Amazon Resource Name (ARN) condition operators": the SNS topic example, and the pattern StringLike matches but
// ArnLike does not, because ARN wildcards stay within their segment.
#[test]
fn arn_operators() {
    let source = |v: &str| context(&[("aws:SourceArn", &[v])]);
    let topic = "arn:aws:sns:us-east-1:123456789012:TOPIC-ID";
    for operator in ["ArnEquals", "ArnLike"] {
        table(
            &format!(r#"{{"{operator}": {{"aws:SourceArn": "{topic}"}}}}"#),
            &[
                (source(topic), true),
                (source("arn:aws:sns:us-east-1:123456789012:OTHER"), false),
                (Context::new(), false),
            ],
        );
    }
    let pattern = "arn:aws:someservice:*:111122223333:finance/*";
    let value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt";
    assert!(condition_holds(&format!(r#"{{"StringLike": {{"aws:SourceArn": "{pattern}"}}}}"#), &source(value)));
    assert!(!condition_holds(&format!(r#"{{"ArnLike": {{"aws:SourceArn": "{pattern}"}}}}"#), &source(value)));
    assert!(condition_holds(&format!(r#"{{"ArnNotLike": {{"aws:SourceArn": "{pattern}"}}}}"#), &source(value)));
    table(
        r#"{"ArnNotEquals": {"aws:SourceArn": "arn:aws:ecs:*:*:cluster/prod"}}"#,
        &[
            (source("arn:aws:ecs:us-east-1:123456789012:cluster/prod"), false),
            (source("arn:aws:ecs:us-east-1:1:cluster/dev"), true),
            (Context::new(), true),
        ],
    );
}

// "...IfExists condition operators": ec2:InstanceType only exists for the instance resource of RunInstances.
#[test]
fn if_exists() {
    let instance_type = |v: &str| context(&[("ec2:InstanceType", &[v])]);
    let types = r#"["t1.*", "t2.*", "m3.*"]"#;
    table(
        &format!(r#"{{"StringLikeIfExists": {{"ec2:InstanceType": {types}}}}}"#),
        &[(instance_type("t2.micro"), true), (instance_type("c5.large"), false), (Context::new(), true)],
    );
    // THISPOLICYDOESNOTWORK: without IfExists, resources without the key fail the condition.
    table(&format!(r#"{{"StringLike": {{"ec2:InstanceType": {types}}}}}"#), &[(Context::new(), false)]);
    // IfExists with negated operators: an absent key still holds.
    table(
        r#"{"StringNotEqualsIfExists": {"ec2:InstanceType": "t2.micro"}}"#,
        &[(Context::new(), true), (instance_type("t2.micro"), false)],
    );
    table(r#"{"NumericLessThanIfExists": {"n": "3"}}"#, &[(Context::new(), true), (context(&[("n", &["5"])]), false)]);
}

// "Condition operator to check existence of condition keys": no temporary credentials.
#[test]
fn null() {
    let issued = context(&[("aws:TokenIssueTime", &["2020-01-01T00:00:00Z"])]);
    table(r#"{"Null": {"aws:TokenIssueTime": "true"}}"#, &[(Context::new(), true), (issued.clone(), false)]);
    table(r#"{"Null": {"aws:TokenIssueTime": "false"}}"#, &[(Context::new(), false), (issued, true)]);
    // A key set to no values is absent.
    table(r#"{"Null": {"aws:TagKeys": "true"}}"#, &[(Context::new().with("aws:TagKeys", Vec::<String>::new()), true)]);
}

// "Conditions with multiple context keys or values": operators and keys ANDed, values ORed, negated values NORed.
#[test]
fn and_of_keys_or_of_values() {
    let condition = r#"{
        "StringEqualsIgnoreCase": {
            "aws:PrincipalTag/department": ["finance", "hr", "legal"],
            "aws:PrincipalTag/role": ["audit", "security"]
        },
        "StringEquals": {"aws:PrincipalAccount": "123456789012"}
    }"#;
    let who = |department: &str, role: &str, account: &str| {
        context(&[
            ("aws:PrincipalTag/department", &[department]),
            ("aws:PrincipalTag/role", &[role]),
            ("aws:PrincipalAccount", &[account]),
        ])
    };
    table(
        condition,
        &[
            (who("HR", "audit", "123456789012"), true),
            (who("legal", "Security", "123456789012"), true),
            (who("sales", "audit", "123456789012"), false),
            (who("hr", "admin", "123456789012"), false),
            (who("hr", "audit", "111122223333"), false),
        ],
    );
    let account = |v: &str| context(&[("aws:PrincipalAccount", &[v])]);
    table(
        r#"{"StringNotEquals": {"aws:PrincipalAccount": ["111122223333", "444455556666"]}}"#,
        &[(account("111122223333"), false), (account("444455556666"), false), (account("123456789012"), true)],
    );
}

// "Multivalued context key examples": the two ForAllValues deny tables and the ForAnyValue table, row by row
// ("Match" is the condition holding).
#[test]
fn multivalued_examples() {
    let tags = |keys: &[&str]| context(&[("aws:TagKeys", keys)]);
    table(
        r#"{"ForAllValues:StringNotLike": {"aws:TagKeys": "key1*"}}"#,
        &[
            (tags(&["key1:legal"]), false),
            (tags(&["key1:hr", "key1:personnel"]), false),
            (tags(&["key2:audit"]), true),
            (Context::new(), true),
        ],
    );
    table(
        r#"{"ForAllValues:StringNotLike": {"aws:TagKeys": ["key1*", "key2*"]}}"#,
        &[
            (tags(&["key1:legal"]), false),
            (tags(&["key1:hr", "key1:personnel"]), false),
            (tags(&["key1:hr", "key2:audit"]), false),
            (tags(&["key3:legal"]), true),
            (Context::new(), true),
        ],
    );
    table(
        r#"{"ForAnyValue:StringEquals": {"aws:TagKeys": "webserver"}}"#,
        &[
            (tags(&["webserver"]), true),
            (tags(&["environment", "webserver", "test"]), true),
            (tags(&["environment", "test"]), false),
            (Context::new(), false),
        ],
    );
    // The page's fix for ForAllValues on an absent key: require the key with Null.
    table(
        r#"{"Null": {"aws:TagKeys": "false"}, "ForAllValues:StringLike": {"aws:TagKeys": ["key1*", "key2*", "key3*"]}}"#,
        &[(tags(&["key1:a", "key3:b"]), true), (tags(&["key1:a", "key4:b"]), false), (Context::new(), false)],
    );
}

// "Creating a condition with multiple keys or values" (DynamoDB `Thread` table): ForAllValues allows only listed
// attributes, ForAnyValue denies if any forbidden one is present.
#[test]
fn dynamodb_attributes() {
    let allow = identity(
        r#"{
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": "dynamodb:GetItem",
            "Resource": "arn:aws:dynamodb:*:*:table/Thread",
            "Condition": {"ForAllValues:StringEquals": {"dynamodb:Attributes": ["ID", "Message", "Tags"]}}
        }]
    }"#,
    );
    let table_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/Thread";
    let attributes = |values: &[&str]| context(&[("dynamodb:Attributes", values)]);
    let get = |values: &[&str]| decide(&[&allow], "dynamodb:GetItem", table_arn, &attributes(values));
    assert_eq!(get(&["Message", "Tags"]), Decision::Allow);
    assert_eq!(get(&["ID", "Message", "Tags"]), Decision::Allow);
    assert_eq!(get(&["ID", "UserName"]), Decision::ImplicitDeny);

    let deny = identity(
        r#"{
        "Version": "2012-10-17",
        "Statement": {
            "Effect": "Deny",
            "Action": "dynamodb:PutItem",
            "Resource": "arn:aws:dynamodb:*:*:table/Thread",
            "Condition": {"ForAnyValue:StringEquals": {"dynamodb:Attributes": ["ID", "PostDateTime"]}}
        }
    }"#,
    );
    let all = statement("Allow", r#""Action": "dynamodb:*", "Resource": "*""#);
    let put = |values: &[&str]| decide(&[&deny, &all], "dynamodb:PutItem", table_arn, &attributes(values));
    assert_eq!(put(&["PostDateTime", "Message"]), Decision::ExplicitDeny);
    assert_eq!(put(&["UserName", "Message", "PostDateTime"]), Decision::ExplicitDeny);
    assert_eq!(put(&["UserName"]), Decision::Allow);
}

// "Single-valued context key policy examples": tags on create must include a project, and the resource must
// not be tagged production.
#[test]
fn single_valued_examples() {
    table(
        r#"{"StringLike": {"aws:RequestTag/project": "*"}}"#,
        &[(context(&[("aws:RequestTag/project", &["Feature3"])]), true), (Context::new(), false)],
    );
    let environment = |v: &str| context(&[("aws:ResourceTag/environment", &[v])]);
    table(
        r#"{"StringNotEquals": {"aws:ResourceTag/environment": "production"}}"#,
        &[(environment("QA"), true), (environment("production"), false), (Context::new(), true)],
    );
}

// Without a set operator a multivalued key is read as ORed on both sides; its negation as none matching.
#[test]
fn multivalued_key_without_set_operator() {
    let tags = |keys: &[&str]| context(&[("aws:TagKeys", keys)]);
    table(r#"{"StringEquals": {"aws:TagKeys": "a"}}"#, &[(tags(&["a", "b"]), true), (tags(&["b", "c"]), false)]);
    table(r#"{"StringNotEquals": {"aws:TagKeys": "a"}}"#, &[(tags(&["a", "b"]), false), (tags(&["b", "c"]), true)]);
    // IfExists on an absent key wins over the set operator.
    table(
        r#"{"ForAnyValue:StringEqualsIfExists": {"aws:TagKeys": "a"}}"#,
        &[(Context::new(), true), (tags(&["b"]), false)],
    );
}

// IAM accepts an operator it does not know if nothing is under it; it then tests nothing.
#[test]
fn empty_unknown_operator_tests_nothing() {
    table(r#"{"x": {}, "y": {}}"#, &[(Context::new(), true)]);
    table(r#"{}"#, &[(Context::new(), true)]);
    // A key with no values: positive operators never hold, negated ones always do.
    table(r#"{"StringEquals": {"a": []}}"#, &[(context(&[("a", &["x"])]), false)]);
    table(r#"{"StringNotEquals": {"a": []}}"#, &[(context(&[("a", &["x"])]), true)]);
}
