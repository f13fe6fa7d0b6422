"""Agents act as their container instance: a key registers the host, `GetInstanceCredentials` gives the agent a
session of that instance, and that session may call only the agent operations for its own instance and the state
reports of the tasks placed on it. The identity ends when the instance is deregistered. A real agent registered
with a key that may do nothing else runs tasks end to end.
"""

import json

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import ACCOUNT, REGION, register_instance, uniq
from test_tasks import SLEEPER, Agent, stop_all, test_image, wait_status  # noqa: F401

pytestmark = pytest.mark.berth_only

AGENT = "BerthAgentV20261129."
ECS = "AmazonEC2ContainerServiceV20141113."


def call(srv, target, body, creds, token=None):
    """A signed JSON 1.1 call (with a session token when given); (status, answer)."""
    data = json.dumps(body).encode()
    req = AWSRequest(method="POST", url=srv.endpoint + "/", data=data,
                     headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target})
    SigV4Auth(Credentials(creds[0], creds[1], token), "ecs", REGION).add_auth(req)
    resp = requests.post(srv.endpoint + "/", data=data, headers=dict(req.prepare().headers), timeout=30,
                         verify=srv.verify)
    return resp.status_code, resp.json() if resp.content else {}


def agent_key(srv):
    """An IAM user that may register hosts and get their identities, and nothing else."""
    iam = srv.client("iam")
    name = uniq("agent")
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="agent", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
            "ecs:RegisterContainerInstance", "berth:GetInstanceCredentials"]}]}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory(extra_args=["--no-agent"])


def identity(srv, key, cluster, instance):
    status, out = call(srv, AGENT + "GetInstanceCredentials", {"cluster": cluster, "containerInstance": instance},
                       key)
    assert status == 200, out
    return (out["accessKeyId"], out["secretAccessKey"]), out["sessionToken"]


def test_an_instance_session_is_limited_to_its_instance(srv):
    ecs = srv.client()
    cluster = uniq("ids")
    ecs.create_cluster(clusterName=cluster)
    mine = register_instance(ecs, cluster)["containerInstanceArn"]
    other = register_instance(ecs, cluster)["containerInstanceArn"]
    key = agent_key(srv)
    creds, token = identity(srv, key, cluster, mine)
    assert creds[0].startswith("ASIA")

    # Who it is.
    who = srv.client("sts", creds=creds, aws_session_token=token).get_caller_identity()
    assert who["Arn"] == mine and who["Account"] == ACCOUNT

    poll = {"cluster": cluster, "containerInstance": mine, "waitSeconds": 0}
    assert call(srv, AGENT + "Poll", poll, creds, token)[0] == 200
    # Another instance's work, another cluster, and anything else are refused.
    status, out = call(srv, AGENT + "Poll", {**poll, "containerInstance": other}, creds, token)
    assert status == 400 and out["__type"].endswith("AccessDeniedException"), out
    assert "instance identity may only call the agent operations" in out["message"]
    status, out = call(srv, ECS + "ListClusters", {}, creds, token)
    assert status == 400 and out["__type"].endswith("AccessDeniedException"), out
    status, out = call(srv, ECS + "DeregisterContainerInstance", {"cluster": cluster, "containerInstance": other},
                       creds, token)
    assert status == 400 and out["__type"].endswith("AccessDeniedException"), out
    assert ecs.describe_container_instances(cluster=cluster, containerInstances=[other])["containerInstances"]
    # It renews itself.
    status, out = call(srv, AGENT + "GetInstanceCredentials", {"cluster": cluster, "containerInstance": mine},
                       creds, token)
    assert status == 200 and out["accessKeyId"] != creds[0], out
    status, out = call(srv, AGENT + "GetInstanceCredentials", {"cluster": cluster, "containerInstance": other},
                       creds, token)
    assert status == 400 and out["__type"].endswith("AccessDeniedException"), out

    # The registration key cannot do the agent's work itself.
    status, out = call(srv, AGENT + "Poll", poll, key)
    assert status == 400 and out["__type"].endswith("AccessDeniedException"), out

    # Deregistered, the instance's identity ends.
    ecs.deregister_container_instance(cluster=cluster, containerInstance=mine, force=True)
    status, out = call(srv, AGENT + "Poll", poll, creds, token)
    assert status == 400 and out["__type"].endswith("AccessDeniedException"), out
    status, out = call(srv, AGENT + "GetInstanceCredentials", {"cluster": cluster, "containerInstance": mine}, key)
    assert status == 400 and "is not registered" in out["message"], out


def test_task_reports_only_for_tasks_on_the_instance(srv):
    ecs = srv.client()
    cluster = uniq("ids")
    ecs.create_cluster(clusterName=cluster)
    a = register_instance(ecs, cluster)["containerInstanceArn"]
    b = register_instance(ecs, cluster)["containerInstanceArn"]
    family = uniq("ids")
    ecs.register_task_definition(family=family, containerDefinitions=[
        {"name": "main", "image": "berth-test/busybox:latest", "memory": 32, "essential": True}])
    creds, token = identity(srv, agent_key(srv), cluster, a)
    creds_b, token_b = identity(srv, agent_key(srv), cluster, b)
    # b's agent connects (its first poll), so tasks can be placed there.
    assert call(srv, AGENT + "Poll", {"cluster": cluster, "containerInstance": b, "waitSeconds": 0}, creds_b,
                token_b)[0] == 200
    out = ecs.start_task(cluster=cluster, taskDefinition=family, containerInstances=[b])
    assert out["tasks"], out["failures"]
    on_b = out["tasks"][0]["taskArn"]
    report = {"cluster": cluster, "task": on_b, "status": "RUNNING"}
    status, out = call(srv, ECS + "SubmitTaskStateChange", report, creds, token)
    assert status == 400 and out["__type"].endswith("AccessDeniedException"), out
    assert ecs.describe_tasks(cluster=cluster, tasks=[on_b])["tasks"][0]["lastStatus"] == "PROVISIONING"
    status, out = call(srv, ECS + "SubmitTaskStateChange", report, creds_b, token_b)
    assert status == 200, out
    # Its task role credentials are not a's to ask for either.
    status, out = call(srv, AGENT + "GetTaskCredentials",
                       {"cluster": cluster, "containerInstance": b, "task": on_b, "role": "task"}, creds, token)
    assert status == 400 and out["__type"].endswith("AccessDeniedException"), out


def test_an_agent_with_a_narrow_key_runs_tasks(server_factory, test_image, tmp_path):  # noqa: F811
    srv = server_factory(extra_args=["--no-agent"])
    ak, sk = agent_key(srv)
    credentials = tmp_path / "agent-credentials"
    credentials.write_text(f"[berth]\naws_access_key_id = {ak}\naws_secret_access_key = {sk}\n")
    agent = Agent(srv, "default", tmp_path / "agent")
    agent.server = type("S", (), {"endpoint": srv.endpoint, "credentials_file": credentials, "home": srv.home})()
    ecs = srv.client()
    ecs.create_cluster(clusterName="default")
    try:
        arn = agent.start()
        assert "no instance identity" not in agent.log.read_text()
        family = uniq("narrow")
        ecs.register_task_definition(family=family, containerDefinitions=[
            {"name": "main", "image": "berth-test/busybox:latest", "memory": 32, "essential": True,
             "command": SLEEPER, "stopTimeout": 2}])
        task = ecs.run_task(taskDefinition=family)["tasks"][0]
        assert task["containerInstanceArn"] == arn
        wait_status(ecs, [task["taskArn"]], "RUNNING")
        stop_all(ecs, [task["taskArn"]], wait=True)
    finally:
        agent.cleanup()
