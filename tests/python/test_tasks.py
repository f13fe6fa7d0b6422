"""Tasks on real Docker, driven by the aws CLI and boto3 against a real `berth up` (server and local agent in one
process), and a second host: a separate `berth agent` process joining another cluster.

What the Rust aws-sdk-ecs suite (tests/e2e/tests/tasks.rs) already covers -- dependency conditions, OOM, stubborn
stops, missing images -- is not repeated here. This file covers the user's tour with the aws CLI and its waiters,
boto3 waiters, ListTasks/DescribeTasks/StartTask, resource accounting on the instance, health status, clientToken
idempotency, placement failures, bad input, and host loss and return of a separate agent.

Every task runs the test image (tests/images/build.sh). Containers get stopTimeout 2 and, where the command allows,
a shell that exits on SIGTERM, so stops are quick. Each test stops the tasks it started.
"""

import datetime
import json
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import REPO, berth_bin, clean_env, error_of, free_port, uniq

# Everything here runs containers through Berth's agent: nothing to check against moto.
pytestmark = pytest.mark.berth_only

IMAGE = "berth-test/busybox:latest"
FAMILY_LABEL = "berth.task-definition-family"
INSTANCE_LABEL = "berth.container-instance"
TIMEOUT = 60.0

# A long-running container that exits 0 at once on SIGTERM (a bare `sleep` as PID 1 ignores SIGTERM).
SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
HTTPD = ["httpd", "-f", "-p", "80", "-h", "/www"]


# --- helpers ---------------------------------------------------------------------------------------------------

def container(name, command=SLEEPER, memory=32, **extra):
    c = {"name": name, "image": IMAGE, "memory": memory, "essential": True, "command": command, "stopTimeout": 2}
    c.update(extra)
    return c


def register(ecs, family, *containers, **extra):
    containers = containers or (container("main"),)
    return ecs.register_task_definition(family=family, containerDefinitions=list(containers),
                                        **extra)["taskDefinition"]


def describe(ecs, arns, cluster=None, **kw):
    if cluster:
        kw["cluster"] = cluster
    return ecs.describe_tasks(tasks=list(arns), **kw)


def wait_tasks(ecs, arns, what, done, cluster=None, timeout=TIMEOUT, interval=0.2):
    """Polls DescribeTasks until done(task) holds for every task; returns the tasks in `arns` order."""
    deadline = time.monotonic() + timeout
    while True:
        tasks = {t["taskArn"]: t for t in describe(ecs, arns, cluster)["tasks"]}
        if len(tasks) == len(arns) and all(done(t) for t in tasks.values()):
            return [tasks[a] for a in arns]
        if time.monotonic() > deadline:
            brief = {a: (t["lastStatus"], t.get("stoppedReason"), [(c["name"], c["lastStatus"], c.get("reason"))
                                                                    for c in t["containers"]])
                     for a, t in tasks.items()}
            raise AssertionError(f"tasks not {what} within {timeout}s: {brief}")
        time.sleep(interval)


def wait_status(ecs, arns, status, cluster=None, timeout=TIMEOUT):
    return wait_tasks(ecs, arns, status, lambda t: t["lastStatus"] == status, cluster=cluster, timeout=timeout)


def wait_until(what, fn, timeout=TIMEOUT, interval=0.2):
    """Polls fn() until it returns something truthy; returns it."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout}s (last: {last!r})")


def run(ecs, family, count=1, **kw):
    out = ecs.run_task(taskDefinition=family, count=count, **kw)
    assert out["failures"] == [], out["failures"]
    assert len(out["tasks"]) == count
    return [t["taskArn"] for t in out["tasks"]]


def stop_all(ecs, arns, cluster=None, wait=False):
    for a in arns:
        kw = {"cluster": cluster} if cluster else {}
        try:
            ecs.stop_task(task=a, reason="test cleanup", **kw)
        except ClientError:
            pass
    if wait and arns:
        wait_status(ecs, arns, "STOPPED", cluster=cluster)


def instance_of(ecs, arn, cluster=None):
    kw = {"cluster": cluster} if cluster else {}
    return ecs.describe_container_instances(containerInstances=[arn], **kw)["containerInstances"][0]


def resources(ci, kind="remainingResources"):
    return {r["name"]: r.get("integerValue") for r in ci[kind] if r["type"] == "INTEGER"}


def http_get(port, timeout=20.0):
    """GET / on 127.0.0.1:port; retries while the server is not yet answering."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.settimeout(2)
                s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
                chunks = []
                while True:
                    b = s.recv(4096)
                    if not b:
                        break
                    chunks.append(b)
                body = b"".join(chunks).decode(errors="replace")
                if body:
                    return body
        except OSError as e:
            last = e
        time.sleep(0.1)
    return f"(no answer: {last})"


def docker(*args, check=True):
    p = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {p.stderr}")
    return p.stdout.strip()


def containers_with(label, value, all_states=False):
    args = ["ps", "-q", "--no-trunc", "--filter", f"label={label}={value}"]
    if all_states:
        args.insert(1, "-a")
    return docker(*args).split()


def remove_labelled(label, value):
    ids = containers_with(label, value, all_states=True)
    if ids:
        docker("rm", "-f", *ids, check=False)


def ts(value):
    """A timestamp as the CLI (epoch number or ISO 8601 text) or boto3 (datetime) gives it, in epoch seconds."""
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


TIMESTAMPS = ["createdAt", "pullStartedAt", "pullStoppedAt", "startedAt", "stoppingAt", "executionStoppedAt",
              "stoppedAt"]


def assert_stopped_timestamps(t):
    missing = [k for k in TIMESTAMPS if t.get(k) is None]
    assert not missing, f"missing timestamps {missing}: {t}"
    at = {k: ts(t[k]) for k in TIMESTAMPS}
    order = [("createdAt", "pullStartedAt"), ("pullStartedAt", "pullStoppedAt"), ("pullStoppedAt", "startedAt"),
             ("startedAt", "stoppingAt"), ("stoppingAt", "executionStoppedAt"), ("executionStoppedAt", "stoppedAt")]
    for a, b in order:
        assert at[a] <= at[b] + 0.001, f"{a} ({at[a]}) after {b} ({at[b]}): {t}"


# --- fixtures ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def test_image():
    p = subprocess.run(["bash", str(REPO / "tests" / "images" / "build.sh")], capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, f"tests/images/build.sh failed:\n{p.stderr}"
    return IMAGE


@pytest.fixture(scope="session")
def instance(berth, ecs, test_image):
    """The container instance of the shared server's own agent (cluster default), connected."""
    state = berth.data_dir / "agent-state.json"
    wait_until(f"{state} written by berth up's agent", state.exists, timeout=30)
    arn = json.loads(state.read_text())["containerInstanceArn"]
    wait_until("agent connected", lambda: instance_of(ecs, arn)["agentConnected"], timeout=30)
    return arn


@pytest.fixture()
def started(ecs):
    """Tasks the test started in cluster default; stopped afterwards (not waited for)."""
    arns = []
    yield arns
    stop_all(ecs, arns)


def wait_idle(ecs, instance):
    """Waits until the instance holds no task (earlier tests' stops have finished); returns it."""
    return wait_until("instance idle", lambda: (lambda ci: ci if ci["runningTasksCount"] == 0
                                                and ci["pendingTasksCount"] == 0 else None)(instance_of(ecs, instance)))


# --- (a) the user's tour with the aws CLI -----------------------------------------------------------------------

def test_cli_tour_web_tasks_on_host_ports(berth, ecs, instance, started, tmp_path):
    family = uniq("web")
    td = {"family": family,
          "containerDefinitions": [{"name": "web", "image": IMAGE, "memory": 32, "essential": True,
                                    "command": HTTPD, "stopTimeout": 2,
                                    "portMappings": [{"containerPort": 80, "hostPort": 0, "protocol": "tcp"}]}]}
    path = tmp_path / "web.json"
    path.write_text(json.dumps(td))
    _, out, _ = berth.cli("ecs", "register-task-definition", "--cli-input-json", f"file://{path}")
    assert out["taskDefinition"]["family"] == family

    _, out, _ = berth.cli("ecs", "run-task", "--task-definition", family, "--count", "3")
    assert out["failures"] == []
    arns = [t["taskArn"] for t in out["tasks"]]
    started.extend(arns)
    assert len(arns) == 3
    assert all(t["containerInstanceArn"] == instance for t in out["tasks"])

    berth.cli("ecs", "wait", "tasks-running", "--tasks", *arns)
    _, out, _ = berth.cli("ecs", "describe-tasks", "--tasks", *arns)
    assert out["failures"] == []
    ports = []
    for t in out["tasks"]:
        assert t["lastStatus"] == "RUNNING", t
        [c] = t["containers"]
        assert c["lastStatus"] == "RUNNING" and c.get("runtimeId"), c
        [b] = c["networkBindings"]
        assert b["containerPort"] == 80 and b["protocol"] == "tcp", b
        port = b["hostPort"]
        assert 1024 <= port <= 65535, b
        body = http_get(port)
        assert "berth ok" in body, f"GET 127.0.0.1:{port}: {body!r}"
        ports.append(port)
    assert len(set(ports)) == 3, f"three distinct host ports: {ports}"

    victim = arns[0]
    _, out, _ = berth.cli("ecs", "stop-task", "--task", victim, "--reason", "done")
    assert out["task"]["desiredStatus"] == "STOPPED"
    berth.cli("ecs", "wait", "tasks-stopped", "--tasks", victim)
    _, out, _ = berth.cli("ecs", "describe-tasks", "--tasks", victim)
    [t] = out["tasks"]
    assert t["lastStatus"] == "STOPPED" and t["desiredStatus"] == "STOPPED"
    assert t["stopCode"] == "UserInitiated"
    assert t["stoppedReason"] == "done"
    assert_stopped_timestamps(t)
    assert t["version"] >= 4, t["version"]
    [c] = t["containers"]
    assert c["lastStatus"] == "STOPPED"
    assert isinstance(c.get("exitCode"), int), c
    assert "berth ok" not in http_get(ports[0], timeout=1), "stopped web task still answers"
    # The other two still serve.
    for port in ports[1:]:
        assert "berth ok" in http_get(port)


# --- (b) boto3 --------------------------------------------------------------------------------------------------

def test_waiters_describe_tags_and_missing(ecs, instance, started):
    family = uniq("wait")
    register(ecs, family, container("main"), tags=[{"key": "team", "value": "ml"}])
    arns = run(ecs, family, count=2, tags=[{"key": "run", "value": "waiters"}], propagateTags="TASK_DEFINITION")
    started.extend(arns)
    ecs.get_waiter("tasks_running").wait(tasks=arns, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    d = describe(ecs, arns)
    assert [t["lastStatus"] for t in d["tasks"]] == ["RUNNING", "RUNNING"]
    assert all(not t.get("tags") for t in d["tasks"]), "tags only with include TAGS"
    d = describe(ecs, arns, include=["TAGS"])
    for t in d["tasks"]:
        tags = {x["key"]: x["value"] for x in t["tags"]}
        assert tags == {"run": "waiters", "team": "ml"}, t["tags"]

    missing = arns[0].rsplit("/", 1)[0] + "/" + uuid.uuid4().hex
    d = describe(ecs, [arns[0], missing, "0" * 32])
    assert [t["taskArn"] for t in d["tasks"]] == [arns[0]]
    assert sorted(f["reason"] for f in d["failures"]) == ["MISSING", "MISSING"], d["failures"]
    assert missing in [f["arn"] for f in d["failures"]]

    for a in arns:
        ecs.stop_task(task=a, reason="waiter test")
    ecs.get_waiter("tasks_stopped").wait(tasks=arns, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    for t in describe(ecs, arns)["tasks"]:
        assert (t["lastStatus"], t["stopCode"], t["stoppedReason"]) == ("STOPPED", "UserInitiated", "waiter test")
        assert t["containers"][0]["exitCode"] == 0, "exits 0 on SIGTERM"
        assert_stopped_timestamps(t)


def test_list_tasks_filters(ecs, instance, started):
    fa, fb = uniq("lista"), uniq("listb")
    register(ecs, fa)
    register(ecs, fb)
    by = uniq("by")
    a = run(ecs, fa, count=2, startedBy=by)
    b = run(ecs, fb, count=1)
    started.extend(a + b)

    def listed(**kw):
        return set(a2 for p in ecs.get_paginator("list_tasks").paginate(**kw) for a2 in p["taskArns"])

    assert listed(family=fa) == set(a)
    assert listed(family=fb) == set(b)
    assert listed(startedBy=by) == set(a)
    assert listed(cluster="default", family=fa, desiredStatus="RUNNING") == set(a)
    assert listed(family=fa, containerInstance=instance) == set(a)
    assert listed(family=fa, containerInstance=instance.rsplit("/", 1)[1]) == set(a), "instance id works too"
    assert listed(family=fa, launchType="EC2") == set(a)
    assert listed(family=fa, launchType="EXTERNAL") == set()
    assert listed(family=fa, serviceName="no-such-service") == set()
    assert listed(family=fa, desiredStatus="STOPPED") == set()
    assert set(a + b) <= listed(), "default: desiredStatus RUNNING in cluster default"
    page = ecs.list_tasks(family=fa, maxResults=1)
    assert len(page["taskArns"]) == 1 and page.get("nextToken")

    ecs.stop_task(task=a[0], reason="listing")
    assert listed(family=fa) == {a[1]}
    assert listed(family=fa, desiredStatus="STOPPED") == {a[0]}
    assert listed(startedBy=by, desiredStatus="STOPPED") == {a[0]}


def test_start_task_on_the_instance(ecs, instance, started):
    family = uniq("start")
    register(ecs, family)
    ghost = instance.rsplit("/", 1)[0] + "/" + uuid.uuid4().hex
    out = ecs.start_task(taskDefinition=family, containerInstances=[instance, ghost], startedBy="starter")
    assert len(out["tasks"]) == 1, out
    [t] = out["tasks"]
    started.append(t["taskArn"])
    assert t["containerInstanceArn"] == instance
    assert t["startedBy"] == "starter"
    assert [(f["arn"], f["reason"]) for f in out["failures"]] == [(ghost, "MISSING")]
    [t] = wait_status(ecs, [t["taskArn"]], "RUNNING")
    assert t["containers"][0]["runtimeId"] in containers_with(INSTANCE_LABEL, instance)


def test_instance_resources_follow_tasks(ecs, instance, started):
    family = uniq("res")
    register(ecs, family, container("main", cpu=256, memory=64))
    before = wait_idle(ecs, instance)
    free = resources(before)
    total = resources(before, "registeredResources")
    assert free["CPU"] == total["CPU"] and free["MEMORY"] == total["MEMORY"], (free, total)

    arns = run(ecs, family, count=2)
    started.extend(arns)
    ci = instance_of(ecs, instance)
    assert resources(ci)["CPU"] == free["CPU"] - 512, "reserved at placement"
    assert resources(ci)["MEMORY"] == free["MEMORY"] - 128
    assert ci["runningTasksCount"] + ci["pendingTasksCount"] == 2, ci

    wait_status(ecs, arns, "RUNNING")
    ci = instance_of(ecs, instance)
    assert (ci["runningTasksCount"], ci["pendingTasksCount"]) == (2, 0), ci
    assert resources(ci)["CPU"] == free["CPU"] - 512
    assert resources(ci)["MEMORY"] == free["MEMORY"] - 128

    stop_all(ecs, arns, wait=True)
    ci = instance_of(ecs, instance)
    assert (ci["runningTasksCount"], ci["pendingTasksCount"]) == (0, 0), ci
    assert resources(ci)["CPU"] == free["CPU"] and resources(ci)["MEMORY"] == free["MEMORY"], "given back"


def test_health_of_a_two_container_task(ecs, instance, started):
    family = uniq("health")
    sidecar = container("sidecar", ["sh", "-c", "touch /tmp/ready; trap 'exit 0' TERM; sleep 600 & wait"],
                        healthCheck={"command": ["CMD-SHELL", "test -f /tmp/ready"], "interval": 5, "timeout": 2,
                                     "retries": 3, "startPeriod": 0})
    app = container("app", dependsOn=[{"containerName": "sidecar", "condition": "HEALTHY"}])
    register(ecs, family, sidecar, app)
    [arn] = run(ecs, family)
    started.append(arn)
    [t] = describe(ecs, [arn])["tasks"]
    assert t["healthStatus"] == "UNKNOWN", t
    side = {c["name"]: c for c in t["containers"]}["sidecar"]
    assert side.get("healthStatus") == "UNKNOWN", side

    [t] = wait_tasks(ecs, [arn], "RUNNING and HEALTHY",
                     lambda t: t["lastStatus"] == "RUNNING" and t.get("healthStatus") == "HEALTHY")
    cs = {c["name"]: c for c in t["containers"]}
    assert cs["sidecar"]["healthStatus"] == "HEALTHY", cs["sidecar"]
    assert cs["sidecar"]["lastStatus"] == "RUNNING" and cs["app"]["lastStatus"] == "RUNNING", cs
    assert ts(t["startedAt"]) >= ts(t["createdAt"])


def test_client_token_is_idempotent(ecs, instance, started):
    family = uniq("token")
    register(ecs, family)
    token = uuid.uuid4().hex
    first = ecs.run_task(taskDefinition=family, count=2, clientToken=token)
    arns = sorted(t["taskArn"] for t in first["tasks"])
    started.extend(arns)
    assert len(arns) == 2 and first["failures"] == []
    again = ecs.run_task(taskDefinition=family, count=2, clientToken=token)
    assert sorted(t["taskArn"] for t in again["tasks"]) == arns, "same tasks, none new"
    with pytest.raises(ClientError) as ei:
        ecs.run_task(taskDefinition=family, count=1, clientToken=token)
    code, msg, http = error_of(ei)
    assert http == 400 and "clientToken" in msg, (code, msg)
    assert sorted(ecs.list_tasks(family=family)["taskArns"]) == arns
    # A new token is a new request.
    other = run(ecs, family, count=1, clientToken=uuid.uuid4().hex)
    started.extend(other)
    assert other[0] not in arns
    wait_status(ecs, arns + other, "RUNNING")
    assert len(containers_with(FAMILY_LABEL, family)) == 3, "one container per task"


def test_member_of_that_matches_nothing(ecs, instance):
    family = uniq("member")
    register(ecs, family)
    out = ecs.run_task(taskDefinition=family, count=2, placementConstraints=[
        {"type": "memberOf", "expression": "attribute:ecs.instance-type == p5.48xlarge"}])
    assert out["tasks"] == []
    assert {(f.get("arn"), f["reason"]) for f in out["failures"]} == {
        (instance, "MemberOf placement constraint unsatisfied")}, out["failures"]
    assert ecs.list_tasks(family=family)["taskArns"] == []
    # The same constraint that matches the instance places the task.
    itype = {a["name"]: a.get("value") for a in instance_of(ecs, instance)["attributes"]}["ecs.instance-type"]
    out = ecs.run_task(taskDefinition=family, placementConstraints=[
        {"type": "memberOf", "expression": f"attribute:ecs.instance-type == {itype}"}])
    assert out["failures"] == [] and len(out["tasks"]) == 1
    stop_all(ecs, [t["taskArn"] for t in out["tasks"]])


def test_bad_input_starts_nothing(ecs, instance):
    before = wait_idle(ecs, instance)
    family = uniq("small")
    register(ecs, family)

    with pytest.raises(ClientError) as ei:
        ecs.run_task(taskDefinition=uniq("nope"))
    assert error_of(ei)[:2] == ("ClientException", "Unable to describe task definition.")
    with pytest.raises(ClientError) as ei:
        ecs.run_task(taskDefinition=f"{family}:99")
    assert error_of(ei)[:2] == ("ClientException", "Unable to describe task definition.")

    with pytest.raises(ClientError) as ei:
        ecs.run_task(taskDefinition=family, count=11)
    assert error_of(ei)[0] == "InvalidParameterException"

    empty = uniq("empty")
    ecs.create_cluster(clusterName=empty)
    with pytest.raises(ClientError) as ei:
        ecs.run_task(cluster=empty, taskDefinition=family)
    assert error_of(ei)[:2] == ("InvalidParameterException", "No Container Instances were found in your cluster.")
    with pytest.raises(ClientError) as ei:
        ecs.run_task(cluster=uniq("nocluster"), taskDefinition=family)
    assert error_of(ei)[0] == "ClusterNotFoundException"

    huge = uniq("huge")
    register(ecs, huge, container("huge", memory=10_000_000))
    out = ecs.run_task(taskDefinition=huge, count=3)
    assert out["tasks"] == []
    assert [(f.get("arn"), f["reason"]) for f in out["failures"]] == [(instance, "RESOURCE:MEMORY")], out
    hungry = uniq("hungry")
    register(ecs, hungry, container("hungry", cpu=1_000_000))
    out = ecs.run_task(taskDefinition=hungry)
    assert out["tasks"] == []
    assert [(f.get("arn"), f["reason"]) for f in out["failures"]] == [(instance, "RESOURCE:CPU")], out

    for f in (family, huge, hungry):
        assert ecs.list_tasks(family=f)["taskArns"] == []
        assert ecs.list_tasks(family=f, desiredStatus="STOPPED")["taskArns"] == []
        assert containers_with(FAMILY_LABEL, f, all_states=True) == []
    assert ecs.list_tasks(cluster=empty)["taskArns"] == []
    after = instance_of(ecs, instance)
    assert resources(after) == resources(before), "nothing reserved"
    ecs.delete_cluster(cluster=empty)


def test_ports_conflict_with_a_fixed_host_port(ecs, instance, started):
    family = uniq("fixed")
    port = free_port()
    register(ecs, family, container("web", HTTPD, portMappings=[{"containerPort": 80, "hostPort": port}]))
    [arn] = run(ecs, family)
    started.append(arn)
    out = ecs.run_task(taskDefinition=family)
    assert out["tasks"] == []
    assert [(f.get("arn"), f["reason"]) for f in out["failures"]] == [(instance, "RESOURCE:PORTS")], out
    [t] = wait_status(ecs, [arn], "RUNNING")
    assert t["containers"][0]["networkBindings"][0]["hostPort"] == port
    assert "berth ok" in http_get(port)



# --- (c) a second host: `berth agent` as its own process --------------------------------------------------------

class Agent:
    """A `berth agent` process joining `cluster` of `server`, with its own data dir."""

    def __init__(self, server, cluster, data_dir, extra=()):
        self.server, self.cluster, self.data_dir = server, cluster, Path(data_dir)
        self.extra = list(extra)
        self.proc = None
        self.starts = 0

    def start(self):
        self.starts += 1
        self.log = self.data_dir.parent / f"{self.data_dir.name}.{self.starts}.log"
        argv = [berth_bin(), "agent", "--server", self.server.endpoint, "--cluster", self.cluster,
                "--data-dir", str(self.data_dir), "--credentials", str(self.server.credentials_file),
                "--metadata-port", "0", "--stop-timeout", "2", *self.extra]
        self.proc = subprocess.Popen(argv, env=clean_env(HOME=str(self.server.home)), stdin=subprocess.DEVNULL,
                                     stdout=open(self.log, "wb"), stderr=subprocess.STDOUT)
        out = wait_until("agent registered",
                         lambda: self.proc.poll() is not None or "agent registered as" in self.log.read_text(),
                         timeout=30)
        assert self.proc.poll() is None, f"agent exited ({self.proc.returncode}):\n{self.log.read_text()}"
        assert out
        return self.arn

    @property
    def arn(self):
        return json.loads((self.data_dir / "agent-state.json").read_text())["containerInstanceArn"]

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def cleanup(self):
        self.kill()
        try:
            remove_labelled(INSTANCE_LABEL, self.arn)
        except (OSError, ValueError, KeyError):
            pass


@pytest.fixture()
def agents():
    made = []
    yield made
    for a in made:
        a.cleanup()


def second_host(server_factory, agents, tmp_path, extra_args, az="zone-b"):
    srv = server_factory(extra_args=extra_args)
    ecs = srv.client()
    ecs.create_cluster(clusterName="ml")
    agent = Agent(srv, "ml", tmp_path / "agent-ml", extra=["--availability-zone", az])
    agents.append(agent)
    arn = agent.start()
    return srv, ecs, agent, arn


def test_separate_agent_host_lost_and_back(server_factory, agents, test_image, tmp_path):
    srv, ecs, agent, arn = second_host(server_factory, agents, tmp_path, ["--agent-deadline", "4"])
    assert arn.split(":container-instance/")[1].startswith("ml/"), arn
    ci = wait_until("agent connected", lambda: (lambda c: c if c["agentConnected"] else None)(
        instance_of(ecs, arn, "ml")))
    attrs = {a["name"]: a.get("value") for a in ci["attributes"]}
    assert attrs.get("ecs.availability-zone") == "zone-b", attrs
    assert ecs.list_container_instances(cluster="ml")["containerInstanceArns"] == [arn]

    family = uniq("lost")
    register(ecs, family)
    [task] = run(ecs, family, cluster="ml")
    [t] = wait_status(ecs, [task], "RUNNING", cluster="ml")
    assert t["containerInstanceArn"] == arn and t["availabilityZone"] == "zone-b"
    cid = t["containers"][0]["runtimeId"]
    assert containers_with(INSTANCE_LABEL, arn) == [cid]

    agent.kill()
    lost_from = time.monotonic()

    def lost():
        c = instance_of(ecs, arn, "ml")
        [t] = describe(ecs, [task], "ml")["tasks"]
        return (c, t) if not c["agentConnected"] and t["lastStatus"] == "STOPPED" else None

    ci, t = wait_until("host lost", lost, timeout=45)
    lost_after = time.monotonic() - lost_from
    print(f"host lost noticed {lost_after:.1f}s after SIGKILL (--agent-deadline 4)")
    assert t["stoppedReason"].startswith("Host lost"), t
    assert t["desiredStatus"] == "STOPPED" and t.get("stoppedAt"), t
    assert (ci["runningTasksCount"], ci["pendingTasksCount"]) == (0, 0), ci
    assert resources(ci) == resources(ci, "registeredResources"), "resources given back"
    assert lost_after < 15, f"host lost noticed after {lost_after:.1f}s with --agent-deadline 4"
    assert containers_with(INSTANCE_LABEL, arn) == [cid], "nobody stops the container while its agent is away"

    out = ecs.run_task(cluster="ml", taskDefinition=family)
    assert out["tasks"] == []
    assert [(f.get("arn"), f["reason"]) for f in out["failures"]] == [(arn, "AGENT")], out["failures"]

    assert agent.start() == arn, "same instance after restart"
    wait_until("agent connected again", lambda: instance_of(ecs, arn, "ml")["agentConnected"], timeout=30)
    wait_until("orphaned container stopped by the returning agent",
               lambda: cid not in containers_with(INSTANCE_LABEL, arn), timeout=TIMEOUT)
    [t] = describe(ecs, [task], "ml")["tasks"]
    assert t["lastStatus"] == "STOPPED" and t["stoppedReason"].startswith("Host lost"), t
    assert ecs.list_container_instances(cluster="ml")["containerInstanceArns"] == [arn], "no second instance"

    # Back in service.
    [again] = run(ecs, family, cluster="ml")
    [t] = wait_status(ecs, [again], "RUNNING", cluster="ml")
    assert t["containerInstanceArn"] == arn
    stop_all(ecs, [again], cluster="ml", wait=True)


def tasks_on_second_host(server_factory, agents, tmp_path, prefix, count):
    """A second host (deadline 60 s) running `count` sleeper tasks: (server, ecs, agent, instance, family, arns,
    described tasks)."""
    srv, ecs, agent, arn = second_host(server_factory, agents, tmp_path, ["--agent-deadline", "60"])
    family = uniq(prefix)
    register(ecs, family)
    tasks = run(ecs, family, count=count, cluster="ml")
    return srv, ecs, agent, arn, family, tasks, wait_status(ecs, tasks, "RUNNING", cluster="ml")


def test_agent_restart_keeps_running_containers(server_factory, agents, test_image, tmp_path):
    srv, ecs, agent, arn, family, tasks, running = tasks_on_second_host(server_factory, agents, tmp_path, "adopt", 3)
    ids = {t["taskArn"]: t["containers"][0]["runtimeId"] for t in running}
    assert sorted(containers_with(INSTANCE_LABEL, arn)) == sorted(ids.values())

    agent.kill()
    # While the agent is away: one task is asked to stop (the agent carries it out when back).
    ecs.stop_task(cluster="ml", task=tasks[2], reason="stopped while the agent was down")
    assert agent.start() == arn, "same instance after restart"

    [t2] = wait_status(ecs, [tasks[2]], "STOPPED", cluster="ml")
    assert t2["stoppedReason"] == "stopped while the agent was down" and t2["stopCode"] == "UserInitiated"
    time.sleep(2)  # give a duplicating agent the chance to show itself
    now = wait_status(ecs, tasks[:2], "RUNNING", cluster="ml")
    for t in now:
        assert t["containers"][0]["runtimeId"] == ids[t["taskArn"]], "same container, not a new one"
    assert sorted(containers_with(INSTANCE_LABEL, arn)) == sorted(ids[a] for a in tasks[:2]), "no duplicates"
    for a in tasks:
        assert len(containers_with("berth.task-arn", a, all_states=True)) <= 1, f"one container at most for {a}"
    ci = instance_of(ecs, arn, "ml")
    assert ci["agentConnected"] and ci["runningTasksCount"] == 2, ci
    stop_all(ecs, tasks[:2], cluster="ml", wait=True)


def test_server_restart_changes_nothing_on_the_host(server_factory, agents, test_image, tmp_path):
    srv, ecs, agent, arn, family, tasks, running = tasks_on_second_host(
        server_factory, agents, tmp_path, "srvrestart", 2)
    ids = sorted(t["containers"][0]["runtimeId"] for t in running)

    srv.restart()
    ecs = srv.client()
    # The agent's work channel breaks and comes back with backoff; its containers are left alone meanwhile.
    wait_until("agent reconnected", lambda: instance_of(ecs, arn, "ml")["agentConnected"])
    time.sleep(2)
    now = wait_status(ecs, tasks, "RUNNING", cluster="ml")
    assert sorted(t["containers"][0]["runtimeId"] for t in now) == ids, "same containers after the server restart"
    assert sorted(containers_with(INSTANCE_LABEL, arn)) == ids, "nothing started or stopped on the host"
    assert agent.proc.poll() is None, "the agent rides out the server's restart"
    more = run(ecs, family, count=1, cluster="ml")
    wait_status(ecs, more, "RUNNING", cluster="ml")
    stop_all(ecs, tasks + more, cluster="ml", wait=True)
