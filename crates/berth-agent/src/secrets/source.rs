//! Where secret values come from: [`ServerSecrets`] calls the server's own Secrets Manager (`GetSecretValue`) and
//! SSM Parameter Store (`GetParameters`) APIs, signed as a session of the task's execution role, so the server's
//! IAM authorization applies exactly as it does for any other caller; tests put their own source in its place.

use std::time::Duration;

use async_trait::async_trait;
use berth_client::{AccessKey, Client};
use berth_model::agent::TaskCredentials;
use serde_json::{Value, json};

use crate::credentials::FetchError;

/// Longest one call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// One `GetSecretValue`: a secret (ARN or name) and, when given, the stage or version of its value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretValueRequest {
    pub secret_id: String,
    pub version_stage: Option<String>,
    pub version_id: Option<String>,
}

/// One parameter of a `GetParameters` answer. Its `Debug` leaves the value out.
#[derive(Clone, PartialEq, Eq)]
pub struct Parameter {
    pub name: String,
    pub arn: String,
    /// `:<version>` or `:<label>` when the name asked for one.
    pub selector: Option<String>,
    pub value: String,
}

impl std::fmt::Debug for Parameter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parameter").field("name", &self.name).field("selector", &self.selector).finish()
    }
}

impl Parameter {
    /// Whether this is the answer for `given`, a name or ARN as asked, with its selector if it had one.
    pub fn answers(&self, given: &str) -> bool {
        let selector = self.selector.as_deref().unwrap_or_default();
        [&self.name, &self.arn].iter().any(|id| given == id.as_str() || given == format!("{id}{selector}"))
    }
}

/// A `GetParameters` answer: the parameters found, and the names it did not find (`InvalidParameters`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parameters {
    pub values: Vec<Parameter>,
    pub invalid: Vec<String>,
}

/// Where secret values come from; every call is made as `session` (the execution role's credentials).
#[async_trait]
pub trait SecretsSource: Send + Sync {
    /// The secret's `SecretString` (`None`: the secret holds a `SecretBinary`).
    async fn get_secret_value(
        &self,
        session: &TaskCredentials,
        request: &SecretValueRequest,
    ) -> Result<Option<String>, FetchError>;

    /// `GetParameters` of `names` (at most 10) with decryption.
    async fn get_parameters(&self, session: &TaskCredentials, names: &[String]) -> Result<Parameters, FetchError>;
}

/// The server's APIs, through the agent's client (its endpoint, CA and connection pool) signed as the session.
pub struct ServerSecrets {
    client: Client,
}

impl ServerSecrets {
    pub fn new(client: Client) -> Self {
        ServerSecrets { client }
    }

    fn as_session(&self, session: &TaskCredentials) -> Client {
        let key = AccessKey {
            access_key_id: session.access_key_id.clone(),
            secret_access_key: session.secret_access_key.clone(),
        };
        self.client.with_session(&key, &session.token)
    }
}

#[async_trait]
impl SecretsSource for ServerSecrets {
    async fn get_secret_value(
        &self,
        session: &TaskCredentials,
        request: &SecretValueRequest,
    ) -> Result<Option<String>, FetchError> {
        let mut body = json!({"SecretId": request.secret_id});
        if let Some(stage) = &request.version_stage {
            body["VersionStage"] = json!(stage);
        }
        if let Some(id) = &request.version_id {
            body["VersionId"] = json!(id);
        }
        let out: Value =
            self.as_session(session).call("secretsmanager.GetSecretValue", &body, Some(CALL_TIMEOUT)).await?;
        Ok(out.get("SecretString").and_then(Value::as_str).map(str::to_owned))
    }

    async fn get_parameters(&self, session: &TaskCredentials, names: &[String]) -> Result<Parameters, FetchError> {
        let body = json!({"Names": names, "WithDecryption": true});
        let out: Value = self.as_session(session).call("AmazonSSM.GetParameters", &body, Some(CALL_TIMEOUT)).await?;
        let text = |v: &Value, field: &str| v.get(field).and_then(Value::as_str).map(str::to_owned);
        let values = out
            .get("Parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|p| Parameter {
                name: text(p, "Name").unwrap_or_default(),
                arn: text(p, "ARN").unwrap_or_default(),
                selector: text(p, "Selector"),
                value: text(p, "Value").unwrap_or_default(),
            })
            .collect();
        let invalid = out
            .get("InvalidParameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        Ok(Parameters { values, invalid })
    }
}
