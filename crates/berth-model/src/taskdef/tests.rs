//! Tests for RegisterTaskDefinition parsing: one valid baseline and one mutation per rule, round trips, units, the
//! Fargate table and requiresAttributes.

#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};

use super::units::{fargate_memory_options, is_fargate_size, parse_cpu, parse_memory};
use super::*;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Client,
    Invalid,
}

fn kind(error: &ModelError) -> Kind {
    match error {
        ModelError::Client(_) => Kind::Client,
        ModelError::InvalidParameter(_) => Kind::Invalid,
    }
}

fn message(error: &ModelError) -> &str {
    match error {
        ModelError::Client(m) | ModelError::InvalidParameter(m) => m,
    }
}

/// A valid EC2 definition touching most rules: two containers, a port mapping, a health check, a dependency and a
/// volume.
fn baseline() -> Value {
    json!({
        "family": "web",
        "containerDefinitions": [
            {
                "name": "app",
                "image": "nginx:1.25",
                "cpu": 256,
                "memory": 512,
                "memoryReservation": 256,
                "portMappings": [{"containerPort": 80, "hostPort": 8080}],
                "healthCheck": {"command": ["CMD-SHELL", "wget -q -O- localhost || exit 1"], "interval": 30},
                "mountPoints": [{"sourceVolume": "data", "containerPath": "/data"}]
            },
            {
                "name": "sidecar",
                "image": "busybox",
                "essential": false,
                "memory": 64,
                "dependsOn": [{"containerName": "app", "condition": "START"}]
            }
        ],
        "volumes": [{"name": "data", "host": {}}]
    })
}

fn parse(body: Value) -> Result<Registration, ModelError> {
    parse_register(body)
}

fn fargate_baseline() -> Value {
    json!({
        "family": "api",
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [{"name": "api", "image": "busybox", "portMappings": [{"containerPort": 8080}]}]
    })
}

#[test]
fn baseline_is_valid() {
    let registration = parse(baseline()).unwrap();
    let def = registration.definition;
    assert_eq!(def.family, "web");
    assert_eq!(def.revision, 0);
    assert_eq!(def.status, "ACTIVE");
    assert_eq!(def.task_definition_arn, None);
    assert_eq!(def.registered_at, None);
    assert_eq!(def.compatibilities, vec!["EC2"]);
    assert!(registration.tags.is_empty());
    assert!(parse(fargate_baseline()).is_ok());
}

type Mutation = fn(&mut Value);

/// Every rule: a mutation of the baseline, the error kind it must produce, and text the message must contain
/// (the field, and the container where there is one).
fn invalid_cases() -> Vec<(&'static str, Mutation, Kind, &'static [&'static str])> {
    vec![
        // JSON types and enums (schema).
        (
            "memory as string",
            |b| b["containerDefinitions"][0]["memory"] = json!("512"),
            Kind::Invalid,
            &["containerDefinitions[0].memory must be an integer"],
        ),
        (
            "memory as float",
            |b| b["containerDefinitions"][0]["memory"] = json!(512.5),
            Kind::Invalid,
            &["containerDefinitions[0].memory must be an integer"],
        ),
        (
            "memory beyond i32",
            |b| b["containerDefinitions"][0]["memory"] = json!(1_i64 << 40),
            Kind::Invalid,
            &["containerDefinitions[0].memory"],
        ),
        (
            "essential as string",
            |b| b["containerDefinitions"][1]["essential"] = json!("no"),
            Kind::Invalid,
            &["containerDefinitions[1].essential must be a boolean"],
        ),
        (
            "command as string",
            |b| b["containerDefinitions"][0]["command"] = json!("sleep 1"),
            Kind::Invalid,
            &["containerDefinitions[0].command must be a list"],
        ),
        (
            "command item as number",
            |b| b["containerDefinitions"][0]["command"] = json!(["sleep", 1]),
            Kind::Invalid,
            &["containerDefinitions[0].command[1] must be a string"],
        ),
        (
            "label value as number",
            |b| b["containerDefinitions"][0]["dockerLabels"] = json!({"tier": 1}),
            Kind::Invalid,
            &["containerDefinitions[0].dockerLabels.tier must be a string"],
        ),
        (
            "environment as object",
            |b| b["containerDefinitions"][0]["environment"] = json!({"A": "1"}),
            Kind::Invalid,
            &["containerDefinitions[0].environment must be a list"],
        ),
        ("family as number", |b| b["family"] = json!(7), Kind::Invalid, &["family must be a string"]),
        ("task cpu as number", |b| b["cpu"] = json!(1024), Kind::Invalid, &["cpu must be a string"]),
        (
            "containers as object",
            |b| b["containerDefinitions"] = json!({"name": "x"}),
            Kind::Invalid,
            &["containerDefinitions must be a list"],
        ),
        (
            "container as string",
            |b| b["containerDefinitions"][1] = json!("sidecar"),
            Kind::Invalid,
            &["containerDefinitions[1] must be an object"],
        ),
        ("network mode", |b| b["networkMode"] = json!("overlay"), Kind::Invalid, &["networkMode", "overlay", "bridge"]),
        (
            "protocol",
            |b| b["containerDefinitions"][0]["portMappings"][0]["protocol"] = json!("sctp"),
            Kind::Invalid,
            &["containerDefinitions[0].portMappings[0].protocol"],
        ),
        (
            "app protocol",
            |b| b["containerDefinitions"][0]["portMappings"][0]["appProtocol"] = json!("http3"),
            Kind::Invalid,
            &["portMappings[0].appProtocol"],
        ),
        (
            "ulimit name",
            |b| b["containerDefinitions"][0]["ulimits"] = json!([{"name": "files", "softLimit": 1, "hardLimit": 1}]),
            Kind::Invalid,
            &["containerDefinitions[0].ulimits[0].name", "nofile"],
        ),
        (
            "log driver",
            |b| b["containerDefinitions"][0]["logConfiguration"] = json!({"logDriver": "loki"}),
            Kind::Invalid,
            &["containerDefinitions[0].logConfiguration.logDriver", "awslogs"],
        ),
        (
            "compatibility",
            |b| b["requiresCompatibilities"] = json!(["LAMBDA"]),
            Kind::Invalid,
            &["requiresCompatibilities[0]"],
        ),
        ("pid mode", |b| b["pidMode"] = json!("container"), Kind::Invalid, &["pidMode"]),
        ("ipc mode", |b| b["ipcMode"] = json!("shareable"), Kind::Invalid, &["ipcMode"]),
        (
            "dependency condition",
            |b| b["containerDefinitions"][1]["dependsOn"][0]["condition"] = json!("READY"),
            Kind::Invalid,
            &["containerDefinitions[1].dependsOn[0].condition"],
        ),
        (
            "resource type",
            |b| b["containerDefinitions"][0]["resourceRequirements"] = json!([{"type": "TPU", "value": "1"}]),
            Kind::Invalid,
            &["resourceRequirements[0].type"],
        ),
        (
            "volume scope",
            |b| b["volumes"][0] = json!({"name": "data", "dockerVolumeConfiguration": {"scope": "global"}}),
            Kind::Invalid,
            &["volumes[0].dockerVolumeConfiguration.scope"],
        ),
        (
            "placement type",
            |b| b["placementConstraints"] = json!([{"type": "distinctInstance"}]),
            Kind::Invalid,
            &["placementConstraints[0].type"],
        ),
        (
            "ulimit without softLimit",
            |b| b["containerDefinitions"][0]["ulimits"] = json!([{"name": "nofile", "hardLimit": 1}]),
            Kind::Client,
            &["containerDefinitions[0].ulimits[0].softLimit should not be null or empty"],
        ),
        (
            "health check without command",
            |b| b["containerDefinitions"][0]["healthCheck"] = json!({"interval": 10}),
            Kind::Client,
            &["containerDefinitions[0].healthCheck.command"],
        ),
        (
            "secret without valueFrom",
            |b| b["containerDefinitions"][0]["secrets"] = json!([{"name": "TOKEN"}]),
            Kind::Client,
            &["containerDefinitions[0].secrets[0].valueFrom"],
        ),
        // Family.
        (
            "family missing",
            |b| drop(b.as_object_mut().unwrap().remove("family")),
            Kind::Client,
            &["Family should not be null or empty."],
        ),
        ("family null", |b| b["family"] = Value::Null, Kind::Client, &["Family"]),
        ("family empty", |b| b["family"] = json!(""), Kind::Client, &["Family"]),
        ("family charset", |b| b["family"] = json!("web app!"), Kind::Client, &["family", "web app!"]),
        ("family non-ascii", |b| b["family"] = json!("übung"), Kind::Client, &["family"]),
        (
            "family too long",
            |b| b["family"] = json!("f".repeat(10_000)),
            Kind::Client,
            &["family", "10000 characters", "255"],
        ),
        // Containers.
        (
            "no container list",
            |b| drop(b.as_object_mut().unwrap().remove("containerDefinitions")),
            Kind::Client,
            &["Container list cannot be empty."],
        ),
        (
            "empty container list",
            |b| b["containerDefinitions"] = json!([]),
            Kind::Client,
            &["Container list cannot be empty."],
        ),
        (
            "eleven containers",
            |b| {
                b["containerDefinitions"] =
                    (0..11).map(|i| json!({"name": format!("c{i}"), "image": "busybox", "memory": 64})).collect();
            },
            Kind::Client,
            &["containerDefinitions", "at most 10"],
        ),
        (
            "container without name",
            |b| drop(b["containerDefinitions"][1].as_object_mut().unwrap().remove("name")),
            Kind::Client,
            &["Container.name should not be null or empty."],
        ),
        (
            "container without image",
            |b| drop(b["containerDefinitions"][1].as_object_mut().unwrap().remove("image")),
            Kind::Client,
            &["Container.image should not be null or empty."],
        ),
        (
            "empty image",
            |b| b["containerDefinitions"][1]["image"] = json!(""),
            Kind::Client,
            &["Container.image should not be null or empty."],
        ),
        (
            "image with space",
            |b| b["containerDefinitions"][1]["image"] = json!("busy box"),
            Kind::Client,
            &["container 'sidecar'", "Container.image"],
        ),
        (
            "image too long",
            |b| b["containerDefinitions"][1]["image"] = json!(format!("registry/{}", "a".repeat(300))),
            Kind::Client,
            &["container 'sidecar'", "Container.image"],
        ),
        (
            "image bad digest",
            |b| b["containerDefinitions"][1]["image"] = json!("busybox@sha256:abc"),
            Kind::Client,
            &["container 'sidecar'", "Container.image"],
        ),
        (
            "container name charset",
            |b| b["containerDefinitions"][1]["name"] = json!("side car"),
            Kind::Client,
            &["container name", "side car"],
        ),
        (
            "container name too long",
            |b| b["containerDefinitions"][1]["name"] = json!("c".repeat(10_000)),
            Kind::Client,
            &["container name", "255"],
        ),
        (
            "duplicate container names",
            |b| b["containerDefinitions"][1]["name"] = json!("app"),
            Kind::Client,
            &["Duplicate container name 'app'"],
        ),
        // Memory and cpu.
        (
            "no memory anywhere",
            |b| {
                let c = b["containerDefinitions"][1].as_object_mut().unwrap();
                c.remove("memory");
            },
            Kind::Client,
            &[
                "Invalid setting for container 'sidecar'. At least one of 'memory' or 'memoryReservation' must be specified.",
            ],
        ),
        (
            "reservation above limit",
            |b| b["containerDefinitions"][0]["memoryReservation"] = json!(1024),
            Kind::Client,
            &["container 'app'", "memoryReservation", "memory"],
        ),
        (
            "memory below docker minimum",
            |b| b["containerDefinitions"][1]["memory"] = json!(4),
            Kind::Client,
            &["container 'sidecar'", "'memory'", "6 MiB"],
        ),
        (
            "reservation below docker minimum",
            |b| b["containerDefinitions"][1]["memoryReservation"] = json!(5),
            Kind::Client,
            &["container 'sidecar'", "'memoryReservation'"],
        ),
        (
            "negative cpu",
            |b| b["containerDefinitions"][1]["cpu"] = json!(-1),
            Kind::Client,
            &["container 'sidecar'", "'cpu'"],
        ),
        (
            "container memory above task memory",
            |b| b["memory"] = json!("256"),
            Kind::Client,
            &["container 'app'", "'memory'", "task"],
        ),
        (
            "reservations above task memory",
            |b| {
                b["memory"] = json!("300");
                b["containerDefinitions"][0]["memory"] = json!(300);
                b["containerDefinitions"][0]["memoryReservation"] = json!(250);
            },
            Kind::Client,
            &["Invalid 'memory' setting for task.", "314 MiB"],
        ),
        (
            "container cpu above task cpu",
            |b| {
                b["cpu"] = json!("256");
                b["containerDefinitions"][1]["cpu"] = json!(128);
            },
            Kind::Client,
            &["Invalid 'cpu' setting for task.", "384"],
        ),
        (
            "task cpu below EC2 minimum",
            |b| b["cpu"] = json!("64"),
            Kind::Client,
            &["Invalid 'cpu' setting for task.", "128"],
        ),
        (
            "task cpu above EC2 maximum",
            |b| b["cpu"] = json!("193 vCPU"),
            Kind::Client,
            &["Invalid 'cpu' setting for task."],
        ),
        (
            "task cpu gibberish",
            |b| b["cpu"] = json!("lots"),
            Kind::Client,
            &["Invalid 'cpu' setting for task.", "lots"],
        ),
        (
            "task memory gibberish",
            |b| b["memory"] = json!("1 TB"),
            Kind::Client,
            &["Invalid 'memory' setting for task.", "1 TB"],
        ),
        ("task memory zero", |b| b["memory"] = json!("0"), Kind::Client, &["Invalid 'memory' setting for task."]),
        (
            "no essential container",
            |b| b["containerDefinitions"][0]["essential"] = json!(false),
            Kind::Client,
            &["essential"],
        ),
        (
            "negative stop timeout",
            |b| b["containerDefinitions"][0]["stopTimeout"] = json!(-5),
            Kind::Client,
            &["container 'app'", "stopTimeout"],
        ),
        // dependsOn.
        (
            "dependency on unknown container",
            |b| b["containerDefinitions"][1]["dependsOn"][0]["containerName"] = json!("db"),
            Kind::Client,
            &["container 'sidecar'", "dependsOn[0].containerName", "'db'"],
        ),
        (
            "dependency on itself",
            |b| b["containerDefinitions"][1]["dependsOn"][0]["containerName"] = json!("sidecar"),
            Kind::Client,
            &["container 'sidecar'", "itself"],
        ),
        (
            "HEALTHY without health check",
            |b| {
                b["containerDefinitions"][1].as_object_mut().unwrap().remove("dependsOn");
                b["containerDefinitions"][0]["dependsOn"] =
                    json!([{"containerName": "sidecar", "condition": "HEALTHY"}]);
            },
            Kind::Client,
            &["container 'app'", "HEALTHY", "'sidecar' has no healthCheck"],
        ),
        (
            "COMPLETE on essential",
            |b| b["containerDefinitions"][1]["dependsOn"][0]["condition"] = json!("COMPLETE"),
            Kind::Client,
            &["container 'sidecar'", "COMPLETE", "essential"],
        ),
        (
            "SUCCESS on essential",
            |b| b["containerDefinitions"][1]["dependsOn"][0]["condition"] = json!("SUCCESS"),
            Kind::Client,
            &["container 'sidecar'", "SUCCESS", "essential"],
        ),
        (
            "dependency cycle",
            |b| b["containerDefinitions"][0]["dependsOn"] = json!([{"containerName": "sidecar", "condition": "START"}]),
            Kind::Client,
            &["Circular", "app -> sidecar -> app"],
        ),
        (
            "cycle through links",
            |b| b["containerDefinitions"][0]["links"] = json!(["sidecar:side"]),
            Kind::Client,
            &["Circular"],
        ),
        (
            "cycle through volumesFrom",
            |b| b["containerDefinitions"][0]["volumesFrom"] = json!([{"sourceContainer": "sidecar"}]),
            Kind::Client,
            &["Circular"],
        ),
        // healthCheck.
        (
            "empty health command",
            |b| b["containerDefinitions"][0]["healthCheck"]["command"] = json!([]),
            Kind::Client,
            &["container 'app'", "healthCheck.command"],
        ),
        (
            "health command without CMD",
            |b| b["containerDefinitions"][0]["healthCheck"]["command"] = json!(["curl", "localhost"]),
            Kind::Client,
            &["container 'app'", "healthCheck.command", "CMD-SHELL"],
        ),
        (
            "health CMD alone",
            |b| b["containerDefinitions"][0]["healthCheck"]["command"] = json!(["CMD"]),
            Kind::Client,
            &["container 'app'", "healthCheck.command"],
        ),
        (
            "health interval low",
            |b| b["containerDefinitions"][0]["healthCheck"]["interval"] = json!(4),
            Kind::Client,
            &["container 'app'", "healthCheck.interval", "5 and 300"],
        ),
        (
            "health interval high",
            |b| b["containerDefinitions"][0]["healthCheck"]["interval"] = json!(301),
            Kind::Client,
            &["healthCheck.interval"],
        ),
        (
            "health timeout low",
            |b| b["containerDefinitions"][0]["healthCheck"]["timeout"] = json!(1),
            Kind::Client,
            &["healthCheck.timeout", "2 and 60"],
        ),
        (
            "health timeout high",
            |b| b["containerDefinitions"][0]["healthCheck"]["timeout"] = json!(61),
            Kind::Client,
            &["healthCheck.timeout"],
        ),
        (
            "health retries low",
            |b| b["containerDefinitions"][0]["healthCheck"]["retries"] = json!(0),
            Kind::Client,
            &["healthCheck.retries", "1 and 10"],
        ),
        (
            "health retries high",
            |b| b["containerDefinitions"][0]["healthCheck"]["retries"] = json!(11),
            Kind::Client,
            &["healthCheck.retries"],
        ),
        (
            "health start period negative",
            |b| b["containerDefinitions"][0]["healthCheck"]["startPeriod"] = json!(-1),
            Kind::Client,
            &["healthCheck.startPeriod", "0 and 300"],
        ),
        (
            "health start period high",
            |b| b["containerDefinitions"][0]["healthCheck"]["startPeriod"] = json!(301),
            Kind::Client,
            &["healthCheck.startPeriod"],
        ),
        // Port mappings and network modes.
        (
            "container port zero",
            |b| b["containerDefinitions"][0]["portMappings"][0]["containerPort"] = json!(0),
            Kind::Client,
            &["container 'app'", "portMappings[0].containerPort"],
        ),
        (
            "container port too high",
            |b| b["containerDefinitions"][0]["portMappings"][0]["containerPort"] = json!(70000),
            Kind::Client,
            &["portMappings[0].containerPort"],
        ),
        (
            "host port negative",
            |b| b["containerDefinitions"][0]["portMappings"][0]["hostPort"] = json!(-1),
            Kind::Client,
            &["container 'app'", "portMappings[0].hostPort"],
        ),
        (
            "host port too high",
            |b| b["containerDefinitions"][0]["portMappings"][0]["hostPort"] = json!(65536),
            Kind::Client,
            &["portMappings[0].hostPort"],
        ),
        (
            "mapping without a port",
            |b| b["containerDefinitions"][0]["portMappings"] = json!([{"hostPort": 80}]),
            Kind::Client,
            &["container 'app'", "containerPort or containerPortRange"],
        ),
        (
            "port and range",
            |b| {
                b["containerDefinitions"][0]["portMappings"] =
                    json!([{"containerPort": 80, "containerPortRange": "81-90"}])
            },
            Kind::Client,
            &["containerPortRange"],
        ),
        (
            "reversed range",
            |b| b["containerDefinitions"][0]["portMappings"] = json!([{"containerPortRange": "9000-8000"}]),
            Kind::Client,
            &["container 'app'", "portMappings[0].containerPortRange", "9000-8000"],
        ),
        (
            "range gibberish",
            |b| b["containerDefinitions"][0]["portMappings"] = json!([{"containerPortRange": "eighty"}]),
            Kind::Client,
            &["portMappings[0].containerPortRange"],
        ),
        (
            "range with host port",
            |b| {
                b["containerDefinitions"][0]["portMappings"] =
                    json!([{"containerPortRange": "8000-8010", "hostPort": 8000}])
            },
            Kind::Client,
            &["hostPort", "containerPortRange"],
        ),
        (
            "range in host mode",
            |b| {
                b["networkMode"] = json!("host");
                b["containerDefinitions"][0]["portMappings"] = json!([{"containerPortRange": "8000-8010"}]);
            },
            Kind::Client,
            &["containerPortRange", "bridge or awsvpc"],
        ),
        (
            "host port taken by another container",
            |b| b["containerDefinitions"][1]["portMappings"] = json!([{"containerPort": 81, "hostPort": 8080}]),
            Kind::Client,
            &["container 'sidecar'", "8080/tcp", "container 'app'"],
        ),
        (
            "host port taken twice in a container",
            |b| {
                b["containerDefinitions"][0]["portMappings"] =
                    json!([{"containerPort": 80, "hostPort": 8080}, {"containerPort": 81, "hostPort": 8080}])
            },
            Kind::Client,
            &["container 'app'", "8080/tcp"],
        ),
        (
            "container port mapped twice",
            |b| {
                b["containerDefinitions"][0]["portMappings"] =
                    json!([{"containerPort": 80, "hostPort": 8080}, {"containerPort": 80, "hostPort": 8081}])
            },
            Kind::Client,
            &["container 'app'", "80/tcp", "more than one port mapping"],
        ),
        (
            "port inside a range",
            |b| {
                b["containerDefinitions"][0]["portMappings"] =
                    json!([{"containerPortRange": "8000-8010"}, {"containerPort": 8005}])
            },
            Kind::Client,
            &["container 'app'", "8005/tcp"],
        ),
        (
            "awsvpc host port mismatch",
            |b| b["networkMode"] = json!("awsvpc"),
            Kind::Client,
            &[
                "When networkMode=awsvpc, the host ports and container ports in port mappings must match",
                "container 'app'",
            ],
        ),
        (
            "host mode host port mismatch",
            |b| b["networkMode"] = json!("host"),
            Kind::Client,
            &["When networkMode=host, the host ports and container ports in port mappings must match"],
        ),
        (
            "awsvpc same port in two containers",
            |b| {
                b["networkMode"] = json!("awsvpc");
                b["containerDefinitions"][0]["portMappings"] = json!([{"containerPort": 80}]);
                b["containerDefinitions"][1]["portMappings"] = json!([{"containerPort": 80}]);
            },
            Kind::Client,
            &["container 'sidecar'", "80/tcp", "container 'app'"],
        ),
        (
            "port mappings with network none",
            |b| b["networkMode"] = json!("none"),
            Kind::Client,
            &["container 'app'", "networkMode=none"],
        ),
        (
            "port mapping name",
            |b| b["containerDefinitions"][0]["portMappings"][0]["name"] = json!("Web"),
            Kind::Client,
            &["portMappings[0].name", "Web"],
        ),
        (
            "port mapping name reused",
            |b| {
                b["containerDefinitions"][0]["portMappings"][0]["name"] = json!("web");
                b["containerDefinitions"][1]["portMappings"] = json!([{"containerPort": 9000, "name": "web"}]);
            },
            Kind::Client,
            &["container 'sidecar'", "portMappings[0].name 'web'", "container 'app'"],
        ),
        (
            "links with awsvpc",
            |b| {
                b["networkMode"] = json!("awsvpc");
                b["containerDefinitions"][0]["portMappings"] = json!([]);
                b["containerDefinitions"][1]["links"] = json!(["app"]);
            },
            Kind::Client,
            &["container 'sidecar'", "links", "networkMode=bridge"],
        ),
        (
            "links with host",
            |b| {
                b["networkMode"] = json!("host");
                b["containerDefinitions"][0]["portMappings"] = json!([]);
                b["containerDefinitions"][1]["links"] = json!(["app"]);
            },
            Kind::Client,
            &["links", "networkMode=host"],
        ),
        (
            "link to unknown container",
            |b| b["containerDefinitions"][1]["links"] = json!(["db:database"]),
            Kind::Client,
            &["container 'sidecar'", "links[0]", "'db'"],
        ),
        (
            "link malformed",
            |b| b["containerDefinitions"][1]["links"] = json!(["app:data base"]),
            Kind::Client,
            &["container 'sidecar'", "links[0]"],
        ),
        (
            "hostname with awsvpc",
            |b| {
                b["networkMode"] = json!("awsvpc");
                b["containerDefinitions"][0]["portMappings"] = json!([]);
                b["containerDefinitions"][0]["hostname"] = json!("app");
            },
            Kind::Client,
            &["container 'app'", "'hostname'", "awsvpc"],
        ),
        // Volumes.
        (
            "mount of unknown volume",
            |b| b["containerDefinitions"][0]["mountPoints"][0]["sourceVolume"] = json!("logs"),
            Kind::Client,
            &["container 'app'", "mountPoints[0].sourceVolume", "'logs'"],
        ),
        (
            "mount without volume",
            |b| b["containerDefinitions"][0]["mountPoints"] = json!([{"containerPath": "/x"}]),
            Kind::Client,
            &["container 'app'", "mountPoints[0].sourceVolume"],
        ),
        (
            "mount without path",
            |b| b["containerDefinitions"][0]["mountPoints"] = json!([{"sourceVolume": "data"}]),
            Kind::Client,
            &["container 'app'", "mountPoints[0].containerPath"],
        ),
        (
            "path mounted twice",
            |b| b["containerDefinitions"][0]["mountPoints"] = json!([{"sourceVolume": "data", "containerPath": "/d"}, {"sourceVolume": "data", "containerPath": "/d"}]),
            Kind::Client,
            &["container 'app'", "mountPoints[1].containerPath"],
        ),
        (
            "volumesFrom unknown container",
            |b| b["containerDefinitions"][1]["volumesFrom"] = json!([{"sourceContainer": "db"}]),
            Kind::Client,
            &["container 'sidecar'", "volumesFrom[0].sourceContainer", "'db'"],
        ),
        (
            "volumesFrom itself",
            |b| b["containerDefinitions"][1]["volumesFrom"] = json!([{"sourceContainer": "sidecar"}]),
            Kind::Client,
            &["container 'sidecar'", "volumesFrom[0].sourceContainer"],
        ),
        ("volume without name", |b| b["volumes"] = json!([{"host": {}}]), Kind::Client, &["volumes[0].name"]),
        (
            "volume name charset",
            |b| b["volumes"][0]["name"] = json!("my data"),
            Kind::Client,
            &["volume name", "my data"],
        ),
        (
            "volume name too long",
            |b| b["volumes"][0]["name"] = json!("v".repeat(10_000)),
            Kind::Client,
            &["volume name", "255"],
        ),
        (
            "duplicate volume names",
            |b| b["volumes"] = json!([{"name": "data"}, {"name": "data"}]),
            Kind::Client,
            &["Duplicate volume name 'data'"],
        ),
        (
            "volume with two types",
            |b| b["volumes"][0]["dockerVolumeConfiguration"] = json!({"scope": "task"}),
            Kind::Client,
            &["volume 'data'", "host and dockerVolumeConfiguration"],
        ),
        (
            "autoprovision on task scope",
            |b| {
                b["volumes"][0] =
                    json!({"name": "data", "dockerVolumeConfiguration": {"scope": "task", "autoprovision": true}})
            },
            Kind::Client,
            &["volume 'data'", "autoprovision", "shared"],
        ),
        (
            "autoprovision on default scope",
            |b| b["volumes"][0] = json!({"name": "data", "dockerVolumeConfiguration": {"autoprovision": true}}),
            Kind::Client,
            &["autoprovision"],
        ),
        (
            "two volumes configured at launch",
            |b| b["volumes"] = json!([{"name": "data"}, {"name": "a", "configuredAtLaunch": true}, {"name": "b", "configuredAtLaunch": true}]),
            Kind::Client,
            &["volume 'b'", "'a'"],
        ),
        (
            "efs access point without TLS",
            |b| b["volumes"][0] = json!({"name": "data", "efsVolumeConfiguration": {"fileSystemId": "fs-1", "authorizationConfig": {"accessPointId": "fsap-1"}}}),
            Kind::Client,
            &["volume 'data'", "transitEncryption"],
        ),
        // Ulimits, resources, secrets, misc container fields.
        (
            "ulimit soft above hard",
            |b| {
                b["containerDefinitions"][0]["ulimits"] =
                    json!([{"name": "nofile", "softLimit": 2048, "hardLimit": 1024}])
            },
            Kind::Client,
            &["container 'app'", "ulimits[0]", "softLimit"],
        ),
        (
            "ulimit twice",
            |b| b["containerDefinitions"][0]["ulimits"] = json!([{"name": "nofile", "softLimit": 1, "hardLimit": 1}, {"name": "nofile", "softLimit": 2, "hardLimit": 2}]),
            Kind::Client,
            &["container 'app'", "ulimits[1]", "nofile"],
        ),
        (
            "zero GPUs",
            |b| b["containerDefinitions"][0]["resourceRequirements"] = json!([{"type": "GPU", "value": "0"}]),
            Kind::Client,
            &["container 'app'", "resourceRequirements[0].value"],
        ),
        (
            "fractional GPUs",
            |b| b["containerDefinitions"][0]["resourceRequirements"] = json!([{"type": "GPU", "value": "1.5"}]),
            Kind::Client,
            &["resourceRequirements[0].value", "1.5"],
        ),
        (
            "GPU type twice",
            |b| {
                b["containerDefinitions"][0]["resourceRequirements"] =
                    json!([{"type": "GPU", "value": "1"}, {"type": "GPU", "value": "1"}])
            },
            Kind::Client,
            &["resourceRequirements[1]"],
        ),
        (
            "unknown accelerator",
            |b| {
                b["containerDefinitions"][0]["resourceRequirements"] =
                    json!([{"type": "InferenceAccelerator", "value": "eia"}])
            },
            Kind::Client,
            &["container 'app'", "resourceRequirements[0].value", "inferenceAccelerators"],
        ),
        (
            "empty secret name",
            |b| b["containerDefinitions"][0]["secrets"] = json!([{"name": "", "valueFrom": "x"}]),
            Kind::Client,
            &["container 'app'", "secrets"],
        ),
        (
            "secrets without an execution role",
            |b| b["containerDefinitions"][0]["secrets"] = json!([{"name": "TOKEN", "valueFrom": "/app/token"}]),
            Kind::Client,
            &["container secrets", "'executionRoleArn'"],
        ),
        (
            "awsfirelens without router",
            |b| b["containerDefinitions"][0]["logConfiguration"] = json!({"logDriver": "awsfirelens"}),
            Kind::Client,
            &["container 'app'", "firelensConfiguration"],
        ),
        (
            "swappiness",
            |b| b["containerDefinitions"][0]["linuxParameters"] = json!({"swappiness": 101}),
            Kind::Client,
            &["container 'app'", "linuxParameters.swappiness"],
        ),
        (
            "tmpfs size",
            |b| {
                b["containerDefinitions"][0]["linuxParameters"] =
                    json!({"tmpfs": [{"containerPath": "/tmp", "size": 0}]})
            },
            Kind::Client,
            &["linuxParameters.tmpfs[0].size"],
        ),
        (
            "restart period",
            |b| b["containerDefinitions"][0]["restartPolicy"] = json!({"enabled": true, "restartAttemptPeriod": 30}),
            Kind::Client,
            &["container 'app'", "restartPolicy.restartAttemptPeriod"],
        ),
        (
            "two credential specs",
            |b| b["containerDefinitions"][0]["credentialSpecs"] = json!(["credentialspec:a", "credentialspec:b"]),
            Kind::Client,
            &["container 'app'", "credentialSpecs"],
        ),
        // Task level.
        (
            "eleven placement constraints",
            |b| {
                b["placementConstraints"] =
                    (0..11).map(|_| json!({"type": "memberOf", "expression": "agentConnected == true"})).collect()
            },
            Kind::Client,
            &["placementConstraints", "at most 10"],
        ),
        (
            "constraint without expression",
            |b| b["placementConstraints"] = json!([{"type": "memberOf"}]),
            Kind::Client,
            &["placementConstraints[0].expression"],
        ),
        (
            "constraint without type",
            |b| b["placementConstraints"] = json!([{"expression": "agentConnected == true"}]),
            Kind::Client,
            &["placementConstraints[0].type"],
        ),
        (
            "constraint syntax",
            |b| {
                b["placementConstraints"] =
                    json!([{"type": "memberOf", "expression": "attribute:ecs.instance-type =="}])
            },
            Kind::Invalid,
            &["placementConstraints[0].expression"],
        ),
        (
            "constraint too long",
            |b| {
                b["placementConstraints"] =
                    json!([{"type": "memberOf", "expression": format!("attribute:a == {}", "b".repeat(2000))}])
            },
            Kind::Invalid,
            &["placementConstraints[0].expression"],
        ),
        (
            "ephemeral storage",
            |b| b["ephemeralStorage"] = json!({"sizeInGiB": 10}),
            Kind::Client,
            &["ephemeralStorage.sizeInGiB", "21 and 200"],
        ),
        (
            "proxy for unknown container",
            |b| b["proxyConfiguration"] = json!({"type": "APPMESH", "containerName": "envoy"}),
            Kind::Client,
            &["proxyConfiguration.containerName", "'envoy'"],
        ),
        (
            "duplicate accelerators",
            |b| b["inferenceAccelerators"] = json!([{"deviceName": "a", "deviceType": "eia2.medium"}, {"deviceName": "a", "deviceType": "eia2.medium"}]),
            Kind::Client,
            &["inferenceAccelerators[1].deviceName"],
        ),
        (
            "too large",
            |b| b["containerDefinitions"][0]["environment"] = json!([{"name": "BLOB", "value": "x".repeat(70_000)}]),
            Kind::Client,
            &["maximum size of a task definition"],
        ),
        // Tags.
        ("tag without key", |b| b["tags"] = json!([{"value": "x"}]), Kind::Client, &["tags[0].key"]),
        ("tag key as number", |b| b["tags"] = json!([{"key": 1}]), Kind::Invalid, &["tags[0].key must be a string"]),
        ("reserved tag prefix", |b| b["tags"] = json!([{"key": "aws:owner", "value": "x"}]), Kind::Invalid, &["aws:"]),
        (
            "too many tags",
            |b| b["tags"] = (0..51).map(|i| json!({"key": format!("k{i}")})).collect(),
            Kind::Invalid,
            &["tags", "50"],
        ),
    ]
}

fn fargate_cases() -> Vec<(&'static str, Mutation, &'static [&'static str])> {
    vec![
        ("bridge network", |b| b["networkMode"] = json!("bridge"), &["Fargate only supports network mode 'awsvpc'."]),
        ("no network mode", |b| drop(b.as_object_mut().unwrap().remove("networkMode")), &["awsvpc"]),
        (
            "no cpu",
            |b| drop(b.as_object_mut().unwrap().remove("cpu")),
            &["Fargate requires that 'cpu' be defined at the task level."],
        ),
        (
            "no memory",
            |b| drop(b.as_object_mut().unwrap().remove("memory")),
            &["Fargate requires that 'memory' be defined at the task level."],
        ),
        ("cpu not a Fargate size", |b| b["cpu"] = json!("384"), &["Invalid 'cpu' setting for task.", "384"]),
        (
            "memory not offered for cpu",
            |b| b["memory"] = json!("4096"),
            &[
                "Invalid 'memory' setting for task.",
                "No Fargate configuration exists for given values",
                "256 CPU, 4096 memory",
            ],
        ),
        ("pid mode host", |b| b["pidMode"] = json!("host"), &["pidMode 'host'"]),
        ("ipc mode", |b| b["ipcMode"] = json!("task"), &["ipcMode"]),
        (
            "privileged",
            |b| b["containerDefinitions"][0]["privileged"] = json!(true),
            &["container 'api'", "'privileged'"],
        ),
        (
            "stop timeout above 120",
            |b| b["containerDefinitions"][0]["stopTimeout"] = json!(121),
            &["container 'api'", "stopTimeout", "2 and 120"],
        ),
        (
            "host source path",
            |b| b["volumes"] = json!([{"name": "v", "host": {"sourcePath": "/srv"}}]),
            &["volume 'v'", "sourcePath"],
        ),
        (
            "docker volume",
            |b| b["volumes"] = json!([{"name": "v", "dockerVolumeConfiguration": {"scope": "task"}}]),
            &["volume 'v'", "dockerVolumeConfiguration"],
        ),
        (
            "shared memory size",
            |b| b["containerDefinitions"][0]["linuxParameters"] = json!({"sharedMemorySize": 64}),
            &["container 'api'", "linuxParameters.sharedMemorySize"],
        ),
    ]
}

#[test]
fn every_rule_rejects_its_mutation() {
    let mut failures = Vec::new();
    for (name, mutate, expected_kind, needles) in invalid_cases() {
        let mut body = baseline();
        mutate(&mut body);
        check_rejected(name, parse(body), expected_kind, needles, &mut failures);
    }
    for (name, mutate, needles) in fargate_cases() {
        let mut body = fargate_baseline();
        mutate(&mut body);
        check_rejected(&format!("fargate: {name}"), parse(body), Kind::Client, needles, &mut failures);
    }
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n"));
}

fn check_rejected(
    name: &str,
    result: Result<Registration, ModelError>,
    expected_kind: Kind,
    needles: &[&str],
    failures: &mut Vec<String>,
) {
    match result {
        Ok(_) => failures.push(format!("{name}: accepted")),
        Err(error) => {
            if kind(&error) != expected_kind {
                failures.push(format!("{name}: expected {expected_kind:?}, got {error:?}"));
            }
            for needle in needles {
                if !message(&error).contains(needle) {
                    failures.push(format!("{name}: message {:?} lacks {needle:?}", message(&error)));
                }
            }
            // Messages echo client values cut short, never in full.
            if message(&error).len() > 1000 {
                failures.push(format!("{name}: message is {} bytes long", message(&error).len()));
            }
        }
    }
}

/// Mutations that look suspicious but are valid ECS.
fn valid_cases() -> Vec<(&'static str, Mutation)> {
    vec![
        ("reservation equal to limit", |b| b["containerDefinitions"][0]["memoryReservation"] = json!(512)),
        ("only a reservation", |b| {
            let c = b["containerDefinitions"][1].as_object_mut().unwrap();
            c.remove("memory");
            c.insert("memoryReservation".into(), json!(64));
        }),
        ("task memory instead of container memory", |b| {
            b["memory"] = json!("1GB");
            b["containerDefinitions"][1].as_object_mut().unwrap().remove("memory");
        }),
        ("health check NONE", |b| b["containerDefinitions"][0]["healthCheck"]["command"] = json!(["NONE"])),
        ("HEALTHY on a checked container", |b| {
            b["containerDefinitions"][1]["dependsOn"][0]["condition"] = json!("HEALTHY")
        }),
        ("COMPLETE on a non-essential container", |b| {
            b["containerDefinitions"][1]["dependsOn"] = json!([]);
            b["containerDefinitions"][0]["dependsOn"] = json!([{"containerName": "sidecar", "condition": "COMPLETE"}]);
        }),
        ("same host port, other protocol", |b| {
            b["containerDefinitions"][1]["portMappings"] =
                json!([{"containerPort": 81, "hostPort": 8080, "protocol": "udp"}]);
        }),
        ("several dynamic host ports", |b| {
            b["containerDefinitions"][0]["portMappings"] =
                json!([{"containerPort": 80}, {"containerPort": 81, "hostPort": 0}]);
            b["containerDefinitions"][1]["portMappings"] = json!([{"containerPort": 80}]);
        }),
        ("same port on tcp and udp", |b| {
            b["containerDefinitions"][0]["portMappings"] = json!([{"containerPort": 53, "hostPort": 53}, {"containerPort": 53, "hostPort": 53, "protocol": "udp"}]);
        }),
        ("awsvpc with matching or omitted host ports", |b| {
            b["networkMode"] = json!("awsvpc");
            b["containerDefinitions"][0]["portMappings"] =
                json!([{"containerPort": 80, "hostPort": 80}, {"containerPort": 81}]);
        }),
        ("port range in bridge mode", |b| {
            b["containerDefinitions"][1]["portMappings"] = json!([{"containerPortRange": "9000-9099"}])
        }),
        ("links in bridge mode", |b| b["containerDefinitions"][1]["links"] = json!(["app:web"])),
        ("volumesFrom another container", |b| {
            b["containerDefinitions"][1]["volumesFrom"] = json!([{"sourceContainer": "app", "readOnly": true}])
        }),
        ("shared autoprovisioned docker volume", |b| {
            b["volumes"][0] = json!({"name": "data", "dockerVolumeConfiguration": {"scope": "shared", "autoprovision": true, "driver": "local"}});
        }),
        ("GPU", |b| b["containerDefinitions"][0]["resourceRequirements"] = json!([{"type": "GPU", "value": "2"}])),
        ("unlimited ulimit", |b| {
            b["containerDefinitions"][0]["ulimits"] = json!([{"name": "memlock", "softLimit": -1, "hardLimit": -1}])
        }),
        ("image by digest", |b| {
            b["containerDefinitions"][1]["image"] =
                json!(format!("registry.local:5000/team/busybox@sha256:{}", "a".repeat(64)))
        }),
        ("placement constraint", |b| {
            b["placementConstraints"] =
                json!([{"type": "memberOf", "expression": "attribute:ecs.instance-type =~ g4dn.*"}])
        }),
        ("names at the 255-character limit", |b| {
            b["family"] = json!("f".repeat(255));
            b["containerDefinitions"][1]["name"] = json!("c".repeat(255));
        }),
        ("nulls treated as absent", |b| {
            b["containerDefinitions"][0]["hostname"] = Value::Null;
            b["containerDefinitions"][1]["essential"] = Value::Null;
            b["containerDefinitions"][1]["essential"] = json!(false);
            b["cpu"] = Value::Null;
        }),
        ("EC2 task size with units", |b| {
            b["cpu"] = json!("1 vCPU");
            b["memory"] = json!("2 GB");
        }),
    ]
}

#[test]
fn valid_variations_are_accepted() {
    let failures: Vec<String> = valid_cases()
        .into_iter()
        .filter_map(|(name, mutate)| {
            let mut body = baseline();
            mutate(&mut body);
            parse(body).err().map(|e| format!("{name}: {e:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn a_body_that_is_not_an_object_is_invalid() {
    for body in [json!([]), json!("family"), Value::Null, json!(3)] {
        assert_eq!(kind(&parse(body).unwrap_err()), Kind::Invalid);
    }
}

#[test]
fn huge_values_are_clean_errors() {
    let cases: Vec<Mutation> = vec![
        |b| b["family"] = json!("ü".repeat(10_000)),
        |b| b["containerDefinitions"][0]["image"] = json!("i".repeat(10_000)),
        |b| b["containerDefinitions"][0]["portMappings"][0]["name"] = json!("n".repeat(10_000)),
        |b| b["containerDefinitions"][1]["links"] = json!(["l".repeat(10_000)]),
        |b| b["networkMode"] = json!("m".repeat(10_000)),
        |b| b["cpu"] = json!("9".repeat(10_000)),
        |b| b["memory"] = json!(format!("{}GB", "9".repeat(10_000))),
        |b| b["tags"] = json!([{"key": "k".repeat(10_000)}]),
    ];
    for mutate in cases {
        let mut body = baseline();
        mutate(&mut body);
        let error = parse(body).unwrap_err();
        assert!(message(&error).len() < 1000, "message echoes the whole value: {} bytes", message(&error).len());
    }
}

// -------------------------------------------------------------------------------------------------------------
// Round trips.

/// Every member of the model's ContainerDefinition (botocore 1.43), with a sample value each.
fn every_container_field() -> Vec<(&'static str, Value)> {
    vec![
        ("name", json!("app")),
        ("image", json!("123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1.0")),
        (
            "repositoryCredentials",
            json!({"credentialsParameter": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:reg"}),
        ),
        ("cpu", json!(512)),
        ("memory", json!(1024)),
        ("memoryReservation", json!(512)),
        ("links", json!(["helper:h"])),
        (
            "portMappings",
            json!([{"containerPort": 8080, "hostPort": 80, "protocol": "tcp", "name": "web", "appProtocol": "http"}, {"containerPortRange": "9000-9010", "protocol": "udp"}]),
        ),
        ("essential", json!(true)),
        ("restartPolicy", json!({"enabled": true, "ignoredExitCodes": [0, 143], "restartAttemptPeriod": 120})),
        ("entryPoint", json!(["/bin/sh", "-c"])),
        ("command", json!(["exec app --port 8080"])),
        ("environment", json!([{"name": "MODE", "value": "prod"}])),
        ("environmentFiles", json!([{"value": "arn:aws:s3:::bucket/app.env", "type": "s3"}])),
        ("mountPoints", json!([{"sourceVolume": "data", "containerPath": "/data", "readOnly": false}])),
        ("volumesFrom", json!([{"sourceContainer": "helper", "readOnly": true}])),
        (
            "linuxParameters",
            json!({
                "capabilities": {"add": ["SYS_PTRACE"], "drop": ["NET_RAW"]},
                "devices": [{"hostPath": "/dev/fuse", "containerPath": "/dev/fuse", "permissions": ["read", "write"]}],
                "initProcessEnabled": true,
                "sharedMemorySize": 256,
                "tmpfs": [{"containerPath": "/tmp", "size": 64, "mountOptions": ["noexec"]}],
                "maxSwap": 512,
                "swappiness": 10
            }),
        ),
        (
            "secrets",
            json!([{"name": "DB_PASSWORD", "valueFrom": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db"}, {"name": "API_KEY", "valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/api-key"}]),
        ),
        ("dependsOn", json!([{"containerName": "helper", "condition": "COMPLETE"}])),
        ("startTimeout", json!(60)),
        ("stopTimeout", json!(45)),
        ("versionConsistency", json!("disabled")),
        ("hostname", json!("app-host")),
        ("user", json!("1000:1000")),
        ("workingDirectory", json!("/srv")),
        ("disableNetworking", json!(false)),
        ("privileged", json!(false)),
        ("readonlyRootFilesystem", json!(true)),
        ("dnsServers", json!(["10.0.0.2"])),
        ("dnsSearchDomains", json!(["internal"])),
        ("extraHosts", json!([{"hostname": "db", "ipAddress": "10.0.0.5"}])),
        ("dockerSecurityOptions", json!(["no-new-privileges"])),
        ("interactive", json!(false)),
        ("pseudoTerminal", json!(false)),
        ("dockerLabels", json!({"team": "platform", "tier": "web"})),
        ("ulimits", json!([{"name": "nofile", "softLimit": 4096, "hardLimit": 8192}])),
        (
            "logConfiguration",
            json!({"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/app"}, "secretOptions": [{"name": "token", "valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/log-token"}]}),
        ),
        (
            "healthCheck",
            json!({"command": ["CMD", "/bin/check"], "interval": 15, "timeout": 3, "retries": 2, "startPeriod": 10}),
        ),
        ("systemControls", json!([{"namespace": "net.ipv4.tcp_keepalive_time", "value": "60"}])),
        ("resourceRequirements", json!([{"type": "GPU", "value": "1"}])),
        ("firelensConfiguration", json!({"type": "fluentbit", "options": {"enable-ecs-log-metadata": "true"}})),
        ("credentialSpecs", json!(["credentialspecdomainless:arn:aws:ssm:eu-west-1:123456789012:parameter/spec"])),
    ]
}

/// Every member of RegisterTaskDefinitionRequest other than family, containerDefinitions and tags.
fn every_task_field() -> Vec<(&'static str, Value)> {
    vec![
        ("taskRoleArn", json!("arn:aws:iam::123456789012:role/app")),
        ("executionRoleArn", json!("arn:aws:iam::123456789012:role/exec")),
        ("networkMode", json!("bridge")),
        (
            "volumes",
            json!([
                {"name": "data", "host": {"sourcePath": "/srv/data"}},
                {"name": "cache", "dockerVolumeConfiguration": {"scope": "shared", "autoprovision": true, "driver": "local", "driverOpts": {"type": "tmpfs"}, "labels": {"a": "b"}}},
                {"name": "efs", "efsVolumeConfiguration": {"fileSystemId": "fs-1", "rootDirectory": "/", "transitEncryption": "ENABLED", "transitEncryptionPort": 2049, "authorizationConfig": {"accessPointId": "fsap-1", "iam": "ENABLED"}}},
                {"name": "fsx", "fsxWindowsFileServerVolumeConfiguration": {"fileSystemId": "fs-2", "rootDirectory": "share", "authorizationConfig": {"credentialsParameter": "arn:aws:ssm:eu-west-1:123456789012:parameter/fsx", "domain": "corp"}}},
                {"name": "s3", "s3filesVolumeConfiguration": {"fileSystemArn": "arn:aws:s3files:eu-west-1:123456789012:file-system/fs-3", "rootDirectory": "/", "transitEncryptionPort": 2049, "accessPointArn": "arn:aws:s3files:eu-west-1:123456789012:access-point/ap-1"}},
                {"name": "ebs", "configuredAtLaunch": true}
            ]),
        ),
        ("placementConstraints", json!([{"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}])),
        ("requiresCompatibilities", json!(["EC2", "EXTERNAL"])),
        ("cpu", json!("2048")),
        ("memory", json!("4096")),
        ("pidMode", json!("task")),
        ("ipcMode", json!("none")),
        (
            "proxyConfiguration",
            json!({"type": "APPMESH", "containerName": "helper", "properties": [{"name": "IgnoredUID", "value": "1337"}]}),
        ),
        ("inferenceAccelerators", json!([{"deviceName": "eia", "deviceType": "eia2.medium"}])),
        ("ephemeralStorage", json!({"sizeInGiB": 30})),
        ("runtimePlatform", json!({"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"})),
        ("enableFaultInjection", json!(true)),
    ]
}

fn rich_request() -> Value {
    let container: serde_json::Map<String, Value> =
        every_container_field().into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    let helper = json!({"name": "helper", "image": "busybox", "essential": false, "memory": 64});
    let mut request: serde_json::Map<String, Value> =
        every_task_field().into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    request.insert("family".into(), json!("rich"));
    request.insert("containerDefinitions".into(), json!([container, helper]));
    request.insert("tags".into(), json!([{"key": "team", "value": "platform"}, {"key": "bare"}]));
    Value::Object(request)
}

#[test]
fn the_sample_lists_cover_the_model() {
    let sampled: Vec<&str> = every_container_field().iter().map(|(name, _)| *name).collect();
    let schema: Vec<&str> = schema::CONTAINER_DEFINITION.iter().map(|m| m.name).collect();
    assert_eq!(sampled, schema);
    assert_eq!(sampled.len(), 42);
    let mut task: Vec<&str> = every_task_field().iter().map(|(name, _)| *name).collect();
    task.extend(["family", "containerDefinitions", "tags"]);
    let mut request: Vec<&str> = schema::REGISTER_REQUEST.iter().map(|m| m.name).collect();
    task.sort_unstable();
    request.sort_unstable();
    assert_eq!(task, request);
}

#[test]
fn every_field_comes_back_as_sent() {
    let request = rich_request();
    let registration = parse(request.clone()).unwrap();
    let returned = serde_json::to_value(&registration.definition).unwrap();

    let sent_container = &request["containerDefinitions"][0];
    let returned_container = &returned["containerDefinitions"][0];
    for (field, _) in every_container_field() {
        assert_eq!(returned_container[field], sent_container[field], "containerDefinitions[0].{field}");
    }
    assert_eq!(returned_container, sent_container);
    for (field, value) in every_task_field() {
        assert_eq!(returned[field], value, "{field}");
    }
    assert_eq!(returned["family"], json!("rich"));
    assert_eq!(returned.get("tags"), None, "tags are not part of the definition");
    assert_eq!(
        registration.tags,
        vec![Tag { key: "team".into(), value: Some("platform".into()) }, Tag { key: "bare".into(), value: None }]
    );

    // And back again: what is stored deserializes to the same definition.
    let stored: TaskDefinition = serde_json::from_value(returned.clone()).unwrap();
    assert_eq!(stored, registration.definition);
    assert_eq!(serde_json::to_value(&stored).unwrap(), returned);
}

#[test]
fn typed_accessors_read_the_rich_definition() {
    let def = parse(rich_request()).unwrap().definition;
    assert_eq!(def.task_role_arn(), Some("arn:aws:iam::123456789012:role/app"));
    assert_eq!(def.execution_role_arn(), Some("arn:aws:iam::123456789012:role/exec"));
    assert_eq!(def.pid_mode(), Some("task"));
    assert_eq!(def.ipc_mode(), Some("none"));
    assert_eq!((def.cpu_units(), def.memory_mib()), (Some(2048), Some(4096)));
    assert_eq!(def.network_mode(), "bridge");
    assert_eq!(def.compatibilities, vec!["EC2", "EXTERNAL"]);
    assert!(def.is_compatible_with("EXTERNAL") && !def.is_compatible_with("FARGATE"));
    let app = def.container("app").unwrap();
    assert_eq!(app.gpu_count(), 1);
    assert_eq!(app.reserved_memory_mib(), Some(512));
    assert!(app.is_essential());
    assert_eq!(app.port_mappings[1].port_range(), Some((9000, 9010)));
    assert_eq!(app.port_mappings[1].protocol(), "udp");
    assert_eq!(app.port_mappings[0].protocol(), "tcp");
    assert!(!def.container("helper").unwrap().is_essential());
    assert_eq!(def.volumes[1].docker_volume_configuration.as_ref().unwrap().scope.as_deref(), Some("shared"));
}

#[test]
fn unknown_fields_and_nulls_are_dropped() {
    let mut body = baseline();
    body["taskDefinitionArn"] = json!("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:9");
    body["revision"] = json!(9);
    body["bogus"] = json!({"a": 1});
    body["containerDefinitions"][0]["madeUp"] = json!(true);
    body["containerDefinitions"][0]["portMappings"][0]["bogus"] = json!(1);
    body["containerDefinitions"][0]["hostname"] = Value::Null;
    body["pidMode"] = Value::Null;
    let def = parse(body).unwrap().definition;
    assert_eq!(def.task_definition_arn, None);
    assert_eq!(def.revision, 0);
    let returned = serde_json::to_value(&def).unwrap();
    assert_eq!(returned.get("bogus"), None);
    assert_eq!(returned.get("pidMode"), None);
    assert_eq!(returned["containerDefinitions"][0].get("madeUp"), None);
    assert_eq!(returned["containerDefinitions"][0].get("hostname"), None);
    assert_eq!(
        returned["containerDefinitions"][0]["portMappings"][0],
        json!({"containerPort": 80, "hostPort": 8080, "protocol": "tcp"})
    );
}

#[test]
fn environment_variables_without_a_value_are_left_out_as_ecs_does() {
    let mut body = baseline();
    body["containerDefinitions"][0]["environment"] =
        json!([{"name": "KEPT", "value": "1"}, {"name": "EMPTY", "value": ""}, {"name": "NONE"}]);
    let def = parse(body).unwrap().definition;
    let names: Vec<_> = def.container_definitions[0].environment.iter().map(|e| e.name.as_deref()).collect();
    assert_eq!(names, [Some("KEPT")]);
}

#[test]
fn port_mappings_read_back_with_the_host_port_and_protocol_ecs_fills_in() {
    let mapping = |mode: &str| {
        let mut body = baseline();
        body["networkMode"] = json!(mode);
        body["containerDefinitions"][0]["portMappings"] = json!([{"containerPort": 80}]);
        let def = parse(body).unwrap().definition;
        serde_json::to_value(&def.container_definitions[0].port_mappings[0]).unwrap()
    };
    assert_eq!(mapping("bridge"), json!({"containerPort": 80, "hostPort": 0, "protocol": "tcp"}));
    assert_eq!(mapping("awsvpc"), json!({"containerPort": 80, "hostPort": 80, "protocol": "tcp"}));
    assert_eq!(mapping("host"), json!({"containerPort": 80, "hostPort": 80, "protocol": "tcp"}));
}

#[test]
fn responses_carry_the_lists_aws_always_returns() {
    let body = json!({"family": "min", "containerDefinitions": [{"name": "c", "image": "busybox", "memory": 32}]});
    let returned = serde_json::to_value(parse(body).unwrap().definition).unwrap();
    assert_eq!(
        returned,
        json!({
            "family": "min",
            "revision": 0,
            "status": "ACTIVE",
            "containerDefinitions": [{
                "name": "c",
                "image": "busybox",
                "cpu": 0,
                "memory": 32,
                "portMappings": [],
                "environment": [],
                "mountPoints": [],
                "volumesFrom": []
            }],
            "compatibilities": ["EC2"],
            "requiresAttributes": [],
            "placementConstraints": [],
            "volumes": [],
            "enableFaultInjection": false
        })
    );
}

#[test]
fn essential_is_kept_as_sent() {
    let def = parse(baseline()).unwrap().definition;
    let returned = serde_json::to_value(&def).unwrap();
    assert_eq!(returned["containerDefinitions"][0].get("essential"), None);
    assert_eq!(returned["containerDefinitions"][1]["essential"], json!(false));
    assert!(def.container_definitions[0].is_essential());
}

#[test]
fn identity_fields_serialize_when_set() {
    let mut def = parse(baseline()).unwrap().definition;
    def.task_definition_arn = Some("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3".into());
    def.revision = 3;
    def.status = "INACTIVE".into();
    def.registered_at = Some(1_700_000_000.25);
    def.registered_by = Some("arn:aws:iam::123456789012:user/admin".into());
    def.deregistered_at = Some(1_700_000_100.5);
    def.extra.insert("deleteRequestedAt".into(), json!(1_700_000_200.0));
    let returned = serde_json::to_value(&def).unwrap();
    assert_eq!(returned["taskDefinitionArn"], json!("arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3"));
    assert_eq!(returned["revision"], json!(3));
    assert_eq!(returned["status"], json!("INACTIVE"));
    assert_eq!(returned["registeredAt"], json!(1_700_000_000.25));
    assert_eq!(returned["deregisteredAt"], json!(1_700_000_100.5));
    assert_eq!(returned["deleteRequestedAt"], json!(1_700_000_200.0));
    let back: TaskDefinition = serde_json::from_value(returned).unwrap();
    assert_eq!(back, def);
}

// -------------------------------------------------------------------------------------------------------------
// Units and Fargate.

#[test]
fn cpu_settings_normalise_to_units() {
    for (text, units) in [
        ("1024", 1024),
        (" 2048 ", 2048),
        ("1 vCPU", 1024),
        ("1vcpu", 1024),
        ("2 VCPU", 2048),
        ("0.25 vCPU", 256),
        (".5 vcpu", 512),
        ("0.125 vCPU", 128),
        ("192 vCPU", 196_608),
        ("1.0 vCPU", 1024),
    ] {
        assert_eq!(parse_cpu(text).unwrap(), units, "{text}");
    }
    for text in [
        "",
        "abc",
        "0",
        "0 vCPU",
        "0.1 vCPU",
        "1024.5",
        "1024.",
        "-1",
        "1 cpu",
        "vcpu",
        ". vcpu",
        "1e3",
        "99999999999999 vCPU",
    ] {
        let error = parse_cpu(text).unwrap_err();
        assert!(message(&error).starts_with("Invalid 'cpu' setting for task."), "{text}: {error:?}");
    }
}

#[test]
fn memory_settings_normalise_to_mib() {
    for (text, mib) in [
        ("2048", 2048),
        ("1GB", 1024),
        ("1 GB", 1024),
        ("2 gb", 2048),
        ("0.5GB", 512),
        ("1GiB", 1024),
        ("512 MiB", 512),
        ("512MB", 512),
        ("120 GB", 122_880),
    ] {
        assert_eq!(parse_memory(text).unwrap(), mib, "{text}");
    }
    for text in ["", "lots", "0", "0GB", "1TB", "0.3GB", "1.5", "-512", "GB", "3000000 GB"] {
        let error = parse_memory(text).unwrap_err();
        assert!(message(&error).starts_with("Invalid 'memory' setting for task."), "{text}: {error:?}");
    }
}

#[test]
fn registration_stores_normalised_sizes() {
    let mut body = fargate_baseline();
    body["cpu"] = json!("0.25 vCPU");
    body["memory"] = json!("0.5GB");
    let def = parse(body).unwrap().definition;
    assert_eq!((def.cpu.as_deref(), def.memory.as_deref()), (Some("256"), Some("512")));

    let mut body = baseline();
    body["cpu"] = json!("1 vCPU");
    body["memory"] = json!("1 GB");
    let def = parse(body).unwrap().definition;
    assert_eq!((def.cpu.as_deref(), def.memory.as_deref()), (Some("1024"), Some("1024")));
}

#[test]
fn fargate_table() {
    let valid = [
        (256, 512),
        (256, 1024),
        (256, 2048),
        (512, 1024),
        (512, 3072),
        (512, 4096),
        (1024, 2048),
        (1024, 8192),
        (2048, 4096),
        (2048, 9216),
        (2048, 16384),
        (4096, 8192),
        (4096, 30720),
        (8192, 16384),
        (8192, 20480),
        (8192, 61440),
        (16384, 32768),
        (16384, 40960),
        (16384, 122880),
    ];
    for (cpu, memory) in valid {
        assert!(is_fargate_size(cpu, memory), "{cpu}/{memory} should be valid");
        let mut body = fargate_baseline();
        body["cpu"] = json!(cpu.to_string());
        body["memory"] = json!(memory.to_string());
        let def = parse(body).unwrap().definition;
        assert_eq!(def.compatibilities, vec!["EC2", "FARGATE"]);
    }
    let invalid = [
        (256, 256),
        (256, 1536),
        (256, 4096),
        (512, 512),
        (512, 5120),
        (1024, 1024),
        (1024, 9216),
        (2048, 2048),
        (2048, 17408),
        (4096, 4096),
        (4096, 31744),
        (8192, 18432),
        (8192, 65536),
        (16384, 36864),
        (16384, 131072),
        (128, 256),
        (3072, 6144),
        (32768, 65536),
    ];
    for (cpu, memory) in invalid {
        assert!(!is_fargate_size(cpu, memory), "{cpu}/{memory} should be invalid");
        let mut body = fargate_baseline();
        body["cpu"] = json!(cpu.to_string());
        body["memory"] = json!(memory.to_string());
        let error = parse(body).unwrap_err();
        assert_eq!(kind(&error), Kind::Client);
        let expected = if fargate_memory_options(cpu).is_some() { "Invalid 'memory'" } else { "Invalid 'cpu'" };
        assert!(message(&error).starts_with(expected), "{cpu}/{memory}: {error:?}");
    }
    let counts: Vec<usize> = [256, 512, 1024, 2048, 4096, 8192, 16384]
        .iter()
        .map(|&cpu| fargate_memory_options(cpu).unwrap().len())
        .collect();
    assert_eq!(counts, vec![3, 4, 7, 13, 23, 12, 12]);
}

#[test]
fn compatibilities_follow_what_the_definition_meets() {
    // awsvpc with a Fargate size is Fargate-compatible even when only EC2 was asked for.
    let mut body = fargate_baseline();
    body["requiresCompatibilities"] = json!(["EC2"]);
    assert_eq!(parse(body).unwrap().definition.compatibilities, vec!["EC2", "FARGATE"]);
    // Without a Fargate size it is EC2 only, and not refused since FARGATE was not asked for.
    let mut body = fargate_baseline();
    body["requiresCompatibilities"] = json!([]);
    body["cpu"] = json!("384");
    let def = parse(body).unwrap().definition;
    assert_eq!(def.compatibilities, vec!["EC2"]);
    assert_eq!(serde_json::to_value(&def).unwrap().get("requiresCompatibilities"), None);
    let mut body = baseline();
    body["requiresCompatibilities"] = json!(["EXTERNAL"]);
    assert_eq!(parse(body).unwrap().definition.compatibilities, vec!["EC2", "EXTERNAL"]);
    let mut body = baseline();
    body["requiresCompatibilities"] = json!(["MANAGED_INSTANCES"]);
    assert_eq!(parse(body).unwrap().definition.compatibilities, vec!["EC2", "MANAGED_INSTANCES"]);
}

// -------------------------------------------------------------------------------------------------------------
// requiresAttributes.

fn attribute_names(def: &TaskDefinition) -> Vec<&str> {
    def.requires_attributes.iter().map(|a| a.name.as_str()).collect()
}

#[test]
fn a_plain_definition_requires_nothing() {
    let body = json!({"family": "min", "containerDefinitions": [{"name": "c", "image": "busybox", "memory": 32}]});
    assert!(parse(body).unwrap().definition.requires_attributes.is_empty());
}

#[test]
fn requires_attributes_for_the_trainer() {
    let def = parse(trainer()).unwrap().definition;
    assert_eq!(
        attribute_names(&def),
        vec![
            "com.amazonaws.ecs.capability.docker-remote-api.1.21",
            "com.amazonaws.ecs.capability.docker-remote-api.1.18",
            "com.amazonaws.ecs.capability.logging-driver.json-file",
            "com.amazonaws.ecs.capability.docker-remote-api.1.19",
            "ecs.capability.container-health-check",
            "com.amazonaws.ecs.capability.docker-remote-api.1.24",
            "ecs.capability.container-ordering",
        ]
    );
    for attribute in &def.requires_attributes {
        assert_eq!((&attribute.value, &attribute.target_type, &attribute.target_id), (&None, &None, &None));
    }
}

#[test]
fn requires_attributes_for_a_fargate_service() {
    let body = json!({
        "family": "svc",
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "512",
        "memory": "1024",
        "taskRoleArn": "arn:aws:iam::123456789012:role/svc",
        "executionRoleArn": "arn:aws:iam::123456789012:role/exec",
        "containerDefinitions": [{
            "name": "svc",
            "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/svc:1",
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/svc"}},
            "secrets": [
                {"name": "A", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:a"},
                {"name": "B", "valueFrom": "/svc/b"}
            ]
        }]
    });
    let def = parse(body).unwrap().definition;
    assert_eq!(
        attribute_names(&def),
        vec![
            "com.amazonaws.ecs.capability.ecr-auth",
            "ecs.capability.execution-role-ecr-pull",
            "com.amazonaws.ecs.capability.docker-remote-api.1.18",
            "com.amazonaws.ecs.capability.logging-driver.awslogs",
            "com.amazonaws.ecs.capability.docker-remote-api.1.19",
            "ecs.capability.execution-role-awslogs",
            "ecs.capability.secrets.asm.environment-variables",
            "ecs.capability.secrets.ssm.environment-variables",
            "com.amazonaws.ecs.capability.task-iam-role",
            "ecs.capability.task-eni",
        ]
    );
}

#[test]
fn requires_attributes_for_the_rich_definition() {
    let def = parse(rich_request()).unwrap().definition;
    let names = attribute_names(&def);
    for expected in [
        "com.amazonaws.ecs.capability.ecr-auth",
        "ecs.capability.private-registry-authentication.secretsmanager",
        "ecs.capability.secrets.ssm.bootstrap.log-driver",
        "ecs.capability.env-files.s3",
        "ecs.capability.firelens.fluentbit",
        "ecs.capability.network.container-port-range",
        "com.amazonaws.ecs.capability.docker-remote-api.1.22",
        "com.amazonaws.ecs.capability.docker-remote-api.1.25",
        "ecs.capability.pid-ipc-namespace-sharing",
        "ecs.capability.aws-appmesh",
        "ecs.capability.task-eia",
        "ecs.capability.efs",
        "ecs.capability.efsAuth",
        "ecs.capability.fsxWindowsFileServer",
        "ecs.capability.docker-plugin.local",
    ] {
        assert!(names.contains(&expected), "{expected} missing from {names:#?}");
    }
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "duplicates in {names:#?}");
    // Stable: the same definition gives the same list.
    assert_eq!(attribute_names(&parse(rich_request()).unwrap().definition), names);
}

// -------------------------------------------------------------------------------------------------------------
// The example in examples/.

fn trainer() -> Value {
    serde_json::from_str(include_str!("../../../../examples/trainer.json")).unwrap()
}

#[test]
fn the_trainer_example_registers() {
    let registration = parse(trainer()).unwrap();
    let def = &registration.definition;
    assert_eq!(def.family, "trainer");
    assert_eq!(def.network_mode(), "bridge");
    assert_eq!(def.requires_compatibilities, vec!["EC2"]);
    assert_eq!(def.compatibilities, vec!["EC2"]);
    let trainer = def.container("trainer").unwrap();
    assert!(trainer.is_essential());
    assert_eq!((trainer.memory, trainer.memory_reservation, trainer.cpu), (Some(4096), Some(3072), Some(2048)));
    assert_eq!(trainer.mount_points[0].source_volume.as_deref(), Some("scratch"));
    assert_eq!(trainer.ulimits.as_ref().unwrap()[0].name, "nofile");
    assert_eq!(trainer.log_configuration.as_ref().unwrap().log_driver, "json-file");
    assert!(trainer.health_check.is_some());
    let metrics = def.container("metrics").unwrap();
    assert!(!metrics.is_essential());
    assert_eq!(
        metrics.dependencies()[0],
        ContainerDependency { container_name: "trainer".into(), condition: "START".into() }
    );
    assert_eq!(def.volumes[0].host.as_ref().unwrap().source_path.as_deref(), Some("/var/lib/berth/scratch/trainer"));
    assert_eq!(registration.tags, vec![Tag { key: "workload".into(), value: Some("training".into()) }]);
}
