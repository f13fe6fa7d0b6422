//! The shape of a RegisterTaskDefinition request, transcribed from botocore's ECS model
//! (`data/ecs/2014-11-13/service-2.json`, botocore 1.43), and the first pass over a request body.
//!
//! This module owns JSON-level checking: every member the model knows is checked for its JSON type, its enum
//! values and (for nested shapes) the members the model marks required. Its output is a clean copy of the request:
//! members the model does not know are dropped and `null`s are treated as absent, so what is stored and returned
//! later is exactly the model's fields as sent. Rules about meaning (names, ranges, cross-references) live in
//! `validate.rs`; this pass only guarantees that the typed structs can be built from what it returns.

use serde_json::{Map, Value};

use super::shown;
use crate::ModelError;

/// A member's type, as far as the JSON wire format cares.
pub(super) enum Ty {
    Str,
    /// The model's `Integer`/`BoxedInteger`: a 32-bit signed integer.
    Int,
    Bool,
    /// A string restricted to these values.
    Enum(&'static [&'static str]),
    List(&'static Ty),
    /// A map from string to string.
    StrMap,
    Struct(&'static [Member]),
}

pub(super) struct Member {
    pub(super) name: &'static str,
    pub(super) ty: Ty,
    pub(super) required: bool,
}

const fn opt(name: &'static str, ty: Ty) -> Member {
    Member { name, ty, required: false }
}

const fn req(name: &'static str, ty: Ty) -> Member {
    Member { name, ty, required: true }
}

const STR_LIST: Ty = Ty::List(&Ty::Str);

pub(super) const NETWORK_MODES: &[&str] = &["bridge", "host", "awsvpc", "none"];
pub(super) const COMPATIBILITIES: &[&str] = &["EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"];
pub(super) const LOG_DRIVERS: &[&str] =
    &["json-file", "syslog", "journald", "gelf", "fluentd", "awslogs", "splunk", "awsfirelens"];
pub(super) const ULIMIT_NAMES: &[&str] = &[
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];
pub(super) const CONDITIONS: &[&str] = &["START", "COMPLETE", "SUCCESS", "HEALTHY"];
const OS_FAMILIES: &[&str] = &[
    "WINDOWS_SERVER_2019_FULL",
    "WINDOWS_SERVER_2019_CORE",
    "WINDOWS_SERVER_2016_FULL",
    "WINDOWS_SERVER_2004_CORE",
    "WINDOWS_SERVER_2022_CORE",
    "WINDOWS_SERVER_2022_FULL",
    "WINDOWS_SERVER_2025_CORE",
    "WINDOWS_SERVER_2025_FULL",
    "WINDOWS_SERVER_20H2_CORE",
    "LINUX",
];

const KEY_VALUE_PAIR: &[Member] = &[opt("name", Ty::Str), opt("value", Ty::Str)];
const SECRET: &[Member] = &[req("name", Ty::Str), req("valueFrom", Ty::Str)];

const PORT_MAPPING: &[Member] = &[
    opt("containerPort", Ty::Int),
    opt("hostPort", Ty::Int),
    opt("protocol", Ty::Enum(&["tcp", "udp"])),
    opt("name", Ty::Str),
    opt("appProtocol", Ty::Enum(&["http", "http2", "grpc"])),
    opt("containerPortRange", Ty::Str),
];

const LINUX_PARAMETERS: &[Member] = &[
    opt("capabilities", Ty::Struct(&[opt("add", STR_LIST), opt("drop", STR_LIST)])),
    opt(
        "devices",
        Ty::List(&Ty::Struct(&[
            req("hostPath", Ty::Str),
            opt("containerPath", Ty::Str),
            opt("permissions", Ty::List(&Ty::Enum(&["read", "write", "mknod"]))),
        ])),
    ),
    opt("initProcessEnabled", Ty::Bool),
    opt("sharedMemorySize", Ty::Int),
    opt(
        "tmpfs",
        Ty::List(&Ty::Struct(&[req("containerPath", Ty::Str), req("size", Ty::Int), opt("mountOptions", STR_LIST)])),
    ),
    opt("maxSwap", Ty::Int),
    opt("swappiness", Ty::Int),
];

/// Every member of `ContainerDefinition`, in the model's order.
pub(super) const CONTAINER_DEFINITION: &[Member] = &[
    opt("name", Ty::Str),
    opt("image", Ty::Str),
    opt("repositoryCredentials", Ty::Struct(&[req("credentialsParameter", Ty::Str)])),
    opt("cpu", Ty::Int),
    opt("memory", Ty::Int),
    opt("memoryReservation", Ty::Int),
    opt("links", STR_LIST),
    opt("portMappings", Ty::List(&Ty::Struct(PORT_MAPPING))),
    opt("essential", Ty::Bool),
    opt(
        "restartPolicy",
        Ty::Struct(&[
            req("enabled", Ty::Bool),
            opt("ignoredExitCodes", Ty::List(&Ty::Int)),
            opt("restartAttemptPeriod", Ty::Int),
        ]),
    ),
    opt("entryPoint", STR_LIST),
    opt("command", STR_LIST),
    opt("environment", Ty::List(&Ty::Struct(KEY_VALUE_PAIR))),
    opt("environmentFiles", Ty::List(&Ty::Struct(&[req("value", Ty::Str), req("type", Ty::Enum(&["s3"]))]))),
    opt(
        "mountPoints",
        Ty::List(&Ty::Struct(&[
            opt("sourceVolume", Ty::Str),
            opt("containerPath", Ty::Str),
            opt("readOnly", Ty::Bool),
        ])),
    ),
    opt("volumesFrom", Ty::List(&Ty::Struct(&[opt("sourceContainer", Ty::Str), opt("readOnly", Ty::Bool)]))),
    opt("linuxParameters", Ty::Struct(LINUX_PARAMETERS)),
    opt("secrets", Ty::List(&Ty::Struct(SECRET))),
    opt("dependsOn", Ty::List(&Ty::Struct(&[req("containerName", Ty::Str), req("condition", Ty::Enum(CONDITIONS))]))),
    opt("startTimeout", Ty::Int),
    opt("stopTimeout", Ty::Int),
    opt("versionConsistency", Ty::Enum(&["enabled", "disabled"])),
    opt("hostname", Ty::Str),
    opt("user", Ty::Str),
    opt("workingDirectory", Ty::Str),
    opt("disableNetworking", Ty::Bool),
    opt("privileged", Ty::Bool),
    opt("readonlyRootFilesystem", Ty::Bool),
    opt("dnsServers", STR_LIST),
    opt("dnsSearchDomains", STR_LIST),
    opt("extraHosts", Ty::List(&Ty::Struct(&[req("hostname", Ty::Str), req("ipAddress", Ty::Str)]))),
    opt("dockerSecurityOptions", STR_LIST),
    opt("interactive", Ty::Bool),
    opt("pseudoTerminal", Ty::Bool),
    opt("dockerLabels", Ty::StrMap),
    opt(
        "ulimits",
        Ty::List(&Ty::Struct(&[
            req("name", Ty::Enum(ULIMIT_NAMES)),
            req("softLimit", Ty::Int),
            req("hardLimit", Ty::Int),
        ])),
    ),
    opt(
        "logConfiguration",
        Ty::Struct(&[
            req("logDriver", Ty::Enum(LOG_DRIVERS)),
            opt("options", Ty::StrMap),
            opt("secretOptions", Ty::List(&Ty::Struct(SECRET))),
        ]),
    ),
    opt(
        "healthCheck",
        Ty::Struct(&[
            req("command", STR_LIST),
            opt("interval", Ty::Int),
            opt("timeout", Ty::Int),
            opt("retries", Ty::Int),
            opt("startPeriod", Ty::Int),
        ]),
    ),
    opt("systemControls", Ty::List(&Ty::Struct(&[opt("namespace", Ty::Str), opt("value", Ty::Str)]))),
    opt(
        "resourceRequirements",
        Ty::List(&Ty::Struct(&[req("value", Ty::Str), req("type", Ty::Enum(&["GPU", "InferenceAccelerator"]))])),
    ),
    opt(
        "firelensConfiguration",
        Ty::Struct(&[req("type", Ty::Enum(&["fluentd", "fluentbit"])), opt("options", Ty::StrMap)]),
    ),
    opt("credentialSpecs", STR_LIST),
];

const EFS_VOLUME: &[Member] = &[
    req("fileSystemId", Ty::Str),
    opt("rootDirectory", Ty::Str),
    opt("transitEncryption", Ty::Enum(&["ENABLED", "DISABLED"])),
    opt("transitEncryptionPort", Ty::Int),
    opt(
        "authorizationConfig",
        Ty::Struct(&[opt("accessPointId", Ty::Str), opt("iam", Ty::Enum(&["ENABLED", "DISABLED"]))]),
    ),
];

const VOLUME: &[Member] = &[
    opt("name", Ty::Str),
    opt("host", Ty::Struct(&[opt("sourcePath", Ty::Str)])),
    opt(
        "dockerVolumeConfiguration",
        Ty::Struct(&[
            opt("scope", Ty::Enum(&["task", "shared"])),
            opt("autoprovision", Ty::Bool),
            opt("driver", Ty::Str),
            opt("driverOpts", Ty::StrMap),
            opt("labels", Ty::StrMap),
        ]),
    ),
    opt("efsVolumeConfiguration", Ty::Struct(EFS_VOLUME)),
    opt(
        "s3filesVolumeConfiguration",
        Ty::Struct(&[
            req("fileSystemArn", Ty::Str),
            opt("rootDirectory", Ty::Str),
            opt("transitEncryptionPort", Ty::Int),
            opt("accessPointArn", Ty::Str),
        ]),
    ),
    opt(
        "fsxWindowsFileServerVolumeConfiguration",
        Ty::Struct(&[
            req("fileSystemId", Ty::Str),
            req("rootDirectory", Ty::Str),
            req("authorizationConfig", Ty::Struct(&[req("credentialsParameter", Ty::Str), req("domain", Ty::Str)])),
        ]),
    ),
    opt("configuredAtLaunch", Ty::Bool),
];

/// Every member of `RegisterTaskDefinitionRequest`. `family` and `containerDefinitions` are required by the model,
/// but their absence is reported by `validate.rs` with ECS's own wording, so they are not marked required here.
pub(super) const REGISTER_REQUEST: &[Member] = &[
    opt("family", Ty::Str),
    opt("taskRoleArn", Ty::Str),
    opt("executionRoleArn", Ty::Str),
    opt("networkMode", Ty::Enum(NETWORK_MODES)),
    opt("containerDefinitions", Ty::List(&Ty::Struct(CONTAINER_DEFINITION))),
    opt("volumes", Ty::List(&Ty::Struct(VOLUME))),
    opt(
        "placementConstraints",
        Ty::List(&Ty::Struct(&[opt("type", Ty::Enum(&["memberOf"])), opt("expression", Ty::Str)])),
    ),
    opt("requiresCompatibilities", Ty::List(&Ty::Enum(COMPATIBILITIES))),
    opt("cpu", Ty::Str),
    opt("memory", Ty::Str),
    opt("tags", Ty::List(&Ty::Struct(&[opt("key", Ty::Str), opt("value", Ty::Str)]))),
    opt("pidMode", Ty::Enum(&["host", "task"])),
    opt("ipcMode", Ty::Enum(&["host", "task", "none"])),
    opt(
        "proxyConfiguration",
        Ty::Struct(&[
            opt("type", Ty::Enum(&["APPMESH"])),
            req("containerName", Ty::Str),
            opt("properties", Ty::List(&Ty::Struct(KEY_VALUE_PAIR))),
        ]),
    ),
    opt("inferenceAccelerators", Ty::List(&Ty::Struct(&[req("deviceName", Ty::Str), req("deviceType", Ty::Str)]))),
    opt("ephemeralStorage", Ty::Struct(&[req("sizeInGiB", Ty::Int)])),
    opt(
        "runtimePlatform",
        Ty::Struct(&[
            opt("cpuArchitecture", Ty::Enum(&["X86_64", "ARM64"])),
            opt("operatingSystemFamily", Ty::Enum(OS_FAMILIES)),
        ]),
    ),
    opt("enableFaultInjection", Ty::Bool),
];

/// Checks a request body against [`REGISTER_REQUEST`] and returns its clean copy (see the module docs).
pub(super) fn clean_request(body: &Value) -> Result<Map<String, Value>, ModelError> {
    let Value::Object(object) = body else {
        return Err(ModelError::invalid("The request body must be a JSON object."));
    };
    clean_struct(REGISTER_REQUEST, object, "")
}

fn join(path: &str, member: &str) -> String {
    if path.is_empty() { member.to_owned() } else { format!("{path}.{member}") }
}

fn clean_struct(members: &[Member], object: &Map<String, Value>, path: &str) -> Result<Map<String, Value>, ModelError> {
    let mut clean = Map::new();
    // Walk the model's members rather than the input's keys: unknown keys are dropped without being looked at,
    // and errors come out in the model's order whatever order the client sent.
    for member in members {
        let member_path = join(path, member.name);
        match object.get(member.name) {
            None | Some(Value::Null) => {
                if member.required {
                    return Err(ModelError::client(format!("{member_path} should not be null or empty.")));
                }
            }
            Some(value) => {
                clean.insert(member.name.to_owned(), clean_value(&member.ty, value, &member_path)?);
            }
        }
    }
    Ok(clean)
}

fn type_error(path: &str, what: &str) -> ModelError {
    ModelError::invalid(format!("{path} must be {what}"))
}

fn clean_value(ty: &Ty, value: &Value, path: &str) -> Result<Value, ModelError> {
    match ty {
        Ty::Str => match value {
            Value::String(_) => Ok(value.clone()),
            _ => Err(type_error(path, "a string")),
        },
        Ty::Int => match value.as_i64() {
            Some(n) if i32::try_from(n).is_ok() => Ok(value.clone()),
            Some(_) => Err(type_error(path, "an integer between -2147483648 and 2147483647")),
            // Integral floats such as 512.0 are refused too: the model's type is an integer, and accepting them would
            // mean storing a number that is not what the client wrote.
            None => Err(type_error(path, "an integer")),
        },
        Ty::Bool => match value {
            Value::Bool(_) => Ok(value.clone()),
            _ => Err(type_error(path, "a boolean")),
        },
        Ty::Enum(allowed) => match value {
            Value::String(s) if allowed.contains(&s.as_str()) => Ok(value.clone()),
            Value::String(s) => Err(ModelError::invalid(format!(
                "Invalid value '{}' for {path}: must be one of {}.",
                shown(s),
                allowed.join(", ")
            ))),
            _ => Err(type_error(path, "a string")),
        },
        Ty::List(item) => match value {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| clean_value(item, v, &format!("{path}[{i}]")))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            _ => Err(type_error(path, "a list")),
        },
        Ty::StrMap => match value {
            Value::Object(map) => {
                for (key, v) in map {
                    if !v.is_string() {
                        return Err(type_error(&format!("{path}.{}", shown(key)), "a string"));
                    }
                }
                Ok(value.clone())
            }
            _ => Err(type_error(path, "a map of strings to strings")),
        },
        Ty::Struct(members) => match value {
            Value::Object(object) => clean_struct(members, object, path).map(Value::Object),
            _ => Err(type_error(path, "an object")),
        },
    }
}
