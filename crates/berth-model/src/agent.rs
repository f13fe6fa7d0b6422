//! The agent protocol: what the server tells a host to run and what the host reports back.
//!
//! Work flows over `Poll` (a Berth operation under [`AGENT_TARGET_PREFIX`]): a long request that returns the full
//! manifest of the instance's tasks as soon as it differs from the revision the agent last saw, or after the wait
//! ends. Reports go back with the ECS model's `SubmitTaskStateChange`, whose shapes are below; fields the ECS model
//! lacks (stop codes, health, start and stopping times) are Berth extensions that ECS clients never send.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::task::{NetworkBinding, Task};
use crate::taskdef::TaskDefinition;

/// `X-Amz-Target` prefix of the agent-only operations Berth adds to the ECS API (`Poll`).
pub const AGENT_TARGET_PREFIX: &str = "BerthAgentV20261129.";

/// Longest a `Poll` waits for a change, in seconds.
pub const MAX_POLL_WAIT_SECONDS: u32 = 30;

/// `Poll` request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PollRequest {
    pub cluster: String,
    pub container_instance: String,
    /// The manifest revision the agent holds; the call returns once the manifest has changed after it. Absent or 0:
    /// return at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_revision: Option<i64>,
    /// How long to wait for a change, at most [`MAX_POLL_WAIT_SECONDS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_seconds: Option<u32>,
}

/// `Poll` response: every task assigned to the instance, stopped ones included until they are reaped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PollResponse {
    /// Pass back as `afterRevision`.
    pub revision: i64,
    /// The instance's status (ACTIVE, DRAINING, INACTIVE).
    pub instance_status: String,
    pub tasks: Vec<AssignedTask>,
}

/// One task the instance holds: the task as the server knows it (desired status, overrides, what the agent has
/// already reported) and its definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignedTask {
    pub task: Task,
    pub task_definition: TaskDefinition,
}

/// `SubmitTaskStateChange` request (ECS model), with Berth's extensions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskStateChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    /// The task's new lastStatus (PENDING, RUNNING, STOPPING, STOPPED); absent when only containers changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default)]
    pub containers: Vec<ContainerStateChange>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_agents: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_started_at: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_stopped_at: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_stopped_at: Option<f64>,
    /// Berth: the stop code when the host decided the stop (EssentialContainerExited, TaskFailedToStart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_code: Option<String>,
    /// Berth: when the task reached RUNNING on the host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<f64>,
    /// Berth: when the host began stopping the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopping_at: Option<f64>,
}

/// `ContainerStateChange` (ECS model), with Berth's health extension.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStateChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub network_bindings: Vec<NetworkBinding>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// PENDING, RUNNING or STOPPED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Berth: HEALTHY, UNHEALTHY or UNKNOWN when the container has a health check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_status: Option<String>,
}

/// Which of a task's roles credentials are asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskRole {
    /// `taskRoleArn`: what the task's containers act as.
    #[default]
    Task,
    /// `executionRoleArn`: what the agent acts as for the task (private registries, secrets).
    Execution,
}

/// `GetTaskCredentials` request (a Berth agent operation): temporary credentials of one of a task's roles, for a
/// task assigned to the asking instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskCredentialsRequest {
    pub cluster: String,
    pub container_instance: String,
    /// The task's ARN.
    pub task: String,
    #[serde(default)]
    pub role: TaskRole,
}

/// `GetTaskCredentials` response: a session of the role, valid while the task runs and at most until `expiration`
/// (seconds since the epoch). Field names are those of ECS's credentials endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub token: String,
    pub expiration: f64,
    pub role_arn: String,
}

/// `GetTaskWebIdentityToken` request (a Berth agent operation): a token of Berth's OIDC issuer for a task assigned to
/// the asking instance, naming the task's role as its subject and `audience` as its audience. The audience must be
/// one that a container of the task's definition names with the label [`web_identity::AUDIENCE_LABEL`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskWebIdentityTokenRequest {
    pub cluster: String,
    pub container_instance: String,
    /// The task's ARN.
    pub task: String,
    pub audience: String,
}

/// `GetTaskWebIdentityToken` response: a signed JWT (RS256) and when it expires (seconds since the epoch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskWebIdentityToken {
    pub token: String,
    pub expiration: f64,
}

/// Web identity tokens for tasks: the container `dockerLabels` that ask for them (ECS has no field for this).
pub mod web_identity {
    /// A container with this label gets a token of Berth's OIDC issuer for this audience, in a file named by
    /// `AWS_WEB_IDENTITY_TOKEN_FILE`. The task must have a task role (`taskRoleArn`): the token's subject.
    pub const AUDIENCE_LABEL: &str = "berth.web-identity.audience";
    /// Optional, with [`AUDIENCE_LABEL`]: the role (of another STS: AWS IAM, MinIO, Ceph RGW, or Berth's own) the
    /// container's SDKs assume with the token; sets `AWS_ROLE_ARN` and `AWS_ROLE_SESSION_NAME` (the task id).
    pub const ROLE_ARN_LABEL: &str = "berth.web-identity.role-arn";
    /// Where the token's directory is mounted in the container (read-only).
    pub const MOUNT_PATH: &str = "/var/run/secrets/berth/web-identity";
    /// The token file inside [`MOUNT_PATH`].
    pub const TOKEN_FILE: &str = "token";
}

/// Docker labels Berth puts on every container it creates, so an agent finds its containers after a restart.
pub mod labels {
    pub const TASK_ARN: &str = "berth.task-arn";
    pub const CONTAINER_NAME: &str = "berth.container-name";
    pub const CLUSTER: &str = "berth.cluster";
    pub const CONTAINER_INSTANCE: &str = "berth.container-instance";
    pub const TASK_DEFINITION_FAMILY: &str = "berth.task-definition-family";
    pub const TASK_DEFINITION_VERSION: &str = "berth.task-definition-version";
}

/// The agent operation `GetInstanceCredentials`: after registering with its key, an agent asks for the credentials
/// of its container instance's identity, and signs everything else with them; it renews them with themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceCredentialsRequest {
    pub cluster: String,
    pub container_instance: String,
}

/// The answer to [`InstanceCredentialsRequest`]: a session that may call only the agent operations for that
/// instance and the state reports of its tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// Seconds since the epoch.
    pub expiration: f64,
}
