"""STS temporary credentials against one `berth up --no-agent`: AssumeRole (the trust policy decides who may, the
caller's own policies must allow it too, session policies narrow the role's permissions, session tags become
aws:PrincipalTag, durations are bounded by the role's MaxSessionDuration and role chaining by an hour, the root may
not assume roles) and GetSessionToken; the credentials work with boto3 and the aws CLI, GetCallerIdentity names the
session, and a tampered or missing session token is refused.
"""

import datetime
import json
import subprocess
import sys

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION, error_of, uniq
from test_iam import allow, doc, query, role_arn, xml_error  # noqa: F401

pytestmark = pytest.mark.berth_only


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory(extra_args=["--no-agent"])


@pytest.fixture(scope="module")
def iam(srv):
    return srv.client("iam")


def client(srv, service, creds):
    """A client with temporary credentials (dict as STS returns them) or a (key, secret) pair."""
    if isinstance(creds, dict):
        kw = dict(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                  aws_session_token=creds["SessionToken"])
    else:
        kw = dict(aws_access_key_id=creds[0], aws_secret_access_key=creds[1])
    return boto3.client(service, endpoint_url=srv.endpoint, region_name=REGION,
                        config=Config(retries={"total_max_attempts": 1}), **kw)


def trusting(principal, *actions, condition=None):
    statement = {"Effect": "Allow", "Principal": principal, "Action": list(actions) or ["sts:AssumeRole"]}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def user_with(iam, *statements):
    """A user with an inline policy and an access key; returns (name, (key, secret))."""
    name = uniq("sts-u")
    iam.create_user(UserName=name)
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=doc(*statements))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return name, (key["AccessKeyId"], key["SecretAccessKey"])


def role_with(iam, trust_policy, *statements, **kw):
    name = uniq("sts-r")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_policy, **kw)
    if statements:
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=doc(*statements))
    return name


def code(excinfo):
    return error_of(excinfo)[0]


def test_assume_role_gives_the_role_s_permissions_and_identity(srv, iam):
    user, key = user_with(iam, allow("sts:AssumeRole"))
    role = role_with(iam, trusting({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}), allow(["ecs:List*", "ecs:Describe*"]))
    sts = client(srv, "sts", key)
    out = sts.assume_role(RoleArn=role_arn(role), RoleSessionName="training-run-1", DurationSeconds=900)
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["SecretAccessKey"]) == 40
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/training-run-1"
    role_id = iam.get_role(RoleName=role)["Role"]["RoleId"]
    assert out["AssumedRoleUser"]["AssumedRoleId"] == f"{role_id}:training-run-1"
    left = (creds["Expiration"] - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    assert 850 < left <= 905, left

    me = client(srv, "sts", creds).get_caller_identity()
    assert (me["Arn"], me["UserId"], me["Account"]) == (out["AssumedRoleUser"]["Arn"], f"{role_id}:training-run-1",
                                                          ACCOUNT)
    ecs = client(srv, "ecs", creds)
    ecs.list_clusters()
    with pytest.raises(ClientError) as e:
        ecs.create_cluster(clusterName=uniq("no"))
    c, message, status = error_of(e)
    assert (c, status) == ("AccessDeniedException", 400)
    assert message.startswith(f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{role}/training-run-1 is not authorized "
                              "to perform: ecs:CreateCluster"), message
    # The aws CLI takes the same credentials.
    env = srv.cli_env(AWS_ACCESS_KEY_ID=creds["AccessKeyId"], AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
                      AWS_SESSION_TOKEN=creds["SessionToken"])
    env.pop("AWS_SHARED_CREDENTIALS_FILE", None)
    p = subprocess.run([sys.executable, "-m", "awscli", "--endpoint-url", srv.endpoint, "--region", REGION,
                        "--output", "json", "sts", "get-caller-identity"], env=env, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["Arn"] == me["Arn"]


def test_who_may_assume_a_role(srv, iam):
    user, key = user_with(iam, allow("sts:AssumeRole"))
    sts = client(srv, "sts", key)
    # A trust policy naming another principal, one naming the service only, a missing role: all denied alike.
    other = role_with(iam, trusting({"AWS": f"arn:aws:iam::{ACCOUNT}:user/someone-else"}))
    service_only = role_with(iam, trusting({"Service": "ecs-tasks.amazonaws.com"}))
    for arn in (role_arn(other), role_arn(service_only), role_arn("never-created"),
                f"arn:aws:iam::999999999999:role/{other}"):
        with pytest.raises(ClientError) as e:
            sts.assume_role(RoleArn=arn, RoleSessionName="s1")
        c, message, status = error_of(e)
        assert (c, status) == ("AccessDenied", 403), (arn, c, status)
        assert f"is not authorized to perform: sts:AssumeRole on resource: {arn}" in message
    # Trusting the user by ARN works; the user's own policies must allow the call too.
    named = role_with(iam, trusting({"AWS": f"arn:aws:iam::{ACCOUNT}:user/{user}"}))
    sts.assume_role(RoleArn=role_arn(named), RoleSessionName="s1")
    _, no_rights = user_with(iam)
    with pytest.raises(ClientError) as e:
        client(srv, "sts", no_rights).assume_role(RoleArn=role_arn(named), RoleSessionName="s1")
    assert code(e) == "AccessDenied"
    # ExternalId conditions in the trust policy.
    guarded = role_with(iam, trusting({"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                                      condition={"StringEquals": {"sts:ExternalId": "secret-42"}}))
    with pytest.raises(ClientError):
        sts.assume_role(RoleArn=role_arn(guarded), RoleSessionName="s1")
    sts.assume_role(RoleArn=role_arn(guarded), RoleSessionName="s1", ExternalId="secret-42")
    # The account root may not assume roles, as on AWS.
    with pytest.raises(ClientError) as e:
        srv.client("sts").assume_role(RoleArn=role_arn(named), RoleSessionName="root")
    assert error_of(e)[:2] == ("AccessDenied", "Roles may not be assumed by root accounts.")


def test_session_policies_and_tags(srv, iam):
    user, key = user_with(iam, allow("sts:AssumeRole"))
    role = role_with(iam, trusting({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "sts:AssumeRole", "sts:TagSession"),
                     allow(["ecs:List*", "ecs:Describe*"]),
                     allow("logs:DescribeLogGroups", condition={"StringEquals": {"aws:PrincipalTag/team": "ml"}}))
    sts = client(srv, "sts", key)
    # A session policy narrows the role: ListClusters only.
    narrow = sts.assume_role(RoleArn=role_arn(role), RoleSessionName="narrow",
                             Policy=doc(allow("ecs:ListClusters")))["Credentials"]
    ecs = client(srv, "ecs", narrow)
    ecs.list_clusters()
    with pytest.raises(ClientError) as e:
        ecs.describe_clusters()
    assert code(e) == "AccessDeniedException"
    # ... and never widens it.
    wide = sts.assume_role(RoleArn=role_arn(role), RoleSessionName="wide", Policy=doc(allow("*")))["Credentials"]
    with pytest.raises(ClientError):
        client(srv, "ecs", wide).create_cluster(clusterName=uniq("no"))
    # Session tags are the session's principal tags.
    tagged = sts.assume_role(RoleArn=role_arn(role), RoleSessionName="tagged",
                             Tags=[{"Key": "team", "Value": "ml"}])
    assert tagged["PackedPolicySize"] >= 1
    client(srv, "logs", tagged["Credentials"]).describe_log_groups()
    untagged = sts.assume_role(RoleArn=role_arn(role), RoleSessionName="untagged")["Credentials"]
    with pytest.raises(ClientError):
        client(srv, "logs", untagged).describe_log_groups()
    # Tags need sts:TagSession in the trust policy.
    no_tags = role_with(iam, trusting({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=role_arn(no_tags), RoleSessionName="s2", Tags=[{"Key": "a", "Value": "b"}])
    assert code(e) == "AccessDenied"
    # A malformed session policy.
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=role_arn(role), RoleSessionName="bad", Policy='{"Statement": [{"Effect": "Maybe"}]}')
    assert code(e) == "MalformedPolicyDocument"


def test_durations_and_chaining(srv, iam):
    user, key = user_with(iam, allow("sts:AssumeRole"))
    anyone = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    role = role_with(iam, trusting(anyone), allow("sts:AssumeRole"), MaxSessionDuration=7200)
    sts = client(srv, "sts", key)
    sts.assume_role(RoleArn=role_arn(role), RoleSessionName="long", DurationSeconds=7200)
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=role_arn(role), RoleSessionName="too-long", DurationSeconds=7201)
    assert code(e) == "ValidationError"
    assert "MaxSessionDuration" in error_of(e)[1]
    # boto3 refuses less than 900 s itself; the server says so too.
    too_short = query(srv, "AssumeRole", {"RoleArn": role_arn(role), "RoleSessionName": "short",
                                          "DurationSeconds": "899"}, service="sts", creds=key)
    assert xml_error(too_short)[:3] == (400, "Sender", "ValidationError"), too_short.text
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=role_arn(role), RoleSessionName="a b")
    assert code(e) == "ValidationError"
    # A role session assuming a role (chaining): at most an hour.
    first = sts.assume_role(RoleArn=role_arn(role), RoleSessionName="first")["Credentials"]
    chained = client(srv, "sts", first)
    out = chained.assume_role(RoleArn=role_arn(role), RoleSessionName="second")
    assert out["AssumedRoleUser"]["Arn"].endswith(f"assumed-role/{role}/second")
    with pytest.raises(ClientError) as e:
        chained.assume_role(RoleArn=role_arn(role), RoleSessionName="third", DurationSeconds=3601)
    assert code(e) == "ValidationError"


def test_get_session_token(srv, iam):
    user, key = user_with(iam, allow(["sts:GetSessionToken", "ecs:ListClusters"]))
    creds = client(srv, "sts", key).get_session_token(DurationSeconds=900)["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    me = client(srv, "sts", creds).get_caller_identity()
    assert me["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/{user}"
    client(srv, "ecs", creds).list_clusters()
    with pytest.raises(ClientError):
        client(srv, "ecs", creds).create_cluster(clusterName=uniq("no"))
    # The root's session is the root, for at most an hour.
    root = srv.client("sts").get_session_token(DurationSeconds=3600)["Credentials"]
    assert client(srv, "sts", root).get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    with pytest.raises(ClientError) as e:
        srv.client("sts").get_session_token(DurationSeconds=3601)
    assert code(e) == "ValidationError"
    # Sessions cannot make sessions.
    with pytest.raises(ClientError) as e:
        client(srv, "sts", creds).get_session_token()
    assert code(e) == "AccessDenied"


def test_tampered_and_missing_tokens_are_refused(srv, iam):
    user, key = user_with(iam, allow(["sts:GetSessionToken", "ecs:ListClusters"]))
    creds = client(srv, "sts", key).get_session_token(DurationSeconds=900)["Credentials"]
    forged = dict(creds, SessionToken=creds["SessionToken"][:-4] + "AAAA")
    missing = dict(creds, SessionToken="")
    other_key = dict(creds, AccessKeyId="ASIA" + "B" * 16)
    for bad in (forged, other_key):
        with pytest.raises(ClientError) as e:
            client(srv, "ecs", bad).list_clusters()
        assert code(e) == "UnrecognizedClientException"
        with pytest.raises(ClientError) as e:
            client(srv, "sts", bad).get_caller_identity()
        assert code(e) == "InvalidClientTokenId"
    ecs = boto3.client("ecs", endpoint_url=srv.endpoint, region_name=REGION,
                       aws_access_key_id=missing["AccessKeyId"], aws_secret_access_key=missing["SecretAccessKey"],
                       config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises(ClientError) as e:
        ecs.list_clusters()
    assert code(e) == "UnrecognizedClientException"
