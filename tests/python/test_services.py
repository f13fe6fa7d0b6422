"""ECS services on real Docker, driven by the aws CLI and boto3 against a real `berth up` (server and local agent in
one process).

Covered: the aws CLI tour (create-service, `wait services-stable`, describe-services, list-tasks --service-name),
scaling out and in, replacement of stopped and killed tasks, rolling updates within the deployment configuration's
bounds (sampled while they run), the circuit breaker with rollback, ListServiceDeployments and
DescribeServiceDeployments, DeleteService (refused above 0, forced: DRAINING then INACTIVE), ListServices filters,
DescribeServices with TAGS and MISSING failures, and bad input (never a 500).

Every task runs the test image (tests/images/build.sh) with a small sleeper that exits at once on SIGTERM, so
scheduler stops are quick. Every service lives in cluster `default` (the local agent's) unless it runs no task; each
test force-deletes its services and waits until they are INACTIVE and their tasks STOPPED.
"""

import json
import math
import re
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION, cluster_arn, error_of, expect_error, tag_map, td_arn, uniq
from test_tasks import IMAGE, docker, instance, test_image, ts, wait_until  # noqa: F401,F811 (fixtures)

# Everything here runs containers through Berth's agent: nothing to check against moto.
pytestmark = pytest.mark.berth_only

TIMEOUT = 60.0
FAST = {"Delay": 1, "MaxAttempts": 60}
# `sleep 3600` that exits 0 at once on SIGTERM (a bare `sleep` as PID 1 ignores SIGTERM).
SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
DEPLOYMENT_ID = re.compile(r"^ecs-svc/\d{19}$")
TASK_ID = re.compile(r"\(task ([0-9a-f]+)\)")
SCHEDULER = "ServiceSchedulerInitiated"
SERVICE_DEPLOYMENT_STATUSES = {"PENDING", "SUCCESSFUL", "STOPPED", "STOP_REQUESTED", "IN_PROGRESS",
                               "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"}


# --- helpers ---------------------------------------------------------------------------------------------------

def container(name="main", command=SLEEPER, memory=16, **extra):
    c = {"name": name, "image": IMAGE, "memory": memory, "essential": True, "command": command, "stopTimeout": 2}
    c.update(extra)
    return c


def register(ecs, family, *containers, **extra):
    """Registers a revision of `family`; returns its ARN."""
    containers = containers or (container(),)
    return ecs.register_task_definition(family=family, containerDefinitions=list(containers),
                                        **extra)["taskDefinition"]["taskDefinitionArn"]


def service_arn(name, cluster="default"):
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{cluster}/{name}"


def task_id(arn):
    return arn.rsplit("/", 1)[1]


def describe_service(ecs, name, cluster=None, **kw):
    if cluster:
        kw["cluster"] = cluster
    out = ecs.describe_services(services=[name], **kw)
    assert out["failures"] == [], out["failures"]
    [s] = out["services"]
    return s


def create(ecs, services, name, td, desired=1, **kw):
    """CreateService (its name is recorded for cleanup first); returns the service."""
    services.append((name, kw.get("cluster")))
    return ecs.create_service(serviceName=name, taskDefinition=td, desiredCount=desired, **kw)["service"]


def service_tasks(ecs, name, desired="RUNNING", cluster=None):
    kw = {"cluster": cluster} if cluster else {}
    return [a for p in ecs.get_paginator("list_tasks").paginate(serviceName=name, desiredStatus=desired, **kw)
            for a in p["taskArns"]]


def describe_tasks(ecs, arns, cluster=None):
    kw = {"cluster": cluster} if cluster else {}
    out = []
    for i in range(0, len(arns), 100):
        d = ecs.describe_tasks(tasks=arns[i:i + 100], **kw)
        assert d["failures"] == [], d["failures"]
        out += d["tasks"]
    return out


def wait_stable(ecs, *names, cluster=None):
    """The services_stable waiter, then until each rollout has left IN_PROGRESS: Berth completes a deployment once
    its tasks have run for a few seconds (a crash right after start still counts against the circuit breaker), and
    services-stable, as in ECS, does not wait for that."""
    kw = {"cluster": cluster} if cluster else {}
    ecs.get_waiter("services_stable").wait(services=list(names), WaiterConfig=FAST, **kw)

    def settled():
        found = [describe_service(ecs, n, cluster) for n in names]
        done = all(s["deployments"][0].get("rolloutState") != "IN_PROGRESS" for s in found)
        return found if done else None
    return wait_until(f"rollouts of {names} to finish", settled, timeout=TIMEOUT)


def running_tasks(ecs, name, count):
    """Waits until the service has exactly `count` tasks desired RUNNING, all of them RUNNING; returns them."""
    def check():
        arns = service_tasks(ecs, name)
        if len(arns) != count:
            return None
        tasks = describe_tasks(ecs, arns)
        return tasks if all(t["lastStatus"] == "RUNNING" for t in tasks) else None
    return wait_until(f"{count} RUNNING tasks of service {name}", check, timeout=TIMEOUT)


def wait_stopped(ecs, arns):
    def check():
        tasks = describe_tasks(ecs, arns)
        return tasks if all(t["lastStatus"] == "STOPPED" for t in tasks) else None
    return wait_until(f"tasks {arns} STOPPED", check, timeout=TIMEOUT)


def brief_tasks(tasks):
    """What a failed bound check shows of each task."""
    return [(task_id(t["taskArn"]), t["taskDefinitionArn"].rsplit(":", 1)[1], t["startedBy"], t["lastStatus"],
             t["desiredStatus"], t.get("stopCode"), t.get("startedAt") is not None) for t in tasks]


def messages(service):
    return [e["message"] for e in service.get("events", [])]


def event_tasks(message):
    return set(TASK_ID.findall(message))


def find_event(ecs, name, prefix, timeout=15.0):
    """Waits for an event of service `name` starting with `prefix`; returns its message."""
    def check():
        for m in messages(describe_service(ecs, name)):
            if m.startswith(prefix):
                return m
        return None
    return wait_until(f"event {prefix!r}", check, timeout=timeout)


def assert_one_completed(s, td):
    [d] = s["deployments"]
    assert (d["status"], d.get("rolloutState"), d["taskDefinition"]) == ("PRIMARY", "COMPLETED", td), d
    assert DEPLOYMENT_ID.match(d["id"]), d["id"]
    assert d["desiredCount"] == s["desiredCount"] and d["runningCount"] == s["desiredCount"], d
    assert d["pendingCount"] == 0, d
    return d


@pytest.fixture()
def services(ecs):
    """(name, cluster) of the services a test creates; force-deleted afterwards, waited until INACTIVE and their
    tasks STOPPED (later tests expect the local instance idle)."""
    made = []
    yield made
    gone = []
    for name, cluster in made:
        kw = {"cluster": cluster} if cluster else {}
        try:
            ecs.delete_service(service=name, force=True, **kw)
        except ClientError as e:
            if error_of(e)[0] == "ServiceNotFoundException":
                continue  # never created
            if error_of(e)[0] != "ServiceNotActiveException":
                raise
        gone.append((name, kw))
    for name, kw in gone:
        ecs.get_waiter("services_inactive").wait(services=[name], WaiterConfig=FAST, **kw)
        arns = [a for s in ("RUNNING", "STOPPED") for a in service_tasks(ecs, name, s, kw.get("cluster"))]
        if arns:
            wait_until(f"tasks of {name} STOPPED", lambda: all(
                t["lastStatus"] == "STOPPED" for t in describe_tasks(ecs, arns, kw.get("cluster"))), timeout=TIMEOUT)


# --- the aws CLI tour --------------------------------------------------------------------------------------------

def test_cli_tour(berth, ecs, instance, services):
    family = uniq("svc-web")
    td = register(ecs, family)
    name = uniq("web")
    services.append((name, None))
    config = {"maximumPercent": 200, "minimumHealthyPercent": 100,
              "deploymentCircuitBreaker": {"enable": True, "rollback": True}}
    _, out, _ = berth.cli("ecs", "create-service", "--service-name", name, "--task-definition", family,
                          "--desired-count", "3", "--deployment-configuration", json.dumps(config))
    s = out["service"]
    assert s["serviceName"] == name and s["serviceArn"] == service_arn(name), s
    assert s["clusterArn"] == cluster_arn("default")
    assert (s["status"], s["desiredCount"], s["taskDefinition"]) == ("ACTIVE", 3, td), s
    assert (s["launchType"], s["schedulingStrategy"]) == ("EC2", "REPLICA"), s
    dc = s["deploymentConfiguration"]
    assert (dc["maximumPercent"], dc["minimumHealthyPercent"]) == (200, 100), dc
    assert dc["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}, dc
    [d] = s["deployments"]
    assert DEPLOYMENT_ID.match(d["id"]), d["id"]
    assert (d["status"], d["taskDefinition"], d["desiredCount"]) == ("PRIMARY", td, 3), d
    assert d.get("rolloutState") == "IN_PROGRESS", d
    assert s.get("createdAt") is not None

    # The CLI's waiter polls every 15 s: once here, boto3's waiters (1 s) elsewhere.
    berth.cli("ecs", "wait", "services-stable", "--services", name)
    wait_stable(ecs, name)

    _, out, _ = berth.cli("ecs", "describe-services", "--services", name)
    assert out["failures"] == []
    [s] = out["services"]
    assert (s["status"], s["runningCount"], s["desiredCount"], s["pendingCount"]) == ("ACTIVE", 3, 3, 0), s
    assert s["taskDefinition"] == td
    dep = assert_one_completed(s, td)
    assert dep["id"] == d["id"], "the first deployment completes; no other one starts"
    assert dep.get("failedTasks", 0) == 0, dep

    _, out, _ = berth.cli("ecs", "list-tasks", "--service-name", name)
    arns = out["taskArns"]
    assert len(arns) == 3, arns
    _, out, _ = berth.cli("ecs", "describe-tasks", "--tasks", *arns)
    assert out["failures"] == []
    for t in out["tasks"]:
        assert t["group"] == f"service:{name}", t["group"]
        assert t["startedBy"] == dep["id"], t["startedBy"]
        assert (t["lastStatus"], t["desiredStatus"]) == ("RUNNING", "RUNNING"), t
        assert t["taskDefinitionArn"] == td
        assert t["containerInstanceArn"] == instance

    started = find_event(ecs, name, f"(service {name}) has started 3 tasks:")
    assert event_tasks(started) == {task_id(a) for a in arns}, started
    find_event(ecs, name, f"(service {name}) (deployment {dep['id']}) deployment completed.")
    find_event(ecs, name, f"(service {name}) has reached a steady state.")
    _, out, _ = berth.cli("ecs", "describe-services", "--services", name)
    events = out["services"][0]["events"]
    assert f"(service {name}) has reached a steady state." in [e["message"] for e in events]
    stamps = [ts(e["createdAt"]) for e in events]
    assert stamps == sorted(stamps, reverse=True), "events newest first"
    assert len({e["id"] for e in events}) == len(events), "event ids are unique"


# --- scaling and replacement -------------------------------------------------------------------------------------

def test_scale_out_and_in(ecs, instance, services):
    family = uniq("svc-scale")
    td = register(ecs, family)
    name = uniq("scale")
    create(ecs, services, name, td, desired=1)
    [s] = wait_stable(ecs, name)
    assert s["runningCount"] == 1
    [first] = running_tasks(ecs, name, 1)

    s = ecs.update_service(service=name, desiredCount=4)["service"]
    assert s["desiredCount"] == 4
    [s] = wait_stable(ecs, name)
    assert (s["desiredCount"], s["runningCount"]) == (4, 4), s
    assert_one_completed(s, td)
    four = running_tasks(ecs, name, 4)
    arns4 = {t["taskArn"] for t in four}
    assert first["taskArn"] in arns4, "scaling out keeps the running task"
    msg = find_event(ecs, name, f"(service {name}) has started 3 tasks:")
    assert event_tasks(msg) == {task_id(a) for a in arns4 - {first["taskArn"]}}, msg

    s = ecs.update_service(service=name, desiredCount=2)["service"]
    assert s["desiredCount"] == 2
    two = running_tasks(ecs, name, 2)
    kept = {t["taskArn"] for t in two}
    assert kept < arns4, "scaling in starts nothing"
    stopped = sorted(arns4 - kept)
    assert set(service_tasks(ecs, name, "STOPPED")) >= set(stopped)
    for t in wait_stopped(ecs, stopped):
        assert t["stopCode"] == SCHEDULER, (t["stopCode"], t.get("stoppedReason"))
    [s] = wait_stable(ecs, name)
    assert (s["desiredCount"], s["runningCount"]) == (2, 2), s
    msg = find_event(ecs, name, f"(service {name}) has stopped 2 running tasks:")
    assert event_tasks(msg) == {task_id(a) for a in stopped}, msg

    ecs.update_service(service=name, desiredCount=0)
    wait_until("no task desired RUNNING", lambda: service_tasks(ecs, name) == [], timeout=TIMEOUT)
    for t in wait_stopped(ecs, sorted(kept)):
        assert t["stopCode"] == SCHEDULER, t
    [s] = wait_stable(ecs, name)
    assert (s["desiredCount"], s["runningCount"], s["pendingCount"]) == (0, 0, 0), s


def test_stopped_and_killed_tasks_are_replaced(ecs, instance, services):
    family = uniq("svc-heal")
    td = register(ecs, family)
    name = uniq("heal")
    create(ecs, services, name, td, desired=2)
    [s] = wait_stable(ecs, name)
    dep = s["deployments"][0]["id"]
    before = {t["taskArn"]: t for t in running_tasks(ecs, name, 2)}

    # StopTask on a service task: it stops as the user asked, and a new one takes its place.
    victim, other = sorted(before)
    ecs.stop_task(task=victim, reason="chaos")
    [t] = wait_stopped(ecs, [victim])
    assert (t["stopCode"], t["stoppedReason"]) == ("UserInitiated", "chaos"), t
    now = running_tasks(ecs, name, 2)
    new = {t["taskArn"] for t in now} - set(before)
    assert len(new) == 1 and other in {t["taskArn"] for t in now}, (before.keys(), now)
    [replacement] = [t for t in now if t["taskArn"] in new]
    assert (replacement["group"], replacement["startedBy"]) == (f"service:{name}", dep), replacement
    [s] = wait_stable(ecs, name)
    assert (s["runningCount"], s["desiredCount"]) == (2, 2)
    msg = find_event(ecs, name, f"(service {name}) has started 1 tasks: (task {task_id(replacement['taskArn'])})")
    assert event_tasks(msg) == {task_id(replacement["taskArn"])}

    # The container of another one is killed behind Berth's back: the task stops and is replaced too.
    target = now[0]
    docker("kill", target["containers"][0]["runtimeId"])
    [t] = wait_stopped(ecs, [target["taskArn"]])
    assert t["stopCode"] == "EssentialContainerExited", t
    again = running_tasks(ecs, name, 2)
    assert target["taskArn"] not in {t["taskArn"] for t in again}
    assert len({t["taskArn"] for t in again} - {t["taskArn"] for t in now}) == 1, "one replacement"
    [s] = wait_stable(ecs, name)
    assert (s["runningCount"], s["desiredCount"]) == (2, 2)
    assert_one_completed(s, td)


# --- rolling updates ---------------------------------------------------------------------------------------------

ROLLOUTS = [(4, 50, 150), (3, 100, 200), (4, 50, 100)]


@pytest.mark.parametrize("desired,minimum,maximum", ROLLOUTS, ids=[f"{d}x-min{a}-max{b}" for d, a, b in ROLLOUTS])
def test_rolling_update_stays_within_bounds(ecs, instance, services, desired, minimum, maximum):
    family = uniq("svc-roll")
    old = register(ecs, family)
    new = register(ecs, family, container(environment=[{"name": "REVISION", "value": "2"}]))
    assert new == td_arn(family, 2)
    name = uniq("roll")
    create(ecs, services, name, old, desired=desired,
           deploymentConfiguration={"maximumPercent": maximum, "minimumHealthyPercent": minimum})
    [s] = wait_stable(ecs, name)
    first = assert_one_completed(s, old)
    old_tasks = {t["taskArn"] for t in running_tasks(ecs, name, desired)}
    upper = math.floor(desired * maximum / 100)
    lower = math.ceil(desired * minimum / 100)

    s = ecs.update_service(service=name, taskDefinition=f"{family}:2")["service"]
    assert s["taskDefinition"] == new
    deps = {d["status"]: d for d in s["deployments"]}
    assert set(deps) == {"PRIMARY", "ACTIVE"}, s["deployments"]
    assert (deps["PRIMARY"]["taskDefinition"], deps["PRIMARY"].get("rolloutState")) == (new, "IN_PROGRESS")
    assert deps["ACTIVE"]["id"] == first["id"] and deps["ACTIVE"]["taskDefinition"] == old
    second = deps["PRIMARY"]["id"]
    assert DEPLOYMENT_ID.match(second) and second != first["id"]

    # Sample often until the rollout is done. A sample lists the tasks desired RUNNING, then describes them: tasks
    # listed that have started by the time they are described count as healthy (a task stopped in between still
    # counts, one that started in between too: the lag of sampling is given to the server).
    samples = []
    deadline = time.monotonic() + TIMEOUT
    while True:
        listed = service_tasks(ecs, name)
        tasks = describe_tasks(ecs, listed) if listed else []
        healthy = sum(1 for t in tasks if t.get("startedAt") is not None)
        s = describe_service(ecs, name)
        samples.append((len(listed), healthy, len(s["deployments"])))
        assert len(listed) <= upper, f"{len(listed)} tasks RUNNING or PENDING, maximum {upper}: {samples}"
        assert healthy >= lower, f"{healthy} healthy tasks, minimum {lower}: {samples}"
        if (len(s["deployments"]) == 1 and s["deployments"][0]["taskDefinition"] == new
                and s["runningCount"] == desired and s["deployments"][0].get("rolloutState") == "COMPLETED"):
            break
        assert time.monotonic() < deadline, f"rollout not done within {TIMEOUT}s: {s['deployments']}"
        time.sleep(0.05)
    print(f"{len(samples)} samples (listed, healthy, deployments): {samples}")
    assert len(samples) > 1, "the rollout was sampled while it ran"

    [s] = wait_stable(ecs, name)
    d = assert_one_completed(s, new)
    assert d["id"] == second
    now = running_tasks(ecs, name, desired)
    assert all(t["taskDefinitionArn"] == new and t["startedBy"] == second for t in now), now
    assert not old_tasks & {t["taskArn"] for t in now}, "every old task replaced"
    for t in wait_stopped(ecs, sorted(old_tasks)):
        assert t["stopCode"] == SCHEDULER, (t["stopCode"], t.get("stoppedReason"))
    find_event(ecs, name, f"(service {name}) (deployment {second}) deployment completed.")


# A revision whose tasks never reach RUNNING, and one whose tasks reach RUNNING and exit at once (a crash loop).
BROKEN = {"fails-to-start": ["/no/such/binary"], "exits-at-once": ["sh", "-c", "exit 1"]}


@pytest.mark.parametrize("broken", list(BROKEN))
def test_circuit_breaker_rolls_back(ecs, instance, services, broken):
    family = uniq("svc-cb")
    good = register(ecs, family)
    bad = register(ecs, family, container(command=BROKEN[broken]))
    name = uniq("cb")
    create(ecs, services, name, good, desired=2, deploymentConfiguration={
        "maximumPercent": 200, "minimumHealthyPercent": 100,
        "deploymentCircuitBreaker": {"enable": True, "rollback": True}})
    [s] = wait_stable(ecs, name)
    first = assert_one_completed(s, good)
    running_tasks(ecs, name, 2)

    s = ecs.update_service(service=name, taskDefinition=bad)["service"]
    [failing] = [d for d in s["deployments"] if d["status"] == "PRIMARY"]
    assert failing["taskDefinition"] == bad

    seen, failed_seen = [], []

    def rolled_back():
        s = describe_service(ecs, name)
        seen.append([(d["id"], d["taskDefinition"].rsplit(":", 1)[1], d["status"], d.get("rolloutState"),
                      d["runningCount"], d.get("failedTasks")) for d in s["deployments"]])
        for d in s["deployments"]:
            if d["id"] == failing["id"] and d.get("rolloutState") == "FAILED":
                assert d["rolloutStateReason"].startswith("ECS deployment circuit breaker:"), d
                assert d["failedTasks"] >= 3, d
                assert d["status"] == "ACTIVE", "the rollback is PRIMARY"
                failed_seen.append(d)
        done = (len(s["deployments"]) == 1 and s["taskDefinition"] == good
                and s["deployments"][0].get("rolloutState") == "COMPLETED" and s["runningCount"] == 2)
        return s if done else None

    try:
        s = wait_until("rolled back to the good task definition", rolled_back, timeout=TIMEOUT, interval=0.1)
    except AssertionError as e:
        changes = [v for i, v in enumerate(seen) if i == 0 or v != seen[i - 1]]
        raise AssertionError(f"{e}\ndeployments (id, revision, status, rollout, running, failed) as they changed: "
                             f"{changes}\nevents: {messages(describe_service(ecs, name))[:20]}") from None
    assert failed_seen, "the failed deployment stays listed (ACTIVE, FAILED) beside its rollback until that completes"
    [d] = s["deployments"]
    assert d["id"] not in (first["id"], failing["id"]), "the rollback is a new deployment"
    assert d["taskDefinition"] == good
    find_event(ecs, name, f"(service {name}) (deployment {failing['id']}) deployment failed: tasks failed to start.")
    find_event(ecs, name, f"(service {name}) rolling back to deployment ecs-svc/")
    now = running_tasks(ecs, name, 2)
    assert all(t["taskDefinitionArn"] == good and t["startedBy"] == d["id"] for t in now), now
    failed = [t for t in describe_tasks(ecs, service_tasks(ecs, name, "STOPPED")) if t["taskDefinitionArn"] == bad]
    assert len(failed) >= 3, f"{len(failed)} stopped tasks of {bad}"
    assert all(t["startedBy"] == failing["id"] for t in failed), failed

    # The service deployments tell the story: the first and the rollback SUCCESSFUL, the broken one rolled back.
    briefs = ecs.list_service_deployments(service=name)["serviceDeployments"]
    assert [b["status"] for b in briefs] == ["SUCCESSFUL", "ROLLBACK_SUCCESSFUL", "SUCCESSFUL"], briefs
    [broken_dep] = ecs.describe_service_deployments(
        serviceDeploymentArns=[briefs[1]["serviceDeploymentArn"]])["serviceDeployments"]
    assert broken_dep["statusReason"].startswith("ECS deployment circuit breaker:"), broken_dep
    cb = broken_dep["deploymentCircuitBreaker"]
    assert cb["status"] == "TRIGGERED" and cb["failureCount"] >= cb["threshold"] == 3, cb
    assert broken_dep["rollback"]["reason"].startswith("ECS deployment circuit breaker:"), broken_dep


# --- service deployments -----------------------------------------------------------------------------------------

def test_service_deployments(ecs, instance, services):
    family = uniq("svc-deps")
    first_td = register(ecs, family)
    second_td = register(ecs, family, container(environment=[{"name": "V", "value": "2"}]))
    name = uniq("deps")
    create(ecs, services, name, first_td, desired=1)
    wait_stable(ecs, name)
    ecs.update_service(service=name, taskDefinition=second_td)
    [s] = wait_stable(ecs, name)
    assert_one_completed(s, second_td)

    out = ecs.list_service_deployments(service=name)
    briefs = out["serviceDeployments"]
    assert len(briefs) == 2, briefs
    newest, oldest = briefs
    assert ts(newest["createdAt"]) >= ts(oldest["createdAt"]), "newest first"
    prefix = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/default/{name}/"
    for b in briefs:
        assert b["serviceDeploymentArn"].startswith(prefix), b
        assert (b["serviceArn"], b["clusterArn"]) == (service_arn(name), cluster_arn("default")), b
        assert b["status"] in SERVICE_DEPLOYMENT_STATUSES, b
    assert newest["status"] == "SUCCESSFUL", newest
    assert oldest["status"] in ("SUCCESSFUL", "STOPPED"), oldest
    assert newest["serviceDeploymentArn"] != oldest["serviceDeploymentArn"]
    assert ecs.list_service_deployments(service=service_arn(name), cluster="default")["serviceDeployments"] == briefs
    assert ecs.list_service_deployments(service=name, status=["IN_PROGRESS"])["serviceDeployments"] == []
    page = ecs.list_service_deployments(service=name, maxResults=1)
    assert len(page["serviceDeployments"]) == 1 and page.get("nextToken"), page
    rest = ecs.list_service_deployments(service=name, maxResults=1, nextToken=page["nextToken"])
    assert page["serviceDeployments"] + rest["serviceDeployments"] == briefs

    ghost = prefix + "0" * 20
    out = ecs.describe_service_deployments(serviceDeploymentArns=[b["serviceDeploymentArn"] for b in briefs] + [ghost])
    full = {d["serviceDeploymentArn"]: d for d in out["serviceDeployments"]}
    assert set(full) == {b["serviceDeploymentArn"] for b in briefs}, out
    assert [(f["arn"], f["reason"]) for f in out["failures"]] == [(ghost, "MISSING")], out["failures"]
    for b in briefs:
        d = full[b["serviceDeploymentArn"]]
        assert d["status"] == b["status"] and d["serviceArn"] == service_arn(name), d
        assert d["clusterArn"] == cluster_arn("default")
        assert d["deploymentConfiguration"]["maximumPercent"] == 200, d
        assert d["deploymentConfiguration"]["minimumHealthyPercent"] == 100, d
    assert full[newest["serviceDeploymentArn"]].get("finishedAt") is not None

    expect_error(ecs.list_service_deployments, "ServiceNotFoundException", service=uniq("ghost"))


# --- DeleteService -----------------------------------------------------------------------------------------------

def test_delete_service(ecs, instance, services):
    family = uniq("svc-del")
    td = register(ecs, family)
    name = uniq("del")
    create(ecs, services, name, td, desired=2)
    wait_stable(ecs, name)
    arns = [t["taskArn"] for t in running_tasks(ecs, name, 2)]

    code, msg = expect_error(ecs.delete_service, "InvalidParameterException", service=name)
    assert msg == "The service cannot be stopped while it is scaled above 0.", msg
    assert describe_service(ecs, name)["status"] == "ACTIVE"

    s = ecs.delete_service(service=name, force=True)["service"]
    assert s["status"] == "DRAINING" and s["serviceArn"] == service_arn(name), s
    ecs.get_waiter("services_inactive").wait(services=[name], WaiterConfig=FAST)
    s = describe_service(ecs, name)
    assert s["status"] == "INACTIVE", s
    for t in wait_stopped(ecs, arns):
        assert t["stopCode"] == SCHEDULER, t
    assert service_arn(name) not in [a for p in ecs.get_paginator("list_services").paginate() for a in p["serviceArns"]]

    expect_error(ecs.update_service, "ServiceNotActiveException", service=name, desiredCount=1)

    # Scaled to 0, a service is deleted without force.
    idle = uniq("del0")
    create(ecs, services, idle, td, desired=0)
    assert ecs.delete_service(service=idle)["service"]["status"] in ("DRAINING", "INACTIVE")
    ecs.get_waiter("services_inactive").wait(services=[idle], WaiterConfig=FAST)

    # An INACTIVE service's name can be used again.
    again = ecs.create_service(serviceName=name, taskDefinition=td, desiredCount=0)["service"]
    assert (again["status"], again["serviceArn"]) == ("ACTIVE", service_arn(name)), again
    assert describe_service(ecs, name)["status"] == "ACTIVE"

    expect_error(ecs.delete_service, "ServiceNotFoundException", service=uniq("ghost"))

    # Deleting an INACTIVE service again: ECS answers with the service (aws/aws-sdk-js#4189); never "not found" for
    # a service that DescribeServices shows.
    assert describe_service(ecs, idle)["status"] == "INACTIVE"
    try:
        assert ecs.delete_service(service=idle, force=True)["service"]["status"] == "INACTIVE"
    except ClientError as e:
        assert error_of(e)[0] == "ServiceNotActiveException", error_of(e)


# --- ListServices and DescribeServices ----------------------------------------------------------------------------

def test_list_and_describe_services(ecs, services):
    cluster = uniq("svc-list")
    ecs.create_cluster(clusterName=cluster)
    family = uniq("svc-list")
    td = register(ecs, family)
    a, b, daemon = uniq("rep-a"), uniq("rep-b"), uniq("daemon")
    tags = [{"key": "team", "value": "ml"}, {"key": "tier", "value": "web"}]
    create(ecs, services, a, td, desired=0, cluster=cluster, tags=tags)
    create(ecs, services, b, td, desired=0, cluster=cluster, launchType="EC2")
    services.append((daemon, cluster))
    d = ecs.create_service(cluster=cluster, serviceName=daemon, taskDefinition=td,
                           schedulingStrategy="DAEMON")["service"]
    assert (d["schedulingStrategy"], d["desiredCount"]) == ("DAEMON", 0), "no instance in the cluster"
    dc = d["deploymentConfiguration"]
    assert (dc["maximumPercent"], dc["minimumHealthyPercent"]) == (100, 0), dc

    def listed(**kw):
        return {x for p in ecs.get_paginator("list_services").paginate(cluster=cluster, **kw)
                for x in p["serviceArns"]}

    arns = {n: service_arn(n, cluster) for n in (a, b, daemon)}
    assert listed() == set(arns.values())
    assert listed(schedulingStrategy="REPLICA") == {arns[a], arns[b]}
    assert listed(schedulingStrategy="DAEMON") == {arns[daemon]}
    assert listed(launchType="EC2") == set(arns.values())
    assert listed(launchType="FARGATE") == set()
    assert listed(launchType="EXTERNAL", schedulingStrategy="REPLICA") == set()
    page = ecs.list_services(cluster=cluster, maxResults=2)
    assert len(page["serviceArns"]) == 2 and page.get("nextToken"), page
    rest = ecs.list_services(cluster=cluster, maxResults=2, nextToken=page["nextToken"])
    assert set(page["serviceArns"] + rest["serviceArns"]) == set(arns.values())
    assert not {v for v in arns.values()} & {x for p in ecs.get_paginator("list_services").paginate()
                                            for x in p["serviceArns"]}, "other clusters do not list them"

    # Defaults of a REPLICA service; tags only with include TAGS.
    s = describe_service(ecs, a, cluster)
    assert (s["schedulingStrategy"], s["launchType"], s["desiredCount"], s["runningCount"]) == ("REPLICA", "EC2", 0, 0)
    dc = s["deploymentConfiguration"]
    assert (dc["maximumPercent"], dc["minimumHealthyPercent"]) == (200, 100), dc
    assert dc["deploymentCircuitBreaker"] == {"enable": False, "rollback": False}, dc
    assert not s.get("tags"), "tags only with include TAGS"
    s = describe_service(ecs, a, cluster, include=["TAGS"])
    assert tag_map(s["tags"]) == tag_map(tags), s["tags"]
    assert not describe_service(ecs, b, cluster, include=["TAGS"]).get("tags")

    # By name and by ARN, in order; unknown names are MISSING failures.
    ghost = uniq("ghost")
    out = ecs.describe_services(cluster=cluster, services=[a, arns[b], ghost])
    assert [x["serviceArn"] for x in out["services"]] == [arns[a], arns[b]]
    assert [f["reason"] for f in out["failures"]] == ["MISSING"], out["failures"]
    assert out["failures"][0]["arn"].endswith(f"/{ghost}"), out["failures"]
    out = ecs.describe_services(services=[a])  # cluster default: not there
    assert out["services"] == [] and [f["reason"] for f in out["failures"]] == ["MISSING"], out
    expect_error(ecs.describe_services, "InvalidParameterException", cluster=cluster,
                 services=[uniq("s") for _ in range(11)])
    expect_error(ecs.describe_services, "ClusterNotFoundException", cluster=uniq("nocluster"), services=[a])
    expect_error(ecs.list_services, "ClusterNotFoundException", cluster=uniq("nocluster"))


# --- bad input ---------------------------------------------------------------------------------------------------

BAD_INPUT = ("InvalidParameterException", "ClientException")


def test_bad_input(ecs, services, alive):
    family = uniq("svc-bad")
    td = register(ecs, family)
    ghost = uniq("ghost")
    expect_error(ecs.update_service, "ServiceNotFoundException", service=ghost, desiredCount=1)
    expect_error(ecs.update_service, "ClusterNotFoundException", cluster=uniq("nocluster"), service=ghost,
                 desiredCount=1)

    # Not idempotent: the same name with other parameters is refused; the same request returns the same service.
    name = uniq("idem")
    token = uuid.uuid4().hex
    first = create(ecs, services, name, td, desired=0, clientToken=token)
    _, msg = expect_error(ecs.create_service, "InvalidParameterException", serviceName=name, taskDefinition=td,
                          desiredCount=2)
    assert msg == "Creation of service was not idempotent.", msg
    same = ecs.create_service(serviceName=name, taskDefinition=td, desiredCount=0, clientToken=token)["service"]
    assert (same["serviceArn"], same["createdAt"]) == (first["serviceArn"], first["createdAt"])
    assert describe_service(ecs, name)["desiredCount"] == 0

    expect_error(ecs.update_service, "InvalidParameterException", "desiredCount", service=name, desiredCount=-1)

    refused = []

    def refuse(codes, *fields, **kw):
        n = uniq("bad")
        refused.append(n)
        kw.setdefault("taskDefinition", td)
        expect_error(ecs.create_service, codes, *fields, serviceName=n, **kw)

    refuse("InvalidParameterException", "maximumPercent", schedulingStrategy="DAEMON",
           deploymentConfiguration={"maximumPercent": 200})
    refuse("InvalidParameterException", "placementStrategy", "placement strateg", schedulingStrategy="DAEMON",
           placementStrategy=[{"type": "spread", "field": "instanceId"}])
    refuse(BAD_INPUT, "schedulingStrategy", schedulingStrategy="BOGUS", desiredCount=1)
    refuse(BAD_INPUT, "launchType", launchType="MOON", desiredCount=1)
    refuse("InvalidParameterException", "desiredCount", desiredCount=-1)
    refuse(BAD_INPUT, "taskDefinition", taskDefinition=uniq("nope"), desiredCount=1)
    refuse(BAD_INPUT, "taskDefinition", taskDefinition=f"{family}:99", desiredCount=1)
    n = uniq("bad")  # no task definition at all
    refused.append(n)
    expect_error(ecs.create_service, BAD_INPUT, "taskDefinition", serviceName=n, desiredCount=1)
    expect_error(ecs.create_service, "InvalidParameterException", "serviceName", serviceName="bad name!",
                 taskDefinition=td, desiredCount=1)
    expect_error(ecs.create_service, "InvalidParameterException", "serviceName", serviceName="x" * 256,
                 taskDefinition=td, desiredCount=1)
    expect_error(ecs.create_service, "ClusterNotFoundException", cluster=uniq("nocluster"),
                 serviceName=uniq("bad"), taskDefinition=td, desiredCount=1)

    out = ecs.describe_services(services=refused)
    assert out["services"] == [], out["services"]
    assert sorted(f["reason"] for f in out["failures"]) == ["MISSING"] * len(refused)
    listed = {a for p in ecs.get_paginator("list_services").paginate() for a in p["serviceArns"]}
    assert not listed & {service_arn(n) for n in refused}, "nothing stored"
    assert ecs.list_tasks(family=family)["taskArns"] == [], "nothing started"
