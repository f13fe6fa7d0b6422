"""Output shapes as ECS fills them: every implemented ECS and CloudWatch Logs operation, checked against the botocore
output shape, member by member, so that typed SDK decoders and Terraform's diffs see what they expect.

One dedicated `berth up` (server and local agent on this machine's Docker) is given a realistic scenario: a cluster
with settings, configuration and tags, a container instance registered by hand beside the local agent's, task
definitions with rich container definitions, running and stopped tasks, services (one running a task and rolled
once more, one with nothing optional set, one in awsvpc mode), and the log group and streams of the tasks' output.
Along the way every operation that docs/API-COVERAGE.md marks `implemented` (ECS table) or lists under
"## CloudWatch Logs" is called with boto3, and each raw JSON response (the body as it came over the wire, before
botocore's parser drops members it does not know) is kept.

Each response is then walked against the operation's output shape from the installed botocore model, recursively:
for every structure present in the response, every member of the model must be present (and not null) unless
`Shape.member` is listed in the table of "## Output members" at the end of docs/API-COVERAGE.md (kind `conditional`:
ECS itself returns it only in some states or when set; kind `omitted`: ECS returns it but Berth deliberately does
not). Lists and maps are walked element by element. Some `conditional` members are still required where the response
shows the state in which ECS always returns them (STATE_RULES: a STOPPED task's `stoppedReason`, a RUNNING
container's `healthStatus`, ...), and members a request set or asked for with `include` must come back. The reverse
holds too: a member the model does not have, a value of the wrong JSON type or outside the shape's enum, and a member
the table calls `omitted` are failures. Every row of the table must name a real `Shape.member` of the ECS or Logs
model, so the list cannot rot.

Failures name the operation, the call (1 = its first call in the scenario), the path in the response and
`Shape.member`. BERTH_SHAPES_DUMP=FILE writes every recorded response there, for a look at what Berth returned.
"""

import json
import os
import random
import re
import socket
import uuid
from pathlib import Path

import botocore.session
import pytest
from botocore.exceptions import WaiterError

from conftest import REPO, register_instance
from test_tasks import IMAGE, instance_of, test_image, wait_status, wait_until  # noqa: F401 (fixture)

pytestmark = pytest.mark.berth_only

DOC = REPO / "docs" / "API-COVERAGE.md"
TIMEOUT = 60.0
FAST = {"Delay": 1, "MaxAttempts": 60}
# Exits 0 at once on SIGTERM (a bare `sleep` as PID 1 ignores it).
SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
KINDS = {"conditional", "omitted"}


# --- the documentation -------------------------------------------------------------------------------------------

def _doc():
    return DOC.read_text()


def implemented_ecs():
    """Operations marked `implemented` in the ECS table (the first table of the file)."""
    ecs_part = _doc().split("\n## CloudWatch Logs", 1)[0]
    return re.findall(r"^\| (\w+) \| implemented \|", ecs_part, re.M)


def section(text, title):
    """The text of `## title` up to the next `## ` heading."""
    m = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert m, f"docs/API-COVERAGE.md has no section '## {title}'"
    return m.group(1)


def implemented_logs():
    """The operations listed as served under "## CloudWatch Logs" (bold names of its bullet list)."""
    ops, in_bullet = [], False
    for line in section(_doc(), "CloudWatch Logs").splitlines():
        if line.startswith("- "):
            in_bullet = True
        elif not line.startswith(" "):
            in_bullet = False
        if in_bullet:
            ops += re.findall(r"\*\*(\w+)\*\*", line)
    return ops


def output_members():
    """{"Shape.member": (kind, why)} from the table of "## Output members"."""
    text = section(_doc(), "Output members")
    rows, header = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if header is None:
            header = cells
            assert header == ["Member", "Kind", "Why"], f"Output members table header: {line}"
            continue
        if set("".join(cells)) <= set("-: "):
            continue
        assert len(cells) == 3, f"Output members row with {len(cells)} cells: {line}"
        member, kind, why = cells
        member = member.strip("`")
        assert member not in rows, f"Output members lists {member} twice"
        rows[member] = (kind, why)
    assert header is not None, "## Output members has no table"
    return rows


# --- the model and the walk --------------------------------------------------------------------------------------

SESSION = botocore.session.get_session()
MODELS = {"ecs": SESSION.get_service_model("ecs"), "logs": SESSION.get_service_model("logs")}

SCALARS = {
    "string": (str,),
    "blob": (str,),
    "integer": (int,),
    "long": (int,),
    "boolean": (bool,),
    "double": (int, float),
    "float": (int, float),
    "timestamp": (int, float),  # epoch seconds in the JSON protocols
}


# Members the table calls `conditional` that ECS always returns in a state the response itself shows: listed or not,
# they must be there then. Each maps to (the state in words, a test on the structure that holds the member).
def _status(*values):
    return lambda s: s.get("lastStatus") in values


STATE_RULES = {
    "Task.stoppedAt": ("the task is STOPPED", _status("STOPPED")),
    "Task.stoppingAt": ("the task is STOPPED", _status("STOPPED")),
    "Task.executionStoppedAt": ("the task is STOPPED", _status("STOPPED")),
    "Task.stopCode": ("the task is STOPPED", _status("STOPPED")),
    "Task.stoppedReason": ("the task is STOPPED", _status("STOPPED")),
    "Task.startedAt": ("the task is RUNNING", _status("RUNNING")),
    "Task.pullStartedAt": ("the task is RUNNING", _status("RUNNING")),
    "Task.pullStoppedAt": ("the task is RUNNING", _status("RUNNING")),
    "Task.startedBy": ("a service started the task (group service:...)",
                       lambda s: str(s.get("group", "")).startswith("service:")),
    "Container.runtimeId": ("the container is RUNNING", _status("RUNNING")),
    "Container.healthStatus": ("the container is RUNNING (UNKNOWN without a health check)", _status("RUNNING")),
    "Container.exitCode": ("the container ran and is STOPPED",
                           lambda s: s.get("lastStatus") == "STOPPED" and "runtimeId" in s),
    "Resource.stringSetValue": ("the resource is a STRINGSET", lambda s: s.get("type") == "STRINGSET"),
    "TaskDefinition.deregisteredAt": ("the task definition is INACTIVE",
                                      lambda s: s.get("status") in ("INACTIVE", "DELETE_IN_PROGRESS")),
    "TaskDefinition.deleteRequestedAt": ("the task definition is DELETE_IN_PROGRESS",
                                         lambda s: s.get("status") == "DELETE_IN_PROGRESS"),
    "ServiceDeployment.finishedAt": ("the deployment is SUCCESSFUL", lambda s: s.get("status") == "SUCCESSFUL"),
    "ServiceDeploymentBrief.finishedAt": ("the deployment is SUCCESSFUL",
                                          lambda s: s.get("status") == "SUCCESSFUL"),
}


def jtype(v):
    return type(v).__name__


def walk(value, shape, path, allowed, out):
    """Appends (path, problem) for every mismatch between the JSON value and the botocore shape.

    `allowed` maps "Shape.member" to (kind, why) from the docs table."""
    t = shape.type_name
    if t == "structure":
        if shape.metadata.get("document"):
            return
        if not isinstance(value, dict):
            out.append((path, f"{shape.name} is a structure, got {jtype(value)}"))
            return
        for name, member in shape.members.items():
            key = f"{shape.name}.{name}"
            here = f"{path}.{name}" if path else name
            if name not in value:
                rule = STATE_RULES.get(key)
                if key not in allowed:
                    out.append((here, f"missing {key}"))
                elif rule and rule[1](value):
                    out.append((here, f"missing {key} (ECS returns it when {rule[0]})"))
            elif value[name] is None:
                out.append((here, f"null {key} (ECS omits a member rather than send null)"))
            else:
                if allowed.get(key, ("",))[0] == "omitted":
                    out.append((here, f"{key} is returned, but docs/API-COVERAGE.md lists it as omitted"))
                walk(value[name], member, here, allowed, out)
        for name in value:
            if name not in shape.members:
                here = f"{path}.{name}" if path else name
                out.append((here, f"{shape.name} has no member {name!r} in the model"))
    elif t == "list":
        if not isinstance(value, list):
            out.append((path, f"{shape.name} is a list, got {jtype(value)}"))
            return
        for i, v in enumerate(value):
            walk(v, shape.member, f"{path}[{i}]", allowed, out)
    elif t == "map":
        if not isinstance(value, dict):
            out.append((path, f"{shape.name} is a map, got {jtype(value)}"))
            return
        for k, v in value.items():
            walk(v, shape.value, f"{path}[{k!r}]", allowed, out)
    else:
        kinds = SCALARS.get(t)
        if kinds is None:
            return
        if not isinstance(value, kinds) or (t != "boolean" and isinstance(value, bool)):
            out.append((path, f"{shape.name} is a {t}, got {jtype(value)} {value!r}"))
            return
        enum = shape.enum if t == "string" else None
        if enum and value not in enum:
            out.append((path, f"{shape.name} value {value!r} is not one of {sorted(enum)}"))


def problems(service, op, body, allowed):
    shape = MODELS[service].operation_model(op).output_shape
    if shape is None:
        return [("", f"{op} has no output shape, the body has {sorted(body)}")] if body else []
    out = []
    walk(body, shape, "", allowed, out)
    return out


# --- capturing raw responses -------------------------------------------------------------------------------------

class Recorder:
    """Keeps the raw JSON body of every successful call of the clients it is attached to."""

    def __init__(self):
        self.calls = {}  # (service, op) -> [body]
        self.missing_requested = []  # "Op: what" for members a request asked for that did not come back

    def want(self, op, what, value):
        """A member the request set or asked for (include=...) must come back."""
        if value is None or value is False:
            self.missing_requested.append(f"{op}: {what}")

    def attach(self, client, service):
        def after_call(http_response, model, **_):
            if 200 <= http_response.status_code < 300:
                raw = http_response.content or b""
                body = json.loads(raw) if raw.strip() else {}
                self.calls.setdefault((service, model.name), []).append(body)
        client.meta.events.register(f"after-call.{client.meta.service_model.endpoint_prefix}", after_call)
        return client


# --- the scenario ------------------------------------------------------------------------------------------------

def container(name, command=SLEEPER, memory=32, **extra):
    c = {"name": name, "image": IMAGE, "memory": memory, "essential": True, "command": command, "stopTimeout": 2}
    c.update(extra)
    return c


def local_instance(srv, ecs):
    state = srv.data_dir / "agent-state.json"
    wait_until(f"{state} written by berth up's agent", state.exists, timeout=30)
    arn = json.loads(state.read_text())["containerInstanceArn"]
    wait_until("agent connected", lambda: instance_of(ecs, arn)["agentConnected"], timeout=30)
    return arn


def run_scenario(srv, ecs, logs, local, rec):
    u = uuid.uuid4().hex[:8]
    tags = [{"key": "team", "value": "ml"}, {"key": "env", "value": "test"}]
    want = rec.want

    # Account settings.
    ecs.list_account_settings()
    ecs.list_account_settings(effectiveSettings=True)
    ecs.put_account_setting(name="awsvpcTrunking", value="enabled")
    ecs.put_account_setting_default(name="fargateFIPSMode", value="disabled")
    ecs.list_account_settings(name="awsvpcTrunking")
    ecs.delete_account_setting(name="awsvpcTrunking")

    # A cluster with settings, configuration and tags; an empty one with nothing set.
    cluster = f"shapes-{u}"
    c = ecs.create_cluster(
        clusterName=cluster, tags=tags, settings=[{"name": "containerInsights", "value": "enabled"}],
        configuration={"executeCommandConfiguration": {"logging": "DEFAULT"}})["cluster"]
    want("CreateCluster", "cluster.configuration (given in the request)", c.get("configuration"))
    carn = c["clusterArn"]
    ecs.update_cluster(cluster=cluster, settings=[{"name": "containerInsights", "value": "disabled"}],
                       configuration={"executeCommandConfiguration": {"logging": "DEFAULT"}})
    ecs.update_cluster_settings(cluster=cluster, settings=[{"name": "containerInsights", "value": "enabled"}])
    ecs.tag_resource(resourceArn=carn, tags=[{"key": "scratch", "value": "1"}])
    ecs.untag_resource(resourceArn=carn, tagKeys=["scratch"])
    ecs.list_tags_for_resource(resourceArn=carn)
    empty = f"shapes-empty-{u}"
    ecs.create_cluster(clusterName=empty)
    ecs.list_clusters()
    ecs.list_clusters(maxResults=1)

    # A container instance registered by hand, beside the local agent's.
    ci = register_instance(ecs, cluster=cluster, attributes=[{"name": "stack", "value": "prod"}],
                           tags=[{"key": "rack", "value": "r1"}])
    ciarn = ci["containerInstanceArn"]
    ecs.put_attributes(cluster=cluster, attributes=[
        {"name": "gpu-class", "value": "a100", "targetType": "container-instance", "targetId": ciarn}])
    ecs.list_attributes(cluster=cluster, targetType="container-instance")
    ecs.list_attributes(cluster=cluster, targetType="container-instance", attributeName="gpu-class")
    ecs.delete_attributes(cluster=cluster, attributes=[
        {"name": "gpu-class", "targetType": "container-instance", "targetId": ciarn}])
    ecs.update_container_instances_state(cluster=cluster, containerInstances=[ciarn], status="DRAINING")
    ecs.update_container_instances_state(cluster=cluster, containerInstances=[ciarn], status="ACTIVE")
    ecs.list_container_instances(cluster=cluster)
    ecs.list_container_instances(cluster="default")
    ecs.describe_container_instances(cluster=cluster, containerInstances=[ciarn])
    out = ecs.describe_container_instances(cluster=cluster, containerInstances=[ciarn],
                                           include=["TAGS", "CONTAINER_INSTANCE_HEALTH"])
    for i in out["containerInstances"]:
        want("DescribeContainerInstances", "containerInstances[].tags (include TAGS)", "tags" in i)
        want("DescribeContainerInstances", "containerInstances[].healthStatus (include CONTAINER_INSTANCE_HEALTH)",
             i.get("healthStatus"))

    # Task definitions: a rich one (runs here), a minimal one, one with task-level sizes and a runtime platform,
    # one that prints and exits, one in awsvpc mode.
    group = f"/ecs/shapes-{u}"
    awslogs = {"logDriver": "awslogs", "options": {
        "awslogs-group": group, "awslogs-region": "us-east-1", "awslogs-stream-prefix": "shapes"}}
    rich_family = f"shapes-rich-{u}"
    web = container(
        "web", command=["sh", "-c", "echo web up; echo ready > /www/ready; exec httpd -f -p 80 -h /www"],
        memory=48, memoryReservation=32, cpu=128,
        portMappings=[{"containerPort": 80, "hostPort": 0, "protocol": "tcp", "name": "http"}],
        environment=[{"name": "MODE", "value": "serve"}],
        mountPoints=[{"sourceVolume": "scratch", "containerPath": "/scratch", "readOnly": False},
                     {"sourceVolume": "cache", "containerPath": "/cache"}],
        healthCheck={"command": ["CMD-SHELL", "true"], "interval": 5, "timeout": 2, "retries": 3,
                     "startPeriod": 0},
        dockerLabels={"app": "web"}, ulimits=[{"name": "nofile", "softLimit": 1024, "hardLimit": 2048}],
        logConfiguration=awslogs, workingDirectory="/", user="root", hostname="web", readonlyRootFilesystem=False,
        linuxParameters={"initProcessEnabled": False, "capabilities": {"add": [], "drop": ["NET_RAW"]}},
        dependsOn=[{"containerName": "side", "condition": "START"}], startTimeout=30,
        extraHosts=[{"hostname": "db", "ipAddress": "10.0.0.5"}], dnsSearchDomains=["example.internal"])
    side = container("side", essential=False, command=["sh", "-c", "echo side says hello; " + SLEEPER[2]],
                     logConfiguration=awslogs)
    rich = ecs.register_task_definition(
        family=rich_family, containerDefinitions=[web, side], tags=tags, networkMode="bridge",
        volumes=[{"name": "scratch", "host": {}},
                 {"name": "cache", "dockerVolumeConfiguration": {"scope": "task"}}],
        requiresCompatibilities=["EC2"],
        placementConstraints=[{"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}])["taskDefinition"]
    simple_family = f"shapes-simple-{u}"
    simple = ecs.register_task_definition(family=simple_family,
                                          containerDefinitions=[container("main")])["taskDefinition"]
    sized_family = f"shapes-sized-{u}"
    ecs.register_task_definition(family=sized_family, cpu="256", memory="128", containerDefinitions=[
        {"name": "main", "image": IMAGE, "command": SLEEPER, "essential": True}],
        runtimePlatform={"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"})
    printer_family = f"shapes-print-{u}"
    ecs.register_task_definition(family=printer_family, containerDefinitions=[container(
        "printer", command=["sh", "-c", "for i in 1 2 3 4 5; do echo line $i; done; echo oops >&2; exit 3"],
        logConfiguration=awslogs, portMappings=[{"containerPort": 9000}])])
    vpc_family = f"shapes-vpc-{u}"
    vpc = ecs.register_task_definition(family=vpc_family, networkMode="awsvpc", containerDefinitions=[
        container("main", portMappings=[{"containerPort": 8080}])])["taskDefinition"]
    ecs.describe_task_definition(taskDefinition=rich["taskDefinitionArn"])
    out = ecs.describe_task_definition(taskDefinition=rich_family, include=["TAGS"])
    want("DescribeTaskDefinition", "tags (include TAGS)", out.get("tags"))
    ecs.describe_task_definition(taskDefinition=simple_family)
    ecs.describe_task_definition(taskDefinition=sized_family)
    ecs.describe_task_definition(taskDefinition=vpc_family)
    ecs.list_task_definitions()
    ecs.list_task_definitions(familyPrefix=rich_family, maxResults=1)
    ecs.list_task_definition_families()
    ecs.list_task_definition_families(familyPrefix="shapes-", maxResults=1)

    # Tasks on real Docker: a rich one with overrides and tags, a printer that exits 3, one started by StartTask.
    # The task role override must be a role that trusts ECS tasks: the agent fetches its credentials at start.
    role_arn = srv.client("iam").create_role(RoleName=f"shapes-role-{u}", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    out = ecs.run_task(taskDefinition=rich["taskDefinitionArn"], group="family:shapes", startedBy="shapes-test",
                       tags=[{"key": "run", "value": "1"}], propagateTags="TASK_DEFINITION",
                       enableECSManagedTags=True, launchType="EC2",
                       overrides={"containerOverrides": [{"name": "side", "environment": [
                           {"name": "EXTRA", "value": "1"}]}], "taskRoleArn": role_arn},
                       placementStrategy=[{"type": "binpack", "field": "memory"}])
    assert out["tasks"], out["failures"]
    rich_task = out["tasks"][0]["taskArn"]
    printer = ecs.run_task(taskDefinition=printer_family)["tasks"][0]["taskArn"]
    started = ecs.start_task(taskDefinition=simple["taskDefinitionArn"], containerInstances=[local],
                             startedBy="starter")["tasks"][0]["taskArn"]

    # Services: one running a task (its deployment rolled once more with forceNewDeployment), one with nothing
    # set but the required members, one in awsvpc mode; the last two run nothing.
    svc_name = f"shapes-svc-{u}"
    ecs.create_service(
        serviceName=svc_name, taskDefinition=simple["taskDefinitionArn"], desiredCount=1, tags=tags,
        deploymentConfiguration={"maximumPercent": 200, "minimumHealthyPercent": 100,
                                 "deploymentCircuitBreaker": {"enable": True, "rollback": True}},
        placementStrategy=[{"type": "spread", "field": "instanceId"}], propagateTags="SERVICE",
        enableECSManagedTags=True, healthCheckGracePeriodSeconds=0)
    bare = f"shapes-bare-{u}"
    ecs.create_service(cluster=cluster, serviceName=bare, taskDefinition=simple["taskDefinitionArn"],
                       desiredCount=0)
    vpc_svc = f"shapes-vpc-{u}"
    ecs.create_service(cluster=cluster, serviceName=vpc_svc, taskDefinition=vpc["taskDefinitionArn"],
                       desiredCount=0, networkConfiguration={"awsvpcConfiguration": {
                           "subnets": ["subnet-0123456789abcdef0"], "securityGroups": ["sg-0123456789abcdef0"]}})

    wait_status(ecs, [rich_task, started], "RUNNING")
    wait_status(ecs, [printer], "STOPPED")
    wait_until("service steady", lambda: service_settled(ecs, svc_name), timeout=TIMEOUT)
    ecs.update_service(service=svc_name, forceNewDeployment=True, desiredCount=1)
    ecs.update_service(cluster=cluster, service=bare, desiredCount=0)
    ecs.list_services()
    ecs.list_services(cluster="default", launchType="EC2", schedulingStrategy="REPLICA")
    ecs.describe_services(services=[svc_name])
    out = ecs.describe_services(services=[svc_name, "no-such-service"], include=["TAGS"])
    for s in out["services"]:
        want("DescribeServices", "services[].tags (include TAGS)", s.get("tags"))
    ecs.describe_services(cluster=cluster, services=[bare, vpc_svc])
    deployments = ecs.list_service_deployments(service=svc_name)["serviceDeployments"]
    ecs.describe_service_deployments(serviceDeploymentArns=[d["serviceDeploymentArn"] for d in deployments])
    svc_tasks = ecs.list_tasks(serviceName=svc_name)["taskArns"]
    ecs.describe_tasks(tasks=svc_tasks)

    # Agent reports (merged forward only: RUNNING for a running task changes nothing).
    t = ecs.describe_tasks(tasks=[started])["tasks"][0]
    ecs.submit_task_state_change(cluster="default", task=started, status="RUNNING")
    ecs.submit_container_state_change(cluster="default", task=started, containerName="main",
                                      runtimeId=t["containers"][0]["runtimeId"], status="RUNNING")

    # Stop one running task; describe running and stopped tasks, with and without TAGS.
    ecs.stop_task(task=started, reason="shapes: stop one")
    wait_status(ecs, [started], "STOPPED")
    ecs.describe_tasks(tasks=[rich_task, printer, started])
    out = ecs.describe_tasks(tasks=[rich_task, printer, started, "0" * 32], include=["TAGS"])
    for t in out["tasks"]:
        want("DescribeTasks", "tasks[].tags (include TAGS)", t.get("tags"))
    ecs.list_tasks()
    ecs.list_tasks(family=rich_family, maxResults=1)
    ecs.list_tasks(desiredStatus="STOPPED")
    ecs.describe_clusters(clusters=["default", cluster, "no-such-cluster"])
    out = ecs.describe_clusters(clusters=["default", cluster],
                                include=["ATTACHMENTS", "CONFIGURATIONS", "SETTINGS", "STATISTICS", "TAGS"])
    for c in out["clusters"]:
        for member in ("settings", "statistics", "tags"):
            want("DescribeClusters", f"clusters[].{member} (include)", c.get(member))
        if c["clusterName"] == cluster:
            want("DescribeClusters", "clusters[].configuration (include CONFIGURATIONS)", c.get("configuration"))
    ecs.describe_container_instances(cluster="default", containerInstances=[local, "0" * 32])
    out = ecs.describe_container_instances(cluster="default", containerInstances=[local],
                                           include=["TAGS", "CONTAINER_INSTANCE_HEALTH"])
    for i in out["containerInstances"]:
        want("DescribeContainerInstances", "containerInstances[].healthStatus (include CONTAINER_INSTANCE_HEALTH)",
             i.get("healthStatus"))

    # CloudWatch Logs: the tasks' group and streams, and a group of our own.
    own = f"/shapes/own-{u}"
    logs.create_log_group(logGroupName=own, tags={"team": "ml"})
    logs.put_retention_policy(logGroupName=group, retentionInDays=7)
    logs.describe_log_groups(logGroupNamePrefix="/")
    logs.describe_log_groups(logGroupNamePrefix=group)
    logs.describe_log_groups(logGroupNamePrefix="/", limit=1)
    streams = wait_until("printer's stream with events", lambda: [
        s for s in logs.describe_log_streams(logGroupName=group)["logStreams"]
        if s["logStreamName"].endswith("/printer/" + printer.rsplit("/", 1)[1]) and s.get("lastIngestionTime")])
    logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", descending=True, limit=1)
    logs.get_log_events(logGroupName=group, logStreamName=streams[0]["logStreamName"], startFromHead=True)
    logs.get_log_events(logGroupName=group, logStreamName=streams[0]["logStreamName"], limit=2)
    logs.filter_log_events(logGroupName=group, filterPattern="line")
    logs.filter_log_events(logGroupName=group, limit=1)
    logs.delete_retention_policy(logGroupName=group)
    [own_group] = logs.describe_log_groups(logGroupNamePrefix=own)["logGroups"]
    logs.tag_resource(resourceArn=own_group["logGroupArn"], tags={"stage": "dev"})
    logs.list_tags_for_resource(resourceArn=own_group["logGroupArn"])
    logs.untag_resource(resourceArn=own_group["logGroupArn"], tagKeys=["stage"])
    logs.tag_log_group(logGroupName=own, tags={"cost": "1"})
    logs.list_tags_log_group(logGroupName=own)
    logs.untag_log_group(logGroupName=own, tags=["cost"])
    logs.delete_log_group(logGroupName=own)

    # Teardown through the API: each of these answers with a shape too.
    ecs.update_service(service=svc_name, desiredCount=0)
    ecs.delete_service(service=svc_name, force=True)
    ecs.delete_service(cluster=cluster, service=bare, force=True)
    ecs.delete_service(cluster=cluster, service=vpc_svc, force=True)
    ecs.stop_task(task=rich_task, reason="shapes: done")
    ecs.deregister_container_instance(cluster=cluster, containerInstance=ciarn, force=True)
    ecs.delete_cluster(cluster=empty)
    ecs.deregister_task_definition(taskDefinition=f"{sized_family}:1")
    ecs.describe_task_definition(taskDefinition=f"{sized_family}:1")
    ecs.delete_task_definitions(taskDefinitions=[f"{sized_family}:1", f"{sized_family}:9"])
    for name, cl in ((svc_name, "default"), (bare, cluster), (vpc_svc, cluster)):
        try:
            ecs.get_waiter("services_inactive").wait(cluster=cl, services=[name], WaiterConfig=FAST)
        except WaiterError:
            pass
    ecs.describe_services(services=[svc_name])
    wait_status(ecs, [rich_task], "STOPPED")
    ecs.delete_cluster(cluster=cluster)


def free_port_range(size=64):
    """LOW-HIGH: `size` consecutive ports nothing listens on now, at a random place above 30000."""
    for _ in range(50):
        low = random.randrange(30000, 60000 - size)
        try:
            socks = []
            for port in range(low, low + size):
                s = socket.socket()
                socks.append(s)
                s.bind(("0.0.0.0", port))
            return f"{low}-{low + size - 1}"
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no free range of host ports")


def service_settled(ecs, name):
    [s] = ecs.describe_services(services=[name])["services"]
    d = s["deployments"][0]
    return s["runningCount"] == 1 and len(s["deployments"]) == 1 and d.get("rolloutState") == "COMPLETED"


# --- fixtures ----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def recorded(server_factory, test_image):  # noqa: F811
    # Other berths share this host's Docker: a private range of host ports keeps dynamic ports from colliding.
    srv = server_factory(extra_args=["--dynamic-host-port-range", free_port_range()])
    rec = Recorder()
    ecs = rec.attach(srv.client(), "ecs")
    logs = rec.attach(srv.client("logs"), "logs")
    local = local_instance(srv, srv.client())
    run_scenario(srv, ecs, logs, local, rec)
    dump = os.environ.get("BERTH_SHAPES_DUMP")
    if dump:
        Path(dump).write_text(json.dumps({f"{s}:{o}": b for (s, o), b in rec.calls.items()}, indent=1,
                                         default=str))
    return rec


# --- the tests ---------------------------------------------------------------------------------------------------

OPERATIONS = [("ecs", op) for op in implemented_ecs()] + [("logs", op) for op in implemented_logs()]


def test_the_docs_name_operations_and_members():
    assert len(implemented_ecs()) >= 30, "the ECS table of docs/API-COVERAGE.md was not found"
    assert set(implemented_logs()) >= {"GetLogEvents", "FilterLogEvents", "DescribeLogStreams"}
    for service, op in OPERATIONS:
        MODELS[service].operation_model(op)  # raises for a name outside the model
    bad = []
    shapes = {}
    for service, model in MODELS.items():
        for name in model.shape_names:
            shapes.setdefault(name, []).append(model.shape_for(name))
    for member, (kind, why) in output_members().items():
        if kind not in KINDS:
            bad.append(f"{member}: kind {kind!r} is not one of {sorted(KINDS)}")
        if not why:
            bad.append(f"{member}: no reason given")
        shape, _, name = member.partition(".")
        found = [s for s in shapes.get(shape, []) if s.type_name == "structure" and name in s.members]
        if not found:
            bad.append(f"{member}: no such Shape.member in the ECS or Logs model")
    rows = output_members()
    for member in STATE_RULES:
        if rows.get(member, ("",))[0] != "conditional":
            bad.append(f"{member}: the test requires it in some states, so the table must list it as conditional")
    assert not bad, "## Output members in docs/API-COVERAGE.md:\n" + "\n".join(bad)


@pytest.mark.parametrize("service,op", OPERATIONS, ids=[f"{s}:{o}" for s, o in OPERATIONS])
def test_output_shape(recorded, service, op):
    bodies = recorded.calls.get((service, op))
    assert bodies, f"the scenario never called {service} {op} successfully"
    allowed = output_members()
    found = []
    for i, body in enumerate(bodies):
        for path, problem in problems(service, op, body, allowed):
            found.append(f"{op} (call {i + 1}) {path or '<response>'}: {problem}")
    # One line per distinct (path without indexes, problem): a list of 10 tasks says it once.
    seen, lines = set(), []
    for f in found:
        key = re.sub(r"\[\d+\]", "[]", re.sub(r"^\S+ \(call \d+\) ", "", f))
        if key not in seen:
            seen.add(key)
            lines.append(f)
    assert not lines, f"{service} {op}: {len(lines)} output shape problem(s):\n" + "\n".join(lines)


def test_requested_members_come_back(recorded):
    """Members a request set or asked for with `include` (ECS returns them then, whatever the table says)."""
    missing = sorted(set(recorded.missing_requested))
    assert not missing, "requested but not returned:\n" + "\n".join(missing)
