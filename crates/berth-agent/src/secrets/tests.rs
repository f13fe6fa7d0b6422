//! `valueFrom` parsing, planning and resolution against an in-memory source.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::json;

use super::*;

const ARN: &str = "arn:aws:secretsmanager:us-east-1:000000000000:secret:hf-AbCdEf";

fn asm(secret_id: &str, key: Option<&str>, stage: Option<&str>, id: Option<&str>) -> ValueFrom {
    ValueFrom::SecretsManager {
        request: SecretValueRequest {
            secret_id: secret_id.to_owned(),
            version_stage: stage.map(str::to_owned),
            version_id: id.map(str::to_owned),
        },
        json_key: key.map(str::to_owned),
    }
}

#[test]
fn value_from_is_read_as_ecs_reads_it() {
    assert_eq!(ValueFrom::parse(ARN).unwrap(), asm(ARN, None, None, None));
    assert_eq!(ValueFrom::parse(&format!("{ARN}:token::")).unwrap(), asm(ARN, Some("token"), None, None));
    assert_eq!(ValueFrom::parse(&format!("{ARN}::AWSPREVIOUS:")).unwrap(), asm(ARN, None, Some("AWSPREVIOUS"), None));
    assert_eq!(
        ValueFrom::parse(&format!("{ARN}:k:AWSCURRENT:0f1e")).unwrap(),
        asm(ARN, Some("k"), Some("AWSCURRENT"), Some("0f1e"))
    );
    assert_eq!(ValueFrom::parse(&format!("{ARN}:::v1")).unwrap(), asm(ARN, None, None, Some("v1")));
    // Only the full suffix (three fields, each possibly empty) is one.
    for bad in [
        format!("{ARN}:token"),
        format!("{ARN}:token:AWSCURRENT"),
        format!("{ARN}:a:b:c:d"),
        "arn:aws:secretsmanager:us-east-1:000000000000:secret".to_owned(),
        "arn:aws:secretsmanager:us-east-1:000000000000:secret:".to_owned(),
        "arn:aws:secretsmanager:us-east-1:000000000000:other:x".to_owned(),
        "arn:aws:secretsmanager".to_owned(),
    ] {
        let err = ValueFrom::parse(&bad).unwrap_err();
        assert!(err.starts_with("an invalid ARN format for the AWS Secrets Manager secret"), "{bad}: {err}");
    }
    // Everything else is an SSM parameter, by name or ARN, as given.
    for ssm in ["db-password", "/prod/db/password", "arn:aws:ssm:us-east-1:000000000000:parameter/prod/db", "p:3"] {
        assert_eq!(ValueFrom::parse(ssm).unwrap(), ValueFrom::Parameter(ssm.to_owned()));
    }
    assert!(ValueFrom::parse(" ").is_err());
}

fn defs(containers: serde_json::Value) -> Vec<ContainerDefinition> {
    serde_json::from_value(containers).unwrap()
}

#[test]
fn the_plan_lists_every_need_and_refuses_what_cannot_work() {
    let d = defs(json!([
        {"name": "app", "image": "registry.example.com/app:1",
         "repositoryCredentials": {"credentialsParameter": "regcred"},
         "secrets": [{"name": "HF_TOKEN", "valueFrom": ARN}, {"name": "DB", "valueFrom": "/prod/db"}],
         "logConfiguration": {"logDriver": "splunk", "options": {"splunk-url": "https://s"},
                              "secretOptions": [{"name": "splunk-token", "valueFrom": "/splunk/token"}]}},
        {"name": "side", "image": "busybox"},
    ]));
    let needs = plan(&d).unwrap();
    assert_eq!(
        needs,
        vec![
            Need { used_for: Use::Registry { container: 0 }, from: asm("regcred", None, None, None) },
            Need { used_for: Use::Env { container: 0, name: "HF_TOKEN".into() }, from: asm(ARN, None, None, None) },
            Need {
                used_for: Use::Env { container: 0, name: "DB".into() },
                from: ValueFrom::Parameter("/prod/db".into())
            },
            Need {
                used_for: Use::LogOption { container: 0, name: "splunk-token".into() },
                from: ValueFrom::Parameter("/splunk/token".into()),
            },
        ]
    );
    assert!(plan(&defs(json!([{"name": "a", "image": "b"}]))).unwrap().is_empty());

    let awslogs = defs(json!([{"name": "app", "image": "b", "logConfiguration": {"logDriver": "awslogs",
        "secretOptions": [{"name": "x", "valueFrom": "/x"}]}}]));
    let err = plan(&awslogs).unwrap_err();
    assert!(err.starts_with(REASON_PREFIX) && err.contains("awslogs log driver, which has no secret options"), "{err}");
    let bad_arn =
        defs(json!([{"name": "app", "image": "b", "secrets": [{"name": "T", "valueFrom": format!("{ARN}:k")}]}]));
    let err = plan(&bad_arn).unwrap_err();
    assert_eq!(
        err,
        format!(
            "{REASON_PREFIX}unable to retrieve secret from asm: trying to retrieve secret with value {ARN}:k resulted in \
             error: an invalid ARN format for the AWS Secrets Manager secret was specified. Specify a valid ARN and try \
             again."
        )
    );
    let bad_name = defs(json!([{"name": "app", "image": "b", "secrets": [{"name": "A=B", "valueFrom": "/x"}]}]));
    assert!(plan(&bad_name).unwrap_err().contains("name 'A=B' is not a valid"));

    let needs = plan(&d).unwrap();
    assert_eq!(
        no_execution_role(&needs, "app"),
        format!(
            "{REASON_PREFIX}When you are specifying repositoryCredentials, you must also specify a value for \
             'executionRoleArn' (container app)."
        )
    );
}

/// Secrets by (id, stage, version), parameters by name; every call is logged with the session's key.
#[derive(Default)]
struct Source {
    secrets: HashMap<(String, Option<String>, Option<String>), Option<String>>,
    parameters: HashMap<String, String>,
    denied: Vec<String>,
    /// Failures worth retrying before the next calls answer.
    unavailable: Mutex<u32>,
    calls: Mutex<Vec<String>>,
}

impl Source {
    fn secret(mut self, id: &str, stage: Option<&str>, value: &str) -> Self {
        self.secrets.insert((id.to_owned(), stage.map(str::to_owned), None), Some(value.to_owned()));
        self
    }

    fn parameter(mut self, name: &str, value: &str) -> Self {
        self.parameters.insert(name.to_owned(), value.to_owned());
        self
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn flaky(&self) -> Option<FetchError> {
        let mut left = self.unavailable.lock().unwrap();
        (*left > 0).then(|| {
            *left -= 1;
            FetchError::Unavailable("connection refused".to_owned())
        })
    }
}

#[async_trait::async_trait]
impl SecretsSource for Source {
    async fn get_secret_value(
        &self,
        session: &TaskCredentials,
        request: &SecretValueRequest,
    ) -> Result<Option<String>, FetchError> {
        self.calls.lock().unwrap().push(format!(
            "{} asm {} {:?} {:?}",
            session.access_key_id, request.secret_id, request.version_stage, request.version_id
        ));
        if let Some(e) = self.flaky() {
            return Err(e);
        }
        if self.denied.contains(&request.secret_id) {
            return Err(FetchError::Refused {
                code: "AccessDeniedException".into(),
                message: format!("not authorized to perform: secretsmanager:GetSecretValue on {}", request.secret_id),
            });
        }
        let key = (request.secret_id.clone(), request.version_stage.clone(), request.version_id.clone());
        self.secrets.get(&key).cloned().ok_or_else(|| FetchError::Refused {
            code: "ResourceNotFoundException".into(),
            message: "Secrets Manager can't find the specified secret.".into(),
        })
    }

    async fn get_parameters(&self, session: &TaskCredentials, names: &[String]) -> Result<Parameters, FetchError> {
        self.calls.lock().unwrap().push(format!("{} ssm {}", session.access_key_id, names.join(",")));
        if let Some(e) = self.flaky() {
            return Err(e);
        }
        if names.iter().any(|n| self.denied.contains(n)) {
            return Err(FetchError::Refused {
                code: "AccessDeniedException".into(),
                message: "not authorized to perform: ssm:GetParameters".into(),
            });
        }
        let mut out = Parameters::default();
        for name in names {
            // Asked by ARN, answered by name (as SSM does).
            let plain = name.rsplit_once(":parameter").map(|(_, n)| n).unwrap_or(name);
            match self.parameters.get(plain) {
                Some(value) => out.values.push(Parameter {
                    name: plain.to_owned(),
                    arn: format!("arn:aws:ssm:us-east-1:000000000000:parameter{plain}"),
                    selector: None,
                    value: value.clone(),
                }),
                None => out.invalid.push(name.clone()),
            }
        }
        Ok(out)
    }
}

fn session() -> TaskCredentials {
    TaskCredentials {
        access_key_id: "ASIAEXEC".into(),
        secret_access_key: "s".into(),
        token: "t".into(),
        expiration: 2e9,
        role_arn: "arn:aws:iam::000000000000:role/exec".into(),
    }
}

#[tokio::test(start_paused = true)]
async fn values_come_grouped_one_call_per_secret_and_per_ten_parameters() {
    let json_secret = r#"{"token": "hf_abc", "port": 5432, "nested": {"a": 1}}"#;
    let mut source = Source::default()
        .secret(ARN, None, json_secret)
        .secret(ARN, Some("AWSPREVIOUS"), "old-value")
        .secret("regcred", None, r#"{"username": "bob", "password": "pw"}"#);
    for n in 0..12 {
        source = source.parameter(&format!("/p/{n}"), &format!("v{n}"));
    }
    let mut secrets = vec![
        json!({"name": "WHOLE", "valueFrom": ARN}),
        json!({"name": "TOKEN", "valueFrom": format!("{ARN}:token::")}),
        json!({"name": "PORT", "valueFrom": format!("{ARN}:port::")}),
        json!({"name": "NESTED", "valueFrom": format!("{ARN}:nested::")}),
        json!({"name": "OLD", "valueFrom": format!("{ARN}::AWSPREVIOUS:")}),
        json!({"name": "BY_ARN", "valueFrom": "arn:aws:ssm:us-east-1:000000000000:parameter/p/0"}),
    ];
    for n in 0..12 {
        secrets.push(json!({"name": format!("P{n}"), "valueFrom": format!("/p/{n}")}));
    }
    let d = defs(json!([
        {"name": "app", "image": "r.example.com/a:1", "secrets": secrets,
         "repositoryCredentials": {"credentialsParameter": "regcred"}},
        // The same parameter in another container: asked for once.
        {"name": "side", "image": "busybox", "secrets": [{"name": "P0", "valueFrom": "/p/0"}]},
    ]));
    let needs = plan(&d).unwrap();
    let values = resolve(&source, &session(), &needs).await.unwrap();
    let resolved = Resolved::sort(&needs, values);
    let env = &resolved.env[&0];
    let get = |name: &str| env.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    assert_eq!(get("WHOLE"), Some(json_secret));
    assert_eq!(get("TOKEN"), Some("hf_abc"));
    assert_eq!(get("PORT"), Some("5432"));
    assert_eq!(get("NESTED"), Some(r#"{"a":1}"#));
    assert_eq!(get("OLD"), Some("old-value"));
    assert_eq!(get("BY_ARN"), Some("v0"));
    assert_eq!(get("P11"), Some("v11"));
    assert_eq!(resolved.env[&1], vec![("P0".to_owned(), "v0".to_owned())]);
    assert_eq!(resolved.registry[&0], r#"{"username": "bob", "password": "pw"}"#);
    let auth = registry_auth(&resolved.registry[&0], "r.example.com/a:1").unwrap();
    assert_eq!((auth.username.as_str(), auth.password.as_str()), ("bob", "pw"));
    assert_eq!(auth.server_address.as_deref(), Some("r.example.com"));
    // Debug output names, never values.
    let shown = format!("{resolved:?}");
    assert!(shown.contains("TOKEN") && !shown.contains("hf_abc") && !shown.contains("pw"), "{shown}");

    let calls = source.calls();
    assert!(calls.iter().all(|c| c.starts_with("ASIAEXEC ")), "{calls:?}");
    let asm: Vec<&String> = calls.iter().filter(|c| c.contains(" asm ")).collect();
    assert_eq!(asm.len(), 3, "one per secret and stage: {asm:?}");
    let ssm: Vec<&String> = calls.iter().filter(|c| c.contains(" ssm ")).collect();
    assert_eq!(ssm.len(), 2, "13 distinct names, ten at a time: {ssm:?}");
    assert_eq!(ssm[0].split(',').count(), 10);
}

#[tokio::test(start_paused = true)]
async fn failures_are_ecs_reasons_that_never_quote_a_value() {
    let reason = |needs_json: serde_json::Value, source: Source| async move {
        let needs = plan(&defs(json!([{"name": "app", "image": "busybox", "secrets": needs_json}]))).unwrap();
        resolve(&source, &session(), &needs).await.unwrap_err()
    };
    let missing = reason(json!([{"name": "A", "valueFrom": ARN}]), Source::default()).await;
    assert_eq!(
        missing,
        format!(
            "{REASON_PREFIX}unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch \
             secret {ARN} from secrets manager: ResourceNotFoundException: Secrets Manager can't find the specified \
             secret."
        )
    );
    let denied = Source { denied: vec!["/x".into()], ..Source::default() };
    let err = reason(json!([{"name": "A", "valueFrom": "/x"}]), denied).await;
    assert_eq!(
        err,
        format!(
            "{REASON_PREFIX}unable to retrieve secrets from ssm: service call has been retried 1 time(s): \
             AccessDeniedException: not authorized to perform: ssm:GetParameters"
        )
    );
    let invalid = reason(
        json!([{"name": "A", "valueFrom": "/there"}, {"name": "B", "valueFrom": "/gone"}, {"name": "C", "valueFrom": "/gone2"}]),
        Source::default().parameter("/there", "v"),
    )
    .await;
    assert_eq!(
        invalid,
        format!("{REASON_PREFIX}unable to retrieve secrets from ssm: invalid parameters: /gone,/gone2")
    );

    // A json key that is not there, a value that is not JSON: described, not quoted.
    let secret_value = r#"{"other": "s3cr3t-value"}"#;
    let err = reason(
        json!([{"name": "A", "valueFrom": format!("{ARN}:token::")}]),
        Source::default().secret(ARN, None, secret_value),
    )
    .await;
    assert_eq!(
        err,
        format!(
            "{REASON_PREFIX}unable to retrieve secret from asm: service call has been retried 1 time(s): retrieved secret \
             from Secrets Manager did not contain json key token"
        )
    );
    let err = reason(
        json!([{"name": "A", "valueFrom": format!("{ARN}:token::")}]),
        Source::default().secret(ARN, None, "s3cr3t-value"),
    )
    .await;
    assert!(err.contains("is not a JSON object") && !err.contains("s3cr3t"), "{err}");
    let err = reason(
        json!([{"name": "A", "valueFrom": format!("{ARN}:token::")}]),
        Source::default().secret(ARN, None, r#""s3cr3t-value""#),
    )
    .await;
    assert!(!err.contains("s3cr3t"), "{err}");
    // A binary secret.
    let mut binary = Source::default();
    binary.secrets.insert((ARN.to_owned(), None, None), None);
    assert!(reason(json!([{"name": "A", "valueFrom": ARN}]), binary).await.contains("has no SecretString"));
    // Registry credentials that are not what ECS reads.
    for (value, what) in [
        ("pw-only", "unable to unmarshal secret value, invalid schema"),
        (r#"{"password": "pw"}"#, "asm fetching username: AuthorizationData is malformed, empty field"),
        (
            r#"{"username": "bob", "password": ""}"#,
            "asm fetching password: AuthorizationData is malformed, empty field",
        ),
    ] {
        let err = registry_auth(value, "busybox").unwrap_err();
        assert!(err.starts_with(REASON_PREFIX) && err.ends_with(what) && !err.contains("pw-only"), "{err}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_server_that_does_not_answer_is_tried_three_times() {
    let source = Source::default().parameter("/x", "v");
    *source.unavailable.lock().unwrap() = 2;
    let needs =
        plan(&defs(json!([{"name": "app", "image": "b", "secrets": [{"name": "A", "valueFrom": "/x"}]}]))).unwrap();
    assert_eq!(resolve(&source, &session(), &needs).await.unwrap(), vec!["v".to_owned()]);
    assert_eq!(source.calls().len(), 3);
    *source.unavailable.lock().unwrap() = 3;
    let err = resolve(&source, &session(), &needs).await.unwrap_err();
    assert_eq!(
        err,
        format!(
            "{REASON_PREFIX}unable to retrieve secrets from ssm: service call has been retried 3 time(s): connection refused"
        )
    );
}
