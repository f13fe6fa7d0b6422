//! Secrets in tasks, the agent's side of ECS's "pass sensitive data to a container": a container's `secrets`
//! (environment variables), `logConfiguration.secretOptions` (log driver options) and
//! `repositoryCredentials.credentialsParameter` (registry credentials for the pull) are resolved when the task
//! starts, with the task's execution role, from the server's own Secrets Manager and SSM Parameter Store.
//!
//! What this module owns:
//! - [`ValueFrom`]: a `valueFrom` as ECS reads it. A Secrets Manager ARN
//!   (`arn:aws:secretsmanager:<region>:<account>:secret:<name>`), optionally followed by
//!   `:<json-key>:<version-stage>:<version-id>` (all three, each possibly empty), names a secret; anything else
//!   names an SSM parameter (a name, or `arn:aws:ssm:...:parameter/<name>`).
//! - [`plan`]: what a task's containers need, and why a task cannot start before anything is fetched (a malformed
//!   `valueFrom`, secret options on `awslogs`, which Berth implements itself).
//! - [`resolve`]: the values, through a [`SecretsSource`] signed as the execution role's session, so IAM decides
//!   exactly as for anyone else: one `GetSecretValue` per distinct secret, stage and version, one `GetParameters`
//!   (`WithDecryption`) per ten parameters. A failure is the task's stop reason, worded as ECS's
//!   (`ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed:
//!   ...`).
//! - [`shim`]: how environment secrets reach a container without Docker's environment (where `docker inspect`
//!   would show them): a file per container that a static env shim reads before it becomes the container's command.
//!
//! The values live in the agent's memory only while the task starts, and in the containers' files (removed when
//! the task stops). They never go to logs, labels, reports or error messages: stop reasons name secrets by their
//! `valueFrom` only, and values that are not what they should be (not JSON, no such key, no username) are
//! described, never quoted.
//!
//! The engine decides when (`engine::task`, phase `Secrets`): after the task role's credentials and web identity
//! tokens, before any image is pulled or container created.

use std::collections::BTreeMap;
use std::time::Duration;

use berth_model::agent::TaskCredentials;
use berth_model::taskdef::{ContainerDefinition, Secret};
use futures::FutureExt;
use futures::future::BoxFuture;
use futures::stream::{self, StreamExt};
use serde_json::Value;

use crate::credentials::FetchError;
use crate::runtime::RegistryAuth;

pub mod shim;
mod source;

pub use source::{Parameter, Parameters, SecretValueRequest, SecretsSource, ServerSecrets};

/// What every stop reason of this module begins with (ECS's words for an execution resource that failed).
pub const REASON_PREFIX: &str =
    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: ";

/// Most names one `GetParameters` takes.
const PARAMETERS_PER_CALL: usize = 10;
/// Calls in flight at once for one task.
const CONCURRENT_CALLS: usize = 8;
/// Tries of one call whose failure is worth trying again (no answer, a server error).
const ATTEMPTS: u32 = 3;
/// Wait before the second try (doubled for the third).
const RETRY_DELAY: Duration = Duration::from_millis(500);

/// Where a secret's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueFrom {
    /// A Secrets Manager secret: its `SecretString` (of the stage or version when named), whole or one key of it
    /// read as a JSON object.
    SecretsManager { request: SecretValueRequest, json_key: Option<String> },
    /// An SSM parameter, by name or ARN as given (`GetParameters` takes both).
    Parameter(String),
}

impl ValueFrom {
    /// Reads a `valueFrom` as ECS does. `Err`: ECS's words for a malformed Secrets Manager ARN.
    pub fn parse(value_from: &str) -> Result<ValueFrom, String> {
        let parts: Vec<&str> = value_from.split(':').collect();
        let is_asm = parts.len() >= 3 && parts[0] == "arn" && parts[2] == "secretsmanager";
        if !is_asm {
            if value_from.trim().is_empty() {
                return Err("an empty SSM parameter name was specified".to_owned());
            }
            return Ok(ValueFrom::Parameter(value_from.to_owned()));
        }
        let invalid = || {
            "an invalid ARN format for the AWS Secrets Manager secret was specified. Specify a valid ARN and try again."
                .to_owned()
        };
        // arn:partition:secretsmanager:region:account:secret:name[:json-key:version-stage:version-id]
        if parts.get(5) != Some(&"secret") || parts.get(6).is_none_or(|name| name.is_empty()) {
            return Err(invalid());
        }
        match parts.len() {
            7 => Ok(ValueFrom::SecretsManager {
                request: SecretValueRequest { secret_id: value_from.to_owned(), version_stage: None, version_id: None },
                json_key: None,
            }),
            10 => {
                let given = |s: &str| (!s.is_empty()).then(|| s.to_owned());
                Ok(ValueFrom::SecretsManager {
                    request: SecretValueRequest {
                        secret_id: parts[..7].join(":"),
                        version_stage: given(parts[8]),
                        version_id: given(parts[9]),
                    },
                    json_key: given(parts[7]),
                })
            }
            _ => Err(invalid()),
        }
    }
}

/// What a resolved value is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Use {
    /// An environment variable of container `container` (index in the definition).
    Env { container: usize, name: String },
    /// A log driver option of the container.
    LogOption { container: usize, name: String },
    /// The container's registry credentials: a JSON object with `username` and `password`.
    Registry { container: usize },
}

impl Use {
    pub fn container(&self) -> usize {
        match self {
            Use::Env { container, .. } | Use::LogOption { container, .. } | Use::Registry { container } => *container,
        }
    }
}

/// One value a task needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub used_for: Use,
    pub from: ValueFrom,
}

/// What the containers of a task need (`defs`: the container definitions with the task's overrides applied, in
/// the definition's order). `Err`: why the task cannot start, before anything is fetched.
pub fn plan(defs: &[ContainerDefinition]) -> Result<Vec<Need>, String> {
    let mut needs = Vec::new();
    for (i, def) in defs.iter().enumerate() {
        if let Some(parameter) = credentials_parameter(def) {
            if parameter.trim().is_empty() {
                return Err(format!(
                    "{REASON_PREFIX}container {} has an empty repositoryCredentials.credentialsParameter",
                    def.name
                ));
            }
            // A Secrets Manager secret by ARN or name, read whole.
            let request = SecretValueRequest { secret_id: parameter, version_stage: None, version_id: None };
            needs.push(Need {
                used_for: Use::Registry { container: i },
                from: ValueFrom::SecretsManager { request, json_key: None },
            });
        }
        for secret in def.secrets.iter().flatten() {
            check_name(&def.name, "secrets", &secret.name)?;
            needs.push(Need { used_for: Use::Env { container: i, name: secret.name.clone() }, from: parse(secret)? });
        }
        if let Some(log) = &def.log_configuration {
            let options = log.secret_options.as_deref().unwrap_or_default();
            if !options.is_empty() && log.log_driver == "awslogs" {
                return Err(format!(
                    "{REASON_PREFIX}container {} has logConfiguration.secretOptions for the awslogs log driver, which \
                     has no secret options: Berth keeps awslogs output itself. Remove the secretOptions or use another \
                     log driver.",
                    def.name
                ));
            }
            for secret in options {
                check_name(&def.name, "logConfiguration.secretOptions", &secret.name)?;
                needs.push(Need {
                    used_for: Use::LogOption { container: i, name: secret.name.clone() },
                    from: parse(secret)?,
                });
            }
        }
    }
    Ok(needs)
}

fn parse(secret: &Secret) -> Result<ValueFrom, String> {
    ValueFrom::parse(&secret.value_from).map_err(|e| {
        let store = if secret.value_from.starts_with("arn:") && secret.value_from.contains(":secretsmanager:") {
            "unable to retrieve secret from asm"
        } else {
            "unable to retrieve secrets from ssm"
        };
        format!(
            "{REASON_PREFIX}{store}: trying to retrieve secret with value {} resulted in error: {e}",
            secret.value_from
        )
    })
}

/// An environment variable's or option's name: not empty, no `=` and no NUL (they could not be told apart in the
/// environment).
fn check_name(container: &str, field: &str, name: &str) -> Result<(), String> {
    if name.is_empty() || name.contains(['=', '\0']) {
        return Err(format!(
            "{REASON_PREFIX}container {container} has a {field} entry whose name '{}' is not a valid environment \
             variable or option name",
            name.escape_debug()
        ));
    }
    Ok(())
}

/// `repositoryCredentials.credentialsParameter` of a container definition, when set.
pub fn credentials_parameter(def: &ContainerDefinition) -> Option<String> {
    def.extra
        .get("repositoryCredentials")
        .and_then(|c| c.get("credentialsParameter"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The reason for a task with needs but no execution role (neither in the definition nor in RunTask's overrides):
/// ECS's words when a definition has secrets without one, after the prefix. `container`: the first container that
/// needs something.
pub fn no_execution_role(needs: &[Need], container: &str) -> String {
    let what = match needs.first().map(|n| &n.used_for) {
        Some(Use::Registry { .. }) => "repositoryCredentials",
        Some(Use::LogOption { .. }) => "log configuration secretOptions",
        _ => "container secrets",
    };
    format!(
        "{REASON_PREFIX}When you are specifying {what}, you must also specify a value for 'executionRoleArn' \
         (container {container})."
    )
}

/// The reason for an execution role whose credentials could not be had: the server refused them (the role does
/// not exist or does not trust `ecs-tasks.amazonaws.com`: ECS's words for a role it cannot assume), or did not
/// answer.
pub fn execution_role_failure(role_arn: &str, e: &FetchError) -> String {
    match e {
        FetchError::Refused { .. } => format!(
            "{REASON_PREFIX}ECS was unable to assume the role '{role_arn}' that was provided for this task. Please \
             verify that the role being passed has the proper trust relationship and permissions and that your IAM \
             user has permissions to pass this role."
        ),
        FetchError::Unavailable(e) => {
            format!("{REASON_PREFIX}unable to get credentials for the execution role '{role_arn}' from the server: {e}")
        }
    }
}

/// The values of `needs`, in order, read as the execution role's `session`. `Err`: the task's stop reason (the
/// first failure, in the order the needs were listed).
pub async fn resolve(
    source: &dyn SecretsSource,
    session: &TaskCredentials,
    needs: &[Need],
) -> Result<Vec<String>, String> {
    // One call per distinct secret, stage and version; parameters ten at a time.
    let mut secrets: Vec<&SecretValueRequest> = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for need in needs {
        match &need.from {
            ValueFrom::SecretsManager { request, .. } => {
                if !secrets.contains(&request) {
                    secrets.push(request);
                }
            }
            ValueFrom::Parameter(name) => {
                if !names.contains(&name.as_str()) {
                    names.push(name);
                }
            }
        }
    }
    let chunks: Vec<Vec<String>> =
        names.chunks(PARAMETERS_PER_CALL).map(|c| c.iter().map(|n| (*n).to_owned()).collect()).collect();
    let calls: Vec<BoxFuture<'_, Answer>> = secrets
        .iter()
        .map(|r| call(source, session, Call::Secret(r)).boxed())
        .chain(chunks.iter().map(|c| call(source, session, Call::Parameters(c)).boxed()))
        .collect();
    let answers: Vec<Answer> = stream::iter(calls).buffered(CONCURRENT_CALLS).collect().await;
    // The first failed call (in the order above) is the reason.
    let mut secret_strings: Vec<Option<String>> = Vec::with_capacity(secrets.len());
    let mut parameters: Vec<Parameter> = Vec::new();
    for (k, answer) in answers.into_iter().enumerate() {
        match answer {
            Answer::Secret(result) => secret_strings.push(result?),
            Answer::Parameters(result) => {
                let found = result?;
                let asked = chunks.get(k - secrets.len()).map(Vec::as_slice).unwrap_or_default();
                // Those the answer says are invalid, and any it does not answer at all.
                let mut invalid: Vec<&str> = found.invalid.iter().map(String::as_str).collect();
                for name in asked {
                    if !found.values.iter().any(|p| p.answers(name)) && !invalid.contains(&name.as_str()) {
                        invalid.push(name);
                    }
                }
                if !invalid.is_empty() {
                    return Err(format!(
                        "{REASON_PREFIX}unable to retrieve secrets from ssm: invalid parameters: {}",
                        invalid.join(",")
                    ));
                }
                parameters.extend(found.values);
            }
        }
    }
    needs
        .iter()
        .map(|need| match &need.from {
            ValueFrom::SecretsManager { request, json_key } => {
                let at = secrets.iter().position(|r| *r == request).unwrap_or_default();
                let Some(Some(string)) = secret_strings.get(at) else {
                    return Err(format!(
                        "{REASON_PREFIX}unable to retrieve secret from asm: secret {} has no SecretString (a binary \
                         secret cannot be an environment variable, an option or registry credentials)",
                        request.secret_id
                    ));
                };
                match json_key {
                    None => Ok(string.clone()),
                    Some(key) => json_value(string, key, &request.secret_id),
                }
            }
            ValueFrom::Parameter(name) => {
                Ok(parameters.iter().find(|p| p.answers(name)).map(|p| p.value.clone()).unwrap_or_default())
            }
        })
        .collect()
}

/// One call of [`resolve`].
#[derive(Clone, Copy)]
enum Call<'a> {
    Secret(&'a SecretValueRequest),
    Parameters(&'a [String]),
}

/// Its answer (`Err`: the task's stop reason).
enum Answer {
    Secret(Result<Option<String>, String>),
    Parameters(Result<Parameters, String>),
}

/// Makes one call, up to [`ATTEMPTS`] times while it fails in a way worth retrying (no answer, a server error).
async fn call(source: &dyn SecretsSource, session: &TaskCredentials, call: Call<'_>) -> Answer {
    let mut tries = 0;
    let mut delay = RETRY_DELAY;
    loop {
        tries += 1;
        let failed = match call {
            Call::Secret(request) => match source.get_secret_value(session, request).await {
                Ok(value) => return Answer::Secret(Ok(value)),
                Err(e) => e,
            },
            Call::Parameters(names) => match source.get_parameters(session, names).await {
                Ok(found) => return Answer::Parameters(Ok(found)),
                Err(e) => e,
            },
        };
        if matches!(failed, FetchError::Unavailable(_)) && tries < ATTEMPTS {
            tokio::time::sleep(delay).await;
            delay *= 2;
            continue;
        }
        return match call {
            Call::Secret(request) => Answer::Secret(Err(asm_failure(&request.secret_id, &failed, tries))),
            Call::Parameters(_) => Answer::Parameters(Err(format!(
                "{REASON_PREFIX}unable to retrieve secrets from ssm: {}",
                call_failure(&failed, tries)
            ))),
        };
    }
}

/// ECS's account of a failed call: how often it was made, and what the service answered.
fn call_failure(e: &FetchError, tries: u32) -> String {
    format!("service call has been retried {tries} time(s): {}", answer(e))
}

/// What the service answered (`Code: message`), or why nothing came back.
fn answer(e: &FetchError) -> String {
    match e {
        FetchError::Refused { code, message } => format!("{code}: {message}"),
        FetchError::Unavailable(message) => message.clone(),
    }
}

fn asm_failure(secret_id: &str, e: &FetchError, tries: u32) -> String {
    format!(
        "{REASON_PREFIX}unable to retrieve secret from asm: service call has been retried {tries} time(s): failed to \
         fetch secret {secret_id} from secrets manager: {}",
        answer(e)
    )
}

/// One key of a secret string read as a JSON object: strings as they are, other values as JSON text. The errors
/// describe the value, never quote it.
fn json_value(secret_string: &str, key: &str, secret_id: &str) -> Result<String, String> {
    let prefix =
        format!("{REASON_PREFIX}unable to retrieve secret from asm: service call has been retried 1 time(s): ");
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(secret_string) else {
        return Err(format!(
            "{prefix}the value of secret {secret_id} is not a JSON object, so its json key {key} cannot be read"
        ));
    };
    match map.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Ok(other.to_string()),
        None => Err(format!("{prefix}retrieved secret from Secrets Manager did not contain json key {key}")),
    }
}

/// Registry credentials from a secret's value: the JSON ECS's private registry authentication reads,
/// `{"username": ..., "password": ...}`, for the registry of `image`. The errors are ECS's, and never quote the
/// value.
pub fn registry_auth(value: &str, image: &str) -> Result<RegistryAuth, String> {
    let fail = |what: &str| format!("{REASON_PREFIX}unable to retrieve secret from asm: {what}");
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(value) else {
        return Err(fail("asm fetching authorization data: unable to unmarshal secret value, invalid schema"));
    };
    let field = |name: &str| map.get(name).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
    let username =
        field("username").ok_or_else(|| fail("asm fetching username: AuthorizationData is malformed, empty field"))?;
    let password =
        field("password").ok_or_else(|| fail("asm fetching password: AuthorizationData is malformed, empty field"))?;
    Ok(RegistryAuth { username, password, server_address: registry_host(image) })
}

/// The registry host of an image reference (`registry.example.com:5000/app:1` -> `registry.example.com:5000`), or
/// `None` for Docker Hub references.
pub fn registry_host(image: &str) -> Option<String> {
    let (first, _) = image.split_once('/')?;
    (first.contains('.') || first.contains(':') || first == "localhost").then(|| first.to_owned())
}

/// What a task's start resolved, sorted by use: each container's environment secrets (in the definition's order),
/// its secret log driver options and its registry credentials. Its `Debug` shows names, never values.
#[derive(Default, Clone, PartialEq)]
pub struct Resolved {
    pub env: BTreeMap<usize, Vec<(String, String)>>,
    pub log_options: BTreeMap<usize, Vec<(String, String)>>,
    pub registry: BTreeMap<usize, String>,
}

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |m: &BTreeMap<usize, Vec<(String, String)>>| -> BTreeMap<usize, Vec<String>> {
            m.iter().map(|(i, pairs)| (*i, pairs.iter().map(|(n, _)| n.clone()).collect())).collect()
        };
        f.debug_struct("Resolved")
            .field("env", &names(&self.env))
            .field("log_options", &names(&self.log_options))
            .field("registry", &self.registry.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Resolved {
    /// The values of `needs` (as [`resolve`] answered them) by use.
    pub fn sort(needs: &[Need], values: Vec<String>) -> Resolved {
        let mut out = Resolved::default();
        for (need, value) in needs.iter().zip(values) {
            match &need.used_for {
                Use::Env { container, name } => out.env.entry(*container).or_default().push((name.clone(), value)),
                Use::LogOption { container, name } => {
                    out.log_options.entry(*container).or_default().push((name.clone(), value))
                }
                Use::Registry { container } => {
                    out.registry.insert(*container, value);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
