"""ECS account settings against one `berth up --no-agent`, with boto3 and the aws CLI.

PutAccountSetting (for the caller, or with principalArn: the root user for anyone, others for themselves only),
PutAccountSettingDefault (the account default: the root user's own setting), DeleteAccountSetting and
ListAccountSettings (own settings, or with effectiveSettings the value that applies: own, else the default, else
AWS's), for the root user, an IAM user and a role session (whose settings are its role's); ECS's errors for unknown
names, bad values, account-wide and AWS-managed settings. And what the settings do: short ARNs for tasks, services
and container instances created afterwards (every call that takes an ARN still takes them; as on ECS they cannot be
tagged), a new cluster's containerInsights, and tagResourceAuthorization `off` (tags on creation without
ecs:TagResource).

Tasks are placed on fake container instances kept connected by one poll of the agent channel; nothing runs.
"""

import json

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION, error_of, register_instance, simple_td, tag_map, uniq
from test_iam import allow, doc, role_arn, user_arn
from test_tasks import wait_until

pytestmark = pytest.mark.berth_only

ROOT_ARN = f"arn:aws:iam::{ACCOUNT}:root"
ECS_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:"
LONG_ARN_SETTINGS = ("serviceLongArnFormat", "taskLongArnFormat", "containerInstanceLongArnFormat")


@pytest.fixture(scope="module")
def srv(server_factory):
    """This module's own server: it changes the account's defaults."""
    return server_factory(extra_args=["--no-agent"])


@pytest.fixture(scope="module")
def root(srv):
    return srv.client()


@pytest.fixture(scope="module")
def iam(srv):
    return srv.client("iam")


def client(srv, service, creds):
    """A client with an access key pair, or with temporary credentials as STS returns them."""
    if isinstance(creds, dict):
        kw = dict(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                  aws_session_token=creds["SessionToken"])
    else:
        kw = dict(aws_access_key_id=creds[0], aws_secret_access_key=creds[1])
    return boto3.client(service, endpoint_url=srv.endpoint, region_name=REGION,
                        config=Config(retries={"total_max_attempts": 1}), **kw)


def user_key(iam, *statements, path="/"):
    """An IAM user with an inline policy and an access key; returns (name, (key, secret))."""
    name = uniq("as-u")
    iam.create_user(UserName=name, Path=path)
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=doc(*statements))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, (key["AccessKeyId"], key["SecretAccessKey"])


def new_user(srv, iam, *statements, path="/"):
    """An IAM user with an inline policy; returns (name, its ECS client)."""
    name, creds = user_key(iam, *statements, path=path)
    return name, client(srv, "ecs", creds)


def new_role_session(srv, iam, *statements):
    """A role trusting the account, its policy, and an ECS client of a session of it; returns (role, client)."""
    _, creds = user_key(iam, allow("sts:AssumeRole"))
    sts = client(srv, "sts", creds)
    role = uniq("as-r")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ROOT_ARN}, "Action": "sts:AssumeRole"}]}))
    iam.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=doc(*statements))
    creds = sts.assume_role(RoleArn=role_arn(role), RoleSessionName="as-session")["Credentials"]
    return role, client(srv, "ecs", creds)


def values(resp):
    return {s["name"]: s["value"] for s in resp["settings"]}


def code_of(excinfo):
    return error_of(excinfo)[:2]


def effective(ecs, name, **kw):
    [s] = ecs.list_account_settings(name=name, effectiveSettings=True, **kw)["settings"]
    return s["value"]


def connect(srv, cluster, instance_arn):
    """One poll of the agent channel: the fake instance counts as connected (placement needs that)."""
    r = srv.raw("BerthAgentV20261129.Poll", {"cluster": cluster, "containerInstance": instance_arn, "waitSeconds": 0})
    assert r.status_code == 200, r.text


def is_short(arn, kind):
    rest = arn.removeprefix(f"{ECS_ARN}{kind}/")
    return rest != arn and "/" not in rest


# --- the operations ------------------------------------------------------------------------------------------------

def test_nothing_set_lists_nothing_and_aws_defaults_apply(root):
    assert root.list_account_settings()["settings"] == []
    pages = list(root.get_paginator("list_account_settings").paginate(effectiveSettings=True))
    assert len(pages[0]["settings"]) == 10 and "nextToken" in pages[0], "pages of 10 by default"
    listed = [s for p in pages for s in p["settings"]]
    assert [s["name"] for s in listed] == sorted(s["name"] for s in listed)
    got = {s["name"]: s for s in listed}
    assert {n: got[n]["value"] for n in LONG_ARN_SETTINGS} == dict.fromkeys(LONG_ARN_SETTINGS, "enabled")
    assert got["containerInsights"]["value"] == "disabled"
    assert got["tagResourceAuthorization"]["value"] == "on"
    assert got["fargateTaskRetirementWaitPeriod"]["value"] == "7"
    assert (got["guardDutyActivate"]["value"], got["guardDutyActivate"]["type"]) == ("disabled", "aws_managed")
    assert got["awsvpcTrunking"]["type"] == "user"
    assert all(s["principalArn"] == ROOT_ARN for s in listed)


def test_put_list_delete_for_a_user_a_role_session_and_the_root(srv, iam, root):
    user, user_ecs = new_user(srv, iam, allow("ecs:*"), path="/team/")
    me = user_arn(user, "/team/")
    out = user_ecs.put_account_setting(name="containerInsights", value="enhanced")["setting"]
    assert out == {"name": "containerInsights", "value": "enhanced", "principalArn": me, "type": "user"}
    assert values(user_ecs.list_account_settings()) == {"containerInsights": "enhanced"}
    assert user_ecs.list_account_settings()["settings"][0]["principalArn"] == me
    assert effective(user_ecs, "containerInsights") == "enhanced"
    assert effective(root, "containerInsights") == "disabled", "a user's setting is the user's only"
    # The root sees it by principalArn, and sets another for the user.
    assert values(root.list_account_settings(principalArn=me)) == {"containerInsights": "enhanced"}
    assert root.put_account_setting(name="awsvpcTrunking", value="enabled", principalArn=me)["setting"][
        "principalArn"] == me
    assert values(user_ecs.list_account_settings()) == {"awsvpcTrunking": "enabled", "containerInsights": "enhanced"}
    assert values(user_ecs.list_account_settings(name="awsvpcTrunking", value="disabled")) == {}
    # A user names only itself.
    with pytest.raises(ClientError) as e:
        user_ecs.list_account_settings(principalArn=ROOT_ARN)
    assert code_of(e)[0] == "AccessDeniedException"
    with pytest.raises(ClientError) as e:
        user_ecs.put_account_setting(name="taskLongArnFormat", value="disabled", principalArn=ROOT_ARN)
    assert code_of(e)[0] == "AccessDeniedException"
    assert user_ecs.put_account_setting(name="taskLongArnFormat", value="enabled", principalArn=me)
    # Delete: the user's own goes; the answer is what was removed.
    out = user_ecs.delete_account_setting(name="containerInsights")["setting"]
    assert (out["name"], out["value"], out["principalArn"]) == ("containerInsights", "enhanced", me)
    root.delete_account_setting(name="awsvpcTrunking", principalArn=me)
    user_ecs.delete_account_setting(name="taskLongArnFormat", principalArn=me)
    assert user_ecs.list_account_settings()["settings"] == []
    assert effective(user_ecs, "containerInsights") == "disabled"

    # A role session's settings are its role's.
    role, session_ecs = new_role_session(srv, iam, allow("ecs:*"))
    out = session_ecs.put_account_setting(name="serviceLongArnFormat", value="disabled")["setting"]
    assert out["principalArn"] == role_arn(role)
    assert values(root.list_account_settings(principalArn=role_arn(role))) == {"serviceLongArnFormat": "disabled"}
    assert effective(session_ecs, "serviceLongArnFormat") == "disabled"
    assert session_ecs.delete_account_setting(name="serviceLongArnFormat")["setting"]["value"] == "disabled"
    assert session_ecs.list_account_settings()["settings"] == []

    # The root's own setting is the account default.
    out = root.put_account_setting(name="containerInsights", value="enabled")["setting"]
    assert out["principalArn"] == ROOT_ARN
    try:
        assert effective(user_ecs, "containerInsights") == "enabled"
        assert effective(session_ecs, "containerInsights") == "enabled"
    finally:
        root.delete_account_setting(name="containerInsights")
    assert effective(user_ecs, "containerInsights") == "disabled"


def test_the_default_and_what_applies(srv, iam, root):
    user, user_ecs = new_user(srv, iam, allow("ecs:*"))
    out = user_ecs.put_account_setting_default(name="awsvpcTrunking", value="enabled")["setting"]
    assert (out["principalArn"], out["value"]) == (ROOT_ARN, "enabled")
    try:
        assert effective(user_ecs, "awsvpcTrunking") == "enabled", "no setting of its own: the default"
        assert user_ecs.list_account_settings(effectiveSettings=True, name="awsvpcTrunking")["settings"][0][
            "principalArn"] == user_arn(user)
        assert user_ecs.list_account_settings(effectiveSettings=False)["settings"] == []
        user_ecs.put_account_setting(name="awsvpcTrunking", value="disabled")
        assert effective(user_ecs, "awsvpcTrunking") == "disabled", "its own wins"
        assert values(root.list_account_settings()) == {"awsvpcTrunking": "enabled"}
        # Account-wide settings: the default only.
        assert root.put_account_setting_default(name="fargateTaskRetirementWaitPeriod", value="14")
        assert effective(user_ecs, "fargateTaskRetirementWaitPeriod") == "14"
        with pytest.raises(ClientError) as e:
            user_ecs.put_account_setting(name="fargateTaskRetirementWaitPeriod", value="0")
        code, message = code_of(e)
        assert code == "InvalidParameterException" and "PutAccountSettingDefault" in message, message
        with pytest.raises(ClientError) as e:
            root.put_account_setting(name="fargateFIPSMode", value="enabled", principalArn=user_arn(user))
        assert code_of(e)[0] == "InvalidParameterException"
    finally:
        root.delete_account_setting(name="awsvpcTrunking")
        root.delete_account_setting(name="fargateTaskRetirementWaitPeriod")
    assert effective(root, "fargateTaskRetirementWaitPeriod") == "7"
    # Deleting what is not set answers the value that applies.
    assert root.delete_account_setting(name="awsvpcTrunking")["setting"]["value"] == "disabled"


@pytest.mark.parametrize("name,value", [
    ("taskLongArnFormat", "on"), ("serviceLongArnFormat", "enhanced"), ("containerInsights", "yes"),
    ("tagResourceAuthorization", "enabled"), ("fargateTaskRetirementWaitPeriod", "3"),
    ("defaultLogDriverMode", "enabled"),
])
def test_values_not_allowed_for_the_name(root, name, value):
    with pytest.raises(ClientError) as e:
        root.put_account_setting(name=name, value=value)
    code, message = code_of(e)
    assert code == "InvalidParameterException" and "Valid values" in message and value in message, message


def test_errors(srv, root):
    for call in (lambda: root.put_account_setting(name="longArns", value="enabled"),
                 lambda: root.put_account_setting_default(name="longArns", value="enabled"),
                 lambda: root.delete_account_setting(name="longArns"),
                 lambda: root.list_account_settings(name="longArns")):
        with pytest.raises(ClientError) as e:
            call()
        assert code_of(e) == ("InvalidParameterException", "name 'longArns' is not a valid account setting name.")
    # The values each setting takes.
    for name, value in [("containerInsights", "enhanced"), ("tagResourceAuthorization", "off"),
                        ("fargateTaskRetirementWaitPeriod", "0"), ("defaultLogDriverMode", "blocking")]:
        assert root.put_account_setting_default(name=name, value=value)["setting"]["value"] == value
        root.delete_account_setting(name=name)
    # AWS's own setting; principals that are not this account's users, roles or root; value without name.
    with pytest.raises(ClientError) as e:
        root.put_account_setting_default(name="guardDutyActivate", value="enabled")
    assert code_of(e)[0] == "InvalidParameterException" and "read-only" in code_of(e)[1]
    for bad in ("arn:aws:iam::999999999999:root", f"arn:aws:iam::{ACCOUNT}:group/admins", "alice"):
        with pytest.raises(ClientError) as e:
            root.put_account_setting(name="awsvpcTrunking", value="enabled", principalArn=bad)
        assert code_of(e)[0] == "InvalidParameterException", bad
    with pytest.raises(ClientError) as e:
        root.list_account_settings(value="enabled")
    assert code_of(e)[0] == "InvalidParameterException"
    # The aws CLI shows ECS's error.
    rc, _, stderr = srv.cli("ecs", "put-account-setting", "--name", "taskLongArnFormat", "--value", "maybe",
                            check=False)
    assert rc != 0 and "InvalidParameterException" in stderr, stderr


def test_with_the_aws_cli(srv, iam, root):
    user, _ = new_user(srv, iam)
    rc, out, _ = srv.cli("ecs", "put-account-setting-default", "--name", "awsvpcTrunking", "--value", "enabled")
    assert out["setting"]["principalArn"] == ROOT_ARN
    try:
        rc, out, _ = srv.cli("ecs", "put-account-setting", "--name", "awsvpcTrunking", "--value", "disabled",
                             "--principal-arn", user_arn(user))
        assert out["setting"] == {"name": "awsvpcTrunking", "value": "disabled", "principalArn": user_arn(user),
                                  "type": "user"}
        rc, out, _ = srv.cli("ecs", "list-account-settings", "--effective-settings", "--name", "awsvpcTrunking",
                             "--principal-arn", user_arn(user))
        assert values(out) == {"awsvpcTrunking": "disabled"}
        rc, out, _ = srv.cli("ecs", "list-account-settings", "--effective-settings", "--name", "awsvpcTrunking")
        assert values(out) == {"awsvpcTrunking": "enabled"}
        rc, out, _ = srv.cli("ecs", "delete-account-setting", "--name", "awsvpcTrunking", "--principal-arn",
                             user_arn(user))
        assert out["setting"]["value"] == "disabled"
        # The CLI pages through all of them.
        rc, out, _ = srv.cli("ecs", "list-account-settings", "--effective-settings")
        assert len(out["settings"]) == 11
    finally:
        srv.cli("ecs", "delete-account-setting", "--name", "awsvpcTrunking")


# --- what they do --------------------------------------------------------------------------------------------------

def test_short_arns_for_what_is_created_afterwards(srv, iam, root):
    """A user with the long formats disabled for itself gets short ARNs; everything still finds them."""
    user, u = new_user(srv, iam, allow("ecs:*"))
    for name in LONG_ARN_SETTINGS:
        assert u.put_account_setting(name=name, value="disabled")["setting"]["value"] == "disabled"
    cluster = uniq("as-short")
    root.create_cluster(clusterName=cluster)
    family = uniq("as-td")
    root.register_task_definition(**simple_td(family))

    # A container instance.
    inst = register_instance(u, cluster=cluster)["containerInstanceArn"]
    assert is_short(inst, "container-instance"), inst
    connect(srv, cluster, inst)
    [ci] = u.describe_container_instances(cluster=cluster, containerInstances=[inst])["containerInstances"]
    assert ci["containerInstanceArn"] == inst and ci["agentConnected"]
    put = u.put_attributes(cluster=cluster, attributes=[{"name": "as-attr", "value": "1", "targetId": inst}])
    assert put["attributes"][0]["targetId"] == inst
    assert inst in u.list_container_instances(cluster=cluster, filter="attribute:as-attr == 1")[
        "containerInstanceArns"]

    # Tasks: RunTask answers the short ARN; Describe, List and Stop take it (with the cluster), and by id too.
    out = u.run_task(cluster=cluster, taskDefinition=family)
    assert out["failures"] == [], out["failures"]
    task = out["tasks"][0]["taskArn"]
    assert is_short(task, "task"), task
    assert is_short(out["tasks"][0]["containers"][0]["containerArn"], "container")
    assert out["tasks"][0]["containerInstanceArn"] == inst
    assert u.describe_tasks(cluster=cluster, tasks=[task])["tasks"][0]["taskArn"] == task
    assert u.describe_tasks(cluster=cluster, tasks=[task.rsplit("/", 1)[1]])["tasks"][0]["taskArn"] == task
    assert task in u.list_tasks(cluster=cluster)["taskArns"]
    assert task in u.list_tasks(cluster=cluster, containerInstance=inst)["taskArns"]
    rc, described, _ = srv.cli("ecs", "describe-tasks", "--cluster", cluster, "--tasks", task)
    assert described["tasks"][0]["taskArn"] == task
    stopped = u.stop_task(cluster=cluster, task=task, reason="done")["task"]
    assert (stopped["taskArn"], stopped["desiredStatus"]) == (task, "STOPPED")
    # The root's tasks keep the long format.
    long_task = root.run_task(cluster=cluster, taskDefinition=family)["tasks"][0]["taskArn"]
    assert long_task.startswith(f"{ECS_ARN}task/{cluster}/"), long_task
    root.stop_task(cluster=cluster, task=long_task)
    # StartTask on the instance by its short ARN.
    started = u.start_task(cluster=cluster, taskDefinition=family, containerInstances=[inst])
    assert started["failures"] == [] and is_short(started["tasks"][0]["taskArn"], "task")
    u.stop_task(cluster=cluster, task=started["tasks"][0]["taskArn"])

    # Services: a short ARN; Describe, Update and Delete take it; its tasks get its creator's short format.
    service_name = uniq("as-svc")
    svc = u.create_service(cluster=cluster, serviceName=service_name, taskDefinition=family, desiredCount=1)["service"]
    service = svc["serviceArn"]
    assert service == f"{ECS_ARN}service/{service_name}"
    assert svc["createdBy"] == user_arn(user)
    assert u.describe_services(cluster=cluster, services=[service])["services"][0]["serviceArn"] == service
    assert service in u.list_services(cluster=cluster)["serviceArns"]
    service_tasks = wait_until("the service's task", lambda: u.list_tasks(cluster=cluster, serviceName=service)[
        "taskArns"], timeout=20)
    assert all(is_short(t, "task") for t in service_tasks), service_tasks
    u.update_service(cluster=cluster, service=service, desiredCount=0)

    # Tags: as on ECS, not on resources with short ARNs, nor when creating them.
    for arn in (task, service, inst):
        for call in (lambda: u.tag_resource(resourceArn=arn, tags=[{"key": "a", "value": "b"}]),
                     lambda: u.list_tags_for_resource(resourceArn=arn)):
            with pytest.raises(ClientError) as e:
                call()
            assert code_of(e) == ("InvalidParameterException", "Long arn format must be used for tagging operations")
    with pytest.raises(ClientError) as e:
        u.run_task(cluster=cluster, taskDefinition=family, tags=[{"key": "a", "value": "b"}])
    assert code_of(e) == ("InvalidParameterException", "Long arn format must be enabled for tagging.")
    with pytest.raises(ClientError) as e:
        u.create_service(cluster=cluster, serviceName=uniq("as-svc"), taskDefinition=family, desiredCount=0,
                         tags=[{"key": "a", "value": "b"}])
    assert code_of(e)[0] == "InvalidParameterException"
    u.delete_service(cluster=cluster, service=service, force=True)

    # Back to the long formats: new resources get long ARNs again, the old keep theirs.
    for name in LONG_ARN_SETTINGS:
        u.delete_account_setting(name=name)
    again = u.run_task(cluster=cluster, taskDefinition=family)["tasks"][0]["taskArn"]
    assert again.startswith(f"{ECS_ARN}task/{cluster}/"), again
    u.stop_task(cluster=cluster, task=again)
    assert u.describe_tasks(cluster=cluster, tasks=[task])["tasks"][0]["taskArn"] == task
    u.deregister_container_instance(cluster=cluster, containerInstance=inst, force=True)


def test_container_insights_default_for_new_clusters(srv, iam, root):
    def insights(name):
        [c] = root.describe_clusters(clusters=[name], include=["SETTINGS"])["clusters"]
        return {s["name"]: s["value"] for s in c["settings"]}["containerInsights"]

    before = uniq("as-ci")
    assert {"name": "containerInsights", "value": "disabled"} in root.create_cluster(clusterName=before)[
        "cluster"]["settings"]
    root.put_account_setting_default(name="containerInsights", value="enhanced")
    try:
        made = uniq("as-ci")
        out = root.create_cluster(clusterName=made)["cluster"]
        assert {"name": "containerInsights", "value": "enhanced"} in out["settings"]
        assert insights(made) == "enhanced"
        assert insights(before) == "disabled", "clusters made before keep theirs"
        # A cluster setting given wins; so does the caller's own account setting over the default.
        given = uniq("as-ci")
        root.create_cluster(clusterName=given, settings=[{"name": "containerInsights", "value": "disabled"}])
        assert insights(given) == "disabled"
        _, u = new_user(srv, iam, allow("ecs:*"))
        u.put_account_setting(name="containerInsights", value="enabled")
        mine = uniq("as-ci")
        u.create_cluster(clusterName=mine)
        assert insights(mine) == "enabled"
        rc, out, _ = srv.cli("ecs", "create-cluster", "--cluster-name", uniq("as-ci"))
        assert {"name": "containerInsights", "value": "enhanced"} in out["cluster"]["settings"]
    finally:
        root.delete_account_setting(name="containerInsights")


def test_tag_resource_authorization_off(srv, iam, root):
    """Without ecs:TagResource a user creates tagged clusters once its tagResourceAuthorization is off."""
    statements = (allow(["ecs:CreateCluster", "ecs:DescribeClusters", "ecs:PutAccountSetting",
                         "ecs:DeleteAccountSetting"]),)
    user, u = new_user(srv, iam, *statements)
    tags = [{"key": "team", "value": "ml"}]
    with pytest.raises(ClientError) as e:
        u.create_cluster(clusterName=uniq("as-tag"), tags=tags)
    code, message = code_of(e)
    assert code == "AccessDeniedException" and "ecs:TagResource" in message, message
    u.create_cluster(clusterName=uniq("as-tag"))  # without tags: nothing more needed

    assert u.put_account_setting(name="tagResourceAuthorization", value="off")["setting"]["value"] == "off"
    name = uniq("as-tag")
    u.create_cluster(clusterName=name, tags=tags)
    [c] = u.describe_clusters(clusters=[name], include=["TAGS"])["clusters"]
    assert tag_map(c["tags"]) == {"team": "ml"}
    # Only for this user: another without ecs:TagResource is still refused.
    _, other = new_user(srv, iam, *statements)
    with pytest.raises(ClientError) as e:
        other.create_cluster(clusterName=uniq("as-tag"), tags=tags)
    assert code_of(e)[0] == "AccessDeniedException"
    # On again: refused again.
    u.delete_account_setting(name="tagResourceAuthorization")
    with pytest.raises(ClientError) as e:
        u.create_cluster(clusterName=uniq("as-tag"), tags=tags)
    assert code_of(e)[0] == "AccessDeniedException"
