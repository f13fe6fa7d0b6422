//! Secrets in tasks: resolution with the execution role, files and the env shim, registry credentials, secret log
//! options, every failure before any container, cleanup; and Berth's CA for tasks with a role.

use std::collections::HashMap;
use std::path::Path;

use berth_model::agent::TaskCredentials;

use super::*;
use crate::credentials::FetchError;
use crate::secrets::{self, Parameter, Parameters, REASON_PREFIX, SecretValueRequest, SecretsSource, shim};

const SECRET: &str = "arn:aws:secretsmanager:us-east-1:000000000000:secret:hf-AbCdEf";
const HF_TOKEN: &str = "hf_s3cr3t-token-value";
const PREVIOUS: &str = "previous-s3cr3t";
const DB_PASSWORD: &str = "db-pa55word\nwith a newline";

/// The server's Secrets Manager and SSM: secrets by `id|stage`, parameters by name; ids in `denied` are refused.
/// Every call is logged with the access key it was signed with.
#[derive(Default)]
pub(super) struct FakeSecrets {
    secrets: Mutex<HashMap<String, String>>,
    parameters: Mutex<HashMap<String, String>>,
    denied: Mutex<Vec<String>>,
    calls: Mutex<Vec<String>>,
}

impl FakeSecrets {
    fn put_secret(&self, id: &str, stage: Option<&str>, value: &str) {
        self.secrets.lock().unwrap().insert(format!("{id}|{}", stage.unwrap_or_default()), value.to_owned());
    }

    fn put_parameter(&self, name: &str, value: &str) {
        self.parameters.lock().unwrap().insert(name.to_owned(), value.to_owned());
    }

    fn deny(&self, id: &str) {
        self.denied.lock().unwrap().push(id.to_owned());
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn denied(&self, id: &str, action: &str) -> FetchError {
        FetchError::Refused {
            code: "AccessDeniedException".into(),
            message: format!(
                "User: arn:aws:sts::000000000000:assumed-role/exec/t is not authorized to perform: {action} on \
                 resource: {id}"
            ),
        }
    }
}

#[async_trait::async_trait]
impl SecretsSource for FakeSecrets {
    async fn get_secret_value(
        &self,
        session: &TaskCredentials,
        request: &SecretValueRequest,
    ) -> Result<Option<String>, FetchError> {
        self.calls.lock().unwrap().push(format!(
            "{} GetSecretValue {} {}",
            session.access_key_id,
            request.secret_id,
            request.version_stage.as_deref().unwrap_or("-")
        ));
        if self.denied.lock().unwrap().contains(&request.secret_id) {
            return Err(self.denied(&request.secret_id, "secretsmanager:GetSecretValue"));
        }
        let key = format!("{}|{}", request.secret_id, request.version_stage.as_deref().unwrap_or_default());
        match self.secrets.lock().unwrap().get(&key) {
            Some(value) => Ok(Some(value.clone())),
            None => Err(FetchError::Refused {
                code: "ResourceNotFoundException".into(),
                message: "Secrets Manager can't find the specified secret.".into(),
            }),
        }
    }

    async fn get_parameters(&self, session: &TaskCredentials, names: &[String]) -> Result<Parameters, FetchError> {
        self.calls.lock().unwrap().push(format!("{} GetParameters {}", session.access_key_id, names.join(",")));
        if let Some(name) = names.iter().find(|n| self.denied.lock().unwrap().contains(n)) {
            return Err(self.denied(name, "ssm:GetParameters"));
        }
        let mut out = Parameters::default();
        for name in names {
            match self.parameters.lock().unwrap().get(name) {
                Some(value) => out.values.push(Parameter {
                    name: name.clone(),
                    arn: format!("arn:aws:ssm:us-east-1:000000000000:parameter{name}"),
                    selector: None,
                    value: value.clone(),
                }),
                None => out.invalid.push(name.clone()),
            }
        }
        Ok(out)
    }
}

/// An engine with a tasks directory and a support directory (for the shim), and the secrets of these tests.
fn harness(root: &Path) -> Harness {
    let h = Harness::with_dirs(Dirs {
        tasks: Some(root.join("tasks")),
        support: Some(root.join("support")),
        ca_bundle: None,
    });
    h.secrets.put_secret(SECRET, None, &format!(r#"{{"token": "{HF_TOKEN}", "port": 8080}}"#));
    h.secrets.put_secret(SECRET, Some("AWSPREVIOUS"), PREVIOUS);
    h.secrets.put_parameter("/prod/db-password", DB_PASSWORD);
    h
}

fn secrets_task(id: &str) -> AssignedTask {
    task(
        id,
        json!([
            {"name": "app", "image": "busybox", "command": ["sh", "-c", "test \"$HF_TOKEN\" = x"],
             "environment": [{"name": "PLAIN", "value": "1"}],
             "secrets": [
                {"name": "HF_TOKEN", "valueFrom": format!("{SECRET}:token::")},
                {"name": "WHOLE", "valueFrom": SECRET},
                {"name": "OLD", "valueFrom": format!("{SECRET}::AWSPREVIOUS:")},
                {"name": "DB_PASSWORD", "valueFrom": "/prod/db-password"},
             ]},
            // No command: the image's entry point and command, through the shim.
            {"name": "side", "image": "model-server:1", "secrets": [{"name": "HF_TOKEN", "valueFrom": format!("{SECRET}:token::")}]},
            {"name": "plain", "image": "busybox", "command": ["sleep", "60"]},
        ]),
        json!({"executionRoleArn": EXECUTION_ROLE}),
    )
}

fn env_file(root: &Path, task: &str, container: &str) -> std::path::PathBuf {
    root.join("tasks").join(task).join("secrets").join(container).join(shim::ENV_FILE)
}

/// Every value a test must never find outside the env files.
fn assert_no_values(what: &str, text: &str) {
    for value in [HF_TOKEN, PREVIOUS, "db-pa55word"] {
        assert!(!text.contains(value), "{what} shows a secret value: {text}");
    }
}

#[tokio::test(start_paused = true)]
async fn secrets_reach_containers_through_a_file_and_the_env_shim_and_nowhere_else() {
    let root = tempfile::tempdir().unwrap();
    let mut h = harness(root.path());
    h.fake.set_image_command("model-server:1", &["/entry.sh"], &["serve"]);
    let t = secrets_task("t-sec");
    h.apply(&[&t]).await;
    h.status("RUNNING").await;

    // The execution role's credentials once, then every call as that session: one per secret and stage, one for
    // the parameters; the task role is not involved.
    assert_eq!(*h.creds.execution_calls.lock().unwrap(), vec![t.task.task_arn.clone()]);
    assert!(h.creds.calls().is_empty());
    let mut calls = h.secrets.calls();
    calls.sort();
    assert_eq!(
        calls,
        vec![
            format!("ASIAEXEC1 GetParameters /prod/db-password"),
            format!("ASIAEXEC1 GetSecretValue {SECRET} -"),
            format!("ASIAEXEC1 GetSecretValue {SECRET} AWSPREVIOUS"),
        ]
    );

    // The files: NUL-separated, readable inside, private on the host.
    let app = std::fs::read(env_file(root.path(), "t-sec", "app")).unwrap();
    let whole = format!(r#"{{"token": "{HF_TOKEN}", "port": 8080}}"#);
    assert_eq!(
        String::from_utf8(app).unwrap(),
        format!("HF_TOKEN={HF_TOKEN}\0WHOLE={whole}\0OLD={PREVIOUS}\0DB_PASSWORD={DB_PASSWORD}\0")
    );
    assert_eq!(
        std::fs::read(env_file(root.path(), "t-sec", "side")).unwrap(),
        format!("HF_TOKEN={HF_TOKEN}\0").as_bytes()
    );
    assert!(!root.path().join("tasks/t-sec/secrets/plain").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&env_file(root.path(), "t-sec", "app")), 0o444);
        assert_eq!(mode(&root.path().join("tasks/t-sec/secrets")), 0o700);
        assert_eq!(mode(&root.path().join("support").join(shim::SHIM_FILE)), 0o555);
    }
    assert_eq!(std::fs::read(root.path().join("support").join(shim::SHIM_FILE)).unwrap(), shim::ENV_SHIM);

    // The containers start through the shim with their real command; the directory and the shim are mounted
    // read-only; their environment is the definition's and the agent's, without the secrets.
    let spec = h.fake.spec("app").unwrap();
    assert_eq!(
        spec.definition.entry_point,
        Some(vec!["/run/berth/shim".to_owned(), "/run/berth/secrets/env".to_owned()])
    );
    assert_eq!(
        spec.definition.command,
        Some(vec!["sh".to_owned(), "-c".to_owned(), "test \"$HF_TOKEN\" = x".to_owned()])
    );
    let mounts: Vec<(String, String, Option<bool>)> = spec
        .definition
        .mount_points
        .iter()
        .map(|m| {
            let source = match spec.volumes.get(m.source_volume.as_deref().unwrap()) {
                Some(VolumeSource::HostPath(p)) => p.clone(),
                other => panic!("{other:?}"),
            };
            (source, m.container_path.clone().unwrap(), m.read_only)
        })
        .collect();
    let dir = root.path().join("tasks/t-sec/secrets/app").to_string_lossy().into_owned();
    let shim_file = root.path().join("support").join(shim::SHIM_FILE).to_string_lossy().into_owned();
    assert_eq!(
        mounts,
        vec![(dir, "/run/berth/secrets".to_owned(), Some(true)), (shim_file, "/run/berth/shim".to_owned(), Some(true))]
    );
    let side = h.fake.spec("side").unwrap();
    assert_eq!(side.definition.command, Some(vec!["/entry.sh".to_owned(), "serve".to_owned()]));
    assert!(h.fake.calls().contains(&FakeCall::ImageCommand { image: "model-server:1".into() }));
    // Tasks' other containers are created as ever.
    let plain = h.fake.spec("plain").unwrap();
    assert_eq!(
        (plain.definition.entry_point, plain.definition.command),
        (None, Some(vec!["sleep".into(), "60".into()]))
    );
    assert!(plain.definition.mount_points.is_empty());

    // Nowhere else: not in the specs (environment, labels), reports, or the metadata endpoint.
    for name in ["app", "side", "plain"] {
        assert_no_values(&format!("spec of {name}"), &format!("{:?}", h.fake.spec(name).unwrap()));
    }
    assert_no_values("reports", &format!("{:?}", h.seen));
    assert_no_values("metadata", &format!("{:?}", h.registry.tasks()));
    // The execution role's credentials are not served to the task.
    assert!(h.registry.credentials().is_empty());

    // The task's stop removes the files.
    h.apply(&[&stopped(&t)]).await;
    let done = h.status("STOPPED").await;
    assert_no_values("the last report", &format!("{done:?}"));
    assert!(!root.path().join("tasks/t-sec").exists(), "the task's secret files are gone");
    assert_eq!(h.secrets.calls().len(), 3, "nothing fetched again");
}

#[tokio::test(start_paused = true)]
async fn tasks_without_secrets_start_as_before() {
    let root = tempfile::tempdir().unwrap();
    let mut h = harness(root.path());
    let t = task("t-none", json!([{"name": "app", "image": "busybox"}]), json!({"executionRoleArn": EXECUTION_ROLE}));
    h.apply(&[&t]).await;
    h.status("RUNNING").await;
    assert!(h.creds.execution_calls.lock().unwrap().is_empty(), "no execution role credentials without a need");
    assert!(h.secrets.calls().is_empty());
    let spec = h.fake.spec("app").unwrap();
    assert_eq!((spec.definition.entry_point, spec.definition.command), (None, None));
    assert!(spec.definition.mount_points.is_empty());
    assert!(!root.path().join("support").join(shim::SHIM_FILE).exists(), "the shim is written when first needed");
    assert!(!h.fake.calls().iter().any(|c| matches!(c, FakeCall::ImageCommand { .. })));
}

/// Runs `t` and returns its STOPPED report, checking that it failed to start with nothing pulled or created.
async fn fails_before_any_container(h: &mut Harness, t: &AssignedTask) -> String {
    h.apply(&[t]).await;
    let done = h.status("STOPPED").await;
    assert_eq!(done.stop_code.as_deref(), Some(stop_code::TASK_FAILED_TO_START));
    let calls = h.fake.calls();
    assert!(
        !calls
            .iter()
            .any(|c| matches!(c, FakeCall::Pull { .. } | FakeCall::Create { .. } | FakeCall::ImagePresent { .. })),
        "nothing pulled or created: {calls:?}"
    );
    assert!(!h.seen.iter().any(|r| r.status.as_deref() == Some("RUNNING")));
    let reason = done.reason.unwrap_or_default();
    assert_no_values("the reason", &reason);
    reason
}

fn with_secret(id: &str, value_from: &str, extra: Value) -> AssignedTask {
    task(id, json!([{"name": "app", "image": "busybox", "secrets": [{"name": "A", "valueFrom": value_from}]}]), extra)
}

#[tokio::test(start_paused = true)]
async fn a_missing_or_denied_secret_stops_the_task_with_ecs_s_reason() {
    let root = tempfile::tempdir().unwrap();
    let exec = json!({"executionRoleArn": EXECUTION_ROLE});

    let mut h = harness(root.path());
    let missing = "arn:aws:secretsmanager:us-east-1:000000000000:secret:gone-AbCdEf";
    let reason = fails_before_any_container(&mut h, &with_secret("t-missing", missing, exec.clone())).await;
    assert_eq!(
        reason,
        format!(
            "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: \
             unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch secret \
             {missing} from secrets manager: ResourceNotFoundException: Secrets Manager can't find the specified \
             secret."
        )
    );
    assert!(!root.path().join("tasks/t-missing").exists());

    let mut h = harness(root.path());
    h.secrets.deny("/prod/db-password");
    let reason = fails_before_any_container(&mut h, &with_secret("t-denied", "/prod/db-password", exec.clone())).await;
    assert!(
        reason.starts_with(&format!(
            "{REASON_PREFIX}unable to retrieve secrets from ssm: service call has been retried 1 time(s): \
             AccessDeniedException: User: arn:aws:sts::000000000000:assumed-role/exec/t is not authorized"
        )),
        "{reason}"
    );

    let mut h = harness(root.path());
    let reason = fails_before_any_container(&mut h, &with_secret("t-nop", "/no/such", exec.clone())).await;
    assert_eq!(reason, format!("{REASON_PREFIX}unable to retrieve secrets from ssm: invalid parameters: /no/such"));

    // A json key the secret lacks: named, the value not shown.
    let mut h = harness(root.path());
    let reason =
        fails_before_any_container(&mut h, &with_secret("t-key", &format!("{SECRET}:nope::"), exec.clone())).await;
    assert!(reason.ends_with("retrieved secret from Secrets Manager did not contain json key nope"), "{reason}");
}

#[tokio::test(start_paused = true)]
async fn what_can_be_seen_before_fetching_stops_the_task_at_once() {
    let root = tempfile::tempdir().unwrap();
    // No execution role: ECS's words.
    let mut h = harness(root.path());
    let reason = fails_before_any_container(&mut h, &with_secret("t-norole", SECRET, json!({}))).await;
    assert_eq!(
        reason,
        format!(
            "{REASON_PREFIX}When you are specifying container secrets, you must also specify a value for \
             'executionRoleArn' (container app)."
        )
    );
    assert!(h.creds.execution_calls.lock().unwrap().is_empty() && h.secrets.calls().is_empty());
    // RunTask's override supplies one.
    let mut overridden = with_secret("t-override", SECRET, json!({}));
    overridden.task.overrides.execution_role_arn = Some(EXECUTION_ROLE.to_owned());
    h.apply(&[&overridden]).await;
    h.until("t-override running", |r| {
        r.task.as_ref() == Some(&overridden.task.task_arn) && r.status.as_deref() == Some("RUNNING")
    })
    .await;

    // A malformed ARN, secret options for awslogs.
    let mut h = harness(root.path());
    let exec = json!({"executionRoleArn": EXECUTION_ROLE});
    let reason = fails_before_any_container(&mut h, &with_secret("t-arn", &format!("{SECRET}:k"), exec.clone())).await;
    assert!(reason.contains("an invalid ARN format for the AWS Secrets Manager secret"), "{reason}");
    let mut h = harness(root.path());
    let awslogs = task(
        "t-awslogs",
        json!([{"name": "app", "image": "busybox", "logConfiguration": {"logDriver": "awslogs",
            "options": {"awslogs-group": "g"}, "secretOptions": [{"name": "x", "valueFrom": "/x"}]}}]),
        exec.clone(),
    );
    let reason = fails_before_any_container(&mut h, &awslogs).await;
    assert!(reason.contains("the awslogs log driver, which has no secret options"), "{reason}");
    assert!(h.secrets.calls().is_empty());

    // An agent without a place for the files.
    let mut h = Harness::new();
    let reason = fails_before_any_container(&mut h, &with_secret("t-nodir", SECRET, exec.clone())).await;
    assert!(reason.contains("no directory for task files"), "{reason}");
}

#[tokio::test(start_paused = true)]
async fn an_execution_role_the_server_refuses_stops_the_task() {
    let root = tempfile::tempdir().unwrap();
    let mut h = harness(root.path());
    h.creds.execution_failures.lock().unwrap().push_back(FetchError::Refused {
        code: "InvalidParameterException".into(),
        message: "ECS was unable to assume the role".into(),
    });
    let reason = fails_before_any_container(
        &mut h,
        &with_secret("t-exec-refused", SECRET, json!({"executionRoleArn": EXECUTION_ROLE})),
    )
    .await;
    assert_eq!(
        reason,
        format!(
            "{REASON_PREFIX}ECS was unable to assume the role '{EXECUTION_ROLE}' that was provided for this task. \
             Please verify that the role being passed has the proper trust relationship and permissions and that your \
             IAM user has permissions to pass this role."
        )
    );
    assert!(h.secrets.calls().is_empty());
    // A server that does not answer at first is retried.
    for _ in 0..2 {
        h.creds.execution_failures.lock().unwrap().push_back(FetchError::Unavailable("connection refused".into()));
    }
    let t = with_secret("t-exec-retried", SECRET, json!({"executionRoleArn": EXECUTION_ROLE}));
    h.apply(&[&t]).await;
    h.until("retried task running", |r| {
        r.task.as_ref() == Some(&t.task.task_arn) && r.status.as_deref() == Some("RUNNING")
    })
    .await;
    assert_eq!(h.creds.execution_calls.lock().unwrap().len(), 4);
}

#[tokio::test(start_paused = true)]
async fn registry_credentials_come_from_secrets_manager() {
    let root = tempfile::tempdir().unwrap();
    let mut h = harness(root.path());
    h.fake.remove_image("registry.example.com/app:1");
    h.fake.remove_image("registry.example.com/other:1");
    let param = "arn:aws:secretsmanager:us-east-1:000000000000:secret:regcred-AbCdEf";
    h.secrets.put_secret(param, None, r#"{"username": "bob", "password": "pw-s3cr3t"}"#);
    let exec = json!({"executionRoleArn": EXECUTION_ROLE});
    let good = task(
        "t-cred",
        json!([
            {"name": "app", "image": "registry.example.com/app:1", "repositoryCredentials": {"credentialsParameter": param}},
            {"name": "twin", "image": "registry.example.com/app:1", "repositoryCredentials": {"credentialsParameter": param}},
        ]),
        exec.clone(),
    );
    h.apply(&[&good]).await;
    h.status("RUNNING").await;
    let pulls: Vec<_> = h
        .fake
        .calls()
        .into_iter()
        .filter_map(|c| match c {
            FakeCall::Pull { image, auth } => Some((image, auth)),
            _ => None,
        })
        .collect();
    assert_eq!(pulls.len(), 1, "one pull for the two containers: {pulls:?}");
    let auth = pulls[0].1.clone().expect("pulled with credentials");
    assert_eq!((auth.username.as_str(), auth.password.as_str()), ("bob", "pw-s3cr3t"));
    assert_eq!(auth.server_address.as_deref(), Some("registry.example.com"));
    assert_eq!(h.secrets.calls(), vec![format!("ASIAEXEC1 GetSecretValue {param} -")], "asked once");
    // Registry credentials need no file and no shim.
    assert_eq!(h.fake.spec("app").unwrap().definition.entry_point, None);
    assert!(!root.path().join("tasks/t-cred").exists());
    assert!(!format!("{:?}", h.seen).contains("pw-s3cr3t"));

    // A secret that is not there, or not credentials: the task fails before the pull.
    let missing = "arn:aws:secretsmanager:us-east-1:000000000000:secret:nope";
    let bad = task(
        "t-nocred",
        json!([{"name": "app", "image": "registry.example.com/other:1", "repositoryCredentials": {"credentialsParameter": missing}}]),
        exec.clone(),
    );
    let mut h2 = harness(root.path());
    let reason = fails_before_any_container(&mut h2, &bad).await;
    assert!(
        reason.contains(&format!("failed to fetch secret {missing} from secrets manager: ResourceNotFoundException"))
    );
    let mut h3 = harness(root.path());
    h3.secrets.put_secret(missing, None, "pw-s3cr3t");
    let reason = fails_before_any_container(&mut h3, &bad).await;
    assert!(reason.ends_with("unable to unmarshal secret value, invalid schema") && !reason.contains("pw-s3cr3t"));
    // No execution role.
    let mut h4 = harness(root.path());
    let no_role = task(
        "t-cred-norole",
        json!([{"name": "app", "image": "registry.example.com/other:1", "repositoryCredentials": {"credentialsParameter": missing}}]),
        json!({}),
    );
    let reason = fails_before_any_container(&mut h4, &no_role).await;
    assert!(reason.contains("When you are specifying repositoryCredentials"), "{reason}");
}

#[tokio::test(start_paused = true)]
async fn secret_log_options_go_to_the_log_driver() {
    let root = tempfile::tempdir().unwrap();
    let mut h = harness(root.path());
    h.secrets.put_parameter("/splunk/token", "splunk-s3cr3t");
    let t = task(
        "t-log",
        json!([{"name": "app", "image": "busybox", "logConfiguration": {"logDriver": "splunk",
            "options": {"splunk-url": "https://splunk.example.com"},
            "secretOptions": [{"name": "splunk-token", "valueFrom": "/splunk/token"}]}}]),
        json!({"executionRoleArn": EXECUTION_ROLE}),
    );
    h.apply(&[&t]).await;
    h.status("RUNNING").await;
    let (driver, options) = h.fake.spec("app").unwrap().log_driver.unwrap();
    assert_eq!(driver, "splunk");
    assert_eq!(options.get("splunk-url").map(String::as_str), Some("https://splunk.example.com"));
    assert_eq!(options.get("splunk-token").map(String::as_str), Some("splunk-s3cr3t"));
    // No environment secrets: no shim.
    assert_eq!(h.fake.spec("app").unwrap().definition.entry_point, None);
    assert!(!format!("{:?}", h.seen).contains("splunk-s3cr3t"));
}

#[tokio::test(start_paused = true)]
async fn a_stop_while_secrets_are_fetched_leaves_no_files_and_no_container() {
    let root = tempfile::tempdir().unwrap();
    let mut h = harness(root.path());
    // The execution role's credentials take a while (the server is down for the first tries).
    for _ in 0..3 {
        h.creds.execution_failures.lock().unwrap().push_back(FetchError::Unavailable("connection refused".into()));
    }
    let t = secrets_task("t-stop-early");
    h.apply(&[&t]).await;
    h.settle().await;
    h.apply(&[&stopped(&t)]).await;
    let done = h.status("STOPPED").await;
    assert_eq!(done.stop_code, None, "a user stop");
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert!(h.creates().is_empty());
    assert!(h.secrets.calls().is_empty());
    assert!(!root.path().join("tasks/t-stop-early").exists());
}

#[tokio::test(start_paused = true)]
async fn an_orphan_s_secret_files_go_with_its_containers() {
    let root = tempfile::tempdir().unwrap();
    let mut h = harness(root.path());
    let t = with_secret("t-sec-orphan", SECRET, json!({"executionRoleArn": EXECUTION_ROLE}));
    h.apply(&[&t]).await;
    h.status("RUNNING").await;
    assert!(env_file(root.path(), "t-sec-orphan", "app").exists());
    // A restarted agent finds the containers of a task the server no longer assigns it.
    let mut h = h.restart().await;
    assert_eq!(h.engine.adopt_existing().await.unwrap(), 1);
    h.apply(&[]).await;
    h.settle().await;
    assert!(h.fake.container_ids().is_empty());
    eventually("the orphan's secret files deleted", || !root.path().join("tasks/t-sec-orphan").exists()).await;
}

#[tokio::test(start_paused = true)]
async fn an_adopted_task_keeps_its_files_and_is_not_resolved_again() {
    let root = tempfile::tempdir().unwrap();
    let mut h = harness(root.path());
    let t = with_secret("t-sec-adopt", SECRET, json!({"executionRoleArn": EXECUTION_ROLE}));
    h.apply(&[&t]).await;
    let running = h.status("RUNNING").await;
    let server = as_reported(&t, &running);
    let mut h = h.restart().await;
    h.fake.clear_calls();
    h.engine.adopt_existing().await.unwrap();
    h.apply(&[&server]).await;
    h.settle().await;
    assert!(h.creates().is_empty());
    assert!(h.secrets.calls().is_empty() && h.creds.execution_calls.lock().unwrap().is_empty());
    assert!(env_file(root.path(), "t-sec-adopt", "app").exists(), "a restart of the container still finds it");
    h.apply(&[&stopped(&server)]).await;
    h.status("STOPPED").await;
    assert!(!root.path().join("tasks/t-sec-adopt").exists());
}

#[tokio::test(start_paused = true)]
async fn tasks_with_a_role_get_berth_s_ca() {
    let root = tempfile::tempdir().unwrap();
    let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
    let mut h = Harness::with_dirs(Dirs {
        tasks: Some(root.path().join("tasks")),
        support: Some(root.path().join("support")),
        ca_bundle: Some(pem.to_owned()),
    });
    let ca_file = root.path().join("support").join(crate::credentials::ca::FILE);
    assert_eq!(std::fs::read_to_string(&ca_file).unwrap(), pem, "written when the engine starts");
    let with_role = task(
        "t-ca",
        json!([
            {"name": "app", "image": "busybox"},
            {"name": "own", "image": "busybox", "environment": [{"name": "AWS_CA_BUNDLE", "value": "/etc/mine.pem"}]},
        ]),
        json!({"taskRoleArn": ROLE}),
    );
    let without = task("t-no-ca", json!([{"name": "plain", "image": "busybox"}]), json!({}));
    h.apply(&[&with_role, &without]).await;
    h.status("RUNNING").await;
    h.status("RUNNING").await;
    let spec = h.fake.spec("app").unwrap();
    let mount = spec.definition.mount_points.last().expect("the CA mounted");
    assert_eq!(mount.container_path.as_deref(), Some("/etc/berth/ca.pem"));
    assert_eq!(mount.read_only, Some(true));
    assert_eq!(
        spec.volumes.get(mount.source_volume.as_deref().unwrap()),
        Some(&VolumeSource::HostPath(ca_file.to_string_lossy().into_owned()))
    );
    assert_eq!(extra_env(&h, "app", "AWS_CA_BUNDLE").as_deref(), Some("/etc/berth/ca.pem"));
    // A container that names its own bundle keeps it (the file is mounted all the same).
    assert_eq!(extra_env(&h, "own", "AWS_CA_BUNDLE"), None);
    assert_eq!(h.fake.spec("own").unwrap().definition.mount_points.len(), 1);
    // No role: no CA.
    assert_eq!(extra_env(&h, "plain", "AWS_CA_BUNDLE"), None);
    assert!(h.fake.spec("plain").unwrap().definition.mount_points.is_empty());
}

#[test]
fn the_secrets_module_is_what_the_engine_uses() {
    // The engine's reasons all begin as ECS's do.
    assert!(REASON_PREFIX.starts_with("ResourceInitializationError: unable to pull secrets or registry auth"));
    assert!(secrets::shim::available());
}
