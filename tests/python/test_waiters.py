"""The aws CLI's ECS waiters against a real `berth up`: each returns only once the moment it stands for has come.

botocore's definitions (botocore/data/ecs/2014-11-13/waiters-2.json), all polling DescribeServices / DescribeTasks:

- tasks-running: failure when any task is STOPPED or any is MISSING; success when every task is RUNNING.
- tasks-stopped: success when every task is STOPPED.
- services-stable: failure when a service is MISSING, DRAINING or INACTIVE; success when every service has exactly
  one deployment and runningCount == desiredCount. ECS lists a replaced deployment (ACTIVE, with its running count)
  until its last task has stopped, so "stable" means the rollout is over: no task of an old revision still stopping.
- services-inactive: failure when a service is MISSING; success when a service is INACTIVE (after DeleteService,
  once all its tasks are STOPPING or STOPPED).

The CLI polls services every 15 s and tasks every 6 s. The waiters here are botocore's, loaded from a copy of that
file (AWS_DATA_PATH) that changes only `delay` (1 s) and `maxAttempts`: the acceptors are the same (checked), and a
waiter that polls often is the one most likely to return at a wrong moment. After each waiter returns, the test
looks at DescribeTasks / DescribeServices and at Docker at once.
"""

import copy
import json
import threading
import time
from pathlib import Path

import botocore
import pytest

from conftest import uniq
from test_services import describe_service, describe_tasks, running_tasks, service_tasks, services  # noqa: F401
from test_tasks import IMAGE, docker, instance, started, test_image, wait_status, wait_until  # noqa: F401,F811

# Everything here runs containers through Berth's agent: nothing to check against moto.
pytestmark = pytest.mark.berth_only

WAITERS = {"tasks-running": "TasksRunning", "tasks-stopped": "TasksStopped",
           "services-stable": "ServicesStable", "services-inactive": "ServicesInactive"}
DELAY, MAX_ATTEMPTS = 1, 45  # 45 s at most: within the 60 s that Server.cli gives a command
MISSING_IMAGE = "berth-test/nope:1"  # no registry is reachable: pulling it fails at once
SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
STUBBORN = ["sleep", "3600"]  # PID 1 without a handler: SIGTERM does nothing, the stop waits for stopTimeout
SLOW_STOP = ["sh", "-c", "trap 'sleep 3; exit 0' TERM; sleep 3600 & wait"]  # exits 3 s after SIGTERM
STUBBORN_TIMEOUT = 5
ROLLOUT_STOP_TIMEOUT = 10
TASK_ACTIVE = ("PROVISIONING", "PENDING", "ACTIVATING", "RUNNING")  # not yet stopping


# --- helpers ---------------------------------------------------------------------------------------------------

def botocore_waiters():
    path = Path(botocore.__file__).parent / "data" / "ecs" / "2014-11-13" / "waiters-2.json"
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def wait(berth, tmp_path_factory):
    """wait(name, *args) runs `aws ecs wait NAME ARGS`; returns (exit code, stderr, seconds it took)."""
    model = copy.deepcopy(botocore_waiters())
    for name in WAITERS.values():
        model["waiters"][name].update(delay=DELAY, maxAttempts=MAX_ATTEMPTS)
    root = tmp_path_factory.mktemp("aws-data")
    path = root / "ecs" / "2014-11-13" / "waiters-2.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(model))
    env = berth.cli_env(AWS_DATA_PATH=str(root))

    def run(name, *args):
        t0 = time.monotonic()
        rc, _, err = berth.cli("ecs", "wait", name, *args, check=False, env=env)
        return rc, err, time.monotonic() - t0
    return run


def register(ecs, family, *containers):
    return ecs.register_task_definition(family=family, containerDefinitions=list(containers))["taskDefinition"][
        "taskDefinitionArn"]


def container(name="main", command=SLEEPER, stop_timeout=2, image=IMAGE, **extra):
    return dict(name=name, image=image, memory=16, essential=True, command=command, stopTimeout=stop_timeout, **extra)


def run_tasks(ecs, started, family, count=1):  # noqa: F811
    out = ecs.run_task(taskDefinition=family, count=count)
    assert out["failures"] == [], out["failures"]
    arns = [t["taskArn"] for t in out["tasks"]]
    started.extend(arns)
    return arns


def docker_running(runtime_id):
    return bool(docker("ps", "-q", "--no-trunc", "--filter", f"id={runtime_id}"))


def brief(tasks):
    return [(t["taskArn"].rsplit("/", 1)[1][:8], t["taskDefinitionArn"].rsplit("/", 1)[1], t["lastStatus"],
             t["desiredStatus"], [(c["name"], c["lastStatus"]) for c in t["containers"]]) for t in tasks]


def brief_deployments(s):
    return [(d["status"], d["taskDefinition"].rsplit("/", 1)[1], d.get("rolloutState"), d["runningCount"])
            for d in s["deployments"]]


class Recorder:
    """Samples DescribeServices and DescribeTasks every 0.2 s in the background: what the waiter could have seen."""

    def __init__(self, berth, name, arns):
        self.client = berth.client()  # a client of its own: this one runs in another thread
        self.name, self.arns, self.samples = name, arns, []
        self.t0 = time.monotonic()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        last = None
        while not self.done.is_set():
            try:
                s = self.client.describe_services(services=[self.name])["services"][0]
                tasks = self.client.describe_tasks(tasks=self.arns)["tasks"]
                row = (s["runningCount"], s["desiredCount"], brief_deployments(s),
                       sorted((t["lastStatus"], t["desiredStatus"]) for t in tasks))
                if row != last:
                    self.samples.append((round(time.monotonic() - self.t0, 1), *row))
                    last = row
            except Exception as e:  # noqa: BLE001 (diagnostics only)
                self.samples.append((round(time.monotonic() - self.t0, 1), repr(e)))
            time.sleep(0.2)

    def stop(self):
        self.done.set()
        self.thread.join(timeout=5)
        return "\n".join(f"  {s}" for s in self.samples)


# --- the definitions these tests rely on ---------------------------------------------------------------------------

def test_waiter_definitions():
    w = botocore_waiters()["waiters"]
    acceptors = {n: [(a["state"], a["matcher"], a["argument"], a["expected"]) for a in w[n]["acceptors"]]
                 for n in WAITERS.values()}
    assert w["TasksRunning"]["operation"] == w["TasksStopped"]["operation"] == "DescribeTasks"
    assert w["ServicesStable"]["operation"] == w["ServicesInactive"]["operation"] == "DescribeServices"
    assert acceptors["TasksRunning"] == [("failure", "pathAny", "tasks[].lastStatus", "STOPPED"),
                                         ("failure", "pathAny", "failures[].reason", "MISSING"),
                                         ("success", "pathAll", "tasks[].lastStatus", "RUNNING")]
    assert acceptors["TasksStopped"] == [("success", "pathAll", "tasks[].lastStatus", "STOPPED")]
    assert acceptors["ServicesStable"] == [
        ("failure", "pathAny", "failures[].reason", "MISSING"),
        ("failure", "pathAny", "services[].status", "DRAINING"),
        ("failure", "pathAny", "services[].status", "INACTIVE"),
        ("success", "path", "length(services[?!(length(deployments) == `1` && runningCount == desiredCount)]) == `0`",
         True)]
    assert acceptors["ServicesInactive"] == [("failure", "pathAny", "failures[].reason", "MISSING"),
                                             ("success", "pathAny", "services[].status", "INACTIVE")]


# --- tasks-running ----------------------------------------------------------------------------------------------

def test_tasks_running_returns_once_every_task_runs(ecs, instance, started, wait):  # noqa: F811
    fast = uniq("wait-fast")
    register(ecs, fast, container())
    # `main` starts only once `dep` is HEALTHY (ready 3 s after it starts; checks every 5 s): the task stays PENDING
    # for a few seconds after the others run.
    slow = uniq("wait-slow")
    dep = container("dep", ["sh", "-c", "trap 'exit 0' TERM; sleep 3; touch /tmp/ready; sleep 3600 & wait"],
                    healthCheck={"command": ["CMD-SHELL", "test -f /tmp/ready"], "interval": 5, "timeout": 2,
                                 "retries": 3})
    register(ecs, slow, dep, container(dependsOn=[{"containerName": "dep", "condition": "HEALTHY"}]))
    t0 = time.monotonic()
    arns = run_tasks(ecs, started, fast, count=2) + run_tasks(ecs, started, slow)

    rc, err, took = wait("tasks-running", "--tasks", *arns)
    tasks = describe_tasks(ecs, arns)
    since_run = time.monotonic() - t0
    assert rc == 0, f"aws ecs wait tasks-running: {rc}\n{err}\n{brief(tasks)}"
    assert all(t["lastStatus"] == "RUNNING" for t in tasks), brief(tasks)
    for t in tasks:
        for c in t["containers"]:
            assert c["lastStatus"] == "RUNNING" and c.get("runtimeId"), brief([t])
            assert docker_running(c["runtimeId"]), f"container {c['name']} of {t['taskArn']} not running in Docker"
    assert since_run >= 3, f"the waiter returned {since_run:.1f}s after RunTask, before the slow task could run"


def test_tasks_running_fails_for_a_task_that_stops(ecs, instance, started, wait):  # noqa: F811
    family = uniq("wait-nope")
    register(ecs, family, container(image=MISSING_IMAGE))
    [arn] = run_tasks(ecs, started, family)
    rc, err, took = wait("tasks-running", "--tasks", arn)
    [t] = describe_tasks(ecs, [arn])
    assert rc == 255, f"aws ecs wait tasks-running: {rc} after {took:.1f}s\n{err}\n{brief([t])}"
    assert "Waiter TasksRunning failed" in err, err
    assert 'For expression "tasks[].lastStatus" we matched expected path: "STOPPED"' in err, err
    assert (t["lastStatus"], t["stopCode"]) == ("STOPPED", "TaskFailedToStart"), brief([t])
    assert "CannotPullContainerError" in t["stoppedReason"], t["stoppedReason"]

    # A task the cluster does not know: the MISSING acceptor.
    ghost = arn.rsplit("/", 1)[0] + "/" + "0" * 32
    rc, err, _ = wait("tasks-running", "--tasks", ghost)
    assert rc == 255 and "Waiter TasksRunning failed" in err and '"MISSING"' in err, (rc, err)


# --- tasks-stopped ----------------------------------------------------------------------------------------------

def test_tasks_stopped_returns_once_every_container_is_gone(ecs, instance, started, wait):  # noqa: F811
    quick, stubborn = uniq("wait-quick"), uniq("wait-stubborn")
    register(ecs, quick, container())
    register(ecs, stubborn, container(command=STUBBORN, stop_timeout=STUBBORN_TIMEOUT))
    arns = run_tasks(ecs, started, quick) + run_tasks(ecs, started, stubborn)
    tasks = wait_status(ecs, arns, "RUNNING")
    runtime_ids = [c["runtimeId"] for t in tasks for c in t["containers"]]

    t0 = time.monotonic()
    for a in arns:
        ecs.stop_task(task=a, reason="waiter test")
    rc, err, took = wait("tasks-stopped", "--tasks", *arns)
    tasks = describe_tasks(ecs, arns)
    since_stop = time.monotonic() - t0
    still = [i for i in runtime_ids if docker_running(i)]
    assert rc == 0, f"aws ecs wait tasks-stopped: {rc}\n{err}"
    assert all(t["lastStatus"] == "STOPPED" for t in tasks), brief(tasks)
    assert not still, f"containers still running after tasks-stopped returned: {still} ({brief(tasks)})"
    assert since_stop >= STUBBORN_TIMEOUT, \
        f"tasks-stopped returned {since_stop:.1f}s after StopTask; the stubborn container has {STUBBORN_TIMEOUT}s"
    by_family = {t["taskDefinitionArn"].rsplit("/", 1)[1].rsplit(":", 1)[0]: t for t in tasks}
    assert by_family[quick]["containers"][0]["exitCode"] == 0, "exits at once on SIGTERM"
    assert by_family[stubborn]["containers"][0]["exitCode"] == 137, "killed after its stopTimeout"


# --- services-stable --------------------------------------------------------------------------------------------

def test_services_stable_waits_for_the_old_tasks_to_stop(berth, ecs, instance, services, wait):  # noqa: F811
    family = uniq("wait-roll")
    old = register(ecs, family, container(command=STUBBORN, stop_timeout=ROLLOUT_STOP_TIMEOUT))
    new = register(ecs, family, container())
    name = uniq("stable")
    services.append((name, None))
    ecs.create_service(serviceName=name, taskDefinition=old, desiredCount=2,
                       deploymentConfiguration={"maximumPercent": 200, "minimumHealthyPercent": 100})

    # A new service: stable once its tasks run.
    rc, err, _ = wait("services-stable", "--services", name)
    assert rc == 0, f"aws ecs wait services-stable: {rc}\n{err}"
    s = describe_service(ecs, name)
    listed = service_tasks(ecs, name)
    tasks = describe_tasks(ecs, listed)
    assert (len(s["deployments"]), s["runningCount"], s["desiredCount"]) == (1, 2, 2), brief_deployments(s)
    assert len(tasks) == 2 and all(t["lastStatus"] == "RUNNING" for t in tasks), brief(tasks)
    assert all(docker_running(t["containers"][0]["runtimeId"]) for t in tasks)
    old_arns = sorted(listed)
    old_ids = [t["containers"][0]["runtimeId"] for t in tasks]

    # A rollout whose old tasks take their full stopTimeout to stop: stable only once they have.
    ecs.update_service(service=name, taskDefinition=new)
    recorder = Recorder(berth, name, old_arns)
    rc, err, took = wait("services-stable", "--services", name)
    s = describe_service(ecs, name)
    old_now = describe_tasks(ecs, old_arns)
    still = [i for i in old_ids if docker_running(i)]
    seen = recorder.stop()
    context = (f"\nthe waiter returned after {took:.1f}s; then: deployments {brief_deployments(s)}, old tasks "
               f"{brief(old_now)}\nDescribeServices/DescribeTasks meanwhile (t, runningCount, desiredCount, "
               f"deployments, old tasks):\n{seen}")
    assert rc == 0, f"aws ecs wait services-stable: {rc}\n{err}{context}"
    assert all(t["lastStatus"] == "STOPPED" for t in old_now), \
        "services-stable returned while tasks of the old revision were still stopping: the replaced deployment " \
        "left `deployments` before its last task stopped" + context
    assert not still, f"containers of the old revision still running: {still}{context}"
    assert took >= ROLLOUT_STOP_TIMEOUT, f"returned in {took:.1f}s, less than the old tasks' stopTimeout{context}"
    assert all(t["stopCode"] == "ServiceSchedulerInitiated" for t in old_now), brief(old_now)
    assert all(t["containers"][0].get("exitCode") == 137 for t in old_now), "killed after stopTimeout"
    [d] = s["deployments"]
    assert (d["status"], d["taskDefinition"], s["runningCount"], s["desiredCount"]) == ("PRIMARY", new, 2, 2), d
    now = describe_tasks(ecs, service_tasks(ecs, name))
    assert len(now) == 2 and all(t["taskDefinitionArn"] == new and t["lastStatus"] == "RUNNING" for t in now), \
        brief(now)


# --- services-inactive ------------------------------------------------------------------------------------------

def test_services_inactive_after_delete(berth, ecs, instance, services, wait):  # noqa: F811
    family = uniq("wait-del")
    td = register(ecs, family, container(command=SLOW_STOP, stop_timeout=10))
    name = uniq("inactive")
    services.append((name, None))
    ecs.create_service(serviceName=name, taskDefinition=td, desiredCount=2)
    arns = [t["taskArn"] for t in running_tasks(ecs, name, 2)]

    berth.cli("ecs", "delete-service", "--service", name, "--force")
    rc, err, took = wait("services-inactive", "--services", name)
    s = describe_service(ecs, name)
    tasks = describe_tasks(ecs, arns)
    assert rc == 0, f"aws ecs wait services-inactive: {rc}\n{err}"
    assert s["status"] == "INACTIVE", s["status"]
    # ECS: "After all tasks have transitioned to either STOPPING or STOPPED status, the service status moves from
    # DRAINING to INACTIVE."
    assert all(t["desiredStatus"] == "STOPPED" and t["lastStatus"] not in TASK_ACTIVE for t in tasks), brief(tasks)
    listed = {a for p in ecs.get_paginator("list_services").paginate() for a in p["serviceArns"]}
    assert s["serviceArn"] not in listed

    # The failure side: a deleted service is never stable; a service nobody created is MISSING.
    rc, err, _ = wait("services-stable", "--services", name)
    assert rc == 255 and "Waiter ServicesStable failed" in err and '"INACTIVE"' in err, (rc, err)
    ghost = uniq("ghost")
    for waiter, label in (("services-stable", "ServicesStable"), ("services-inactive", "ServicesInactive")):
        rc, err, _ = wait(waiter, "--services", ghost)
        assert rc == 255 and f"Waiter {label} failed" in err and '"MISSING"' in err, (waiter, rc, err)
    wait_until("the deleted service's tasks STOPPED",
               lambda: all(t["lastStatus"] == "STOPPED" for t in describe_tasks(ecs, arns)), timeout=30)
