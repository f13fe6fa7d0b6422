"""IAM policies on Secrets Manager and SSM Parameter Store: each operation asks for its action on the secret's or
the parameter's ARN (Service Authorization Reference), with the resource's tags and the services' condition keys;
a denied call changes nothing.
"""

import json

import pytest

from conftest import ACCOUNT, REGION, uniq
from test_iam_enforcement import allowed, denied, make_user, root  # noqa: F401

pytestmark = pytest.mark.berth_only

SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:"
PARAM_ARN = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/"


def stmt(effect, action, resource, condition=None):
    s = {"Effect": effect, "Action": action, "Resource": resource}
    if condition:
        s["Condition"] = condition
    return s


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def sm(p):
    return p.client("secretsmanager")


def ssm(p):
    return p.client("ssm")


def test_secrets_by_name_prefix(root):
    team = uniq("team-a")
    mine = sm(root).create_secret(Name=f"{team}/token", SecretString="s3cr3t-a")["ARN"]
    theirs = sm(root).create_secret(Name=f"{uniq('team-b')}/token", SecretString="s3cr3t-b")["ARN"]
    user = make_user(root, inline=[policy(
        stmt("Allow", ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], f"{SECRET_ARN}{team}/*"),
        stmt("Allow", "secretsmanager:ListSecrets", "*"))])
    assert sm(user).get_secret_value(SecretId=f"{team}/token")["SecretString"] == "s3cr3t-a"
    assert sm(user).describe_secret(SecretId=mine)["ARN"] == mine
    msg = denied(user, sm(user).get_secret_value, "secretsmanager:GetSecretValue", theirs, SecretId=theirs)
    assert "s3cr3t" not in msg
    denied(user, sm(user).put_secret_value, "secretsmanager:PutSecretValue", mine, SecretId=mine,
           SecretString="overwritten")
    assert sm(root).get_secret_value(SecretId=mine)["SecretString"] == "s3cr3t-a", "a denied write changes nothing"
    denied(user, sm(user).delete_secret, "secretsmanager:DeleteSecret", mine, SecretId=mine,
           ForceDeleteWithoutRecovery=True)
    assert "DeletedDate" not in sm(root).describe_secret(SecretId=mine)
    # CreateSecret is on the new secret's ARN, whose suffix is not chosen yet: name-* covers it.
    denied(user, sm(user).create_secret, "secretsmanager:CreateSecret", Name=f"{team}/new", SecretString="x")
    assert allowed(sm(user).list_secrets)


def test_secrets_by_resource_tag_and_service_keys(root):
    tagged = sm(root).create_secret(Name=uniq("tagged"), SecretString="t",
                                    Tags=[{"Key": "team", "Value": "ml"}])["ARN"]
    other = sm(root).create_secret(Name=uniq("other"), SecretString="o",
                                   Tags=[{"Key": "team", "Value": "web"}])["ARN"]
    user = make_user(root, inline=[policy(
        stmt("Allow", "secretsmanager:GetSecretValue", "*",
             {"StringEquals": {"secretsmanager:ResourceTag/team": "ml"}}),
        # AWS's documented guard: deleting is allowed, deleting without a recovery window is not.
        stmt("Allow", "secretsmanager:DeleteSecret", "*"),
        stmt("Deny", "secretsmanager:DeleteSecret", "*",
             {"Bool": {"secretsmanager:ForceDeleteWithoutRecovery": "true"}}),
        stmt("Allow", "secretsmanager:BatchGetSecretValue", "*"))])
    assert sm(user).get_secret_value(SecretId=tagged)["SecretString"] == "t"
    denied(user, sm(user).get_secret_value, "secretsmanager:GetSecretValue", other, SecretId=other)
    # BatchGetSecretValue needs GetSecretValue on each secret it reads.
    got = sm(user).batch_get_secret_value(SecretIdList=[tagged])
    assert [v["SecretString"] for v in got["SecretValues"]] == ["t"]
    denied(user, sm(user).batch_get_secret_value, "secretsmanager:GetSecretValue", other,
           SecretIdList=[tagged, other])
    # Deleting with a recovery window is allowed, at once is not.
    denied(user, sm(user).delete_secret, "secretsmanager:DeleteSecret", other, explicit=True, SecretId=other,
           ForceDeleteWithoutRecovery=True)
    sm(user).delete_secret(SecretId=other, RecoveryWindowInDays=7)
    assert "DeletedDate" in sm(root).describe_secret(SecretId=other)


def test_parameters_by_path(root):
    base = f"/{uniq('ml')}"
    prod = f"/{uniq('prod')}"
    ssm(root).put_parameter(Name=f"{base}/db-url", Value="postgres://ml", Type="SecureString")
    ssm(root).put_parameter(Name=f"{base}/deep/flag", Value="on", Type="String")
    ssm(root).put_parameter(Name=f"{prod}/db-url", Value="postgres://prod", Type="SecureString")
    user = make_user(root, inline=[policy(
        stmt("Allow", ["ssm:GetParameter", "ssm:GetParameters"], f"{PARAM_ARN}{base[1:]}/*"),
        stmt("Allow", "ssm:GetParametersByPath", f"{PARAM_ARN}{base[1:]}"),
        stmt("Allow", "ssm:PutParameter", f"{PARAM_ARN}{base[1:]}/*"),
        stmt("Deny", "ssm:PutParameter", "*", {"Bool": {"ssm:Overwrite": "true"}}),
        stmt("Allow", "ssm:DescribeParameters", "*"))])
    got = ssm(user).get_parameter(Name=f"{base}/db-url", WithDecryption=True)["Parameter"]
    assert got["Value"] == "postgres://ml"
    msg = denied(user, ssm(user).get_parameter, "ssm:GetParameter", f"{PARAM_ARN}{prod[1:]}/db-url",
                 Name=f"{prod}/db-url", WithDecryption=True)
    assert "postgres" not in msg
    denied(user, ssm(user).get_parameters, "ssm:GetParameters", f"{PARAM_ARN}{prod[1:]}/db-url",
           Names=[f"{base}/db-url", f"{prod}/db-url"])
    by_path = ssm(user).get_parameters_by_path(Path=base, Recursive=True)["Parameters"]
    assert sorted(p["Name"] for p in by_path) == [f"{base}/db-url", f"{base}/deep/flag"]
    denied(user, ssm(user).get_parameters_by_path, "ssm:GetParametersByPath", f"{PARAM_ARN}{prod[1:]}", Path=prod)
    ssm(user).put_parameter(Name=f"{base}/new", Value="1", Type="String")
    denied(user, ssm(user).put_parameter, "ssm:PutParameter", f"{PARAM_ARN}{base[1:]}/new", explicit=True,
           Name=f"{base}/new", Value="2", Type="String", Overwrite=True)
    assert ssm(root).get_parameter(Name=f"{base}/new")["Parameter"]["Value"] == "1"
    denied(user, ssm(user).delete_parameter, "ssm:DeleteParameter", f"{PARAM_ARN}{base[1:]}/new",
           Name=f"{base}/new")
    assert ssm(root).get_parameter(Name=f"{base}/new")["Parameter"]["Version"] == 1


def test_parameters_by_tag(root):
    name = f"/{uniq('tagged')}/p"
    ssm(root).put_parameter(Name=name, Value="v", Type="String", Tags=[{"Key": "team", "Value": "ml"}])
    other = f"/{uniq('tagged')}/q"
    ssm(root).put_parameter(Name=other, Value="w", Type="String", Tags=[{"Key": "team", "Value": "web"}])
    user = make_user(root, inline=[policy(
        stmt("Allow", ["ssm:GetParameter", "ssm:AddTagsToResource"], "*",
             {"StringEquals": {"aws:ResourceTag/team": "ml"}}))])
    assert ssm(user).get_parameter(Name=name)["Parameter"]["Value"] == "v"
    denied(user, ssm(user).get_parameter, "ssm:GetParameter", f"{PARAM_ARN}{other[1:]}", Name=other)
    denied(user, ssm(user).add_tags_to_resource, "ssm:AddTagsToResource", f"{PARAM_ARN}{other[1:]}",
           ResourceType="Parameter", ResourceId=other, Tags=[{"Key": "team", "Value": "ml"}])
    tags = ssm(root).list_tags_for_resource(ResourceType="Parameter", ResourceId=other)["TagList"]
    assert tags == [{"Key": "team", "Value": "web"}]
