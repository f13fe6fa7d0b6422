"""Terraform's AWS provider against a real `berth up`: the configuration in tests/terraform is applied, read back
with boto3, planned again (no change), changed (a new image: the service rolls to a new task definition revision),
planned again (no change), its tags changed, planned again (no change) and destroyed.

The configuration (one file per resource family, so later issues add aws_lb*, ... next to them) holds an
`aws_ecs_cluster` (containerInsights, tags), an `aws_cloudwatch_log_group` (retention, tags), an
`aws_ecs_task_definition` (health check, port mapping, awslogs into that group) and an `aws_ecs_service` (2 tasks,
circuit breaker with rollback, ordered placement strategies, `wait_for_steady_state`); and IAM (iam.tf): an
`aws_iam_user` (path, tags, force_destroy) with an `aws_iam_access_key`, an `aws_iam_group` it joins
(`aws_iam_user_group_membership`) with an inline `aws_iam_group_policy`, a customer managed `aws_iam_policy` (ECS
Describe*/List*, RunTask in the managed cluster only: an `ecs:cluster` condition) attached to the user
(`aws_iam_user_policy_attachment`) and to an `aws_iam_role` trusting ecs-tasks.amazonaws.com
(`aws_iam_role_policy_attachment`), the role's inline `aws_iam_role_policy`, and `data "aws_caller_identity"` (STS).
After apply, the access key Terraform created signs requests: what the policies allow works, the rest is
AccessDeniedException.

Where the service runs: `berth up` registers its own machine in the cluster `default`, outside Terraform, as an EC2
instance's ECS agent joins the cluster in its ECS_CLUSTER. A user of a single `berth up` does what a user of ECS on
EC2 does with capacity managed elsewhere: the configuration reads that cluster with `data "aws_ecs_cluster"` and
puts the service there. The `aws_ecs_cluster` it manages is the one further machines would join with
`berth agent --cluster <name>`; none joins it here, so it is created, checked and destroyed on its own.

Terraform needs no network here: the provider comes from a filesystem mirror ($BERTH_TF_PLUGIN_MIRROR, default
/opt/tf-plugins) through a CLI configuration (tests/terraform/terraformrc.tpl). The working directory, TF_DATA_DIR
and the state live in a pytest temporary directory, never in the repository. Every terraform command writes a
DEBUG log (TF_LOG=DEBUG: the provider's API requests and responses) next to them; a failed step names its log and
quotes the error answers Berth gave. The tests are skipped when terraform or the mirror is missing, and fail
instead when BERTH_REQUIRE_TERRAFORM=1.

Each test is one step of the same life cycle, in file order, on one dedicated server.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION, REPO, clean_env, cluster_arn, error_of, remove_containers, tag_map, uniq
from test_iam import unique_id
from test_tasks import IMAGE, docker, instance_of, wait_until

pytestmark = pytest.mark.berth_only

CONFIG = REPO / "tests" / "terraform"
TERRAFORM = os.environ.get("BERTH_TERRAFORM") or shutil.which("terraform") or "terraform"
MIRROR = Path(os.environ.get("BERTH_TF_PLUGIN_MIRROR", "/opt/tf-plugins"))
IMAGE_V2 = "berth-test/busybox:v2"
TIMEOUT = 60.0
TF_TIMEOUT = 300  # one terraform command; the service's own create/update/delete timeouts are 3 minutes

# What the configuration says (tests/terraform): the checks below compare Berth's answers with these.
COMMON_TAGS = {"Project": "berth", "Suite": "terraform-e2e"}
NEW_TAGS = {"Project": "berth", "Owner": "platform"}  # the tag change: Suite removed, Owner added
RETENTION_DAYS = 7
DESIRED = 2
PLACEMENT = [{"type": "spread", "field": "attribute:ecs.availability-zone"}, {"type": "binpack", "field": "memory"}]
IAM_PATH = "/berth-tf/"
# Resources in the configuration: ECS and Logs (cluster, task definition, service, log group), IAM (user, access key,
# group, membership, policy, user attachment, group inline policy, role, role inline policy, role attachment).
RESOURCES = 4 + 10
TAGGED = 4 + 3  # those the tag change updates in place: the four above, the IAM user, role and policy
ROOT_ARN = f"arn:aws:iam::{ACCOUNT}:root"


# --- terraform -----------------------------------------------------------------------------------------------------

class Terraform:
    """One working directory (a copy of tests/terraform) with its own TF_DATA_DIR, state and DEBUG logs."""

    def __init__(self, root, srv, name):
        self.root = Path(root)
        self.dir = self.root / "config"
        self.logs = self.root / "logs"
        self.logs.mkdir(parents=True)
        ignore = shutil.ignore_patterns(".terraform*", "*.tfstate*", "*.tpl", "terraformrc")
        shutil.copytree(CONFIG, self.dir, ignore=ignore)
        rc = self.root / "terraformrc"
        rc.write_text((CONFIG / "terraformrc.tpl").read_text().replace("{mirror}", str(MIRROR)))
        ak, sk = srv.creds
        self.vars = {"endpoint": srv.endpoint, "region": REGION, "access_key": ak, "secret_key": sk, "name": name,
                     "image": IMAGE, "tags": COMMON_TAGS}
        self.write_vars()
        # Nothing of the developer's Terraform set-up (TF_CLI_ARGS, TF_VAR_*, a plugin cache, ...) leaks in.
        self.env = {k: v for k, v in clean_env().items() if not k.startswith("TF_")}
        self.env.update(TF_CLI_CONFIG_FILE=str(rc), TF_DATA_DIR=str(self.root / "data"), TF_IN_AUTOMATION="1",
                        TF_INPUT="0", CHECKPOINT_DISABLE="1", TF_LOG="DEBUG", HOME=str(self.root))
        self.steps = 0

    def write_vars(self):
        (self.dir / "terraform.tfvars.json").write_text(json.dumps(self.vars, indent=2))

    def run(self, *args, what=None):
        """terraform ARGS -no-color [-input=false] in the working directory; returns the CompletedProcess."""
        self.steps += 1
        what = what or args[0]
        log = self.logs / f"{self.steps:02d}-{what}.log"
        argv = [TERRAFORM, *args, "-no-color"]
        if args[0] in ("init", "plan", "apply", "destroy"):
            argv.append("-input=false")
        p = subprocess.run(argv, cwd=self.dir, env=dict(self.env, TF_LOG_PATH=str(log)), capture_output=True,
                           text=True, timeout=TF_TIMEOUT)
        p.log = log
        return p

    def ok(self, *args, what=None):
        p = self.run(*args, what=what)
        if p.returncode != 0:
            pytest.fail(self.report(p))
        return p

    def report(self, p):
        """A failed command: its output, the error answers in its log, and the log's path."""
        errors = api_errors(p.log)
        shown = "\n".join(errors[:20]) or "(none)"
        return (f"`terraform {' '.join(p.args[1:])}` exited {p.returncode}\n--- stdout ---\n{p.stdout[-6000:]}\n"
                f"--- stderr ---\n{p.stderr[-6000:]}\n--- error answers in {p.log} ---\n{shown}")

    def plan_is_empty(self, what):
        """`plan -detailed-exitcode`: 0 is no change, 2 a change (the plan is shown), 1 an error."""
        p = self.run("plan", "-detailed-exitcode", what=what)
        if p.returncode == 2:
            pytest.fail(f"the plan wants changes where the configuration did not change (a perpetual diff):\n"
                        f"{changes(p.stdout)}\n(log: {p.log})")
        if p.returncode != 0:
            pytest.fail(self.report(p))

    def outputs(self):
        p = self.ok("output", "-json")
        return {k: v["value"] for k, v in json.loads(p.stdout).items()}

    def state(self):
        p = self.ok("show", "-json")
        return json.loads(p.stdout)


ENTRY = re.compile(r"^\d{4}-\d\d-\d\dT\S+ \[", re.M)


def api_errors(log):
    """`service.Operation -> status body` of each AWS API answer with an error status in a terraform DEBUG log."""
    try:
        text = Path(log).read_text(errors="replace")
    except OSError:
        return []
    starts = [m.start() for m in ENTRY.finditer(text)] + [len(text)]
    out = []
    for a, b in zip(starts, starts[1:]):
        entry = text[a:b]
        if "HTTP Response Received" not in entry:
            continue
        status = re.search(r"http\.status_code=(\d+)", entry)
        if not status or int(status.group(1)) < 400:
            continue
        op = re.search(r"rpc\.method=(\w+)", entry)
        service = re.search(r'rpc\.service=("[^"]*"|\S+)', entry)
        body = " ".join(l.strip()[2:] for l in entry.splitlines() if l.strip().startswith("| "))
        name = service.group(1).strip('"') if service else "?"
        out.append(f"{name}.{op.group(1) if op else '?'} -> {status.group(1)} {body[:400]}")
    return out


def changes(plan_stdout):
    """The part of a plan's output that names resources and attributes to change."""
    lines = plan_stdout.splitlines()
    start = next((i for i, l in enumerate(lines) if "will be" in l or "must be" in l), 0)
    return "\n".join(lines[start:])[-8000:]


# --- fixtures ------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def terraform_available():
    missing = []
    if not shutil.which(TERRAFORM):
        missing.append(f"terraform ({TERRAFORM})")
    if not (MIRROR / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
        missing.append(f"the AWS provider in the filesystem mirror {MIRROR}")
    if missing:
        message = f"{' and '.join(missing)} missing ($BERTH_TERRAFORM, $BERTH_TF_PLUGIN_MIRROR)"
        if os.environ.get("BERTH_REQUIRE_TERRAFORM") == "1":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def images():
    p = subprocess.run(["bash", str(REPO / "tests" / "images" / "build.sh")], capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, f"tests/images/build.sh failed:\n{p.stderr}"
    # The second image of the rollout: the same layers under another name (no registry to pull a real one from).
    docker("tag", IMAGE, IMAGE_V2)
    return IMAGE, IMAGE_V2


@pytest.fixture(scope="module")
def srv(terraform_available, server_factory, images):
    """A dedicated `berth up` (its cluster default holds only this module's service); stopped at the end and its
    containers removed."""
    s = server_factory()
    state = s.data_dir / "agent-state.json"
    wait_until(f"{state} written by berth up's agent", state.exists, timeout=30)
    arn = json.loads(state.read_text())["containerInstanceArn"]
    wait_until("agent connected", lambda: instance_of(s.client(), arn)["agentConnected"], timeout=30)
    yield s
    s.stop(timeout=15)
    remove_containers(s)


@pytest.fixture(scope="module")
def ecs(srv):
    return srv.client()


@pytest.fixture(scope="module")
def logs(srv):
    return srv.client("logs")


@pytest.fixture(scope="module")
def iam(srv):
    return srv.client("iam")


@pytest.fixture(scope="module")
def tf(srv, tmp_path_factory):
    """The working directory; `terraform init` done. Destroyed at the end unless the last test did it."""
    t = Terraform(tmp_path_factory.mktemp("terraform"), srv, uniq("tf"))
    t.ok("init")
    t.destroyed = False
    t.first = {}
    yield t
    if not t.destroyed:
        t.run("destroy", "-auto-approve", what="cleanup-destroy")


# --- helpers -------------------------------------------------------------------------------------------------------

def service_name(tf):
    return tf.vars["name"]


def td_arn(tf, revision):
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{service_name(tf)}:{revision}"


def service_arn(tf):
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/default/{service_name(tf)}"


def describe_service(ecs, name, **kw):
    out = ecs.describe_services(cluster="default", services=[name], **kw)
    assert out["failures"] == [], out["failures"]
    [s] = out["services"]
    return s


def service_tasks(ecs, name, desired="RUNNING"):
    return [a for p in ecs.get_paginator("list_tasks").paginate(cluster="default", serviceName=name,
                                                                 desiredStatus=desired)
            for a in p["taskArns"]]


def describe_tasks(ecs, arns):
    if not arns:
        return []
    out = ecs.describe_tasks(cluster="default", tasks=arns)
    assert out["failures"] == [], out["failures"]
    return out["tasks"]


def healthy_tasks(ecs, name, td_arn):
    """Waits until the service runs exactly DESIRED tasks of td_arn, RUNNING and HEALTHY; returns them."""
    def check():
        tasks = describe_tasks(ecs, service_tasks(ecs, name))
        if len(tasks) != DESIRED:
            return None
        if all(t["taskDefinitionArn"] == td_arn and t["lastStatus"] == "RUNNING" and t.get("healthStatus") == "HEALTHY"
               for t in tasks):
            return tasks
        return None
    return wait_until(f"{DESIRED} RUNNING HEALTHY tasks of {td_arn}", check, timeout=TIMEOUT)


def iam_names(tf):
    """The IAM names the configuration derives from var.name (tests/terraform/iam.tf)."""
    name = service_name(tf)
    return {"user": f"{name}-deployer", "group": f"{name}-operators", "policy": f"{name}-ecs-operate",
            "role": f"{name}-task"}


def iam_arn(kind, name):
    return f"arn:aws:iam::{ACCOUNT}:{kind}{IAM_PATH}{name}"


def log_group_arn(tf):
    return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/berth-tf/{service_name(tf)}"


def policy_document(tf):
    """The managed policy's document as iam.tf writes it (jsonencode)."""
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadEcs", "Effect": "Allow", "Action": ["ecs:Describe*", "ecs:List*"], "Resource": "*"},
        {"Sid": "RunTaskInManagedCluster", "Effect": "Allow", "Action": "ecs:RunTask", "Resource": "*",
         "Condition": {"ArnEquals": {"ecs:cluster": cluster_arn(service_name(tf))}}}]}


def iam_tags(tags):
    return {t["Key"]: t["Value"] for t in tags}


def brief_deployments(s):
    return [(d["status"], d["taskDefinition"], d.get("rolloutState"), d["runningCount"]) for d in s["deployments"]]


# --- the life cycle ------------------------------------------------------------------------------------------------

def test_apply_creates_everything(tf):
    p = tf.ok("apply", "-auto-approve", what="apply")
    assert f"Apply complete! Resources: {RESOURCES} added, 0 changed, 0 destroyed." in p.stdout, p.stdout[-3000:]
    out = tf.outputs()
    name = service_name(tf)
    assert out["cluster_arn"] == cluster_arn(name)
    assert out["capacity_cluster_arn"] == cluster_arn("default")
    assert out["task_definition_arn"] == td_arn(tf, 1)
    assert out["service_id"] == service_arn(tf)
    assert out["log_group_name"] == f"/berth-tf/{name}"
    assert out["log_group_arn"] == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/berth-tf/{name}"
    # data "aws_caller_identity": STS GetCallerIdentity of the server's key, the account root.
    assert (out["account_id"], out["caller_arn"]) == (ACCOUNT, ROOT_ARN), out
    n = iam_names(tf)
    assert out["user_arn"] == iam_arn("user", n["user"])
    assert out["group_arn"] == iam_arn("group", n["group"])
    assert out["policy_arn"] == iam_arn("policy", n["policy"])
    assert out["role_arn"] == iam_arn("role", n["role"])
    assert unique_id("AIDA").match(out["user_unique_id"]), out["user_unique_id"]
    assert unique_id("AROA").match(out["role_unique_id"]), out["role_unique_id"]
    assert re.fullmatch(r"AKIA[A-Z0-9]{16}", out["access_key_id"]), out["access_key_id"]
    assert len(out["access_key_secret"]) == 40, "the access key's secret is not in the state"
    tf.first["outputs"] = out


def test_cluster_as_configured(tf, ecs):
    name = service_name(tf)
    out = ecs.describe_clusters(clusters=[name], include=["SETTINGS", "TAGS"])
    assert out["failures"] == [], out["failures"]
    [c] = out["clusters"]
    assert (c["clusterName"], c["clusterArn"], c["status"]) == (name, cluster_arn(name), "ACTIVE"), c
    assert c.get("settings") == [{"name": "containerInsights", "value": "enabled"}], c.get("settings")
    assert tag_map(c.get("tags")) == {**COMMON_TAGS, "Component": "cluster"}, c.get("tags")
    assert tag_map(ecs.list_tags_for_resource(resourceArn=c["clusterArn"])["tags"]) == \
        {**COMMON_TAGS, "Component": "cluster"}


def test_log_group_as_configured(tf, logs):
    group = f"/berth-tf/{service_name(tf)}"
    groups = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert [g["logGroupName"] for g in groups] == [group], groups
    [g] = groups
    assert g.get("retentionInDays") == RETENTION_DAYS, g
    assert g["arn"] == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:*", g
    want = {**COMMON_TAGS, "Component": "logs"}
    arn = g["arn"].removesuffix(":*")  # the tagging API names a group by its ARN without the trailing :*
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == want  # what the provider reads
    assert logs.list_tags_log_group(logGroupName=group)["tags"] == want  # the older API, still in the model


def test_task_definition_as_configured(tf, ecs):
    name = service_name(tf)
    out = ecs.describe_task_definition(taskDefinition=f"{name}:1", include=["TAGS"])
    td = out["taskDefinition"]
    assert (td["family"], td["revision"], td["status"]) == (name, 1, "ACTIVE"), td
    assert (td.get("networkMode"), td.get("requiresCompatibilities")) == ("bridge", ["EC2"]), td
    assert tag_map(out.get("tags")) == {**COMMON_TAGS, "Component": "task-definition"}, out.get("tags")
    [c] = td["containerDefinitions"]
    assert (c["name"], c["image"], c.get("essential"), c.get("memory")) == ("app", IMAGE, True, 32), c
    assert c["portMappings"] == [{"containerPort": 8080, "hostPort": 0, "protocol": "tcp"}], c["portMappings"]
    assert c["healthCheck"] == {"command": ["CMD-SHELL", "true"], "interval": 5, "timeout": 2, "retries": 3,
                                "startPeriod": 0}, c["healthCheck"]
    assert c["logConfiguration"] == {"logDriver": "awslogs", "options": {
        "awslogs-group": f"/berth-tf/{name}", "awslogs-region": REGION, "awslogs-stream-prefix": "app"}}, \
        c["logConfiguration"]


def test_service_as_configured(tf, ecs, logs):
    name = service_name(tf)
    td = td_arn(tf, 1)
    s = describe_service(ecs, name, include=["TAGS"])
    assert (s["serviceArn"], s["clusterArn"], s["status"]) == (service_arn(tf), cluster_arn("default"), "ACTIVE"), s
    assert (s["desiredCount"], s["runningCount"], s["taskDefinition"]) == (DESIRED, DESIRED, td), s
    assert (s.get("launchType"), s.get("schedulingStrategy")) == ("EC2", "REPLICA"), s
    dc = s["deploymentConfiguration"]
    assert (dc["minimumHealthyPercent"], dc["maximumPercent"]) == (50, 200), dc
    assert dc["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}, dc
    assert s.get("placementStrategy") == PLACEMENT, s.get("placementStrategy")
    assert tag_map(s.get("tags")) == {**COMMON_TAGS, "Component": "service"}, s.get("tags")
    [d] = s["deployments"]
    assert (d["status"], d["taskDefinition"], d["runningCount"]) == ("PRIMARY", td, DESIRED), d

    tasks = healthy_tasks(ecs, name, td)
    tf.first["tasks"] = [t["taskArn"] for t in tasks]
    for t in tasks:
        [c] = t["containers"]
        assert c["image"] == IMAGE, c
        [b] = c.get("networkBindings", [])
        assert b["containerPort"] == 8080 and b["hostPort"] > 0 and b.get("protocol", "tcp") == "tcp", b

    # The awslogs configuration is followed: each task writes app/app/<task id> in the managed group.
    group = f"/berth-tf/{name}"
    want = {f"app/app/{t['taskArn'].rsplit('/', 1)[1]}" for t in tasks}

    def streams():
        have = {st["logStreamName"] for st in logs.describe_log_streams(logGroupName=group)["logStreams"]}
        return have if want <= have else None
    wait_until(f"streams {want} in {group}", streams, timeout=30)


def test_iam_user_and_access_key_as_configured(tf, iam):
    n = iam_names(tf)
    out = tf.first.get("outputs") or tf.outputs()
    u = iam.get_user(UserName=n["user"])["User"]
    assert (u["UserName"], u["Path"], u["Arn"], u["UserId"]) == \
        (n["user"], IAM_PATH, iam_arn("user", n["user"]), out["user_unique_id"]), u
    want = {**COMMON_TAGS, "Component": "iam-user"}
    assert iam_tags(u.get("Tags", [])) == want, u.get("Tags")
    assert iam_tags(iam.list_user_tags(UserName=n["user"])["Tags"]) == want
    keys = iam.list_access_keys(UserName=n["user"])["AccessKeyMetadata"]
    assert [(k["AccessKeyId"], k["Status"], k["UserName"]) for k in keys] == \
        [(out["access_key_id"], "Active", n["user"])], keys
    # Group membership: both directions.
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=n["user"])["Groups"]] == [n["group"]]
    # The managed policy attached; no inline policy of its own.
    assert iam.list_attached_user_policies(UserName=n["user"])["AttachedPolicies"] == \
        [{"PolicyName": n["policy"], "PolicyArn": iam_arn("policy", n["policy"])}]
    assert iam.list_user_policies(UserName=n["user"])["PolicyNames"] == []


def test_iam_group_as_configured(tf, iam):
    n = iam_names(tf)
    out = iam.get_group(GroupName=n["group"])
    g = out["Group"]
    assert (g["GroupName"], g["Path"], g["Arn"]) == (n["group"], IAM_PATH, iam_arn("group", n["group"])), g
    assert unique_id("AGPA").match(g["GroupId"]), g
    assert [u["UserName"] for u in out["Users"]] == [n["user"]], out["Users"]
    assert iam.list_group_policies(GroupName=n["group"])["PolicyNames"] == ["read-logs"]
    p = iam.get_group_policy(GroupName=n["group"], PolicyName="read-logs")
    arn = log_group_arn(tf)
    assert p["PolicyDocument"] == {"Version": "2012-10-17", "Statement": [
        {"Sid": "ListGroups", "Effect": "Allow", "Action": "logs:DescribeLogGroups", "Resource": "*"},
        {"Sid": "ReadTheServicesGroup", "Effect": "Allow", "Action": ["logs:DescribeLogStreams", "logs:GetLogEvents"],
         "Resource": [arn, f"{arn}:*"]}]}, p["PolicyDocument"]
    assert iam.list_attached_group_policies(GroupName=n["group"])["AttachedPolicies"] == []


def test_iam_policy_as_configured(tf, iam):
    n = iam_names(tf)
    arn = iam_arn("policy", n["policy"])
    p = iam.get_policy(PolicyArn=arn)["Policy"]
    assert (p["PolicyName"], p["Path"], p["Arn"], p["DefaultVersionId"], p["AttachmentCount"]) == \
        (n["policy"], IAM_PATH, arn, "v1", 2), p
    assert p.get("Description") == "Read ECS; run tasks in the managed cluster only.", p
    assert unique_id("ANPA").match(p["PolicyId"]), p
    want = {**COMMON_TAGS, "Component": "iam-policy"}
    assert iam_tags(p.get("Tags", [])) == want, p.get("Tags")
    assert iam_tags(iam.list_policy_tags(PolicyArn=arn)["Tags"]) == want
    v = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert v["IsDefaultVersion"] is True and v["Document"] == policy_document(tf), v
    assert [x["VersionId"] for x in iam.list_policy_versions(PolicyArn=arn)["Versions"]] == ["v1"]
    ents = iam.list_entities_for_policy(PolicyArn=arn)
    assert [u["UserName"] for u in ents["PolicyUsers"]] == [n["user"]], ents
    assert [r["RoleName"] for r in ents["PolicyRoles"]] == [n["role"]], ents
    assert ents["PolicyGroups"] == [], ents
    local = [x["Arn"] for x in iam.list_policies(Scope="Local", PathPrefix=IAM_PATH)["Policies"]]
    assert arn in local, local


def test_iam_role_as_configured(tf, iam):
    n = iam_names(tf)
    out = tf.first.get("outputs") or tf.outputs()
    r = iam.get_role(RoleName=n["role"])["Role"]
    assert (r["RoleName"], r["Path"], r["Arn"], r["RoleId"]) == \
        (n["role"], IAM_PATH, iam_arn("role", n["role"]), out["role_unique_id"]), r
    assert (r.get("Description"), r.get("MaxSessionDuration")) == \
        ("The role the service's tasks would run with.", 7200), r
    # data "aws_iam_policy_document" writes the statement with an empty Sid and the principal as a string.
    [st] = r["AssumeRolePolicyDocument"]["Statement"]
    assert r["AssumeRolePolicyDocument"]["Version"] == "2012-10-17", r["AssumeRolePolicyDocument"]
    assert (st["Effect"], st["Action"], st["Principal"], st.get("Sid", "")) == \
        ("Allow", "sts:AssumeRole", {"Service": "ecs-tasks.amazonaws.com"}, ""), st
    want = {**COMMON_TAGS, "Component": "iam-role"}
    assert iam_tags(r.get("Tags", [])) == want, r.get("Tags")
    assert iam_tags(iam.list_role_tags(RoleName=n["role"])["Tags"]) == want
    assert iam.list_role_policies(RoleName=n["role"])["PolicyNames"] == ["write-logs"]
    p = iam.get_role_policy(RoleName=n["role"], PolicyName="write-logs")
    assert p["PolicyDocument"] == {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": f"{log_group_arn(tf)}:*"}]}, p["PolicyDocument"]
    assert iam.list_attached_role_policies(RoleName=n["role"])["AttachedPolicies"] == \
        [{"PolicyName": n["policy"], "PolicyArn": iam_arn("policy", n["policy"])}]


def test_access_key_is_limited_by_its_policies(tf, srv):
    """The key Terraform created signs requests as the user: the attached managed policy (ECS Describe*/List*,
    RunTask in the managed cluster) and the group's inline policy (reading the log group) allow what they say, and
    nothing more."""
    n = iam_names(tf)
    out = tf.first.get("outputs") or tf.outputs()
    creds = (out["access_key_id"], out["access_key_secret"])
    user = iam_arn("user", n["user"])
    name = service_name(tf)
    ecs, logs, sts = (srv.client(s, creds=creds) for s in ("ecs", "logs", "sts"))

    assert sts.get_caller_identity()["Arn"] == user
    assert cluster_arn(name) in ecs.list_clusters()["clusterArns"]
    assert describe_service(ecs, name)["status"] == "ACTIVE"

    def denied(fn, action, **kw):
        with pytest.raises(ClientError) as ei:
            fn(**kw)
        code, msg, _ = error_of(ei)
        assert code == "AccessDeniedException", (action, code, msg)
        assert f"User: {user} is not authorized to perform: {action}" in msg, msg

    refused = uniq("tf-denied")
    denied(ecs.create_cluster, "ecs:CreateCluster", clusterName=refused)
    assert cluster_arn(refused) not in ecs.list_clusters()["clusterArns"]
    denied(ecs.delete_service, "ecs:DeleteService", cluster="default", service=name, force=True)

    # RunTask: allowed in the managed cluster only (the condition on ecs:cluster). Nothing joins that cluster, so
    # the allowed call passes authorization and fails placement (as on ECS: InvalidParameterException, "No Container
    # Instances were found in your cluster."); in default (where the service runs) it is refused.
    with pytest.raises(ClientError) as ei:
        ecs.run_task(cluster=name, taskDefinition=f"{name}:1", count=1)
    assert error_of(ei)[:2] == ("InvalidParameterException", "No Container Instances were found in your cluster."), \
        error_of(ei)
    denied(ecs.run_task, "ecs:RunTask", cluster="default", taskDefinition=f"{name}:1", count=1)
    running = ecs.list_tasks(cluster="default", family=name, desiredStatus="RUNNING")["taskArns"]
    assert sorted(running) == sorted(service_tasks(ecs, name)), "RunTask started a task outside the service"

    # The group's inline policy: the log group can be read, not deleted; others' groups are listed but not read.
    group = f"/berth-tf/{name}"
    assert [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]] == [group]
    assert logs.describe_log_streams(logGroupName=group)["logStreams"], "the service's streams"
    denied(logs.delete_log_group, "logs:DeleteLogGroup", logGroupName=group)

    # IAM itself: nothing allows it.
    iam = srv.client("iam", creds=creds)
    with pytest.raises(ClientError) as ei:
        iam.list_users()
    assert error_of(ei)[0] == "AccessDenied", error_of(ei)


def test_plan_after_apply_is_empty(tf):
    tf.plan_is_empty("plan-after-apply")


def test_new_image_rolls_the_service(tf, ecs):
    name = service_name(tf)
    old_td = td_arn(tf, 1)
    old_tasks = tf.first.get("tasks") or service_tasks(ecs, name)
    tf.vars["image"] = IMAGE_V2
    tf.write_vars()
    p = tf.ok("apply", "-auto-approve", what="apply-v2")
    # The task definition is replaced (a new revision, the old one deregistered) and the service updated in place.
    assert "Apply complete! Resources: 1 added, 1 changed, 1 destroyed." in p.stdout, p.stdout[-3000:]
    new_td = td_arn(tf, 2)
    assert tf.outputs()["task_definition_arn"] == new_td

    [c] = ecs.describe_task_definition(taskDefinition=new_td)["taskDefinition"]["containerDefinitions"]
    assert c["image"] == IMAGE_V2, c
    assert ecs.describe_task_definition(taskDefinition=old_td)["taskDefinition"]["status"] == "INACTIVE"

    # wait_for_steady_state: when apply returns, the service's only deployment runs the new revision.
    s = describe_service(ecs, name)
    assert s["taskDefinition"] == new_td, s["taskDefinition"]
    assert [(d["status"], d["taskDefinition"]) for d in s["deployments"]] == [("PRIMARY", new_td)], \
        brief_deployments(s)
    assert (s["desiredCount"], s["runningCount"]) == (DESIRED, DESIRED), s

    tasks = healthy_tasks(ecs, name, new_td)
    assert not {t["taskArn"] for t in tasks} & set(old_tasks)
    assert all(t["containers"][0]["image"] == IMAGE_V2 for t in tasks), [t["containers"] for t in tasks]

    def old_stopped():
        found = describe_tasks(ecs, old_tasks)
        return found if all(t["lastStatus"] == "STOPPED" for t in found) else None
    assert old_tasks
    for t in wait_until(f"old tasks {old_tasks} STOPPED", old_stopped, timeout=TIMEOUT):
        assert t["desiredStatus"] == "STOPPED" and t["taskDefinitionArn"] == old_td, t


def test_plan_after_update_is_empty(tf):
    tf.plan_is_empty("plan-after-update")


def test_tag_change_updates_in_place(tf, ecs, logs, iam):
    """The commonest change after an image: tags. One tag added (TagResource), one removed (UntagResource) on every
    resource, each updated in place (for IAM: TagUser/UntagUser, TagRole/UntagRole, TagPolicy/UntagPolicy); then
    the plan is empty again."""
    name = service_name(tf)
    tf.vars["tags"] = NEW_TAGS
    tf.write_vars()
    p = tf.ok("apply", "-auto-approve", what="apply-tags")
    assert f"Apply complete! Resources: 0 added, {TAGGED} changed, 0 destroyed." in p.stdout, p.stdout[-3000:]

    def want(component):
        return {**NEW_TAGS, "Component": component}
    [c] = ecs.describe_clusters(clusters=[name], include=["TAGS"])["clusters"]
    assert tag_map(c.get("tags")) == want("cluster"), c.get("tags")
    assert tag_map(describe_service(ecs, name, include=["TAGS"]).get("tags")) == want("service")
    assert tag_map(ecs.list_tags_for_resource(resourceArn=td_arn(tf, 2))["tags"]) == want("task-definition")
    group = f"/berth-tf/{name}"
    arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == want("logs")
    assert logs.list_tags_log_group(logGroupName=group)["tags"] == want("logs")
    n = iam_names(tf)
    assert iam_tags(iam.list_user_tags(UserName=n["user"])["Tags"]) == want("iam-user")
    assert iam_tags(iam.get_user(UserName=n["user"])["User"].get("Tags", [])) == want("iam-user")
    assert iam_tags(iam.list_role_tags(RoleName=n["role"])["Tags"]) == want("iam-role")
    assert iam_tags(iam.get_role(RoleName=n["role"])["Role"].get("Tags", [])) == want("iam-role")
    assert iam_tags(iam.list_policy_tags(PolicyArn=iam_arn("policy", n["policy"]))["Tags"]) == want("iam-policy")

    tf.plan_is_empty("plan-after-tags")


def test_destroy_removes_everything(tf, ecs, logs, iam, srv):
    name = service_name(tf)
    tasks = service_tasks(ecs, name) + service_tasks(ecs, name, "STOPPED")
    p = tf.ok("destroy", "-auto-approve", what="destroy")
    tf.destroyed = True
    assert f"Destroy complete! Resources: {RESOURCES} destroyed." in p.stdout, p.stdout[-3000:]
    assert tf.state().get("values") is None, "state still holds resources"

    s = describe_service(ecs, name)
    assert (s["status"], s["desiredCount"]) == ("INACTIVE", 0), s
    assert service_tasks(ecs, name) == []
    wait_until("the service's tasks STOPPED",
               lambda: all(t["lastStatus"] == "STOPPED" for t in describe_tasks(ecs, tasks)), timeout=TIMEOUT)

    out = ecs.describe_clusters(clusters=[name])
    gone = [f["reason"] for f in out["failures"]] == ["MISSING"] or \
        [c["status"] for c in out["clusters"]] == ["INACTIVE"]
    assert gone, out
    assert cluster_arn(name) not in ecs.list_clusters()["clusterArns"]

    td = ecs.describe_task_definition(taskDefinition=f"{name}:2")["taskDefinition"]
    assert td["status"] == "INACTIVE", td
    assert logs.describe_log_groups(logGroupNamePrefix=f"/berth-tf/{name}")["logGroups"] == []
    with pytest.raises(ClientError) as ei:
        logs.describe_log_streams(logGroupName=f"/berth-tf/{name}")
    assert error_of(ei)[0] == "ResourceNotFoundException"

    n = iam_names(tf)
    for what, call in [("user", lambda: iam.get_user(UserName=n["user"])),
                       ("group", lambda: iam.get_group(GroupName=n["group"])),
                       ("role", lambda: iam.get_role(RoleName=n["role"])),
                       ("policy", lambda: iam.get_policy(PolicyArn=iam_arn("policy", n["policy"])))]:
        with pytest.raises(ClientError) as ei:
            call()
        assert error_of(ei)[0] == "NoSuchEntity", (what, error_of(ei))
    assert [u["UserName"] for u in iam.list_users(PathPrefix=IAM_PATH)["Users"]] == []
    assert [g["GroupName"] for g in iam.list_groups(PathPrefix=IAM_PATH)["Groups"]] == []
    assert [r["RoleName"] for r in iam.list_roles(PathPrefix=IAM_PATH)["Roles"]] == []
    assert [x["Arn"] for x in iam.list_policies(Scope="Local", PathPrefix=IAM_PATH)["Policies"]] == []
    # The access key died with its user.
    out = tf.first.get("outputs")
    if out:
        key = srv.client("ecs", creds=(out["access_key_id"], out["access_key_secret"]))
        with pytest.raises(ClientError) as ei:
            key.list_clusters()
        assert error_of(ei)[0] == "UnrecognizedClientException", error_of(ei)
