"""Task roles end to end: real containers on `berth up`'s own agent, whose definitions name `taskRoleArn`.

Inside the container, boto3 and the aws CLI run with no configuration but the endpoint: they find the role's
credentials through `AWS_CONTAINER_CREDENTIALS_FULL_URI` and `AWS_CONTAINER_AUTHORIZATION_TOKEN`, as on ECS, and are
allowed and denied as the role's policy says. The busybox test image has no Python, so the container mounts this
machine's Python and virtual environment read-only and runs with the host's network (to reach the server on
127.0.0.1); the credentials endpoint is 169.254.170.2 either way.

Also: a task reads only its own credentials (another task's token is refused), the credentials end when the task
stops, and a role that does not trust ecs-tasks.amazonaws.com stops the task before any container starts.
"""

import json
import os
import sys
import time
from pathlib import Path

import pytest
import requests
from botocore.exceptions import ClientError

from conftest import ACCOUNT, error_of, uniq
from test_tasks import (IMAGE, SLEEPER, containers_with, docker, instance, stop_all, test_image,  # noqa: F401
                        wait_status, wait_until)

pytestmark = pytest.mark.berth_only

TRUST_ECS_TASKS = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
TRUST_SOMEONE_ELSE = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}

# Runs inside the container: what the role may and may not do, seen by boto3 and by the aws CLI.
PROBE = r"""
import json, subprocess, sys
import boto3
from botocore.exceptions import ClientError

out = {}
out["arn"] = boto3.client("sts").get_caller_identity()["Arn"]
ecs = boto3.client("ecs")
out["clusters"] = ecs.list_clusters()["clusterArns"]
try:
    ecs.create_cluster(clusterName="not-allowed")
    out["create"] = "allowed"
except ClientError as e:
    out["create"] = e.response["Error"]["Code"]
cli = [sys.executable, "-m", "awscli", "--output", "json"]
p = subprocess.run(cli + ["ecs", "list-clusters"], capture_output=True, text=True)
out["cli_list"] = [p.returncode, json.loads(p.stdout)["clusterArns"] if p.returncode == 0 else p.stderr]
p = subprocess.run(cli + ["ecs", "delete-cluster", "--cluster", "default"], capture_output=True, text=True)
out["cli_delete"] = [p.returncode, p.stderr]
print("PROBE " + json.dumps(out), flush=True)
"""


def host_python_volumes():
    """Volumes and mount points that let a busybox container run this very interpreter with its packages."""
    paths = {"/usr": "/usr", "/lib": os.path.realpath("/lib"), "/lib64": os.path.realpath("/lib64"),
             sys.base_prefix: sys.base_prefix, sys.prefix: sys.prefix}
    volumes, mounts = [], []
    for i, (inside, host) in enumerate(sorted(paths.items())):
        if not os.path.isdir(host):
            continue
        volumes.append({"name": f"host{i}", "host": {"sourcePath": host}})
        mounts.append({"sourceVolume": f"host{i}", "containerPath": inside, "readOnly": True})
    return volumes, mounts


def make_role(iam, trust=TRUST_ECS_TASKS, policy=None):
    name = uniq("task-role")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    if policy:
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    return name, arn


def container_of(task_arn):
    ids = wait_until("the task's container", lambda: containers_with("berth.task-arn", task_arn, all_states=True))
    return ids[0]


def env_of(container_id):
    env = json.loads(docker("inspect", "--format", "{{json .Config.Env}}", container_id))
    return dict(e.split("=", 1) for e in env)


def test_boto3_and_the_cli_in_a_task_act_as_its_role(berth, ecs, instance, test_image):
    iam = berth.client("iam")
    allow_list = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ecs:ListClusters", "Resource": "*"}]}
    role, role_arn = make_role(iam, policy=allow_list)
    volumes, mounts = host_python_volumes()
    family = uniq("role-probe")
    ecs.register_task_definition(
        family=family, taskRoleArn=role_arn, networkMode="host", volumes=volumes,
        containerDefinitions=[{
            "name": "probe", "image": IMAGE, "memory": 256, "essential": True, "mountPoints": mounts,
            "command": [f"{sys.prefix}/bin/python", "-c", PROBE],
            # Only the endpoint and region: the credentials come from the agent.
            "environment": [{"name": "AWS_ENDPOINT_URL", "value": berth.endpoint},
                            {"name": "AWS_DEFAULT_REGION", "value": "us-east-1"},
                            {"name": "HOME", "value": "/tmp"}],
        }])
    task = ecs.run_task(taskDefinition=family)["tasks"][0]["taskArn"]
    stopped = wait_status(ecs, [task], "STOPPED", timeout=120)[0]
    cid = container_of(task)
    logs = docker("logs", cid)
    assert stopped["containers"][0].get("exitCode") == 0, f"{stopped}\n{logs}"
    line = next((ln for ln in logs.splitlines() if ln.startswith("PROBE ")), None)
    assert line, f"no probe output:\n{logs}"
    seen = json.loads(line[len("PROBE "):])
    task_id = task.rsplit("/", 1)[1]
    assert seen["arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{task_id}", seen
    assert f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/default" in seen["clusters"], seen
    assert seen["create"] == "AccessDeniedException", seen
    assert seen["cli_list"][0] == 0 and seen["cli_list"][1] == seen["clusters"], seen
    assert seen["cli_delete"][0] != 0 and "AccessDeniedException" in seen["cli_delete"][1], seen
    assert "not-allowed" not in json.dumps(ecs.list_clusters()["clusterArns"])
    env = env_of(cid)
    assert env["AWS_CONTAINER_CREDENTIALS_FULL_URI"].startswith("http://169.254.170.2:"), env
    assert "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI" not in env
    assert "AWS_ACCESS_KEY_ID" not in env and "AWS_SECRET_ACCESS_KEY" not in env


def test_a_task_reads_only_its_own_credentials_and_they_end_with_it(berth, ecs, instance, test_image):
    iam = berth.client("iam")
    role, role_arn = make_role(iam, policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ecs:ListClusters", "Resource": "*"}]})
    family = uniq("role-pair")
    ecs.register_task_definition(family=family, taskRoleArn=role_arn, containerDefinitions=[
        {"name": "main", "image": IMAGE, "memory": 32, "essential": True, "command": SLEEPER, "stopTimeout": 2}])
    arns = [t["taskArn"] for t in ecs.run_task(taskDefinition=family, count=2)["tasks"]]
    try:
        wait_status(ecs, arns, "RUNNING")
        a, b = (env_of(container_of(t)) for t in arns)
        uri_a, token_a = a["AWS_CONTAINER_CREDENTIALS_FULL_URI"], a["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
        uri_b, token_b = b["AWS_CONTAINER_CREDENTIALS_FULL_URI"], b["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
        assert uri_a != uri_b and token_a != token_b

        mine = requests.get(uri_a, headers={"Authorization": token_a}, timeout=5)
        assert mine.status_code == 200, mine.text
        creds = mine.json()
        assert creds["RoleArn"] == role_arn and creds["Token"], creds
        theirs = requests.get(uri_b, headers={"Authorization": token_a}, timeout=5)
        assert theirs.status_code == 403, theirs.text
        assert "AccessKeyId" not in theirs.text
        assert requests.get(uri_b, timeout=5).status_code == 401

        session = berth.client("ecs", creds=(creds["AccessKeyId"], creds["SecretAccessKey"]),
                               aws_session_token=creds["Token"])
        assert session.list_clusters()["clusterArns"]

        ecs.stop_task(task=arns[0], reason="test")
        wait_status(ecs, arns[:1], "STOPPED")
        assert wait_until("credentials route gone", lambda: requests.get(
            uri_a, headers={"Authorization": token_a}, timeout=5).status_code == 404)
        with pytest.raises(ClientError) as e:
            session.list_clusters()
        code, _, _ = error_of(e)
        assert code in ("ExpiredTokenException", "UnrecognizedClientException", "InvalidClientTokenId"), code
        # The other task's credentials still work.
        other = requests.get(uri_b, headers={"Authorization": token_b}, timeout=5).json()
        assert berth.client("sts", creds=(other["AccessKeyId"], other["SecretAccessKey"]),
                            aws_session_token=other["Token"]).get_caller_identity()["Arn"].endswith(
            arns[1].rsplit("/", 1)[1])
    finally:
        stop_all(ecs, arns)


def test_a_role_that_does_not_trust_ecs_tasks_starts_nothing(berth, ecs, instance, test_image):
    iam = berth.client("iam")
    role, role_arn = make_role(iam, trust=TRUST_SOMEONE_ELSE)
    family = uniq("role-untrusted")
    ecs.register_task_definition(family=family, taskRoleArn=role_arn, containerDefinitions=[
        {"name": "main", "image": IMAGE, "memory": 32, "essential": True, "command": SLEEPER}])
    task = ecs.run_task(taskDefinition=family)["tasks"][0]["taskArn"]
    stopped = wait_status(ecs, [task], "STOPPED")[0]
    assert stopped["stopCode"] == "TaskFailedToStart", stopped
    assert f"unable to assume the role '{role_arn}'" in stopped["stoppedReason"], stopped["stoppedReason"]
    time.sleep(0.5)
    assert containers_with("berth.task-arn", task, all_states=True) == []
