"""Empty strings in optional members are absent, as ECS and CloudWatch Logs treat them.

The issue: ecs-deploy re-registers a task definition with "taskRoleArn": "" and "executionRoleArn": "", and the new
revision required com.amazonaws.ecs.capability.task-iam-role, so every placement failed with ATTRIBUTE.

The check is model-driven. For every implemented ECS operation (docs/API-COVERAGE.md) and every served Logs
operation (crates/berth-server/src/logs/mod.rs), the operation's input shape in the installed botocore model is
walked for every optional string member (enums included), through structures and lists of structures. Not walked:
map values (dockerLabels, logConfiguration.options, the Logs `tags` map, ...: those are data, kept verbatim), lists of
strings (`command: [""]` is a value), and `Tag.value` (an empty tag value is a value). Each operation has a base
request below: the smallest valid one that reaches the operation's real work, holding every nested structure whose
members are walked. Per member, the base is sent once with the member "" wherever it occurs and once without it;
both must succeed with the same result (names, ARNs, ids and timestamps that necessarily differ are masked) or both
fail with the same error code. One more pair blanks at once all the members whose absence the base survives.
Required string members get the same check ("" must count as missing, and the error names the member).

test_every_optional_string_member_is_reached fails (without a server) when an implemented operation has optional
string members that no base request reaches and that are not in EXCLUDED (each excluded with its reason), so a
member added to the model later cannot escape the check. It prints the members covered per operation (-rP or -s).

Tasks run on a fake container instance kept connected by polling the agent channel (nothing runs on Docker), except
the ecs-deploy case and the log stream, which use the local agent of a dedicated `berth up`.
"""

import copy
import json
import re
import uuid

import botocore.session
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import ACCOUNT, REGION, REPO, identity_doc, names_field
from test_tasks import IMAGE, instance_of, test_image, wait_status, wait_until  # noqa: F401 (fixture)

pytestmark = pytest.mark.berth_only

ECS_MODEL = botocore.session.get_session().get_service_model("ecs")
LOGS_MODEL = botocore.session.get_session().get_service_model("logs")
MODELS = {"ecs": ECS_MODEL, "logs": LOGS_MODEL}
LOGS_TARGET = "Logs_20140328."
ROLE = f"arn:aws:iam::{ACCOUNT}:role/es-role"
SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
FAKE_ATTRIBUTE = "es-fake"  # only the fake instance has it: a base that lands in `default` places nothing there


# --- which operations, which members -------------------------------------------------------------------------------

def implemented_ecs_operations():
    table = (REPO / "docs" / "API-COVERAGE.md").read_text().split("\n## ")[0]  # the ECS table comes first
    ops = re.findall(r"^\| (\w+) \| implemented \|", table, re.M)
    assert ops, "no implemented operation found in docs/API-COVERAGE.md"
    return ops


def served_logs_operations():
    src = (REPO / "crates" / "berth-server" / "src" / "logs" / "mod.rs").read_text()
    ops = re.findall(r'name: "(\w+)", handler: Some', src)
    assert ops, "no served Logs operation found in crates/berth-server/src/logs/mod.rs"
    return ops


OPERATIONS = [("ecs", op) for op in implemented_ecs_operations()] + [("logs", op) for op in served_logs_operations()]


def string_members(shape, required, prefix="", seen=()):
    """Paths ("a[].b.c") of the string members of `shape` (required or optional in their own structure)."""
    for name, member in shape.members.items():
        path = prefix + name
        if member.type_name == "string":
            if shape.name == "Tag" and name == "value":
                continue  # an empty tag value is a value
            if (name in shape.required_members) == required:
                yield path
        elif member.type_name == "structure" and member.name not in seen:
            yield from string_members(member, required, path + ".", seen + (member.name,))
        elif member.type_name == "list" and member.member.type_name == "structure" \
                and member.member.name not in seen:
            yield from string_members(member.member, required, path + "[].", seen + (member.member.name,))
        # maps (values are data) and lists of strings (values) are not walked


def model_members(service, op, required=False):
    shape = MODELS[service].operation_model(op).input_shape
    return list(string_members(shape, required)) if shape is not None else []


# Members of ECS operations that no base request can reach; a path ending in "[]" or "." excludes everything under it.
EXCLUDED = {
    # Any element of these lists answers UnsupportedFeatureException (Berth has no load balancers, service
    # discovery, Service Connect or EBS volumes), whatever its members hold: no base request gets past that check.
    ("CreateService", "loadBalancers[]."): "load balancers: UnsupportedFeatureException for any element",
    ("UpdateService", "loadBalancers[]."): "load balancers: UnsupportedFeatureException for any element",
    ("CreateService", "serviceRegistries[]."): "service discovery: UnsupportedFeatureException for any element",
    ("UpdateService", "serviceRegistries[]."): "service discovery: UnsupportedFeatureException for any element",
    ("CreateService", "serviceConnectConfiguration."): "Service Connect: UnsupportedFeatureException when present",
    ("UpdateService", "serviceConnectConfiguration."): "Service Connect: UnsupportedFeatureException when present",
    ("CreateService", "volumeConfigurations[]."): "EBS volumes: UnsupportedFeatureException for any element",
    ("UpdateService", "volumeConfigurations[]."): "EBS volumes: UnsupportedFeatureException for any element",
    ("RunTask", "volumeConfigurations[]."): "EBS volumes: UnsupportedFeatureException for any element",
    ("StartTask", "volumeConfigurations[]."): "EBS volumes: UnsupportedFeatureException for any element",
    # Deployment lifecycle hooks belong to BLUE_GREEN/LINEAR/CANARY: UnsupportedFeatureException when present.
    ("CreateService", "deploymentConfiguration.lifecycleHooks[]."): "lifecycle hooks: UnsupportedFeatureException",
    ("UpdateService", "deploymentConfiguration.lifecycleHooks[]."): "lifecycle hooks: UnsupportedFeatureException",
}


def excluded(service, op, path):
    return next((reason for (o, p), reason in EXCLUDED.items()
                 if service == "ecs" and o == op and (path == p or (p.endswith((".", "[]")) and path.startswith(p)))),
                None)


# --- request bodies: reaching, blanking and dropping members -------------------------------------------------------

def parents(body, path):
    """The objects of `body` that would hold `path`'s last member (every element of the lists on the way)."""
    *steps, leaf = path.split(".")
    nodes = [body]
    for step in steps:
        name, is_list = (step[:-2], True) if step.endswith("[]") else (step, False)
        found = []
        for node in nodes:
            value = node.get(name)
            if is_list and isinstance(value, list):
                found += [e for e in value if isinstance(e, dict)]
            elif not is_list and isinstance(value, dict):
                found.append(value)
        nodes = found
    return nodes, leaf


def reached(body, path):
    return bool(parents(body, path)[0])


def present(body, path):
    nodes, leaf = parents(body, path)
    return any(leaf in n for n in nodes)


def blank(body, *paths):
    body = copy.deepcopy(body)
    for path in paths:
        nodes, leaf = parents(body, path)
        for n in nodes:
            n[leaf] = ""
    return body


def drop(body, *paths):
    body = copy.deepcopy(body)
    for path in sorted(paths, key=lambda p: -p.count(".")):
        nodes, leaf = parents(body, path)
        for n in nodes:
            n.pop(leaf, None)
    return body


# --- the cases -----------------------------------------------------------------------------------------------------

class Case:
    """One operation's base request.

    body(ctx) builds the request (pure: also called with a dummy context to see what it reaches); setup(ctx) creates
    what one variant needs (a fresh service, task, ...); observe(ctx, doc) gives what is compared (default: the
    response); fresh: the variants create resources whose ids differ (masked when comparing); placed: the base's
    response must list no placement failure (RunTask, StartTask).
    """

    def __init__(self, op, body, service="ecs", setup=None, observe=None, fresh=False, placed=False):
        self.op, self.body, self.service, self.setup, self.observe = op, body, service, setup, observe
        self.fresh, self.placed = fresh, placed


class Ctx:
    """One variant's names: `u` is unique to the variant; everything else comes from the module's environment."""

    def __init__(self, env):
        self.env = env
        self.u = uuid.uuid4().hex[:10]

    def __getattr__(self, name):
        return getattr(self.env, name)


class DummyEnv:
    """Stands in for the environment when only the shape of the base requests matters."""

    def __getattr__(self, name):
        return "x"


def placement():
    return {"placementConstraints": [{"type": "memberOf", "expression": f"attribute:{FAKE_ATTRIBUTE} == yes"}],
            "placementStrategy": [{"type": "binpack", "field": "memory"}]}


def network():
    return {"networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-0es"], "securityGroups": ["sg-0es"],
                                                             "assignPublicIp": "DISABLED"}}}


def cluster_configuration():
    return {"executeCommandConfiguration": {
                "kmsKeyId": "key-1", "logging": "OVERRIDE",
                "logConfiguration": {"cloudWatchLogGroupName": "/es/exec", "cloudWatchEncryptionEnabled": False,
                                     "s3BucketName": "es-bucket", "s3KeyPrefix": "exec/"}},
            "managedStorageConfiguration": {"kmsKeyId": "key-2", "fargateEphemeralStorageKmsKeyId": "key-3"}}


def deployment_configuration():
    return {"maximumPercent": 200, "minimumHealthyPercent": 50, "strategy": "ROLLING",
            "deploymentCircuitBreaker": {"enable": False, "rollback": False}}


def overrides():
    return {"containerOverrides": [{"name": "main", "environment": [{"name": "X", "value": "1"}]}],
            "cpu": "128", "memory": "256", "executionRoleArn": ROLE, "taskRoleArn": ROLE,
            "inferenceAcceleratorOverrides": [{"deviceName": "dev0", "deviceType": "eia2.medium"}]}


def bindings():
    return [{"bindIP": "0.0.0.0", "containerPort": 80, "hostPort": 32768, "protocol": "tcp"},
            {"bindIP": "0.0.0.0", "containerPortRange": "9000-9001", "hostPortRange": "40000-40001", "protocol": "udp"}]


def register_body(ctx):
    return {
        "family": f"es-{ctx.u}",
        "taskRoleArn": ROLE,
        "executionRoleArn": ROLE,
        "networkMode": "bridge",
        "containerDefinitions": [
            {"name": "main", "image": "busybox:latest", "memory": 64, "essential": True,
             "portMappings": [{"containerPort": 80, "hostPort": 0, "protocol": "tcp", "name": "web",
                               "appProtocol": "http"},
                              {"containerPortRange": "9000-9001", "protocol": "udp"}],
             "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
             "mountPoints": [{"sourceVolume": "hostvol", "containerPath": "/data"}],
             "volumesFrom": [{"sourceContainer": "side"}],
             "linuxParameters": {"devices": [{"hostPath": "/dev/null", "containerPath": "/dev/es"}]},
             "versionConsistency": "disabled", "hostname": "es-host", "user": "root", "workingDirectory": "/",
             "systemControls": [{"namespace": "net.ipv4.tcp_keepalive_time", "value": "300"}]},
            {"name": "side", "image": "busybox:latest", "memory": 32, "essential": False},
        ],
        "volumes": [
            {"name": "hostvol", "host": {"sourcePath": "/tmp"}},
            {"name": "dockervol", "dockerVolumeConfiguration": {"scope": "task", "driver": "local"}},
            {"name": "efsvol", "efsVolumeConfiguration": {
                "fileSystemId": "fs-0es", "rootDirectory": "/", "transitEncryption": "ENABLED",
                "authorizationConfig": {"accessPointId": "fsap-0es", "iam": "ENABLED"}}},
            {"name": "s3vol", "s3filesVolumeConfiguration": {
                "fileSystemArn": f"arn:aws:s3files:{REGION}:{ACCOUNT}:file-system/fs-es", "rootDirectory": "/",
                "accessPointArn": f"arn:aws:s3files:{REGION}:{ACCOUNT}:access-point/ap-es"}},
        ],
        "placementConstraints": [{"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}],
        "cpu": "256",
        "memory": "512",
        "tags": [{"key": "team", "value": "ml"}],
        "pidMode": "task",
        "ipcMode": "none",
        "proxyConfiguration": {"type": "APPMESH", "containerName": "main",
                               "properties": [{"name": "IgnoredUID", "value": "1337"}]},
        "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
    }


def task_request(ctx):
    return {"cluster": ctx.cluster, "taskDefinition": ctx.family, "group": "es-group", "startedBy": "es",
            "referenceId": "es-ref", "propagateTags": "TASK_DEFINITION", "tags": [{"key": "k", "value": "v"}],
            "overrides": overrides(), **network()}


def new_service(ctx):
    """A service of its own, settled (its first deployment COMPLETED), so that its state does not race the call."""
    ctx.svc = f"es-{ctx.u}"
    doc = ctx.env.json("CreateService", {"cluster": ctx.cluster, "serviceName": ctx.svc,
                                         "taskDefinition": ctx.family, "desiredCount": 0})
    stored_service(ctx, doc)


def new_task(ctx):
    out = ctx.ecs.run_task(cluster=ctx.cluster, taskDefinition=ctx.family, **placement())
    assert out["failures"] == [], out["failures"]
    ctx.task = out["tasks"][0]["taskArn"]


def new_cluster(ctx):
    ctx.own_cluster = f"es-{ctx.u}"
    ctx.ecs.create_cluster(clusterName=ctx.own_cluster)


def new_instance(ctx):
    ctx.own_instance = ctx.env.register_fake(ctx.cluster2, f"i-0000000{ctx.u}")


def new_attribute(ctx):
    new_instance(ctx)
    ctx.ecs.put_attributes(cluster=ctx.cluster2, attributes=[
        {"name": f"es-{ctx.u}", "value": "v", "targetType": "container-instance", "targetId": ctx.own_instance}])


def new_group(ctx):
    """A log group of its own, tagged team=ml."""
    ctx.own_group = f"/es/{ctx.u}"
    ctx.own_group_arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{ctx.own_group}"
    ctx.env.json("CreateLogGroup", {"logGroupName": ctx.own_group, "tags": {"team": "ml"}}, service="logs")


def the_task(ctx, doc):
    return ctx.env.json("DescribeTasks", {"cluster": ctx.cluster, "tasks": [ctx.task], "include": ["TAGS"]})


def the_tags(arn_of):
    return lambda ctx, doc: ctx.env.json("ListTagsForResource", {"resourceArn": arn_of(ctx)})


def the_group(ctx, doc):
    return ctx.env.json("DescribeLogGroups", {"logGroupNamePrefix": f"/es/{ctx.u}"}, service="logs")


def the_group_tags(ctx, doc):
    return ctx.env.json("ListTagsLogGroup", {"logGroupName": ctx.own_group}, service="logs")


def and_stored(read):
    """The response and what a read afterwards returns (the stored resource)."""
    return lambda ctx, doc: {"response": doc, "stored": read(ctx, doc)}


def stored_cluster(ctx, doc):
    return ctx.env.json("DescribeClusters", {"clusters": [doc["cluster"]["clusterArn"]],
                                             "include": ["SETTINGS", "CONFIGURATIONS", "TAGS"]})


def stored_service(ctx, doc):
    """The service once its controller has settled it (desired count 0: at once); its events are left out."""
    s = doc["service"]

    def settled():
        out = ctx.env.json("DescribeServices", {"cluster": s["clusterArn"], "services": [s["serviceArn"]],
                                                "include": ["TAGS"]})
        deployments = out["services"][0]["deployments"]
        return out if len(deployments) == 1 and deployments[0].get("rolloutState") == "COMPLETED" else None

    out = wait_until("service settled", settled, timeout=15, interval=0.05)
    out["services"][0].pop("events", None)
    return out


def stored_tasks(ctx, doc):
    tasks = doc.get("tasks") or ([doc["task"]] if "task" in doc else [])
    if not tasks:
        return None
    return ctx.env.json("DescribeTasks", {"cluster": tasks[0]["clusterArn"], "tasks": [t["taskArn"] for t in tasks],
                                          "include": ["TAGS"]})


def stored_definition(ctx, doc):
    return ctx.env.json("DescribeTaskDefinition", {"taskDefinition": doc["taskDefinition"]["taskDefinitionArn"],
                                                   "include": ["TAGS"]})


def stored_attributes(ctx, doc):
    return ctx.env.json("ListAttributes", {"cluster": ctx.cluster2, "targetType": "container-instance",
                                           "attributeName": f"es-{ctx.u}"})


def deregistered(ctx, doc):
    """RegisterContainerInstance: the instance as registered; then it is taken out again (it may be in default)."""
    ci = doc["containerInstance"]
    cluster = ci["containerInstanceArn"].split("/")[1]
    ctx.ecs.deregister_container_instance(cluster=cluster, containerInstance=ci["containerInstanceArn"], force=True)
    return doc


CASES = {(c.service, c.op): c for c in [
    # --- clusters
    Case("CreateCluster", lambda ctx: {"clusterName": f"es-{ctx.u}", "tags": [{"key": "team", "value": "ml"}],
                                       "settings": [{"name": "containerInsights", "value": "enabled"}],
                                       "configuration": cluster_configuration()},
         observe=and_stored(stored_cluster), fresh=True),
    Case("UpdateCluster", lambda ctx: {"cluster": ctx.own_cluster,
                                       "settings": [{"name": "containerInsights", "value": "enabled"}],
                                       "configuration": cluster_configuration()}, setup=new_cluster,
         observe=and_stored(stored_cluster), fresh=True),
    Case("UpdateClusterSettings", lambda ctx: {"cluster": ctx.own_cluster,
                                               "settings": [{"name": "containerInsights", "value": "disabled"}]},
         setup=new_cluster, observe=and_stored(stored_cluster), fresh=True),
    Case("DeleteCluster", lambda ctx: {"cluster": ctx.own_cluster}, setup=new_cluster, fresh=True),
    Case("DescribeClusters", lambda ctx: {"clusters": [ctx.cluster], "include": ["SETTINGS", "TAGS"]}),
    Case("ListClusters", lambda ctx: {"maxResults": 100}),
    # --- task definitions
    Case("RegisterTaskDefinition", register_body, observe=and_stored(stored_definition), fresh=True),
    Case("DescribeTaskDefinition", lambda ctx: {"taskDefinition": ctx.family, "include": ["TAGS"]}),
    Case("DeregisterTaskDefinition", lambda ctx: {"taskDefinition": ctx.own_td},
         setup=lambda ctx: setattr(ctx, "own_td", ctx.env.register_simple(f"es-{ctx.u}")), fresh=True),
    Case("DeleteTaskDefinitions", lambda ctx: {"taskDefinitions": [f"es-{ctx.u}:1"]}, fresh=True,
         setup=lambda ctx: ctx.ecs.deregister_task_definition(
             taskDefinition=ctx.env.register_simple(f"es-{ctx.u}"))),
    Case("ListTaskDefinitions", lambda ctx: {"familyPrefix": ctx.family, "status": "ACTIVE", "sort": "DESC"}),
    Case("ListTaskDefinitionFamilies", lambda ctx: {"familyPrefix": ctx.family, "status": "ACTIVE"}),
    # --- services
    Case("CreateService", lambda ctx: {
        "cluster": ctx.cluster, "serviceName": f"es-{ctx.u}", "taskDefinition": ctx.family, "desiredCount": 0,
        "launchType": "EC2", "schedulingStrategy": "REPLICA", "propagateTags": "SERVICE",
        "availabilityZoneRebalancing": "DISABLED", "clientToken": ctx.u,
        "deploymentConfiguration": deployment_configuration(), **placement(), **network(),
        "tags": [{"key": "team", "value": "ml"}]}, observe=and_stored(stored_service), fresh=True),
    Case("UpdateService", lambda ctx: {
        "cluster": ctx.cluster, "service": ctx.svc, "taskDefinition": ctx.family, "desiredCount": 0,
        "deploymentConfiguration": deployment_configuration(), **placement(), **network(),
        "propagateTags": "SERVICE", "availabilityZoneRebalancing": "DISABLED", "forceNewDeployment": True},
         setup=new_service, observe=and_stored(stored_service), fresh=True),
    Case("DeleteService", lambda ctx: {"cluster": ctx.cluster, "service": ctx.svc, "force": True},
         setup=new_service, fresh=True),
    Case("DescribeServices", lambda ctx: {"cluster": ctx.cluster, "services": [ctx.service], "include": ["TAGS"]}),
    Case("ListServices", lambda ctx: {"cluster": ctx.cluster, "launchType": "EC2", "schedulingStrategy": "REPLICA"}),
    Case("ListServiceDeployments", lambda ctx: {"cluster": ctx.cluster, "service": ctx.service}),
    Case("DescribeServiceDeployments", lambda ctx: {"serviceDeploymentArns": [ctx.service_deployment]}),
    # --- tasks
    Case("RunTask", lambda ctx: {**task_request(ctx), "count": 1, "launchType": "EC2", "clientToken": ctx.u,
                                 **placement()}, observe=and_stored(stored_tasks), fresh=True, placed=True),
    Case("StartTask", lambda ctx: {**task_request(ctx), "containerInstances": [ctx.instance]},
         observe=and_stored(stored_tasks), fresh=True, placed=True),
    Case("StopTask", lambda ctx: {"cluster": ctx.cluster, "task": ctx.task, "reason": "es stop"},
         setup=new_task, observe=and_stored(stored_tasks), fresh=True),
    Case("DescribeTasks", lambda ctx: {"cluster": ctx.cluster, "tasks": [ctx.task], "include": ["TAGS"]}),
    Case("ListTasks", lambda ctx: {"cluster": ctx.cluster, "containerInstance": ctx.instance, "family": ctx.family,
                                   "startedBy": "es-env", "desiredStatus": "RUNNING", "launchType": "EC2"}),
    # --- container instances and attributes
    Case("RegisterContainerInstance", lambda ctx: {
        "cluster": ctx.cluster2,
        "instanceIdentityDocument": identity_doc(f"i-0000000{ctx.u}"),
        "instanceIdentityDocumentSignature": "es-signature",
        "totalResources": [{"name": "CPU", "type": "INTEGER", "integerValue": 1024},
                           {"name": "MEMORY", "type": "INTEGER", "integerValue": 2048}],
        "versionInfo": {"agentVersion": "1.80.0", "agentHash": "abcdef0", "dockerVersion": "DockerVersion: 24.0.7"},
        "attributes": [{"name": "es-attr", "value": "v", "targetType": "container-instance"}],
        "tags": [{"key": "team", "value": "ml"}]}, observe=deregistered, fresh=True),
    Case("DeregisterContainerInstance", lambda ctx: {"cluster": ctx.cluster2, "containerInstance": ctx.own_instance,
                                                     "force": True}, setup=new_instance, fresh=True),
    Case("DescribeContainerInstances", lambda ctx: {"cluster": ctx.cluster, "containerInstances": [ctx.instance]}),
    Case("ListContainerInstances", lambda ctx: {"cluster": ctx.cluster, "status": "ACTIVE",
                                                "filter": "attribute:ecs.os-type == linux"}),
    Case("UpdateContainerInstancesState", lambda ctx: {"cluster": ctx.cluster, "containerInstances": [ctx.instance],
                                                       "status": "ACTIVE"}),
    # (on an instance of their own: an instance holds at most 10 custom attributes)
    Case("PutAttributes", lambda ctx: {"cluster": ctx.cluster2, "attributes": [
        {"name": f"es-{ctx.u}", "value": "v", "targetType": "container-instance", "targetId": ctx.own_instance}]},
         setup=new_instance, observe=and_stored(stored_attributes), fresh=True),
    Case("DeleteAttributes", lambda ctx: {"cluster": ctx.cluster2, "attributes": [
        {"name": f"es-{ctx.u}", "value": "v", "targetType": "container-instance", "targetId": ctx.own_instance}]},
         setup=new_attribute, observe=and_stored(stored_attributes), fresh=True),
    Case("ListAttributes", lambda ctx: {"cluster": ctx.cluster, "targetType": "container-instance",
                                        "attributeName": FAKE_ATTRIBUTE, "attributeValue": "yes"}),
    Case("ListAccountSettings", lambda ctx: {"name": "containerInsights", "value": "disabled",
                                             "principalArn": f"arn:aws:iam::{ACCOUNT}:root",
                                             "effectiveSettings": True}),
    # (AWS's default values, so the account's settings stay as they were)
    Case("PutAccountSetting", lambda ctx: {"name": "awsvpcTrunking", "value": "disabled",
                                           "principalArn": f"arn:aws:iam::{ACCOUNT}:root"}),
    Case("PutAccountSettingDefault", lambda ctx: {"name": "awsvpcTrunking", "value": "disabled"}),
    Case("DeleteAccountSetting", lambda ctx: {"name": "awsvpcTrunking",
                                              "principalArn": f"arn:aws:iam::{ACCOUNT}:root"}),
    # --- tags
    Case("TagResource", lambda ctx: {"resourceArn": ctx.own_cluster_arn, "tags": [{"key": "team", "value": "ml"}]},
         setup=lambda ctx: (new_cluster(ctx), setattr(ctx, "own_cluster_arn", cluster_arn_of(ctx.own_cluster))),
         observe=the_tags(lambda ctx: ctx.own_cluster_arn), fresh=True),
    Case("UntagResource", lambda ctx: {"resourceArn": cluster_arn_of(ctx.cluster), "tagKeys": ["nothing-here"]}),
    Case("ListTagsForResource", lambda ctx: {"resourceArn": cluster_arn_of(ctx.cluster)}),
    # --- the agent's reports
    Case("SubmitTaskStateChange", lambda ctx: {
        "cluster": ctx.cluster, "task": ctx.task, "status": "RUNNING", "reason": "es report",
        "containers": [{"containerName": "main", "imageDigest": "sha256:" + "a" * 64, "runtimeId": "es-runtime",
                        "status": "RUNNING", "reason": "es container", "networkBindings": bindings()}],
        "managedAgents": [{"containerName": "main", "managedAgentName": "ExecuteCommandAgent", "status": "RUNNING",
                           "reason": "es agent"}]},
         setup=new_task, observe=the_task, fresh=True),
    Case("SubmitContainerStateChange", lambda ctx: {
        "cluster": ctx.cluster, "task": ctx.task, "containerName": "main", "runtimeId": "es-runtime",
        "status": "RUNNING", "reason": "es container", "networkBindings": bindings()},
         setup=new_task, observe=the_task, fresh=True),
    # --- CloudWatch Logs
    Case("CreateLogGroup", lambda ctx: {"logGroupName": f"/es/{ctx.u}", "logGroupClass": "STANDARD",
                                        "tags": {"team": "ml"}}, service="logs", observe=the_group, fresh=True),
    Case("DeleteLogGroup", lambda ctx: {"logGroupName": ctx.own_group}, service="logs", setup=new_group,
         fresh=True),
    Case("DescribeLogGroups", lambda ctx: {"logGroupNamePrefix": "/es", "logGroupClass": "STANDARD", "limit": 50},
         service="logs"),
    Case("PutRetentionPolicy", lambda ctx: {"logGroupName": ctx.own_group, "retentionInDays": 7}, service="logs",
         setup=new_group, observe=the_group, fresh=True),
    Case("DeleteRetentionPolicy", lambda ctx: {"logGroupName": ctx.own_group}, service="logs", setup=new_group,
         observe=the_group, fresh=True),
    Case("TagLogGroup", lambda ctx: {"logGroupName": ctx.own_group, "tags": {"team": "ml"}}, service="logs",
         setup=new_group, observe=the_group_tags, fresh=True),
    Case("UntagLogGroup", lambda ctx: {"logGroupName": ctx.own_group, "tags": ["team"]}, service="logs",
         setup=new_group, observe=the_group_tags, fresh=True),
    Case("ListTagsLogGroup", lambda ctx: {"logGroupName": ctx.group}, service="logs"),
    Case("TagResource", lambda ctx: {"resourceArn": ctx.own_group_arn, "tags": {"team": "ml"}}, service="logs",
         setup=new_group, observe=the_group_tags, fresh=True),
    Case("UntagResource", lambda ctx: {"resourceArn": ctx.own_group_arn, "tagKeys": ["team"]}, service="logs",
         setup=new_group, observe=the_group_tags, fresh=True),
    Case("ListTagsForResource", lambda ctx: {"resourceArn": ctx.group_arn}, service="logs"),
    Case("DescribeLogStreams", lambda ctx: {"logGroupName": ctx.group, "logStreamNamePrefix": "ecs/",
                                            "orderBy": "LogStreamName", "descending": False, "limit": 10},
         service="logs"),
    Case("GetLogEvents", lambda ctx: {"logGroupName": ctx.group, "logStreamName": ctx.stream,
                                      "startFromHead": True, "limit": 100}, service="logs"),
    Case("FilterLogEvents", lambda ctx: {"logGroupName": ctx.group, "logStreamNamePrefix": "ecs/",
                                         "filterPattern": "hello", "limit": 100}, service="logs"),
]}


def cluster_arn_of(name):
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{name}"


def coverage(service, op, required=False):
    """(members reached by the base, members excluded with their reasons, members not reached)."""
    case = CASES.get((service, op))
    body = case.body(Ctx(DummyEnv())) if case else {}
    covered, skipped, missing = [], {}, []
    for path in model_members(service, op, required):
        reason = excluded(service, op, path)
        if reason and not required:
            skipped[path] = reason
        elif reached(body, path):
            covered.append(path)
        else:
            missing.append(path)
    return covered, skipped, missing


# --- talking to Berth ----------------------------------------------------------------------------------------------

class Outcome:
    """ok + the masked result, or error + its code; `detail` (the message or raw result) is not compared."""

    def __init__(self, ok, value, detail=""):
        self.ok, self.value, self.detail = ok, value, detail

    def __eq__(self, other):
        return (self.ok, self.value) == (other.ok, other.value)

    def __repr__(self):
        return f"ok {json.dumps(self.value)[:300]}" if self.ok else f"{self.value}: {self.detail[:200]}"


TIMESTAMP = re.compile(r"(At|Time|Timestamp)$")
IDS = [(re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<ID>"),
       (re.compile(r"\b[0-9a-f]{32}\b"), "<ID>"),
       (re.compile(r"ecs-svc/\d+"), "ecs-svc/<ID>"),
       (re.compile(r"(?<=/)\d{12,}\b"), "<ID>")]  # service deployment ARNs end in a number


def mask(value, token, ids):
    """The result with the variant's unique token, (for fresh resources) ids, and timestamps masked."""
    if isinstance(value, dict):
        return {k: mask(v, token, ids) for k, v in sorted(value.items())
                if not TIMESTAMP.search(k) and k not in ("version", "ResponseMetadata")}
    if isinstance(value, list):
        return [mask(v, token, ids) for v in value]
    if isinstance(value, str):
        value = value.replace(token, "<U>")
        if ids:
            for pattern, repl in IDS:
                value = pattern.sub(repl, value)
    return value


def differences(a, b, path=""):
    """Where two masked results differ (a few lines)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append(f"{path}.{k}: {json.dumps(a.get(k, '<absent>'))[:120]} vs "
                           f"{json.dumps(b.get(k, '<absent>'))[:120]}")
            else:
                out += differences(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {json.dumps(a)[:120]} vs {json.dumps(b)[:120]}"]


class Env:
    """Everything the base requests refer to, on a dedicated `berth up`."""

    def __init__(self, srv):
        self.srv = srv
        self.ecs = srv.client()
        self.logs = srv.client("logs")

    def call(self, service, op, body):
        if service == "ecs":
            return self.srv.raw(op, body)
        data = json.dumps(body).encode()
        req = AWSRequest(method="POST", url=self.srv.endpoint + "/", data=data,
                         headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": LOGS_TARGET + op})
        SigV4Auth(Credentials(*self.srv.creds), "logs", REGION).add_auth(req)
        return requests.post(self.srv.endpoint + "/", data=data, headers=dict(req.prepare().headers), timeout=30)

    def json(self, op, body, service="ecs"):
        r = self.call(service, op, body)
        assert r.status_code == 200, f"{op}: {r.text}"
        return r.json()

    def register_fake(self, cluster, instance_id):
        doc = {"cluster": cluster, "instanceIdentityDocument": identity_doc(instance_id),
               "totalResources": [{"name": "CPU", "type": "INTEGER", "integerValue": 1_000_000},
                                  {"name": "MEMORY", "type": "INTEGER", "integerValue": 10_000_000}],
               "versionInfo": {"agentVersion": "1.80.0", "agentHash": "abcdef0", "dockerVersion": "24.0.7"},
               "attributes": [{"name": "ecs.os-type", "value": "linux"}, {"name": FAKE_ATTRIBUTE, "value": "yes"}]}
        return self.ecs.register_container_instance(**doc)["containerInstance"]["containerInstanceArn"]

    def register_simple(self, family):
        return self.ecs.register_task_definition(
            family=family, containerDefinitions=[{"name": "main", "image": "busybox:latest", "memory": 16}],
        )["taskDefinition"]["taskDefinitionArn"]

    def keep_fake_connected(self):
        """One poll of the agent channel: the fake instance counts as connected for --agent-deadline."""
        r = self.srv.raw("BerthAgentV20261129.Poll",
                         {"cluster": self.cluster, "containerInstance": self.instance, "waitSeconds": 0})
        assert r.status_code == 200, r.text

    def outcome(self, case, mutate=None):
        ctx = Ctx(self)
        if case.setup:
            case.setup(ctx)
        body = case.body(ctx)
        if mutate:
            body = mutate(body)
        r = self.call(case.service, case.op, body)
        doc = r.json() if r.content else {}
        if r.status_code != 200:
            code = str(doc.get("__type", r.status_code)).split("#")[-1].split(":")[0]
            return Outcome(False, code, doc.get("message", doc.get("Message", r.text)))
        seen = case.observe(ctx, doc) if case.observe else doc
        return Outcome(True, mask(seen, ctx.u, case.fresh))


# --- fixtures ------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def srv(server_factory, test_image):
    return server_factory()


@pytest.fixture(scope="module")
def local_instance(srv):
    state = srv.data_dir / "agent-state.json"
    wait_until(f"{state} written by berth up's agent", state.exists, timeout=30)
    arn = json.loads(state.read_text())["containerInstanceArn"]
    ecs = srv.client()
    wait_until("local agent connected", lambda: instance_of(ecs, arn)["agentConnected"], timeout=30)
    return arn


@pytest.fixture(scope="module")
def env(srv, local_instance):
    e = Env(srv)
    e.local_instance = local_instance
    token = uuid.uuid4().hex[:8]
    e.cluster, e.cluster2 = f"es-env-{token}", f"es-reg-{token}"
    e.ecs.create_cluster(clusterName=e.cluster)
    e.ecs.create_cluster(clusterName=e.cluster2)
    e.instance = e.register_fake(e.cluster, "i-0" + uuid.uuid4().hex[:16])
    e.keep_fake_connected()
    e.family = f"es-env-{token}"
    e.ecs.register_task_definition(family=e.family, containerDefinitions=[
        {"name": "main", "image": "busybox:latest", "memory": 16, "essential": True}],
        tags=[{"key": "t", "value": "v"}])
    e.service = f"es-env-{token}"
    svc = e.ecs.create_service(cluster=e.cluster, serviceName=e.service, taskDefinition=e.family, desiredCount=0)
    e.service_deployment = svc["service"].get("currentServiceDeployment") or e.ecs.list_service_deployments(
        cluster=e.cluster, service=e.service)["serviceDeployments"][0]["serviceDeploymentArn"]
    out = e.ecs.run_task(cluster=e.cluster, taskDefinition=e.family, startedBy="es-env", **placement())
    assert out["failures"] == [], out["failures"]
    e.task = out["tasks"][0]["taskArn"]
    e.group, e.stream = log_stream(e)
    e.group_arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{e.group}"
    return e


def log_stream(e):
    """A stream with two lines, written by a short task on the local agent; (group, stream)."""
    group, family = f"/es/{uuid.uuid4().hex[:8]}-logs", f"es-logs-{uuid.uuid4().hex[:8]}"
    e.ecs.register_task_definition(family=family, containerDefinitions=[{
        "name": "main", "image": IMAGE, "memory": 32, "essential": True,
        "command": ["sh", "-c", "echo hello one; echo hello two"],
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": group, "awslogs-region": REGION,
                                                                 "awslogs-stream-prefix": "ecs"}}}])
    out = e.ecs.run_task(cluster="default", taskDefinition=family)
    assert out["failures"] == [], out["failures"]
    arn = out["tasks"][0]["taskArn"]
    wait_status(e.ecs, [arn], "STOPPED")
    stream = f"ecs/main/{arn.rsplit('/', 1)[1]}"
    wait_until("both lines in the stream", lambda: len(e.logs.get_log_events(
        logGroupName=group, logStreamName=stream, startFromHead=True)["events"]) == 2, timeout=30)
    return group, stream


# --- the checks ----------------------------------------------------------------------------------------------------

def test_every_optional_string_member_is_reached():
    """Every implemented operation has a base request, and it reaches every optional string member not excluded."""
    lines, problems = [], []
    for service, op in OPERATIONS:
        covered, skipped, missing = coverage(service, op)
        if (service, op) not in CASES and (covered or missing):
            problems.append(f"{service} {op}: no base request in CASES")
        lines.append(f"{service} {op}: {len(covered)} covered, {len(skipped)} excluded")
        lines += [f"    {m}" for m in covered]
        lines += [f"    (excluded) {m}: {r}" for m, r in skipped.items()]
        problems += [f"{service} {op}: optional string member {m} is reached by no base request" for m in missing]
    for (op, path), reason in EXCLUDED.items():
        if ("ecs", op) not in OPERATIONS or not any(m == path or m.startswith(path) for m in model_members("ecs", op)):
            problems.append(f"stale exclusion {op} {path} ({reason}): no such member")
    problems += [f"{service} {op}: a base request for an operation that is not served"
                 for service, op in CASES if (service, op) not in OPERATIONS]
    print("\n".join(lines))
    assert not problems, "\n".join(problems)


def check_members(env, case, members):
    """Per member (and all at once): "" versus absent. Returns the differences found."""
    env.keep_fake_connected()
    base = env.outcome(case)
    dummy = case.body(Ctx(DummyEnv()))
    diffs, both_fail = [], []

    benign = []  # members whose absence the base survives: blanked all at once at the end

    def compare(label, paths):
        with_empty = env.outcome(case, lambda b: blank(b, *paths))
        without = env.outcome(case, lambda b: drop(b, *paths)) if any(present(dummy, p) for p in paths) else base
        if with_empty == without and not with_empty.ok:
            both_fail.append(f"{label} ({with_empty.value})")
        if with_empty.ok and without.ok and len(paths) == 1:
            benign.append(paths[0])
        if with_empty != without:
            detail = ""
            if with_empty.ok and without.ok:
                detail = "; ".join(differences(with_empty.value, without.value)[:4])
            diffs.append(f"{case.op} {label}: with \"\" -> {with_empty!r}\n    without -> {without!r}"
                         + (f"\n    differs at: {detail}" if detail else ""))

    for m in members:
        compare(m, [m])
    if len(benign) > 1:
        compare(f"(all {len(benign)} whose absence succeeds, at once)", benign)
    return base, diffs, both_fail


@pytest.mark.parametrize("service,op", OPERATIONS, ids=[f"{service}-{op}" for service, op in OPERATIONS])
def test_empty_optional_strings_are_absent(env, service, op):
    case = CASES.get((service, op))
    covered, skipped, _ = coverage(service, op)
    if case is None:
        assert not covered, f"{op}: no base request"  # test_every_optional_string_member_is_reached says more
        pytest.skip(f"{op} has no optional string member")
    base, diffs, both_fail = check_members(env, case, covered)
    print(f"{op}: {len(covered)} members checked: {', '.join(covered) or '-'}")
    if both_fail:
        print(f"{op}: the same error with \"\" and without: {', '.join(both_fail)}")
    assert base.ok, f"{op}: the base request fails, so it reaches no real work: {base!r}"
    if case.placed:
        assert base.value["response"]["failures"] == [], f"{op}: the base request places nothing: {base!r}"
    assert not diffs, f"{len(diffs)} comparisons differ ({len(covered)} members, then those together):\n" \
        + "\n".join(diffs)


# The operations whose base request holds a required string member.
WITH_REQUIRED = [(service, op) for service, op in OPERATIONS if coverage(service, op, required=True)[0]]


@pytest.mark.parametrize("service,op", WITH_REQUIRED, ids=[f"{service}-{op}" for service, op in WITH_REQUIRED])
def test_empty_required_strings_are_missing(env, service, op):
    """A required string member given "" answers what its absence answers, naming the member."""
    case = CASES[(service, op)]
    covered, _, _ = coverage(service, op, required=True)
    env.keep_fake_connected()
    problems = []
    for m in covered:
        with_empty = env.outcome(case, lambda b: blank(b, m))
        without = env.outcome(case, lambda b: drop(b, m))
        leaf = m.rsplit(".", 1)[-1]
        if with_empty != without:
            problems.append(f"{op} {m}: with \"\" -> {with_empty!r}\n    without -> {without!r}")
        elif not with_empty.ok and not (names_field(with_empty.detail, leaf) or with_empty.detail == without.detail):
            problems.append(f"{op} {m}: the error for \"\" does not name {leaf}: {with_empty!r}")
    print(f"{op}: {len(covered)} required members checked: {', '.join(covered)}")
    assert not problems, "\n".join(problems)


def test_the_comparison_sees_a_difference(env):
    """The check is not blind: where "" is a value (Tag.value), "" and absent give different registrations."""
    _, diffs, _ = check_members(env, CASES[("ecs", "RegisterTaskDefinition")], ["tags[].value"])
    assert diffs, "a tag with value \"\" and a tag without a value were found the same"


# --- the case, and the values that stay ----------------------------------------------------------------------

IAM_ROLE_CAPABILITY = "com.amazonaws.ecs.capability.task-iam-role"


def test_ecs_deploy_reregisters_with_empty_role_arns(env):
    """ecs-deploy's register call: "taskRoleArn": "" and "executionRoleArn": "" are absent, and the revision places on
    the local agent's instance in `default` (no ATTRIBUTE failure)."""
    ecs, family = env.ecs, f"es-deploy-{uuid.uuid4().hex[:8]}"
    containers = [{"name": "app", "image": IMAGE, "memory": 32, "essential": True, "command": SLEEPER,
                   "stopTimeout": 2}]
    ecs.register_task_definition(family=family, containerDefinitions=containers)
    current = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
    # What ecs-deploy sends: the current definition's members, with its role ARNs (none) as "".
    new = ecs.register_task_definition(family=family, containerDefinitions=current["containerDefinitions"],
                                       volumes=current["volumes"], taskRoleArn="", executionRoleArn="", tags=[],
                                       networkMode=current.get("networkMode", "bridge"),
                                       placementConstraints=current["placementConstraints"],
                                       requiresCompatibilities=current.get("requiresCompatibilities", []))
    for td in (new["taskDefinition"], ecs.describe_task_definition(taskDefinition=f"{family}:2")["taskDefinition"]):
        assert td["revision"] == 2
        assert "taskRoleArn" not in td and "executionRoleArn" not in td, td
        required = {a["name"] for a in td.get("requiresAttributes", [])}
        assert IAM_ROLE_CAPABILITY not in required, td["requiresAttributes"]
        assert required == {a["name"] for a in current.get("requiresAttributes", [])}
    out = ecs.run_task(cluster="default", taskDefinition=f"{family}:2")
    try:
        assert out["failures"] == [], out["failures"]
        assert out["tasks"][0]["containerInstanceArn"] == env.local_instance
    finally:
        for t in out["tasks"]:
            ecs.stop_task(cluster="default", task=t["taskArn"], reason="test cleanup")


def test_environment_entries_without_a_value_are_dropped(env):
    r = env.srv.raw("RegisterTaskDefinition", {
        "family": f"es-envvars-{uuid.uuid4().hex[:8]}",
        "containerDefinitions": [{"name": "main", "image": "busybox:latest", "memory": 16, "environment": [
            {"name": "EMPTY", "value": ""}, {"name": "ABSENT"}, {"name": "KEPT", "value": "x"}]}]})
    assert r.status_code == 200, r.text
    assert r.json()["taskDefinition"]["containerDefinitions"][0]["environment"] == [{"name": "KEPT", "value": "x"}]


def map_members(shape, prefix="", seen=()):
    """Paths of the map-typed members of `shape` (their values are data)."""
    for name, member in shape.members.items():
        if member.type_name == "map":
            yield prefix + name
        elif member.type_name == "structure" and member.name not in seen:
            yield from map_members(member, f"{prefix}{name}.", seen + (member.name,))
        elif member.type_name == "list" and member.member.type_name == "structure" \
                and member.member.name not in seen:
            yield from map_members(member.member, f"{prefix}{name}[].", seen + (member.member.name,))


# The map members whose "" values test_empty_strings_that_are_values_are_kept sends.
MAPS_CHECKED = {
    ("ecs", "RegisterTaskDefinition", "containerDefinitions[].dockerLabels"),
    ("ecs", "RegisterTaskDefinition", "containerDefinitions[].logConfiguration.options"),
    ("ecs", "RegisterTaskDefinition", "containerDefinitions[].firelensConfiguration.options"),
    ("ecs", "RegisterTaskDefinition", "volumes[].dockerVolumeConfiguration.driverOpts"),
    ("ecs", "RegisterTaskDefinition", "volumes[].dockerVolumeConfiguration.labels"),
    ("logs", "CreateLogGroup", "tags"),
    ("logs", "TagLogGroup", "tags"),
    ("logs", "TagResource", "tags"),
}


def test_every_map_member_is_checked():
    """A map member added to the model later must be added to test_empty_strings_that_are_values_are_kept."""
    found = {(service, op, path) for service, op in OPERATIONS if MODELS[service].operation_model(op).input_shape
             for path in map_members(MODELS[service].operation_model(op).input_shape)
             if not excluded(service, op, path)}
    unchecked = sorted(found - MAPS_CHECKED)
    assert not unchecked, f"map members whose \"\" values nothing checks: {unchecked}"


def test_empty_strings_that_are_values_are_kept(env):
    """Map values, tag values and strings in lists are values: "" stays "" there."""
    family = f"es-values-{uuid.uuid4().hex[:8]}"
    r = env.srv.raw("RegisterTaskDefinition", {
        "family": family, "tags": [{"key": "empty", "value": ""}],
        "containerDefinitions": [
            {"name": "main", "image": "busybox:latest", "memory": 16, "command": ["echo", ""],
             "dockerLabels": {"label": ""},
             "logConfiguration": {"logDriver": "json-file", "options": {"max-size": "10m", "labels": ""}}},
            {"name": "router", "image": "busybox:latest", "memory": 16, "essential": False,
             "firelensConfiguration": {"type": "fluentbit", "options": {"enable-ecs-log-metadata": ""}}}],
        "volumes": [{"name": "v", "dockerVolumeConfiguration": {"scope": "task", "driver": "local",
                                                               "driverOpts": {"o": ""}, "labels": {"l": ""}}}]})
    assert r.status_code == 200, r.text
    for doc in (r.json(), env.json("DescribeTaskDefinition", {"taskDefinition": family, "include": ["TAGS"]})):
        main, router = doc["taskDefinition"]["containerDefinitions"]
        assert main["command"] == ["echo", ""]
        assert main["dockerLabels"] == {"label": ""}
        assert main["logConfiguration"]["options"] == {"max-size": "10m", "labels": ""}
        assert router["firelensConfiguration"]["options"] == {"enable-ecs-log-metadata": ""}
        dv = doc["taskDefinition"]["volumes"][0]["dockerVolumeConfiguration"]
        assert (dv["driverOpts"], dv["labels"]) == ({"o": ""}, {"l": ""})
        assert doc["tags"] == [{"key": "empty", "value": ""}]
    arn = cluster_arn_of(env.cluster)
    assert env.call("ecs", "TagResource", {"resourceArn": arn, "tags": [{"key": "es-empty", "value": ""}]}).ok
    assert {"key": "es-empty", "value": ""} in env.json("ListTagsForResource", {"resourceArn": arn})["tags"]
    group = f"/es/{uuid.uuid4().hex[:8]}-tags"
    r = env.call("logs", "CreateLogGroup", {"logGroupName": group, "tags": {"empty": ""}})
    assert r.status_code == 200, r.text
    expected = {"empty": ""}
    for op, body, key in [("TagLogGroup", {"logGroupName": group, "tags": {"by-name": ""}}, "by-name"),
                          ("TagResource", {"resourceArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}",
                                           "tags": {"by-arn": ""}}, "by-arn")]:
        if ("logs", op) in OPERATIONS:
            r = env.call("logs", op, body)
            assert r.status_code == 200, r.text
            expected[key] = ""
    if ("logs", "ListTagsLogGroup") in OPERATIONS:
        assert env.json("ListTagsLogGroup", {"logGroupName": group}, service="logs")["tags"] == expected
