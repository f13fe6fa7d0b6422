//! Every validation rule, with IAM's `MalformedPolicyDocument` message. The identity-policy table is moto's
//! (tests/test_iam/test_iam_policies.py, `invalid_policy_document_test_cases`, recorded against IAM), with the
//! 2008-10-17 cases moved to [`Policy::require_current_version`]; the trust-policy messages are those IAM's
//! resource-policy parser gives (CreateRole / UpdateAssumeRolePolicy).

use serde_json::{Value, json};

use crate::{Policy, PolicyError, PolicyKind, non_whitespace_len};

fn message(document: &str, kind: PolicyKind) -> String {
    match Policy::parse(document, kind) {
        Ok(_) => panic!("accepted: {document}"),
        Err(e) => e.to_string(),
    }
}

fn identity_cases() -> Vec<(Value, &'static str)> {
    let bucket = "arn:aws:s3:::example_bucket";
    let with = |statement: Value| json!({"Version": "2012-10-17", "Statement": statement});
    let list = |extra: Value| {
        let mut statement = json!({"Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket});
        if let (Value::Object(s), Value::Object(extra)) = (&mut statement, extra) {
            s.extend(extra);
        }
        with(statement)
    };
    vec![
        (
            json!({"Version": "2013-10-17", "Statement": {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket}}),
            "Syntax errors in policy.",
        ),
        (json!({"Version": "2012-10-17"}), "Syntax errors in policy."),
        (json!({"Version": "2012-10-17", "Statement": ["afd"]}), "Syntax errors in policy."),
        (
            json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket}, "Extra field": "value"}),
            "Syntax errors in policy.",
        ),
        (list(json!({"Extra field": "value"})), "Syntax errors in policy."),
        (
            json!({"Version": "2012-10-17", "Id": ["cd3a324d2343d942772346-34234234423404-4c2242343242349d1642ee"], "Statement": {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket}}),
            "Syntax errors in policy.",
        ),
        (
            json!({"Version": "2012-10-17", "Id": {}, "Statement": {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket}}),
            "Syntax errors in policy.",
        ),
        (list(json!({"Effect": "invalid"})), "Syntax errors in policy."),
        (
            list(json!({"Action": "invalid"})),
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        ),
        (
            with(json!({"Effect": "Allow", "NotAction": "", "Resource": bucket})),
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        ),
        (list(json!({"Action": "a a:ListBucket"})), "Vendor a a is not valid"),
        (list(json!({"Action": "s3:List:Bucket"})), "Actions/Condition can contain only one colon."),
        (
            with(json!([
                {"Effect": "Allow", "Action": "s3s:ListBucket", "Resource": bucket},
                {"Effect": "Allow", "Action": "s:3s:ListBucket", "Resource": bucket}
            ])),
            "Actions/Condition can contain only one colon.",
        ),
        (list(json!({"Resource": "invalid resource"})), "Resource invalid resource must be in ARN format or \"*\"."),
        (
            with(json!([
                {"Sid": "EnableDisableHongKong", "Effect": "Allow", "Action": ["account:EnableRegion", "account:DisableRegion"], "Resource": "", "Condition": {"StringEquals": {"account:TargetRegion": "ap-east-1"}}},
                {"Sid": "ViewConsole", "Effect": "Allow", "Action": ["aws-portal:ViewAccount", "account:ListRegions"], "Resource": ""}
            ])),
            "Resource  must be in ARN format or \"*\".",
        ),
        (
            list(json!({"Action": "s:3:ListBucket", "Resource": "sdfsadf"})),
            "Resource sdfsadf must be in ARN format or \"*\".",
        ),
        (list(json!({"Resource": ["adf"]})), "Resource adf must be in ARN format or \"*\"."),
        (list(json!({"Resource": ""})), "Resource  must be in ARN format or \"*\"."),
        (
            with(json!({"Effect": "Allow", "NotAction": "s3s:ListBucket", "Resource": "a:bsdfdsafsad"})),
            "Partition \"bsdfdsafsad\" is not valid for resource \"arn:bsdfdsafsad:*:*:*:*\".",
        ),
        (
            with(json!({"Effect": "Allow", "NotAction": "s3s:ListBucket", "Resource": "a:b:cadfsdf"})),
            "Partition \"b\" is not valid for resource \"arn:b:cadfsdf:*:*:*\".",
        ),
        (
            with(json!({"Effect": "Allow", "NotAction": "s3s:ListBucket", "Resource": "a:b:c:d:e:f:g:h"})),
            "Partition \"b\" is not valid for resource \"arn:b:c:d:e:f:g:h\".",
        ),
        (
            list(json!({"Resource": "aws:s3:::example_bucket"})),
            "Partition \"s3\" is not valid for resource \"arn:s3:::example_bucket:*\".",
        ),
        (
            list(json!({"Resource": ["arn:error:s3:::example_bucket", "arn:error:s3::example_bucket"]})),
            "Partition \"error\" is not valid for resource \"arn:error:s3:::example_bucket\".",
        ),
        (json!({"Version": "2012-10-17", "Statement": []}), "Syntax errors in policy."),
        (with(json!({"Effect": "Allow", "Action": "s3:ListBucket"})), "Policy statement must contain resources."),
        (
            with(json!({"Effect": "Allow", "Action": "s3:ListBucket", "Resource": []})),
            "Policy statement must contain resources.",
        ),
        (with(json!({"Effect": "Allow", "Action": "invalid"})), "Policy statement must contain resources."),
        (with(json!({"Effect": "Allow", "Resource": bucket})), "Policy statement must contain actions."),
        (with(json!({"Action": "s3:ListBucket", "Resource": bucket})), "Syntax errors in policy."),
        (with(json!({"Effect": "Allow"})), "Policy statement must contain actions."),
        (with(json!({"Effect": "Allow", "Action": [], "Resource": bucket})), "Policy statement must contain actions."),
        (
            with(json!([{"Effect": "Deny"}, {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket}])),
            "Policy statement must contain actions.",
        ),
        (
            list(json!({"Resource": "arn:aws:iam:::example_bucket"})),
            "IAM resource path must either be \"*\" or start with user/, federated-user/, role/, group/, instance-profile/, mfa/, server-certificate/, policy/, sms-mfa/, saml-provider/, oidc-provider/, report/, access-report/.",
        ),
        (list(json!({"Resource": "arn:aws:s3::example_bucket"})), "The policy failed legacy parsing"),
        (
            with(json!({"Effect": "Allow", "Resource": "arn:aws:s3::example_bucket"})),
            "The policy failed legacy parsing",
        ),
        (list(json!({"Resource": "arn:aws"})), "Resource vendor must be fully qualified and cannot contain regexes."),
        (list(json!({"Resource": {"a": "arn:aws:s3:::example_bucket"}})), "Syntax errors in policy."),
        (
            with(json!({"Effect": "Deny", "Action": "s3:ListBucket", "Resource": ["adfdf", {}]})),
            "Syntax errors in policy.",
        ),
        (
            with(json!({"Effect": "Allow", "NotAction": "s3:ListBucket", "Resource": bucket, "NotResource": []})),
            "Syntax errors in policy.",
        ),
        (with(json!({"Effect": "Deny", "Action": [[]], "Resource": bucket})), "Syntax errors in policy."),
        (
            with(json!({"Effect": "Allow", "NotAction": "s3s:ListBucket", "Action": [], "Resource": bucket})),
            "Syntax errors in policy.",
        ),
        (list(json!({"Action": {}})), "Syntax errors in policy."),
        (list(json!({"Condition": []})), "Syntax errors in policy."),
        (list(json!({"Condition": "a"})), "Syntax errors in policy."),
        (list(json!({"Condition": {"a": "b"}})), "Syntax errors in policy."),
        (list(json!({"Condition": {"DateGreaterThan": "b"}})), "Syntax errors in policy."),
        (list(json!({"Condition": {"DateGreaterThan": []}})), "Syntax errors in policy."),
        (list(json!({"Condition": {"DateGreaterThan": {"a": {}}}})), "Syntax errors in policy."),
        (
            with(json!({"Effect": "Allow", "Resource": bucket, "Condition": {"DateGreaterThan": {"a": {}}}})),
            "Syntax errors in policy.",
        ),
        (list(json!({"Condition": {"x": {"a": "1"}}})), "Syntax errors in policy."),
        (list(json!({"Condition": {"ForAnyValue::StringEqualsIfExists": {"a": "asf"}}})), "Syntax errors in policy."),
        (
            list(json!({"Condition": [{"ForAllValues:StringEquals": {"aws:TagKeys": "Department"}}]})),
            "Syntax errors in policy.",
        ),
        (
            list(json!({"Resource": "arn:aws:iam:us-east-1::example_bucket"})),
            "IAM resource arn:aws:iam:us-east-1::example_bucket cannot contain region information.",
        ),
        (
            list(json!({"Resource": "arn:aws:s3:us-east-1::example_bucket"})),
            "Resource arn:aws:s3:us-east-1::example_bucket can not contain region information.",
        ),
        (list(json!({"Sid": {}})), "Syntax errors in policy."),
        (list(json!({"Sid": []})), "Syntax errors in policy."),
        (
            with(
                json!([{"Sid": "sdf", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket}, {"Sid": "sdf", "Effect": "Allow"}]),
            ),
            "Statement IDs (SID) in a single policy must be unique.",
        ),
        (
            with(json!({"Effect": "Allow", "NotAction": "s3:ListBucket", "Action": "iam:dsf", "Resource": bucket})),
            "Syntax errors in policy.",
        ),
        (list(json!({"NotResource": "*"})), "Syntax errors in policy."),
        (list(json!({"Effect": "denY"})), "The policy failed legacy parsing"),
        (list(json!({"Condition": {"DateGreaterThan": {"a": "sdfdsf"}}})), "The policy failed legacy parsing"),
        (
            with(json!({"Effect": "Allow", "Condition": {"DateGreaterThan": {"a": "sdfdsf"}}})),
            "The policy failed legacy parsing",
        ),
        (
            with(json!({"Effect": "Allow", "NotAction": "s3:ListBucket", "Resource": "arn:aws::::example_bucket"})),
            "The policy failed legacy parsing",
        ),
        (
            with(json!({"Effect": "allow", "Resource": "arn:aws:s3:us-east-1::example_bucket"})),
            "The policy failed legacy parsing",
        ),
        (
            with(
                json!([{"Sid": "sdf", "Effect": "aLLow", "Action": "s3:ListBucket", "Resource": bucket}, {"Sid": "sdf", "Effect": "Allow"}]),
            ),
            "The policy failed legacy parsing",
        ),
        (
            with(json!({"Effect": "Allow", "Action": "s3:ListBucket", "NotResource": "arn:aws:s3::example_bucket"})),
            "The policy failed legacy parsing",
        ),
        (list(json!({"Condition": {"DateLessThanEquals": {"a": "234-13"}}})), "The policy failed legacy parsing"),
        (
            list(json!({"Condition": {"DateLessThanEquals": {"a": "2016-12-13t2:00:00.593194+1"}}})),
            "The policy failed legacy parsing",
        ),
        (
            list(json!({"Condition": {"DateLessThanEquals": {"a": "2016-12-13t2:00:00.1999999999+10:59"}}})),
            "The policy failed legacy parsing",
        ),
        (
            list(json!({"Condition": {"DateLessThan": {"a": "9223372036854775808"}}})),
            "The policy failed legacy parsing",
        ),
        (
            list(
                json!({"Resource": "arn:error:s3:::example_bucket", "Condition": {"DateGreaterThan": {"a": "sdfdsf"}}}),
            ),
            "The policy failed legacy parsing",
        ),
        (list(json!({"Resource": "arn:aws::fdsasf"})), "The policy failed legacy parsing"),
        // Beyond moto's table.
        (list(json!({"Principal": {"AWS": "123456789012"}})), "Policy document should not specify a principal."),
        (list(json!({"NotPrincipal": "*"})), "Policy document should not specify a principal."),
        (
            list(json!({"Sid": "my-statement"})),
            "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*",
        ),
        (list(json!({"Condition": {"NullIfExists": {"a": "true"}}})), "Syntax errors in policy."),
        (list(json!({"Condition": {"StringEquals": {"a": null}}})), "Syntax errors in policy."),
        (list(json!({"Condition": {"StringEquals": {"a": ["x", {}]}}})), "Syntax errors in policy."),
        (
            json!({"Version": 2012, "Statement": {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket}}),
            "Syntax errors in policy.",
        ),
        (json!({"Version": "2012-10-17", "Statement": "s3:ListBucket"}), "Syntax errors in policy."),
        (json!(["not", "an", "object"]), "Syntax errors in policy."),
    ]
}

#[test]
fn identity_policies() {
    for (document, expected) in identity_cases() {
        assert_eq!(message(&document.to_string(), PolicyKind::Identity), expected, "{document}");
    }
    // Not JSON, or a member written twice (which `json!` cannot express).
    let bucket = r#""Resource": "arn:aws:s3:::example_bucket""#;
    for document in [
        "This is not a json document".to_owned(),
        format!(
            r#"{{"Version": "2012-10-17", "Statement": {{"Effect": "Allow", "Effect": "Deny", "Action": "s3:ListBucket", {bucket}}}}}"#
        ),
        format!(
            r#"{{"Version": "2012-10-17", "Version": "2012-10-17", "Statement": {{"Effect": "Allow", "Action": "s3:ListBucket", {bucket}}}}}"#
        ),
        format!(
            r#"{{"Version": "2012-10-17", "Statement": {{"Effect": "Allow", "Action": "s3:ListBucket", {bucket},
                "Condition": {{"StringEquals": {{"a": "1"}}, "StringEquals": {{"b": "2"}}}}}}}}"#
        ),
        format!(
            r#"{{"Version": "2012-10-17", "Statement": {{"Effect": "Allow", "Action": "s3:ListBucket", {bucket},
                "Condition": {{"StringEquals": {{"a": "1", "a": "2"}}}}}}}}"#
        ),
        r#"{"Version": "2012-10-17", "Statement": {}} trailing"#.to_owned(),
    ] {
        assert_eq!(message(&document, PolicyKind::Identity), "Syntax errors in policy.", "{document}");
    }
}

// moto's `valid_policy_documents`, which IAM accepts.
#[test]
fn identity_policies_iam_accepts() {
    let bucket = "arn:aws:s3:::example_bucket";
    let with = |statement: Value| json!({"Version": "2012-10-17", "Statement": statement});
    let list = |extra: Value| {
        let mut statement = json!({"Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket});
        if let (Value::Object(s), Value::Object(extra)) = (&mut statement, extra) {
            s.extend(extra);
        }
        with(statement)
    };
    for document in [
        list(json!({"Resource": [bucket]})),
        list(json!({"Action": "iam: asdf safdsf af "})),
        list(json!({"Resource": [bucket, "*"]})),
        list(json!({"Action": "*"})),
        with(json!([{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket}])),
        with(
            json!({"Effect": "Allow", "Action": "service-prefix:action-name", "Resource": "*", "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2017-07-01T00:00:00Z"}, "DateLessThan": {"aws:CurrentTime": "2017-12-31T23:59:59Z"}}}),
        ),
        list(json!({"Action": "fsx:ListBucket"})),
        list(json!({"Resource": "arn:aws:iam:::user/example_bucket"})),
        list(json!({"Resource": "arn:aws:s33:::example_bucket"})),
        list(json!({"Resource": "arn:aws:fdsasf"})),
        list(json!({"Condition": {}})),
        list(json!({"Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": "Department"}}})),
        list(json!({"Resource": "arn:aws:cloudwatch:us-east-1::example_bucket"})),
        list(json!({"Resource": "arn:aws:invalid-service:::example_bucket"})),
        list(json!({"Condition": {"DateGreaterThan": {}}})),
        list(json!({"Condition": {"DateGreaterThan": {"a": []}}})),
        list(json!({"Condition": {"a": {}}})),
        list(json!({"Sid": "dsfsdfsdfsdfsdfsadfsd"})),
        with(json!({"Effect": "Allow", "NotAction": "s3:ListBucket", "Resource": bucket})),
        with(
            json!({"Effect": "Deny", "Action": "s3:*", "NotResource": ["arn:aws:s3:::HRBucket/Payroll", "arn:aws:s3:::HRBucket/Payroll/*"]}),
        ),
        json!({"Version": "2012-10-17", "Id": "sdfsdfsdf", "Statement": {"Effect": "Allow", "NotAction": "s3:ListBucket", "Resource": bucket}}),
        list(json!({"Action": "aaaaaadsfdsafsadfsadfaaaaa:ListBucket"})),
        list(json!({"Action": "s3-s:ListBucket"})),
        list(json!({"Action": "s3.s:ListBucket"})),
        with(json!({"Effect": "Allow", "NotAction": "s3:ListBucket", "NotResource": "*"})),
        with(
            json!([{"Sid": "sdf", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket}, {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket}]),
        ),
        list(json!({"Condition": {"DateGreaterThan": {"a": "01T"}}})),
        list(json!({"Condition": {"x": {}, "y": {}}})),
        list(json!({"Condition": {"StringEqualsIfExists": {"a": "asf"}}})),
        list(json!({"Condition": {"ForAnyValue:StringEqualsIfExists": {"a": "asf"}}})),
        list(json!({"Condition": {"DateLessThanEquals": {"a": "2019-07-01T13:20:15Z"}}})),
        list(json!({"Condition": {"DateLessThanEquals": {"a": "2016-12-13T21:20:37.593194+00:00"}}})),
        list(json!({"Condition": {"DateLessThanEquals": {"a": "2016-12-13t2:00:00.593194+23"}}})),
        list(json!({"Condition": {"DateLessThan": {"a": "-292275054"}}})),
        list(
            json!({"Condition": {"NumericLessThanEquals": {"s3:max-keys": 10}, "Bool": {"aws:SecureTransport": false}}}),
        ),
        with(
            json!({"Effect": "Allow", "Action": ["ec2:AttachVolume", "ec2:DetachVolume"], "Resource": ["arn:aws:ec2:*:*:volume/*", "arn:aws:ec2:*:*:instance/*"], "Condition": {"ArnEquals": {"ec2:SourceInstanceARN": "arn:aws:ec2:*:*:instance/instance-id"}}}),
        ),
        with(
            json!({"Effect": "Allow", "Action": ["iam:ChangePassword", "iam:GetUser"], "Resource": "arn:aws:iam::*:user/${aws:username}"}),
        ),
    ] {
        if let Err(e) = Policy::parse(&document.to_string(), PolicyKind::Identity) {
            panic!("{e}: {document}");
        }
    }
}

// CreatePolicy wants the current language; inline policies take the old one too (moto's table has these cases
// for CreatePolicy).
#[test]
fn current_version_for_managed_policies() {
    let statement =
        r#""Statement": {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::example_bucket"}"#;
    for version in [r#""Version": "2008-10-17","#, ""] {
        let policy = Policy::parse(&format!("{{{version} {statement}}}"), PolicyKind::Identity).unwrap();
        assert_eq!(policy.version(), crate::Version::V2008_10_17);
        assert_eq!(
            policy.require_current_version().unwrap_err().to_string(),
            "Policy document must be version 2012-10-17 or greater."
        );
    }
    let current = Policy::parse(&format!(r#"{{"Version": "2012-10-17", {statement}}}"#), PolicyKind::Identity).unwrap();
    assert_eq!(current.require_current_version(), Ok(()));
    assert_eq!(PolicyError::version_too_old().message(), "Policy document must be version 2012-10-17 or greater.");
}

#[test]
fn trust_policies() {
    let assume = |extra: Value| {
        let mut statement =
            json!({"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"});
        if let (Value::Object(s), Value::Object(extra)) = (&mut statement, extra) {
            s.extend(extra);
        }
        json!({"Version": "2012-10-17", "Statement": [statement]}).to_string()
    };
    let without = |member: &str| {
        let mut statement =
            json!({"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"});
        if let Value::Object(s) = &mut statement {
            s.remove(member);
        }
        json!({"Version": "2012-10-17", "Statement": statement}).to_string()
    };
    let cases: Vec<(String, &str)> = vec![
        ("{".into(), "This policy contains invalid Json"),
        ("[]".into(), "This policy contains invalid Json"),
        (
            json!({"Version": "2013-10-17", "Statement": []}).to_string(),
            "The policy must contain a valid version string",
        ),
        (json!({"Version": "2012-10-17"}).to_string(), "Missing required field Statement"),
        (
            json!({"Version": "2012-10-17", "Statement": []}).to_string(),
            "Could not parse the policy: Statement is empty!",
        ),
        (json!({"Version": "2012-10-17", "Statement": [], "Foo": 1}).to_string(), "Unknown field Foo"),
        (assume(json!({"Foo": 1})), "Unknown field Foo"),
        (without("Effect"), "Missing required field Effect"),
        (assume(json!({"Effect": "allow"})), "Invalid effect: allow"),
        (without("Principal"), "Missing required field Principal"),
        (without("Action"), "Missing required field Action"),
        (assume(json!({"Action": []})), "Missing required field Action"),
        (assume(json!({"Resource": "*"})), "Has prohibited field Resource"),
        (assume(json!({"NotResource": "*"})), "Has prohibited field NotResource"),
        (assume(json!({"Resource": {"not": "a list"}})), "Has prohibited field Resource"),
        (assume(json!({"Principal": {"AWS": "x"}})), "Invalid principal in policy: \"AWS\":\"x\""),
        (
            assume(json!({"Principal": {"AWS": "arn:aws:iam::123456789012:role/*"}})),
            "Invalid principal in policy: \"AWS\":\"arn:aws:iam::123456789012:role/*\"",
        ),
        (
            assume(json!({"Principal": {"AWS": ["123456789012", "12345"]}})),
            "Invalid principal in policy: \"AWS\":\"12345\"",
        ),
        (
            assume(json!({"Principal": {"Service": "amazonaws.com"}})),
            "Invalid principal in policy: \"SERVICE\":\"amazonaws.com\"",
        ),
        (assume(json!({"Principal": {"Federated": "*"}})), "Invalid principal in policy: \"FEDERATED\":\"*\""),
        (
            assume(json!({"Principal": {"CanonicalUser": "79a59df900b949e5"}})),
            "Invalid principal in policy: \"CANONICALUSER\":\"79a59df900b949e5\"",
        ),
        (assume(json!({"Principal": "arn:aws:iam::123456789012:root"})), "Principal must be a JSON object."),
        (assume(json!({"Principal": {}})), "Missing required field Principal cannot be empty!"),
        (assume(json!({"Principal": {"AWS": []}})), "Missing required field Principal cannot be empty!"),
        (
            assume(json!({"NotPrincipal": {"AWS": "123456789012"}})),
            "Statement/policy already has instance of Principal",
        ),
        (
            without("Principal").replace(r#""Effect":"Allow""#, r#""Effect":"Allow","NotPrincipal":"*""#),
            "Allow with NotPrincipal is not allowed.",
        ),
        (
            assume(json!({"Action": "AssumeRole"})),
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        ),
        (
            assume(json!({"Sid": "a-b"})),
            "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*",
        ),
        (
            assume(json!({"Condition": {"DateGreaterThan": {"aws:CurrentTime": "soon"}}})),
            "The policy failed legacy parsing",
        ),
        (assume(json!({"Condition": {"StringEqualz": {"sts:ExternalId": "x"}}})), "Syntax errors in policy."),
        (
            json!({"Statement": [
                {"Sid": "A", "Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"},
                {"Sid": "A", "Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"}
            ]})
            .to_string(),
            "The Statement Ids in the policy are not unique",
        ),
        (
            r#"{"Statement": {"Effect": "Allow", "Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}}"#
                .into(),
            "Statement/policy already has instance of Effect",
        ),
    ];
    for (document, expected) in cases {
        assert_eq!(message(&document, PolicyKind::Resource), expected, "{document}");
    }
    // An identity policy is not a trust policy, and the other way round.
    let identity = r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}"#;
    assert_eq!(message(identity, PolicyKind::Resource), "Has prohibited field Resource");
    assert_eq!(message(&assume(json!({})), PolicyKind::Identity), "Policy document should not specify a principal.");
}

// IAM User Guide, "Grammar of the IAM JSON policy language", notes: "Policy size calculations do not include white
// space characters".
#[test]
fn size_excludes_white_space() {
    assert_eq!(non_whitespace_len("{ \"a\" :\n\t\"b c\" }"), 10);
    assert_eq!(non_whitespace_len(""), 0);
    assert_eq!(non_whitespace_len("é ü"), 2);
}
