"""Secrets Manager against one `berth up --no-agent`, with boto3 and the aws CLI: secrets by name, full and partial
ARN; string and binary values; versions and staging labels (PutSecretValue, UpdateSecret, UpdateSecretVersionStage,
ListSecretVersionIds); ClientRequestToken retries; ListSecrets filters, sorting and paging; BatchGetSecretValue;
deletion with a recovery window, restore and forced deletion; tags; bad input answered with Secrets Manager's codes;
and the values never reach the store file or the server's log in clear.
"""

import base64
import datetime
import json
import uuid

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION, error_of, expect_error, uniq

pytestmark = pytest.mark.berth_only

ARN_PREFIX = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:"
DELETED = "You can't perform this operation on the secret because it was marked for deletion."


@pytest.fixture(scope="module")
def srv(server_factory):
    # Debug logging, so that the leak check reads everything the server says about requests.
    return server_factory(extra_args=["--no-agent"], env={"BERTH_LOG": "debug"})


@pytest.fixture(scope="module")
def sm(srv):
    return srv.client("secretsmanager")


def token():
    return str(uuid.uuid4())


def raw(srv, operation, body, service="secretsmanager", prefix="secretsmanager."):
    """POST a signed JSON 1.1 request; returns (status, parsed body)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": prefix + operation}
    req = AWSRequest(method="POST", url=srv.endpoint + "/", data=data, headers=headers)
    SigV4Auth(Credentials(*srv.creds), service, REGION).add_auth(req)
    resp = requests.post(srv.endpoint + "/", data=data, headers=dict(req.prepare().headers), timeout=30)
    return resp.status_code, resp.json()


def raw_error(srv, operation, body):
    status, doc = raw(srv, operation, body)
    assert status == 400, (status, doc)
    return doc["__type"], doc.get("message", "")


def manual_pages(call, key, **kw):
    """Every item of a listing without a botocore paginator, following NextToken."""
    items, token = [], None
    while True:
        page = call(**kw, **({"NextToken": token} if token else {}))
        items += page[key]
        token = page.get("NextToken")
        if not token:
            return items


def test_create_get_and_describe(sm):
    name = uniq("app/db")
    out = sm.create_secret(Name=name, SecretString='{"user":"ml","password":"pw-1"}', Description="the db",
                           Tags=[{"Key": "team", "Value": "ml"}])
    assert out["Name"] == name
    assert out["ARN"].startswith(ARN_PREFIX + name + "-") and len(out["ARN"]) == len(ARN_PREFIX + name) + 7
    assert out["ARN"][-6:].isalnum()
    got = sm.get_secret_value(SecretId=name)
    assert got["SecretString"] == '{"user":"ml","password":"pw-1"}'
    assert (got["ARN"], got["Name"], got["VersionId"]) == (out["ARN"], name, out["VersionId"])
    assert got["VersionStages"] == ["AWSCURRENT"]
    assert isinstance(got["CreatedDate"], datetime.datetime)
    d = sm.describe_secret(SecretId=name)
    assert d["Description"] == "the db"
    assert d["Tags"] == [{"Key": "team", "Value": "ml"}]
    assert d["VersionIdsToStages"] == {out["VersionId"]: ["AWSCURRENT"]}
    assert "DeletedDate" not in d and "SecretString" not in d
    assert d["LastAccessedDate"].hour == 0, "the day of the last read"
    assert d["CreatedDate"] <= d["LastChangedDate"]


def test_secret_ids_by_name_full_and_partial_arn(sm):
    name = uniq("ids")
    arn = sm.create_secret(Name=name, SecretString="v")["ARN"]
    for secret_id in (name, arn, ARN_PREFIX + name):
        assert sm.get_secret_value(SecretId=secret_id)["ARN"] == arn
    other_suffix = arn[:-6] + ("zzzzzz" if not arn.endswith("zzzzzz") else "yyyyyy")
    for missing in (other_suffix, uniq("nothing"), f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT}:secret:{name}"):
        code, msg = expect_error(sm.describe_secret, "ResourceNotFoundException", SecretId=missing)
        assert msg == "Secrets Manager can't find the specified secret."
    expect_error(sm.describe_secret, "InvalidParameterException", "SecretId",
                 SecretId="arn:aws:ssm:us-east-1:123456789012:parameter/x")


def test_binary_secrets(sm):
    name = uniq("bin")
    blob = bytes(range(256))
    sm.create_secret(Name=name, SecretBinary=blob)
    got = sm.get_secret_value(SecretId=name)
    assert got["SecretBinary"] == blob and "SecretString" not in got
    sm.put_secret_value(SecretId=name, SecretString="now text")
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "now text"
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretBinary"] == blob


def test_versions_and_staging_labels(sm):
    name = uniq("stages")
    v1 = sm.create_secret(Name=name, SecretString="one")["VersionId"]
    v2 = sm.put_secret_value(SecretId=name, SecretString="two")
    assert v2["VersionStages"] == ["AWSCURRENT"]
    v2 = v2["VersionId"]
    stages = sm.describe_secret(SecretId=name)["VersionIdsToStages"]
    assert stages == {v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"]}
    pending = sm.put_secret_value(SecretId=name, SecretString="three", VersionStages=["AWSPENDING"])["VersionId"]
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "two", "explicit stages leave AWSCURRENT alone"
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSPENDING")["SecretString"] == "three"
    assert sm.get_secret_value(SecretId=name, VersionId=v1)["SecretString"] == "one"
    assert sm.get_secret_value(SecretId=name, VersionId=v1, VersionStage="AWSPREVIOUS")["SecretString"] == "one"
    code, msg = expect_error(sm.get_secret_value, "InvalidRequestException", SecretId=name, VersionId=v1,
                             VersionStage="AWSCURRENT")
    assert "VersionStage" in msg
    code, msg = expect_error(sm.get_secret_value, "ResourceNotFoundException", SecretId=name, VersionStage="blue")
    assert "staging label: blue" in msg
    expect_error(sm.get_secret_value, "ResourceNotFoundException", SecretId=name, VersionId=token())

    # Promote the pending version: AWSCURRENT moves, the old current becomes AWSPREVIOUS, v1 is deprecated.
    code, msg = expect_error(sm.update_secret_version_stage, "InvalidParameterException", "RemoveFromVersionId",
                             SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=pending)
    sm.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=pending,
                                   RemoveFromVersionId=v2)
    stages = sm.describe_secret(SecretId=name)["VersionIdsToStages"]
    assert stages == {pending: ["AWSPENDING", "AWSCURRENT"], v2: ["AWSPREVIOUS"]}
    sm.update_secret_version_stage(SecretId=name, VersionStage="AWSPENDING", RemoveFromVersionId=pending)
    expect_error(sm.update_secret_version_stage, "InvalidParameterException", "AWSCURRENT",
                 SecretId=name, VersionStage="AWSCURRENT", RemoveFromVersionId=pending)
    expect_error(sm.update_secret_version_stage, "InvalidParameterException", "MoveToVersionId",
                 SecretId=name, VersionStage="blue", MoveToVersionId=token())

    listed = sm.list_secret_version_ids(SecretId=name)
    assert {v["VersionId"] for v in listed["Versions"]} == {pending, v2}
    assert listed["ARN"].startswith(ARN_PREFIX + name)
    everything = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
    assert {v["VersionId"] for v in everything} == {pending, v2, v1}
    assert [v for v in everything if v["VersionId"] == v1][0].get("VersionStages", []) == []
    assert manual_pages(sm.list_secret_version_ids, "Versions", SecretId=name, IncludeDeprecated=True,
                        MaxResults=1) == everything


def test_client_request_tokens_make_retries_safe(sm, srv):
    name, first = uniq("retry"), token()
    created = sm.create_secret(Name=name, SecretString="v1", ClientRequestToken=first)
    assert created["VersionId"] == first
    again = sm.create_secret(Name=name, SecretString="v1", ClientRequestToken=first)
    assert (again["ARN"], again["VersionId"]) == (created["ARN"], first)
    code, msg = expect_error(sm.create_secret, "ResourceExistsException", "ClientRequestToken", Name=name,
                             SecretString="other", ClientRequestToken=first)
    assert "other" not in msg
    code, msg = expect_error(sm.create_secret, "ResourceExistsException", Name=name, SecretString="v1")
    assert "already exists" in msg
    second = token()
    sm.put_secret_value(SecretId=name, SecretString="v2", ClientRequestToken=second)
    sm.put_secret_value(SecretId=name, SecretString="v2", ClientRequestToken=second)
    assert len(sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]) == 2
    expect_error(sm.put_secret_value, "ResourceExistsException", SecretId=name, SecretString="v3",
                 ClientRequestToken=second)
    code, msg = raw_error(srv, "PutSecretValue", {"SecretId": name, "SecretString": "v3",
                                                  "ClientRequestToken": "x" * 31})
    assert code == "InvalidParameterException" and "ClientRequestToken" in msg


def test_update_secret(sm):
    name = uniq("upd")
    first = sm.create_secret(Name=name, SecretString="a")["VersionId"]
    out = sm.update_secret(SecretId=name, Description="described")
    assert "VersionId" not in out
    assert sm.describe_secret(SecretId=name)["Description"] == "described"
    out = sm.update_secret(SecretId=name, SecretString="b", Description="again")
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "b"
    stages = sm.describe_secret(SecretId=name)["VersionIdsToStages"]
    assert stages == {first: ["AWSPREVIOUS"], out["VersionId"]: ["AWSCURRENT"]}
    code, msg = expect_error(sm.update_secret, "InvalidParameterException", "KmsKeyId", SecretId=name,
                             KmsKeyId="alias/my-key")
    assert "KMS" in msg


def test_list_secrets_filters_sorting_and_paging(sm, srv):
    run = uniq("ls")
    names = [f"{run}/svc-{i}" for i in range(5)]
    for i, name in enumerate(names):
        sm.create_secret(Name=name, SecretString="v", Description=f"Credentials of service {i}",
                         Tags=[{"Key": "owner", "Value": "team-a" if i % 2 == 0 else "team-b"},
                               {"Key": f"k{i}", "Value": run}])

    def listed(**kw):
        return [s["Name"] for p in sm.get_paginator("list_secrets").paginate(**kw) for s in p["SecretList"]]

    assert sorted(listed(Filters=[{"Key": "name", "Values": [run]}])) == names
    assert listed(Filters=[{"Key": "name", "Values": [run.upper()]}]) == [], "name is case-sensitive"
    paged = listed(Filters=[{"Key": "name", "Values": [run]}], PaginationConfig={"PageSize": 2})
    assert sorted(paged) == names and len(paged) == 5
    assert listed(Filters=[{"Key": "name", "Values": [run]}], SortOrder="asc", SortBy="name") == names
    assert listed(Filters=[{"Key": "name", "Values": [run]}], SortOrder="desc", SortBy="name") == names[::-1]
    assert listed(Filters=[{"Key": "name", "Values": [run]}], SortOrder="asc") == names, "created-date order"
    assert sorted(listed(Filters=[{"Key": "tag-value", "Values": [run]}])) == names
    mine = {"Key": "name", "Values": [run]}
    assert sorted(listed(Filters=[mine, {"Key": "tag-value", "Values": ["team-a"]}])) == names[0::2]
    assert listed(Filters=[{"Key": "name", "Values": [run]}, {"Key": "tag-key", "Values": ["k3"]}]) == [names[3]]
    assert listed(Filters=[mine, {"Key": "description", "Values": ["SERVICE 4"]}]) == [names[4]]
    assert sorted(listed(Filters=[{"Key": "all", "Values": [run]}])) == names
    assert sorted(listed(Filters=[{"Key": "name", "Values": [run]}, {"Key": "tag-value", "Values": ["!team-a"]}])) \
        == names[1::2]
    for entry in sm.list_secrets(Filters=[{"Key": "name", "Values": [run]}])["SecretList"]:
        assert list(entry["SecretVersionsToStages"].values()) == [["AWSCURRENT"]]
        assert "SecretString" not in entry
    code, msg = raw_error(srv, "ListSecrets", {"Filters": [{"Key": "color", "Values": ["x"]}]})
    assert code == "InvalidParameterException" and "Filters.Key" in msg


def test_batch_get_secret_value(sm, srv):
    run = uniq("batch")
    names = [f"{run}-{i}" for i in range(3)]
    for i, name in enumerate(names):
        sm.create_secret(Name=name, SecretString=f"value-{i}")
    sm.create_secret(Name=f"{run}-empty")
    out = sm.batch_get_secret_value(SecretIdList=names + [uniq("missing"), f"{run}-empty"])
    assert sorted(v["SecretString"] for v in out["SecretValues"]) == ["value-0", "value-1", "value-2"]
    errors = {e["ErrorCode"] for e in out["Errors"]}
    assert errors == {"ResourceNotFoundException"} and len(out["Errors"]) == 2
    first = sm.batch_get_secret_value(Filters=[{"Key": "name", "Values": [f"{run}-"]}], MaxResults=2)
    assert len(first["SecretValues"]) == 2 and first["NextToken"]
    got = manual_pages(sm.batch_get_secret_value, "SecretValues", Filters=[{"Key": "name", "Values": [f"{run}-"]}],
                       MaxResults=2)
    assert sorted(v["Name"] for v in got) == names, "the valueless secret is not returned"
    expect_error(sm.batch_get_secret_value, "InvalidParameterException", "SecretIdList", SecretIdList=names,
                 Filters=[{"Key": "name", "Values": [run]}])
    expect_error(sm.batch_get_secret_value, "InvalidParameterException", "MaxResults", SecretIdList=names,
                 MaxResults=2)


def test_delete_restore_and_force_delete(sm):
    name = uniq("del")
    sm.create_secret(Name=name, SecretString="v")
    before = datetime.datetime.now(datetime.timezone.utc)
    out = sm.delete_secret(SecretId=name)
    window = out["DeletionDate"] - before
    assert datetime.timedelta(days=29, hours=23) < window < datetime.timedelta(days=30, minutes=5)
    for call in (lambda: sm.get_secret_value(SecretId=name),
                 lambda: sm.put_secret_value(SecretId=name, SecretString="x"),
                 lambda: sm.update_secret(SecretId=name, Description="x"),
                 lambda: sm.tag_resource(SecretId=name, Tags=[{"Key": "a", "Value": "b"}]),
                 lambda: sm.delete_secret(SecretId=name)):
        with pytest.raises(ClientError) as e:
            call()
        assert error_of(e)[:2] == ("InvalidRequestException", DELETED)
    described = sm.describe_secret(SecretId=name)
    assert "DeletedDate" in described
    assert name not in [s["Name"] for s in sm.list_secrets(Filters=[{"Key": "name", "Values": [name]}])["SecretList"]]
    planned = sm.list_secrets(Filters=[{"Key": "name", "Values": [name]}], IncludePlannedDeletion=True)
    assert [s["Name"] for s in planned["SecretList"]] == [name] and "DeletedDate" in planned["SecretList"][0]
    code, msg = expect_error(sm.create_secret, "InvalidRequestException", Name=name, SecretString="again")
    assert "scheduled for deletion" in msg
    sm.restore_secret(SecretId=name)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v"
    assert "DeletedDate" not in sm.describe_secret(SecretId=name)

    out = sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    assert out["DeletionDate"] - before < datetime.timedelta(days=7, minutes=5)
    out = sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    assert out["Name"] == name
    expect_error(sm.describe_secret, "ResourceNotFoundException", SecretId=name)
    sm.create_secret(Name=name, SecretString="reborn")
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "reborn"

    expect_error(sm.delete_secret, "InvalidParameterException", "RecoveryWindowInDays", SecretId=name,
                 RecoveryWindowInDays=3)
    expect_error(sm.delete_secret, "InvalidParameterException", "ForceDeleteWithoutRecovery", SecretId=name,
                 RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True)
    expect_error(sm.restore_secret, "ResourceNotFoundException", SecretId=uniq("gone"))


def test_tags(sm):
    name = uniq("tags")
    sm.create_secret(Name=name, SecretString="v", Tags=[{"Key": "a", "Value": "1"}])
    sm.tag_resource(SecretId=name, Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "3"}])
    assert sm.describe_secret(SecretId=name)["Tags"] == [{"Key": "a", "Value": "3"}, {"Key": "b", "Value": "2"}]
    sm.untag_resource(SecretId=name, TagKeys=["a", "nope"])
    assert sm.describe_secret(SecretId=name)["Tags"] == [{"Key": "b", "Value": "2"}]
    expect_error(sm.tag_resource, "InvalidParameterException", "aws:", SecretId=name,
                 Tags=[{"Key": "aws:x", "Value": "1"}])
    expect_error(sm.tag_resource, "InvalidParameterException", "Tags", SecretId=name,
                 Tags=[{"Key": f"k{i}", "Value": ""} for i in range(50)])
    expect_error(sm.tag_resource, "ResourceNotFoundException", SecretId=uniq("none"), Tags=[{"Key": "a", "Value": "b"}])


def test_resource_policies_are_absent(sm, srv):
    name = uniq("pol")
    arn = sm.create_secret(Name=name, SecretString="v")["ARN"]
    out = sm.get_resource_policy(SecretId=name)
    assert (out["ARN"], out["Name"]) == (arn, name) and "ResourcePolicy" not in out
    assert sm.delete_resource_policy(SecretId=arn)["Name"] == name
    expect_error(sm.get_resource_policy, "ResourceNotFoundException", SecretId=uniq("none"))
    code, msg = raw_error(srv, "PutResourcePolicy", {"SecretId": name, "ResourcePolicy": "{}"})
    assert code == "InvalidRequestException" and "PutResourcePolicy" in msg


def test_bad_input_answers_secrets_manager_codes(sm, srv):
    expect_error(sm.create_secret, "InvalidParameterException", "name", Name="bad name!", SecretString="v")
    code, msg = expect_error(sm.create_secret, "InvalidParameterException", "KmsKeyId", Name=uniq("k"),
                             SecretString="v", KmsKeyId="arn:aws:kms:us-east-1:123456789012:key/abc")
    assert "KMS" in msg
    sm.create_secret(Name=uniq("k"), SecretString="v", KmsKeyId="alias/aws/secretsmanager")
    expect_error(sm.create_secret, "InvalidParameterException", "AddReplicaRegions", Name=uniq("r"),
                 SecretString="v", AddReplicaRegions=[{"Region": "eu-west-1"}])
    expect_error(sm.create_secret, "InvalidParameterException", "SecretBinary", Name=uniq("b"),
                 SecretString="v", SecretBinary=b"v")
    expect_error(sm.create_secret, "InvalidParameterException", "SecretString", Name=uniq("big"),
                 SecretString="x" * 65537)
    expect_error(sm.put_secret_value, "InvalidParameterException", "SecretString", SecretId=uniq("p"))
    assert raw_error(srv, "GetSecretValue", {})[0] == "InvalidParameterException"
    assert "SecretId" in raw_error(srv, "GetSecretValue", {})[1]
    assert raw_error(srv, "GetSecretValue", {"SecretId": 5})[0] == "InvalidParameterException"
    code, msg = raw_error(srv, "ListSecrets", {"MaxResults": 0})
    assert code == "InvalidParameterException" and "MaxResults" in msg
    assert raw_error(srv, "ListSecrets", {"NextToken": "not-a-token"})[0] == "InvalidNextTokenException"
    assert raw_error(srv, "ListSecrets", {"SortOrder": "sideways"})[0] == "InvalidParameterException"
    code, msg = raw_error(srv, "RotateSecret", {"SecretId": "x"})
    assert code == "InvalidRequestException" and "RotateSecret" in msg
    assert raw_error(srv, "Frobnicate", {})[0] == "UnknownOperationException"
    status, doc = raw(srv, "ListSecrets", b"{not json")
    assert status == 400 and doc["__type"] == "SerializationException"


def test_aws_cli(srv):
    name = uniq("cli")
    _, out, _ = srv.cli("secretsmanager", "create-secret", "--name", name, "--secret-string", "from-the-cli",
                        "--tags", "Key=via,Value=cli")
    assert out["Name"] == name
    _, got, _ = srv.cli("secretsmanager", "get-secret-value", "--secret-id", out["ARN"])
    assert got["SecretString"] == "from-the-cli"
    srv.cli("secretsmanager", "put-secret-value", "--secret-id", name, "--secret-string", "second")
    _, listed, _ = srv.cli("secretsmanager", "list-secrets", "--filters", f"Key=name,Values={name}")
    assert [s["Name"] for s in listed["SecretList"]] == [name]
    _, versions, _ = srv.cli("secretsmanager", "list-secret-version-ids", "--secret-id", name)
    assert len(versions["Versions"]) == 2
    _, deleted, _ = srv.cli("secretsmanager", "delete-secret", "--secret-id", name, "--recovery-window-in-days", "7")
    assert deleted["Name"] == name
    rc, _, err = srv.cli("secretsmanager", "get-secret-value", "--secret-id", name, check=False)
    assert rc != 0 and "InvalidRequestException" in err and "marked for deletion" in err
    srv.cli("secretsmanager", "restore-secret", "--secret-id", name)
    _, got, _ = srv.cli("secretsmanager", "get-secret-value", "--secret-id", name)
    assert got["SecretString"] == "second"


def test_values_never_reach_the_store_or_the_log_in_clear(sm, srv):
    marker = "berth-leak-check-" + uuid.uuid4().hex
    binary_marker = ("bin-" + uuid.uuid4().hex).encode()
    name = uniq("leak")
    sm.create_secret(Name=name, SecretString=marker + "-1")
    sm.put_secret_value(SecretId=name, SecretString=marker + "-2")
    sm.update_secret(SecretId=name, SecretString=marker + "-3")
    sm.create_secret(Name=uniq("leak-bin"), SecretBinary=binary_marker)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == marker + "-3"
    sm.batch_get_secret_value(SecretIdList=[name])
    # Errors about requests holding values must not echo them either.
    for call in (lambda: sm.create_secret(Name=name, SecretString=marker + "-x"),
                 lambda: sm.create_secret(Name=uniq("l"), SecretString=marker, SecretBinary=b"x"),
                 lambda: sm.create_secret(Name="bad name", SecretString=marker)):
        with pytest.raises(ClientError) as e:
            call()
        assert marker not in str(e.value.response)
    for d in (sm.describe_secret(SecretId=name), sm.list_secrets(IncludePlannedDeletion=True)):
        assert marker not in json.dumps(d, default=str)
    srv.restart()
    sm2 = srv.client("secretsmanager")
    assert sm2.get_secret_value(SecretId=name)["SecretString"] == marker + "-3", "values survive a restart"
    files = [p for p in srv.data_dir.iterdir() if p.name.startswith("berth.db")]
    assert any(p.name == "berth.db" for p in files)
    for path in files:
        data = path.read_bytes()
        assert marker.encode() not in data, f"{path.name} holds a secret value in clear"
        assert binary_marker not in data and base64.b64encode(binary_marker) not in data
    logs = srv.logs()
    assert "GetSecretValue" in logs, "the server logged the requests (debug level)"
    assert marker not in logs and binary_marker.decode() not in logs
