"""fabfuel/ecs-deploy (the PyPI package `ecs-deploy`, its `ecs` command) against a real `berth up`.

ecs-deploy is boto3 underneath; it is run as a subprocess in a clean environment that points it at Berth with
AWS_ENDPOINT_URL and the server's key. What it does (ecs_deploy/cli.py and ecs.py, 1.17.0):

- `ecs deploy C S --image CONTAINER IMAGE`: DescribeServices; DescribeTaskDefinition (include TAGS) of the service's
  task definition; RegisterTaskDefinition of a copy with the new image: every field DescribeTaskDefinition returned
  except taskDefinitionArn, revision, status, requiresAttributes, compatibilities, registeredAt/By, deregisteredAt,
  and always `taskRoleArn` and `executionRoleArn` (the empty string "" when the task definition has none); `tags`,
  `cpu`, `memory`, `runtimePlatform` only when set. Then UpdateService(cluster, service, taskDefinition) and, every
  second, DescribeServices until done:
    * failed when the PRIMARY deployment's rolloutState is FAILED ("Deployment Failed! <rolloutStateReason>"), or
      when a service event newer than the PRIMARY deployment's createdAt contains "unable";
    * done when `deployments` has exactly one entry and ListTasks(serviceName) + DescribeTasks count desiredCount
      tasks of the service's taskDefinition with lastStatus RUNNING.
  Then DeregisterTaskDefinition of the revision it started from (--deregister is the default).
- `ecs scale C S N`: UpdateService(taskDefinition=current, desiredCount=N), then the same wait.
- `ecs run C TD`: RunTask(count, startedBy "ECS Deploy", overrides {containerOverrides: [...]}).

So ecs-deploy's "Deployment successful" stands for "the rollout is over": ECS lists a replaced deployment (ACTIVE)
until its last task has stopped, and these tests check that every old task is STOPPED when the command returns.
The old revision's containers take a few seconds to stop (they exit 3 s after SIGTERM) so that a service that drops
the old deployment while its tasks are still stopping is caught.

A deployment to an image that cannot be pulled fails in ecs-deploy on the throttle event ECS gives for tasks that
fail to start ("(service S) is unable to consistently start tasks successfully.") or on the circuit breaker's FAILED
rolloutState, whichever it sees first; the service's circuit breaker meanwhile rolls the service back. Without
rollback, the FAILED deployment stays PRIMARY and DeleteService --force must still drain the service.
"""

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REGION, clean_env, td_arn, uniq
from test_services import (describe_service, describe_tasks, running_tasks, service_tasks, services,  # noqa: F401
                           wait_stable, wait_stopped)
from test_tasks import IMAGE, docker, instance, test_image, wait_until  # noqa: F401,F811 (fixtures)

# Everything here runs containers through Berth's agent: nothing to check against moto.
pytestmark = pytest.mark.berth_only

IMAGE_V2 = "berth-test/busybox:v2"  # a second local tag of the test image (made by the fixture below)
MISSING_IMAGE = "berth-test/nope:1"  # no registry is reachable: pulling it fails at once
# Exits 3 s after SIGTERM: stopping one of these tasks takes a moment, long enough to be seen.
SLOW_STOP = ["sh", "-c", "trap 'sleep 3; exit 0' TERM; sleep 3600 & wait"]
SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
BREAKER = {"maximumPercent": 200, "minimumHealthyPercent": 100}
CLI_TIMEOUT = 90  # the subprocess; each `ecs deploy` / `ecs scale` also gets --timeout 60
TASK_IAM_ROLE = "com.amazonaws.ecs.capability.task-iam-role"
# How ecs-deploy reports a failed deployment: a service event with "unable" newer than the PRIMARY deployment, or
# a PRIMARY deployment whose rolloutState is FAILED.
FAILED_EVENT = re.compile(r"ERROR: \(service \S+\) is unable to .*Deployment failed", re.S)
FAILED_ROLLOUT = "Deployment Failed! ECS deployment circuit breaker: tasks failed to start."


# --- helpers ---------------------------------------------------------------------------------------------------

def ecs_command():
    exe = Path(sys.executable).parent / "ecs"
    found = str(exe) if exe.exists() else shutil.which("ecs")
    if not found:
        pytest.fail("the `ecs` command of ecs-deploy is not installed (pip install -r tests/python/requirements.txt)")
    return found


def run_ecs(berth, *args, timeout=CLI_TIMEOUT):
    """Runs `ecs ARGS` against `berth`; returns the CompletedProcess (stdout and stderr as text)."""
    ak, sk = berth.creds
    nothing = str(berth.workdir / "no-such-aws-file")
    env = clean_env(AWS_ENDPOINT_URL=berth.endpoint, AWS_ACCESS_KEY_ID=ak, AWS_SECRET_ACCESS_KEY=sk,
                    AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE=nothing, AWS_SHARED_CREDENTIALS_FILE=nothing,
                    AWS_EC2_METADATA_DISABLED="true", HOME=str(berth.home))
    started = time.monotonic()
    try:
        p = subprocess.run([ecs_command(), *args], env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"ecs {' '.join(args)}: still running after {timeout}s\n{e.stdout}\n{e.stderr}")
    p.elapsed = time.monotonic() - started
    return p


def shown(p):
    return f"ecs exited {p.returncode} after {p.elapsed:.1f}s\n--- stdout ---\n{p.stdout}\n--- stderr ---\n{p.stderr}"


def register(ecs, family, command=SLEEPER, image=IMAGE, **extra):
    """A revision whose container `main` carries a few fields that ecs-deploy copies into the next revision."""
    main = {"name": "main", "image": image, "memory": 16, "essential": True, "command": command, "stopTimeout": 10,
            "environment": [{"name": "STAGE", "value": "test"}], "dockerLabels": {"team": "ml"}}
    return ecs.register_task_definition(family=family, containerDefinitions=[main], networkMode="bridge",
                                        requiresCompatibilities=["EC2"], tags=[{"key": "app", "value": family}],
                                        **extra)["taskDefinition"]["taskDefinitionArn"]


def create(ecs, services, name, td, desired, rollback=True):  # noqa: F811
    services.append((name, None))
    config = dict(BREAKER, deploymentCircuitBreaker={"enable": True, "rollback": rollback})
    ecs.create_service(serviceName=name, taskDefinition=td, desiredCount=desired, deploymentConfiguration=config)
    [s] = wait_stable(ecs, name)
    return s


def running(runtime_id):
    """Whether Docker still runs the container."""
    return bool(docker("ps", "-q", "--no-trunc", "--filter", f"id={runtime_id}"))


def brief(tasks):
    return [(t["taskArn"].rsplit("/", 1)[1], t["taskDefinitionArn"].rsplit(":", 1)[1], t["lastStatus"],
             t["desiredStatus"], t.get("stopCode"), t.get("stoppedReason")) for t in tasks]


def history(ecs, name):
    """The service's events and its stopped tasks, oldest first, in seconds since the first of them."""
    s = describe_service(ecs, name)
    tasks = describe_tasks(ecs, service_tasks(ecs, name, "STOPPED"))
    rows = [(e["createdAt"].timestamp(), "event", e["message"]) for e in s["events"]]
    rows += [(t["stoppedAt"].timestamp(), "stopped", f"task {t['taskArn'].rsplit('/', 1)[1]} of revision "
              f"{t['taskDefinitionArn'].rsplit(':', 1)[1]}: {t.get('stopCode')} {(t.get('stoppedReason') or '')[:60]}")
             for t in tasks if t.get("stoppedAt")]
    rows += [(d["createdAt"].timestamp(), "deployment", f"{d['id']} created ({d['status']}, revision "
              f"{d['taskDefinition'].rsplit(':', 1)[1]})") for d in s["deployments"]]
    rows.sort()
    t0 = rows[0][0] if rows else 0
    return "history:\n" + "\n".join(f"  {t - t0:7.3f} {kind:10} {text}" for t, kind, text in rows[-25:])


def brief_deployments(s):
    return [(d["id"], d["status"], d["taskDefinition"].rsplit(":", 1)[1], d.get("rolloutState"), d["runningCount"],
             d.get("failedTasks")) for d in s["deployments"]]


# --- fixtures ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def image_v2(test_image):
    docker("tag", test_image, IMAGE_V2)
    return IMAGE_V2


# --- ecs deploy ---------------------------------------------------------------------------------------------------

def test_deploy_new_image(berth, ecs, instance, services, image_v2):  # noqa: F811
    family = uniq("ecsd-deploy")
    old = register(ecs, family, command=SLOW_STOP)
    name = uniq("deploy")
    create(ecs, services, name, old, desired=2)
    before = running_tasks(ecs, name, 2)
    old_arns = sorted(t["taskArn"] for t in before)
    old_containers = [t["containers"][0]["runtimeId"] for t in before]

    p = run_ecs(berth, "deploy", "default", name, "--image", "main", image_v2, "--timeout", "60")
    # What the service and its tasks look like at the moment ecs-deploy returned.
    old_now = describe_tasks(ecs, old_arns)
    still_running = [c for c in old_containers if running(c)]
    s = describe_service(ecs, name)
    new = td_arn(family, 2)
    assert p.returncode == 0, f"{shown(p)}\ndeployments: {brief_deployments(s)}\nevents: " \
                              f"{[e['message'] for e in s['events'][:5]]}"
    assert "Deployment successful" in p.stdout, shown(p)
    assert "Successfully created revision: 2" in p.stdout, shown(p)

    # The rollout was over when ecs-deploy said so: every old task STOPPED, its container gone.
    assert all(t["lastStatus"] == "STOPPED" for t in old_now), \
        f"ecs-deploy returned while old tasks were not STOPPED: {brief(old_now)}; the service listed only " \
        f"{brief_deployments(s)} (ECS keeps the replaced deployment ACTIVE until its last task has stopped)"
    assert not still_running, f"containers of the old revision still running: {still_running}"
    assert all(t["stopCode"] == "ServiceSchedulerInitiated" for t in old_now), brief(old_now)

    # The service runs the new revision, with the new image.
    assert s["taskDefinition"] == new, s["taskDefinition"]
    [d] = s["deployments"]
    assert (d["status"], d["taskDefinition"], d["runningCount"]) == ("PRIMARY", new, 2), d
    now = running_tasks(ecs, name, 2)
    for t in now:
        assert t["taskDefinitionArn"] == new, brief(now)
        assert t["containers"][0]["image"] == image_v2, t["containers"][0]
        assert running(t["containers"][0]["runtimeId"])
        image = docker("inspect", "-f", "{{.Config.Image}}", t["containers"][0]["runtimeId"])
        assert image == image_v2, image

    # The new revision is the old one with the new image, nothing else changed; an empty taskRoleArn /
    # executionRoleArn (ecs-deploy sends "") is no role: it asks for no IAM capability.
    out = ecs.describe_task_definition(taskDefinition=new, include=["TAGS"])
    td = out["taskDefinition"]
    [c] = td["containerDefinitions"]
    assert (c["image"], c["command"], c["memory"], c["stopTimeout"]) == (image_v2, SLOW_STOP, 16, 10), c
    assert c["environment"] == [{"name": "STAGE", "value": "test"}] and c["dockerLabels"] == {"team": "ml"}, c
    assert (td.get("networkMode"), td.get("requiresCompatibilities")) == ("bridge", ["EC2"]), td
    assert TASK_IAM_ROLE not in [a["name"] for a in td.get("requiresAttributes", [])], td["requiresAttributes"]
    assert not td.get("taskRoleArn") and not td.get("executionRoleArn"), td
    assert out["tags"] == [{"key": "app", "value": family}], out["tags"]
    # --deregister (the default): the revision it started from is INACTIVE.
    assert ecs.describe_task_definition(taskDefinition=old)["taskDefinition"]["status"] == "INACTIVE"


def test_deploy_missing_image_fails_and_circuit_breaker_rolls_back(berth, ecs, instance, services):  # noqa: F811
    family = uniq("ecsd-broken")
    good = register(ecs, family)
    name = uniq("broken")
    first = create(ecs, services, name, good, desired=2, rollback=True)["deployments"][0]["id"]
    running_tasks(ecs, name, 2)
    bad = td_arn(family, 2)

    p = run_ecs(berth, "deploy", "default", name, "--image", "main", MISSING_IMAGE, "--timeout", "60")
    s = describe_service(ecs, name)
    story = f"{shown(p)}\ndeployments: {brief_deployments(s)}\n{history(ecs, name)}"
    assert "Successfully created revision: 2" in p.stdout, shown(p)
    assert p.returncode == 1, story
    assert "due to timeout" not in p.stdout + p.stderr, story
    # What made it fail: the throttle event ECS gives for tasks that fail to start ("(service S) is unable to
    # consistently start tasks successfully."), or the circuit breaker's FAILED rolloutState on a PRIMARY deployment.
    assert FAILED_EVENT.search(p.stderr) or FAILED_ROLLOUT in p.stderr, shown(p)
    assert ecs.describe_task_definition(taskDefinition=good)["taskDefinition"]["status"] == "ACTIVE", \
        "ecs-deploy deregisters the revision it started from only after a success"

    # Meanwhile the circuit breaker trips and rolls the service back to the first revision.
    def rolled_back():
        s = describe_service(ecs, name)
        [d, *rest] = s["deployments"]
        done = (not rest and s["taskDefinition"] == good and d["taskDefinition"] == good
                and d.get("rolloutState") == "COMPLETED" and s["runningCount"] == 2)
        return s if done else None
    s = wait_until("the service rolled back to its first revision", rolled_back, timeout=60)
    [d] = s["deployments"]
    assert d["id"] != first and d["status"] == "PRIMARY", d
    now = running_tasks(ecs, name, 2)
    assert all(t["taskDefinitionArn"] == good for t in now), brief(now)
    failed = [t for t in describe_tasks(ecs, service_tasks(ecs, name, "STOPPED")) if t["taskDefinitionArn"] == bad]
    pull_failures = [t for t in failed if t["stopCode"] == "TaskFailedToStart"
                     and "CannotPullContainerError" in (t.get("stoppedReason") or "")]
    assert len(pull_failures) >= 3, brief(failed)
    assert all(t["stopCode"] == "ServiceSchedulerInitiated" for t in failed if t not in pull_failures), brief(failed)
    statuses = [b["status"] for b in ecs.list_service_deployments(service=name)["serviceDeployments"]]
    assert statuses[:2] == ["SUCCESSFUL", "ROLLBACK_SUCCESSFUL"], statuses


def test_deploy_missing_image_without_rollback_then_delete(berth, ecs, instance):  # noqa: F811
    """The circuit breaker without rollback: the FAILED deployment stays PRIMARY beside the old one, whose tasks keep
    serving; `delete-service --force` then stops them all and the service becomes INACTIVE (ECS stops the tasks of a
    service deleted with force whatever its deployments' state)."""
    family = uniq("ecsd-norb")
    good = register(ecs, family)
    name = uniq("norb")
    try:
        create(ecs, [], name, good, desired=2, rollback=False)
        before = sorted(t["taskArn"] for t in running_tasks(ecs, name, 2))
        bad = td_arn(family, 2)
        p = run_ecs(berth, "deploy", "default", name, "--image", "main", MISSING_IMAGE, "--timeout", "60")
        assert p.returncode == 1 and "due to timeout" not in p.stdout + p.stderr, shown(p)
        assert FAILED_EVENT.search(p.stderr) or FAILED_ROLLOUT in p.stderr, shown(p)

        def failed():
            s = describe_service(ecs, name)
            primary = [d for d in s["deployments"] if d["status"] == "PRIMARY"]
            return s if [(d["taskDefinition"], d.get("rolloutState")) for d in primary] == [(bad, "FAILED")] else None
        s = wait_until("the new deployment FAILED", failed, timeout=60)
        assert s["taskDefinition"] == bad
        assert sorted(t["taskArn"] for t in running_tasks(ecs, name, 2)) == before, "the old tasks keep serving"

        ecs.delete_service(service=name, force=True)
        try:
            wait_until("the deleted service INACTIVE", lambda: describe_service(ecs, name)["status"] == "INACTIVE",
                       timeout=20)
        except AssertionError as e:
            s = describe_service(ecs, name)
            raise AssertionError(f"{e}: status {s['status']}, desiredCount {s['desiredCount']}, runningCount "
                                 f"{s['runningCount']}, deployments {brief_deployments(s)}, old tasks "
                                 f"{brief(describe_tasks(ecs, before))}") from None
        stopped = wait_stopped(ecs, before)
        assert all(t["stopCode"] == "ServiceSchedulerInitiated" for t in stopped), brief(stopped)
    finally:  # without waiting: a service stuck DRAINING would hold the session for nothing
        try:
            ecs.delete_service(service=name, force=True)
        except Exception:  # noqa: BLE001 (already deleted, or never created)
            pass
        for a in service_tasks(ecs, name):
            ecs.stop_task(task=a, reason="test cleanup")


# --- ecs scale ----------------------------------------------------------------------------------------------------

def test_scale(berth, ecs, instance, services):  # noqa: F811
    family = uniq("ecsd-scale")
    td = register(ecs, family)
    name = uniq("scale")
    s = create(ecs, services, name, td, desired=1)
    first = s["deployments"][0]["id"]
    [one] = running_tasks(ecs, name, 1)

    p = run_ecs(berth, "scale", "default", name, "3", "--timeout", "60")
    s = describe_service(ecs, name)
    listed = service_tasks(ecs, name)
    tasks = describe_tasks(ecs, listed)
    assert p.returncode == 0, f"{shown(p)}\ndeployments: {brief_deployments(s)}"
    assert "Successfully changed desired count to: 3" in p.stdout and "Scaling successful" in p.stdout, shown(p)
    assert s["desiredCount"] == 3 and s["runningCount"] == 3, (s["desiredCount"], s["runningCount"])
    [d] = s["deployments"]
    assert d["id"] == first, "the same task definition: scaling starts no new deployment"
    assert len(tasks) == 3 and all(t["lastStatus"] == "RUNNING" for t in tasks), brief(tasks)
    assert one["taskArn"] in listed, "scaling out keeps the running task"
    assert all(running(t["containers"][0]["runtimeId"]) for t in tasks)


# --- ecs run ------------------------------------------------------------------------------------------------------

def test_run_one_off_task(berth, ecs, instance):  # noqa: F811
    family = uniq("ecsd-run")
    td = register(ecs, family)
    p = run_ecs(berth, "run", "default", family, "-e", "main", "JOB", "once")
    arns = re.findall(r"^- (arn:aws:ecs:\S+)$", p.stdout, re.M)
    try:
        assert p.returncode == 0, shown(p)
        assert "Successfully started 1 instances of task: " + family + ":1" in p.stdout, shown(p)
        assert len(arns) == 1, shown(p)
        [t] = wait_until("the one-off task RUNNING", lambda: [
            t for t in describe_tasks(ecs, arns) if t["lastStatus"] == "RUNNING"])
        assert (t["taskDefinitionArn"], t["startedBy"], t["group"]) == (td, "ECS Deploy", f"family:{family}"), t
        assert "containerOverrides" in t["overrides"], t["overrides"]
        [o] = t["overrides"]["containerOverrides"]
        assert o["name"] == "main" and {"name": "JOB", "value": "once"} in o["environment"], o
        env = json.loads(docker("inspect", "-f", "{{json .Config.Env}}", t["containers"][0]["runtimeId"]))
        assert "JOB=once" in env and "STAGE=test" in env, env
        assert ecs.list_tasks(family=family)["taskArns"] == arns
    finally:
        for a in arns:
            ecs.stop_task(task=a, reason="test cleanup")
    [t] = wait_stopped(ecs, arns)
    assert t["stopCode"] == "UserInitiated", t
