"""Every operation Berth serves, in every API (ECS, CloudWatch Logs, IAM, STS, Secrets Manager, SSM), is
authorized: a user with no policy is refused it with AWS's denial, and a user allowed exactly that action gets past
authorization (the call may still fail on its empty input, with a validation error). The served operations are
those docs/API-COVERAGE.md lists as implemented (a test checks that list against the server's tables).
"""

import json
import re

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import REGION, REPO, uniq

pytestmark = pytest.mark.berth_only

DOC = (REPO / "docs" / "API-COVERAGE.md").read_text()

# Which target or query version each JSON or query service answers on, and the service it is signed for.
JSON_SERVICES = {
    "ecs": ("AmazonEC2ContainerServiceV20141113.", "ecs"),
    "logs": ("Logs_20140328.", "logs"),
    "secretsmanager": ("secretsmanager.", "secretsmanager"),
    "ssm": ("AmazonSSM.", "ssm"),
}
QUERY_SERVICES = {"iam": "2010-05-08", "sts": "2011-06-15"}

# Always allowed (as on AWS), or not signed at all.
UNAUTHORIZED = {("sts", "GetCallerIdentity"), ("sts", "AssumeRoleWithWebIdentity")}
# The ECS operations agents call: authorized like the others, but the agent channel's own are `berth:`.
# Actions other than `<service>:<Operation>`, and extra actions an operation needs.
EXTRA_ACTIONS = {("secretsmanager", "BatchGetSecretValue"): ["secretsmanager:GetSecretValue"]}


def section(title):
    m = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", DOC, re.M | re.S)
    assert m, title
    return m.group(1)


def table_ops(text):
    return re.findall(r"^\| (\w+) \| implemented \|", text, re.M)


def served():
    ops = [("ecs", op) for op in table_ops(DOC.split("\n## CloudWatch Logs", 1)[0])]
    logs, in_bullet = [], False
    for line in section("CloudWatch Logs").splitlines():
        if line.startswith("- "):
            in_bullet = True
        elif not line.startswith(" "):
            in_bullet = False
        if in_bullet:
            logs += re.findall(r"\*\*(\w+)\*\*", line)
    ops += [("logs", op) for op in logs]
    for service, title in [("iam", "IAM"), ("sts", "STS"), ("secretsmanager", "Secrets Manager"),
                           ("ssm", "SSM Parameter Store")]:
        ops += [(service, op) for op in table_ops(section(title))]
    return [o for o in ops if o not in UNAUTHORIZED]


OPERATIONS = served()


def call(srv, service, op, creds):
    """The operation with an empty input, signed with `creds`; (status, error code or None, message)."""
    if service in QUERY_SERVICES:
        body = f"Action={op}&Version={QUERY_SERVICES[service]}".encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        signing = service
    else:
        prefix, signing = JSON_SERVICES[service]
        body = b"{}"
        headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": prefix + op}
    req = AWSRequest(method="POST", url=srv.endpoint + "/", data=body, headers=headers)
    SigV4Auth(Credentials(*creds), signing, REGION).add_auth(req)
    r = requests.post(srv.endpoint + "/", data=body, headers=dict(req.prepare().headers), timeout=30,
                      verify=srv.verify)
    if r.status_code == 200:
        return 200, None, ""
    if service in QUERY_SERVICES:
        code = re.search(r"<Code>([^<]*)</Code>", r.text)
        message = re.search(r"<Message>([^<]*)</Message>", r.text)
        return r.status_code, code and code.group(1), message.group(1) if message else ""
    doc = r.json()
    return r.status_code, doc.get("__type", "").split("#")[-1], doc.get("message", doc.get("Message", ""))


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory(extra_args=["--no-agent"])


def user(srv, statements):
    iam = srv.client("iam")
    name = uniq("sweep")
    iam.create_user(UserName=name)
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="p",
                            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, (key["AccessKeyId"], key["SecretAccessKey"])


def test_the_sweep_covers_every_api():
    services = {s for s, _ in OPERATIONS}
    assert services == {"ecs", "logs", "iam", "sts", "secretsmanager", "ssm"}, services
    assert len(OPERATIONS) > 150, len(OPERATIONS)


def test_a_user_without_policies_is_refused_every_operation(srv):
    name, creds = user(srv, [])
    wrong = []
    for service, op in OPERATIONS:
        status, code, message = call(srv, service, op, creds)
        denied_as = ("AccessDenied", 403) if service in QUERY_SERVICES else ("AccessDeniedException", 400)
        if (code, status) != denied_as or f"user/{name} is not authorized to perform" not in message:
            wrong.append((service, op, status, code, message[:120]))
    assert not wrong, f"{len(wrong)} operations not refused: {wrong}"


def test_a_user_allowed_an_action_gets_past_authorization(srv):
    wrong = []
    # One user per service, allowed exactly the actions of that service's operations, one by one in its policy.
    for service in sorted({s for s, _ in OPERATIONS}):
        ops = [op for s, op in OPERATIONS if s == service]
        prefix = "ecs" if service == "ecs" else service
        actions = sorted({f"{prefix}:{op}" for op in ops} | {a for (s, o), extra in EXTRA_ACTIONS.items()
                                                              if s == service for a in extra})
        _, creds = user(srv, [{"Effect": "Allow", "Action": actions, "Resource": "*"}])
        for op in ops:
            status, code, message = call(srv, service, op, creds)
            if code in ("AccessDenied", "AccessDeniedException") and "is not authorized to perform" in message:
                wrong.append((service, op, message[:160]))
    assert not wrong, f"{len(wrong)} operations denied although allowed: {wrong}"
