//! Random request bodies against the implemented ECS operations, the served CloudWatch Logs operations (JSON 1.1),
//! every operation of the Secrets Manager and SSM models (JSON 1.1, operations and member names read from the
//! installed botocore models) and the served IAM and STS operations (query protocol): whatever arrives, the answer
//! is a 200 or a 4xx error
//! (`__type` and `message`, or an XML `ErrorResponse` with `Code` and `Message`), never a 5xx or a dropped
//! connection, and the server keeps serving.

use berth_e2e::Berth;
use serde_json::{Map, Value, json};

const OPERATIONS: [&str; 27] = [
    "CreateCluster",
    "DeleteCluster",
    "DescribeClusters",
    "ListClusters",
    "UpdateCluster",
    "UpdateClusterSettings",
    "RegisterTaskDefinition",
    "DeregisterTaskDefinition",
    "DeleteTaskDefinitions",
    "DescribeTaskDefinition",
    "ListTaskDefinitions",
    "ListTaskDefinitionFamilies",
    "RegisterContainerInstance",
    "DeregisterContainerInstance",
    "DescribeContainerInstances",
    "ListContainerInstances",
    "UpdateContainerInstancesState",
    "PutAttributes",
    "DeleteAttributes",
    "ListAttributes",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
    "ListAccountSettings",
    "PutAccountSetting",
    "PutAccountSettingDefault",
    "DeleteAccountSetting",
];

/// Field names of the ECS model, so random bodies reach the validators instead of being ignored.
const FIELDS: [&str; 42] = [
    "cluster",
    "clusterName",
    "clusters",
    "include",
    "settings",
    "name",
    "value",
    "tags",
    "key",
    "family",
    "containerDefinitions",
    "image",
    "memory",
    "memoryReservation",
    "cpu",
    "essential",
    "portMappings",
    "containerPort",
    "hostPort",
    "protocol",
    "dependsOn",
    "containerName",
    "condition",
    "healthCheck",
    "command",
    "taskDefinition",
    "taskDefinitions",
    "status",
    "sort",
    "familyPrefix",
    "maxResults",
    "nextToken",
    "filter",
    "containerInstances",
    "containerInstance",
    "totalResources",
    "attributes",
    "targetId",
    "resourceArn",
    "tagKeys",
    "principalArn",
    "effectiveSettings",
];

/// The CloudWatch Logs operations Berth serves, and the field names of their model.
const LOGS_OPERATIONS: [&str; 14] = [
    "CreateLogGroup",
    "DeleteLogGroup",
    "DescribeLogGroups",
    "PutRetentionPolicy",
    "DeleteRetentionPolicy",
    "DescribeLogStreams",
    "GetLogEvents",
    "FilterLogEvents",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
    "TagLogGroup",
    "UntagLogGroup",
    "ListTagsLogGroup",
];

const LOGS_FIELDS: [&str; 20] = [
    "logGroupName",
    "logGroupIdentifier",
    "logGroupNamePrefix",
    "logGroupNamePattern",
    "logGroupClass",
    "logStreamName",
    "logStreamNames",
    "logStreamNamePrefix",
    "retentionInDays",
    "resourceArn",
    "tags",
    "tagKeys",
    "kmsKeyId",
    "limit",
    "nextToken",
    "startTime",
    "endTime",
    "startFromHead",
    "filterPattern",
    "orderBy",
];

/// The IAM operations Berth serves, and the parameter names of their model (query protocol: `.member.N` lists).
const IAM_OPERATIONS: [&str; 66] = [
    "AddUserToGroup",
    "AttachGroupPolicy",
    "AttachRolePolicy",
    "AttachUserPolicy",
    "CreateAccessKey",
    "CreateGroup",
    "CreatePolicy",
    "CreatePolicyVersion",
    "CreateRole",
    "CreateUser",
    "DeleteAccessKey",
    "DeleteGroup",
    "DeleteGroupPolicy",
    "DeletePolicy",
    "DeletePolicyVersion",
    "DeleteRole",
    "DeleteRolePolicy",
    "DeleteUser",
    "DeleteUserPolicy",
    "DetachGroupPolicy",
    "DetachRolePolicy",
    "DetachUserPolicy",
    "GetAccessKeyLastUsed",
    "GetAccountAuthorizationDetails",
    "GetGroup",
    "GetGroupPolicy",
    "GetPolicy",
    "GetPolicyVersion",
    "GetRole",
    "GetRolePolicy",
    "GetUser",
    "GetUserPolicy",
    "ListAccessKeys",
    "ListAttachedGroupPolicies",
    "ListAttachedRolePolicies",
    "ListAttachedUserPolicies",
    "ListEntitiesForPolicy",
    "ListGroupPolicies",
    "ListGroups",
    "ListGroupsForUser",
    "ListPolicies",
    "ListPolicyTags",
    "ListPolicyVersions",
    "ListRolePolicies",
    "ListRoleTags",
    "ListRoles",
    "ListUserPolicies",
    "ListUserTags",
    "ListUsers",
    "PutGroupPolicy",
    "PutRolePolicy",
    "PutUserPolicy",
    "RemoveUserFromGroup",
    "SetDefaultPolicyVersion",
    "TagPolicy",
    "TagRole",
    "TagUser",
    "UntagPolicy",
    "UntagRole",
    "UntagUser",
    "UpdateAccessKey",
    "UpdateAssumeRolePolicy",
    "UpdateGroup",
    "UpdateRole",
    "UpdateRoleDescription",
    "UpdateUser",
];

const IAM_FIELDS: [&str; 26] = [
    "UserName",
    "GroupName",
    "RoleName",
    "PolicyName",
    "PolicyArn",
    "PolicyDocument",
    "AssumeRolePolicyDocument",
    "Path",
    "PathPrefix",
    "NewPath",
    "NewUserName",
    "NewGroupName",
    "AccessKeyId",
    "Status",
    "Tags.member.1.Key",
    "Tags.member.1.Value",
    "Tags.member.2.Key",
    "TagKeys.member.1",
    "MaxItems",
    "Marker",
    "VersionId",
    "SetAsDefault",
    "Description",
    "MaxSessionDuration",
    "Filter.member.1",
    "Scope",
];

const IAM_VALUES: [&str; 16] = [
    "",
    "alice",
    "ALICE",
    "ops",
    "/",
    "/ml/",
    "Active",
    "Inactive",
    "v1",
    "3",
    "true",
    "arn:aws:iam::000000000000:policy/p",
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"ecs:*\",\"Resource\":\"*\"}]}",
    "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"ecs-tasks.amazonaws.com\"},\"Action\":\"sts:AssumeRole\"}}",
    "{\"Statement\":[{\"Effect\":\"Maybe\"}]}",
    "ünïcødé & <xml>",
];

const STRINGS: [&str; 20] = [
    "/ml/db-url",
    "/ml",
    "AWSCURRENT",
    "SecureString",
    "arn:aws:secretsmanager:us-east-1:000000000000:secret:hf-token-AbCdEf",
    "hf-token",
    "",
    "default",
    "ml",
    "web:1",
    "web",
    "ACTIVE",
    "DRAINING",
    "attribute:a == b",
    "(((",
    "ünïcødé",
    "arn:aws:ecs:us-east-1:000000000000:cluster/ml",
    "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1",
    "/ecs/web",
    "arn:aws:logs:us-east-1:000000000000:log-group:/ecs/web:*",
];

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

fn value(rng: &mut Rng, fields: &[&str], depth: u32) -> Value {
    match rng.below(if depth > 3 { 6 } else { 9 }) {
        0 => Value::Null,
        1 => json!(rng.below(2) == 0),
        2 => json!(rng.below(100_000) as i64 - 50),
        3 => json!(1e300),
        4 => json!(STRINGS[rng.below(STRINGS.len() as u64) as usize]),
        5 => json!("z".repeat(rng.below(3000) as usize)),
        6 | 7 => object(rng, fields, depth + 1),
        _ => Value::Array((0..rng.below(4)).map(|_| value(rng, fields, depth + 1)).collect()),
    }
}

fn object(rng: &mut Rng, fields: &[&str], depth: u32) -> Value {
    let mut map = Map::new();
    for _ in 0..rng.below(6) {
        map.insert(fields[rng.below(fields.len() as u64) as usize].to_owned(), value(rng, fields, depth));
    }
    Value::Object(map)
}

#[tokio::test(flavor = "multi_thread")]
async fn random_bodies_never_break_the_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let berth = Berth::start_with(dir.path(), &["--auth", "none", "--no-agent"]);
    let ecs = ("AmazonEC2ContainerServiceV20141113", &OPERATIONS[..], &FIELDS[..], 0xB5AD_4ECE_DA1C_E2A9);
    let logs = ("Logs_20140328", &LOGS_OPERATIONS[..], &LOGS_FIELDS[..], 0x10C5_F022_D15E_A5E5);
    for (prefix, operations, fields, seed) in [ecs, logs] {
        fuzz(&berth, prefix, operations, fields, seed).await;
    }
    for (service, prefix, seed) in
        [("secretsmanager", "secretsmanager", 0x5EC4_E75A_11CE_0001), ("ssm", "AmazonSSM", 0x55A4_0000_FEED_0002)]
    {
        let (operations, fields) = model_inputs(service);
        let operations: Vec<&str> = operations.iter().map(String::as_str).collect();
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        fuzz(&berth, prefix, &operations, &fields, seed).await;
    }
    fuzz_query(&berth, 0x0001_A35E_ED0F_F00D).await;
}

/// A model's operation names and every member name of their inputs (nested structures, lists and maps too), read
/// from the installed botocore package.
fn model_inputs(service: &str) -> (Vec<String>, Vec<String>) {
    let script = format!(
        r#"
import json, botocore.session
model = botocore.session.get_session().get_service_model('{service}')
fields = set()
def walk(shape, seen):
    if shape is None or shape.name in seen:
        return
    seen.add(shape.name)
    if shape.type_name == 'structure':
        for name, member in shape.members.items():
            fields.add(name)
            walk(member, seen)
    elif shape.type_name == 'list':
        walk(shape.member, seen)
    elif shape.type_name == 'map':
        walk(shape.key, seen)
        walk(shape.value, seen)
for op in model.operation_names:
    walk(model.operation_model(op).input_shape, set())
print(json.dumps([sorted(model.operation_names), sorted(fields)]))
"#
    );
    let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    let python = if venv.exists() { venv.to_string_lossy().into_owned() } else { "python3".to_owned() };
    let out = std::process::Command::new(&python).args(["-c", &script]).output().expect("python with botocore");
    assert!(out.status.success(), "botocore must be installed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("operations and fields")
}

/// Sends 1,500 random form-encoded IAM (and a few STS) requests.
async fn fuzz_query(berth: &Berth, seed: u64) {
    let client = reqwest::Client::new();
    let mut rng = Rng(seed);
    let mut statuses = std::collections::BTreeMap::new();
    for i in 0..1500 {
        let mut form = form_urlencoded::Serializer::new(String::new());
        match i % 10 {
            0 => form.append_pair("Action", "GetCallerIdentity").append_pair("Version", "2011-06-15"),
            1 => form.append_pair("Action", "NoSuchAction").append_pair("Version", "2010-05-08"),
            _ => form
                .append_pair("Action", IAM_OPERATIONS[rng.below(IAM_OPERATIONS.len() as u64) as usize])
                .append_pair("Version", "2010-05-08"),
        };
        for _ in 0..rng.below(6) {
            let field = IAM_FIELDS[rng.below(IAM_FIELDS.len() as u64) as usize];
            let value = match rng.below(8) {
                0 => "x".repeat(rng.below(3000) as usize),
                1 => (rng.below(100_000) as i64 - 50).to_string(),
                _ => IAM_VALUES[rng.below(IAM_VALUES.len() as u64) as usize].to_owned(),
            };
            form.append_pair(field, &value);
        }
        let body = if i % 97 == 0 { "Action=CreateUser&UserName=%ZZ&A..B=1".to_owned() } else { form.finish() };
        let resp = client
            .post(berth.endpoint())
            .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
            .body(body.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{body}: connection failed: {e}"));
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        assert!(status == 200 || (400..500).contains(&status), "{body} answered {status}: {text}");
        if status != 200 {
            assert!(text.starts_with("<ErrorResponse>") && text.contains("<Code>"), "{body}: {text}");
        }
        *statuses.entry(status).or_insert(0) += 1;
    }
    assert!(statuses.contains_key(&200) && statuses.contains_key(&400), "query: {statuses:?}");
}

/// Sends 1,500 random bodies to `operations` under the target `prefix`.
async fn fuzz(berth: &Berth, prefix: &str, operations: &[&str], fields: &[&str], seed: u64) {
    let client = reqwest::Client::new();
    let mut rng = Rng(seed);
    let mut statuses = std::collections::BTreeMap::new();
    for i in 0..1500 {
        let op = operations[rng.below(operations.len() as u64) as usize];
        let body = if i % 50 == 0 {
            b"{\"unterminated".to_vec()
        } else {
            object(&mut rng, fields, 0).to_string().into_bytes()
        };
        let resp = client
            .post(berth.endpoint())
            .header("x-amz-target", format!("{prefix}.{op}"))
            .header("content-type", "application/x-amz-json-1.1")
            .body(body.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{op} with {}: connection failed: {e}", String::from_utf8_lossy(&body)));
        let status = resp.status().as_u16();
        let answer: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(
            status == 200 || (400..500).contains(&status),
            "{op} with {} answered {status}: {answer}",
            String::from_utf8_lossy(&body)
        );
        if status != 200 {
            assert!(answer["__type"].is_string() && answer["message"].is_string(), "{op}: {answer}");
        }
        *statuses.entry(status).or_insert(0) += 1;
    }
    // Both outcomes occurred, so the bodies reached real handlers and validators.
    assert!(statuses.contains_key(&200) && statuses.contains_key(&400), "{prefix}: {statuses:?}");
    let health = client.get(format!("{}/healthz", berth.endpoint())).send().await.expect("still serving");
    assert_eq!(health.status().as_u16(), 200);
}
