"""IAM and STS through boto3, the aws CLI and raw signed Query requests, against one `berth up --no-agent` for the module.

Covered: users (create with path and tags, get, get of the caller, list with path prefix and Marker/MaxItems
paging and boto3 paginators, rename and move, delete and its conflicts, name validation, case-insensitive names),
access keys (two per user, status, delete, last-used of a fresh key), groups and memberships, roles with trust
policies (URL-encoded on the wire, decoded by boto3 and the CLI), user and role tags, customer managed policies
(versions, the five-version limit, default version, attachments and AttachmentCount, ListPolicies scopes and
filters, delete conflicts; AWS managed policies do not exist in Berth), inline user/group/role policies, malformed
policy documents, GetAccountAuthorizationDetails with filters and paging, the user/role/policy waiters,
GetCallerIdentity for the root and for a user, and the Query protocol's XML documents and errors.

Policy enforcement is in test_iam_enforcement.py; helpers shared with it live here.

BERTH_E2E_TARGET=moto runs what moto implements: checks where moto differs from AWS (id formats, name validation,
the account root, AWS managed policies, some document checks) are marked berth_only or guarded by `BERTH`.
"""

import json
import re
import threading
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION, TARGET, error_of, expect_error, uniq

BERTH = TARGET != "moto"
ROOT_ARN = f"arn:aws:iam::{ACCOUNT}:root"
VERSIONS = {"iam": "2010-05-08", "sts": "2011-06-15"}


# --- helpers shared with test_iam_enforcement.py ------------------------------------------------------------------

def stmt(effect, actions, resources="*", condition=None, not_action=False, sid=None):
    """One policy statement; `actions` and `resources` may be a string or a list."""
    s = {"Effect": effect, ("NotAction" if not_action else "Action"): actions, "Resource": resources}
    if condition:
        s["Condition"] = condition
    if sid:
        s["Sid"] = sid
    return s


def allow(actions, resources="*", **kw):
    return stmt("Allow", actions, resources, **kw)


def deny(actions, resources="*", **kw):
    return stmt("Deny", actions, resources, **kw)


def doc(*statements):
    """A policy document (JSON text) with the 2012-10-17 language version."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def trust(service="ecs-tasks.amazonaws.com"):
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


def user_arn(name, path="/"):
    return f"arn:aws:iam::{ACCOUNT}:user{path}{name}"


def group_arn(name, path="/"):
    return f"arn:aws:iam::{ACCOUNT}:group{path}{name}"


def role_arn(name, path="/"):
    return f"arn:aws:iam::{ACCOUNT}:role{path}{name}"


def policy_arn(name, path="/"):
    return f"arn:aws:iam::{ACCOUNT}:policy{path}{name}"


def unique_id(prefix):
    """IAM unique ids: a four-letter type prefix and 17 more upper-case letters and digits."""
    return re.compile(rf"^{prefix}[A-Z0-9]{{17}}$")


def query(srv, action, params=None, service="iam", creds=None, sign=True):
    """A raw Query-protocol request (form-encoded POST, SigV4 for `service`); returns the requests.Response."""
    body = urllib.parse.urlencode({"Action": action, "Version": VERSIONS[service], **(params or {})})
    req = AWSRequest(method="POST", url=srv.endpoint + "/", data=body.encode(),
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    if sign:
        SigV4Auth(Credentials(*(creds or srv.creds)), service, REGION).add_auth(req)
    return requests.post(srv.endpoint + "/", data=body.encode(), headers=dict(req.prepare().headers), timeout=30)


def xml(resp):
    """The response's XML with namespaces stripped."""
    root = ET.fromstring(resp.content)
    for el in root.iter():
        el.tag = el.tag.split("}", 1)[-1]
    return root


def xml_error(resp):
    """(HTTP status, Type, Code, Message, RequestId) of a Query-protocol error document."""
    root = xml(resp)
    assert root.tag == "ErrorResponse", resp.text
    err = root.find(".//Error")
    return (resp.status_code, err.findtext("Type"), err.findtext("Code"), err.findtext("Message"),
            root.findtext(".//RequestId"))


def paginate(client, op, key, **kw):
    return [x for page in client.get_paginator(op).paginate(**kw) for x in page[key]]


# --- fixtures -----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def srv(server_factory):
    """This module's own server; no agent (nothing here runs a container)."""
    return server_factory(extra_args=["--no-agent"])


@pytest.fixture(scope="module")
def iam(srv):
    return srv.client("iam")


@pytest.fixture(scope="module")
def sts(srv):
    return srv.client("sts")


def new_user(iam, prefix="u", **kw):
    name = uniq(prefix)
    return iam.create_user(UserName=name, **kw)["User"]


def new_policy(iam, prefix="p", document=None, **kw):
    name = uniq(prefix)
    return iam.create_policy(PolicyName=name, PolicyDocument=document or doc(allow("ecs:List*")), **kw)["Policy"]


# --- users --------------------------------------------------------------------------------------------------------

def test_user_lifecycle(iam):
    name, path = uniq("alice"), f"/{uniq('team')}/"
    created = iam.create_user(UserName=name, Path=path, Tags=[{"Key": "team", "Value": "ml"}])
    u = created["User"]
    assert created["ResponseMetadata"]["RequestId"]
    assert (u["UserName"], u["Path"], u["Arn"]) == (name, path, user_arn(name, path))
    assert u["CreateDate"].year >= 2024
    if BERTH:
        assert unique_id("AIDA").match(u["UserId"]), u["UserId"]

    got = iam.get_user(UserName=name)["User"]
    assert {k: got[k] for k in ("UserName", "UserId", "Arn", "Path")} == \
        {k: u[k] for k in ("UserName", "UserId", "Arn", "Path")}
    assert got["Tags"] == [{"Key": "team", "Value": "ml"}]

    _, msg = expect_error(iam.create_user, "EntityAlreadyExists", http_status=409, UserName=name)
    assert name in msg, msg
    _, msg = expect_error(iam.get_user, "NoSuchEntity", http_status=404, UserName=name + "x")
    if BERTH:
        assert msg == f"The user with name {name}x cannot be found.", msg

    # Rename and move: same id, new ARN; the old name is gone.
    new_name, new_path = uniq("alicia"), f"/{uniq('moved')}/"
    iam.update_user(UserName=name, NewUserName=new_name, NewPath=new_path)
    expect_error(iam.get_user, "NoSuchEntity", http_status=404, UserName=name)
    moved = iam.get_user(UserName=new_name)["User"]
    assert (moved["UserId"], moved["Path"], moved["Arn"]) == (u["UserId"], new_path, user_arn(new_name, new_path))
    expect_error(iam.update_user, "NoSuchEntity", http_status=404, UserName=name, NewPath="/")
    other = new_user(iam)["UserName"]
    if BERTH:  # moto renames onto an existing name
        expect_error(iam.update_user, "EntityAlreadyExists", http_status=409, UserName=other, NewUserName=new_name)

    iam.delete_user(UserName=new_name)
    expect_error(iam.get_user, "NoSuchEntity", http_status=404, UserName=new_name)
    expect_error(iam.delete_user, "NoSuchEntity", http_status=404, UserName=new_name)
    iam.delete_user(UserName=other)


@pytest.mark.berth_only
@pytest.mark.parametrize("bad", ["bad name", "a/b", "x" * 65, "ümlaut", "semi;colon", "star*"])
def test_user_name_validation(iam, bad):
    """Names are 1-64 of [\\w+=,.@-]; AWS answers ValidationError naming the member."""
    expect_error(iam.create_user, "ValidationError", "userName", UserName=bad)
    expect_error(iam.get_user, ("ValidationError", "NoSuchEntity"), http_status=None, UserName=bad)


@pytest.mark.berth_only
def test_user_names_edge_cases(iam):
    odd = "a+=,.@_-" + uuid.uuid4().hex[:8]
    longest = ("n" + uuid.uuid4().hex * 2)[:64]
    for name in (odd, longest):
        assert iam.create_user(UserName=name)["User"]["UserName"] == name
        iam.delete_user(UserName=name)
    # Names are unique regardless of case.
    name = uniq("Case")
    iam.create_user(UserName=name)
    expect_error(iam.create_user, "EntityAlreadyExists", http_status=409, UserName=name.lower())
    expect_error(iam.create_user, "EntityAlreadyExists", http_status=409, UserName=name.upper())
    iam.delete_user(UserName=name)


def test_list_users_paging(srv, iam):
    path = f"/{uniq('page')}/"
    names = sorted(uniq("pg") for _ in range(5))
    for n in names:
        iam.create_user(UserName=n, Path=path)
    iam.create_user(UserName=uniq("outside"), Path=f"/{uniq('other')}/")

    listed = iam.list_users(PathPrefix=path)
    assert sorted(u["UserName"] for u in listed["Users"]) == names
    assert listed["IsTruncated"] is False and "Marker" not in listed
    assert all(u["Path"] == path for u in listed["Users"])
    # A prefix is a prefix: the first part of the path finds them too.
    assert set(names) <= {u["UserName"] for u in iam.list_users(PathPrefix=path[:6])["Users"]}

    if not BERTH:
        return  # moto ignores MaxItems in ListUsers
    seen, marker, pages = [], None, 0
    while True:
        kw = {"PathPrefix": path, "MaxItems": 2, **({"Marker": marker} if marker else {})}
        page = iam.list_users(**kw)
        pages += 1
        assert len(page["Users"]) <= 2
        seen += [u["UserName"] for u in page["Users"]]
        if not page["IsTruncated"]:
            assert "Marker" not in page
            break
        marker = page["Marker"]
    assert pages == 3 and sorted(seen) == names and len(seen) == len(set(seen))

    got = paginate(iam, "list_users", "Users", PathPrefix=path, PaginationConfig={"PageSize": 2})
    assert sorted(u["UserName"] for u in got) == names
    # The aws CLI pages on its own, and hands back a NextToken with --max-items.
    _, out, _ = srv.cli("iam", "list-users", "--path-prefix", path)
    assert sorted(u["UserName"] for u in out["Users"]) == names
    _, out, _ = srv.cli("iam", "list-users", "--path-prefix", path, "--max-items", "3")
    assert len(out["Users"]) == 3 and out["NextToken"]


@pytest.mark.berth_only
def test_get_user_of_the_caller(srv, iam):
    """Without UserName, GetUser describes the signer: the root has no UserName nor Path, only its id and ARN."""
    root = iam.get_user()["User"]
    assert root["Arn"] == ROOT_ARN and root["UserId"] == ACCOUNT, root
    assert "UserName" not in root and "Path" not in root, root
    r = query(srv, "GetUser")
    assert r.status_code == 200, r.text
    user = xml(r).find(".//User")
    assert user.findtext("Arn") == ROOT_ARN and user.find("UserName") is None

    u = new_user(iam)
    iam.put_user_policy(UserName=u["UserName"], PolicyName="self",
                        PolicyDocument=doc(allow("iam:GetUser", user_arn("${aws:username}"))))
    key = iam.create_access_key(UserName=u["UserName"])["AccessKey"]
    me = srv.client("iam", creds=(key["AccessKeyId"], key["SecretAccessKey"])).get_user()["User"]
    assert (me["UserName"], me["UserId"], me["Arn"]) == (u["UserName"], u["UserId"], u["Arn"])


def test_user_tags(iam):
    name = new_user(iam, Tags=[{"Key": "a", "Value": "1"}])["UserName"]
    iam.tag_user(UserName=name, Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "one"}])
    tags = iam.list_user_tags(UserName=name)
    assert sorted((t["Key"], t["Value"]) for t in tags["Tags"]) == [("a", "one"), ("b", "2")]
    assert tags["IsTruncated"] is False
    iam.untag_user(UserName=name, TagKeys=["a", "never-set"])
    assert iam.list_user_tags(UserName=name)["Tags"] == [{"Key": "b", "Value": "2"}]
    expect_error(iam.tag_user, "NoSuchEntity", http_status=404, UserName=name + "x", Tags=[{"Key": "k", "Value": "v"}])
    expect_error(iam.list_user_tags, "NoSuchEntity", http_status=404, UserName=name + "x")


# --- access keys --------------------------------------------------------------------------------------------------

def test_access_keys(iam):
    name = new_user(iam)["UserName"]
    k1 = iam.create_access_key(UserName=name)["AccessKey"]
    k2 = iam.create_access_key(UserName=name)["AccessKey"]
    for k in (k1, k2):
        assert k["UserName"] == name and k["Status"] == "Active"
        assert re.fullmatch(r"AKIA[A-Z0-9]{16}", k["AccessKeyId"]), k["AccessKeyId"]
        assert len(k["SecretAccessKey"]) == 40
    _, msg = expect_error(iam.create_access_key, "LimitExceeded", http_status=409, UserName=name)
    assert "AccessKeysPerUser" in msg and "2" in msg, msg

    listed = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert sorted(k["AccessKeyId"] for k in listed) == sorted([k1["AccessKeyId"], k2["AccessKeyId"]])
    assert all("SecretAccessKey" not in k and k["Status"] == "Active" and k["UserName"] == name for k in listed)

    iam.update_access_key(UserName=name, AccessKeyId=k1["AccessKeyId"], Status="Inactive")
    status = {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]}
    assert status == {k1["AccessKeyId"]: "Inactive", k2["AccessKeyId"]: "Active"}

    last = iam.get_access_key_last_used(AccessKeyId=k2["AccessKeyId"])
    assert last["UserName"] == name
    assert last["AccessKeyLastUsed"]["ServiceName"] == "N/A" and last["AccessKeyLastUsed"]["Region"] == "N/A"
    assert "LastUsedDate" not in last["AccessKeyLastUsed"]

    iam.delete_access_key(UserName=name, AccessKeyId=k1["AccessKeyId"])
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]] == [k2["AccessKeyId"]]
    expect_error(iam.delete_access_key, "NoSuchEntity", http_status=404, UserName=name, AccessKeyId=k1["AccessKeyId"])
    expect_error(iam.create_access_key, "NoSuchEntity", http_status=404, UserName=name + "x")
    expect_error(iam.list_access_keys, "NoSuchEntity", http_status=404, UserName=name + "x")
    # the freed slot can be used again
    iam.create_access_key(UserName=name)


@pytest.mark.berth_only
def test_query_api_credential_errors(srv, iam):
    """IAM and STS (Query APIs) answer unknown keys and bad signatures with their own codes, HTTP 403."""
    for client in (srv.client("iam", creds=("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")),
                   srv.client("sts", creds=("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"))):
        op = client.list_users if client.meta.service_model.service_name == "iam" else client.get_caller_identity
        code, msg, status = error_of(pytest.raises(ClientError, op).value)
        assert (code, status, msg) == ("InvalidClientTokenId", 403,
                                       "The security token included in the request is invalid."), (code, msg)
    ak, _ = srv.creds
    for service in ("iam", "sts"):
        c = srv.client(service, creds=(ak, "not-the-secret-not-the-secret-not-the-x"))
        op = c.list_users if service == "iam" else c.get_caller_identity
        code, msg, status = error_of(pytest.raises(ClientError, op).value)
        assert (code, status) == ("SignatureDoesNotMatch", 403), (code, msg)
    r = query(srv, "ListUsers", creds=("AKIAIOSFODNN7EXAMPLE", "x" * 40))
    status, typ, code, msg, rid = xml_error(r)
    assert (status, typ, code) == (403, "Sender", "InvalidClientTokenId") and rid, r.text


# --- groups -------------------------------------------------------------------------------------------------------

def test_groups_and_memberships(iam):
    path = f"/{uniq('grp')}/"
    g = iam.create_group(GroupName=uniq("eng"), Path=path)["Group"]
    name = g["GroupName"]
    assert (g["Path"], g["Arn"]) == (path, group_arn(name, path))
    if BERTH:
        assert unique_id("AGPA").match(g["GroupId"]), g["GroupId"]
    expect_error(iam.create_group, "EntityAlreadyExists", http_status=409, GroupName=name)

    alice, bob = new_user(iam, "alice")["UserName"], new_user(iam, "bob")["UserName"]
    iam.add_user_to_group(GroupName=name, UserName=alice)
    iam.add_user_to_group(GroupName=name, UserName=bob)
    iam.add_user_to_group(GroupName=name, UserName=bob)  # already a member: no error, no duplicate
    got = iam.get_group(GroupName=name)
    assert got["Group"]["Arn"] == g["Arn"]
    assert sorted(u["UserName"] for u in got["Users"]) == sorted([alice, bob])
    assert sorted(u["UserName"] for u in paginate(iam, "get_group", "Users", GroupName=name,
                                                 PaginationConfig={"PageSize": 1})) == sorted([alice, bob])
    assert [x["GroupName"] for x in iam.list_groups_for_user(UserName=alice)["Groups"]] == [name]
    assert [x["GroupName"] for x in iam.list_groups(PathPrefix=path)["Groups"]] == [name]

    expect_error(iam.add_user_to_group, "NoSuchEntity", http_status=404, GroupName=name, UserName=alice + "x")
    expect_error(iam.add_user_to_group, "NoSuchEntity", http_status=404, GroupName=name + "x", UserName=alice)
    expect_error(iam.get_group, "NoSuchEntity", http_status=404, GroupName=name + "x")

    # A group with members, inline or attached policies cannot be deleted.
    if BERTH:  # moto deletes a group with members
        expect_error(iam.delete_group, "DeleteConflict", http_status=409, GroupName=name)
    iam.remove_user_from_group(GroupName=name, UserName=alice)
    iam.remove_user_from_group(GroupName=name, UserName=bob)
    expect_error(iam.remove_user_from_group, "NoSuchEntity", http_status=404, GroupName=name, UserName=bob)
    assert iam.list_groups_for_user(UserName=alice)["Groups"] == []
    assert iam.get_group(GroupName=name)["Users"] == []

    iam.put_group_policy(GroupName=name, PolicyName="inline", PolicyDocument=doc(allow("ecs:List*")))
    if BERTH:  # moto deletes groups with policies too
        expect_error(iam.delete_group, "DeleteConflict", http_status=409, GroupName=name)
    iam.delete_group_policy(GroupName=name, PolicyName="inline")
    p = new_policy(iam)
    iam.attach_group_policy(GroupName=name, PolicyArn=p["Arn"])
    if BERTH:
        expect_error(iam.delete_group, "DeleteConflict", http_status=409, GroupName=name)
    iam.detach_group_policy(GroupName=name, PolicyArn=p["Arn"])
    iam.delete_group(GroupName=name)
    expect_error(iam.get_group, "NoSuchEntity", http_status=404, GroupName=name)
    assert iam.list_groups(PathPrefix=path)["Groups"] == []


def test_delete_user_conflicts(iam):
    """A user with access keys, inline or attached policies, or group memberships cannot be deleted."""
    name = new_user(iam)["UserName"]
    group = iam.create_group(GroupName=uniq("g"))["Group"]["GroupName"]
    p = new_policy(iam)
    key = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
    iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=doc(allow("ecs:List*")))
    iam.attach_user_policy(UserName=name, PolicyArn=p["Arn"])
    iam.add_user_to_group(GroupName=group, UserName=name)

    # (in this order moto, which only looks at policies, agrees too)
    undo = [lambda: iam.delete_access_key(UserName=name, AccessKeyId=key),
            lambda: iam.remove_user_from_group(GroupName=group, UserName=name),
            lambda: iam.delete_user_policy(UserName=name, PolicyName="inline"),
            lambda: iam.detach_user_policy(UserName=name, PolicyArn=p["Arn"])]
    for step in undo:
        expect_error(iam.delete_user, "DeleteConflict", http_status=409, UserName=name)
        assert iam.get_user(UserName=name)["User"]["UserName"] == name, "a refused delete changes nothing"
        step()
    iam.delete_user(UserName=name)
    expect_error(iam.get_user, "NoSuchEntity", http_status=404, UserName=name)
    assert iam.get_policy(PolicyArn=p["Arn"])["Policy"]["AttachmentCount"] == 0


# --- roles --------------------------------------------------------------------------------------------------------

def test_role_lifecycle(srv, iam):
    name, path = uniq("task-role"), f"/{uniq('svc')}/"
    trust_doc = trust()
    r = iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=trust_doc, Description="runs tasks",
                        Tags=[{"Key": "team", "Value": "ml"}])["Role"]
    assert (r["RoleName"], r["Path"], r["Arn"]) == (name, path, role_arn(name, path))
    assert r["AssumeRolePolicyDocument"] == json.loads(trust_doc), "boto3 decodes the URL-encoded document"
    if BERTH:
        assert unique_id("AROA").match(r["RoleId"]), r["RoleId"]
    expect_error(iam.create_role, "EntityAlreadyExists", http_status=409, RoleName=name,
                 AssumeRolePolicyDocument=trust_doc)

    got = iam.get_role(RoleName=name)["Role"]
    assert got["RoleId"] == r["RoleId"] and got["Description"] == "runs tasks"
    assert got["MaxSessionDuration"] == 3600
    assert got["AssumeRolePolicyDocument"] == json.loads(trust_doc)
    assert got["Tags"] == [{"Key": "team", "Value": "ml"}]
    assert [x["RoleName"] for x in iam.list_roles(PathPrefix=path)["Roles"]] == [name]

    # On the wire the document is URL-encoded JSON (RFC 3986), not nested XML and not raw JSON.
    raw = query(srv, "GetRole", {"RoleName": name})
    assert raw.status_code == 200, raw.text
    text = xml(raw).find(".//Role/AssumeRolePolicyDocument").text
    assert text.startswith("%7B") and "{" not in text, text
    assert json.loads(urllib.parse.unquote(text)) == json.loads(trust_doc)

    # The aws CLI prints it decoded.
    _, out, _ = srv.cli("iam", "get-role", "--role-name", name)
    assert out["Role"]["AssumeRolePolicyDocument"] == json.loads(trust_doc)

    new_trust = trust("lambda.amazonaws.com")
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=new_trust)
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == json.loads(new_trust)
    expect_error(iam.update_assume_role_policy, "NoSuchEntity", http_status=404, RoleName=name + "x",
                 PolicyDocument=new_trust)

    iam.tag_role(RoleName=name, Tags=[{"Key": "env", "Value": "dev"}])
    assert sorted(t["Key"] for t in iam.list_role_tags(RoleName=name)["Tags"]) == ["env", "team"]
    iam.untag_role(RoleName=name, TagKeys=["team"])
    assert iam.list_role_tags(RoleName=name)["Tags"] == [{"Key": "env", "Value": "dev"}]

    iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=doc(allow("logs:CreateLogStream")))
    expect_error(iam.delete_role, "DeleteConflict", http_status=409, RoleName=name)
    iam.delete_role_policy(RoleName=name, PolicyName="inline")
    p = new_policy(iam)
    iam.attach_role_policy(RoleName=name, PolicyArn=p["Arn"])
    expect_error(iam.delete_role, "DeleteConflict", http_status=409, RoleName=name)
    iam.detach_role_policy(RoleName=name, PolicyArn=p["Arn"])
    iam.delete_role(RoleName=name)
    expect_error(iam.get_role, "NoSuchEntity", http_status=404, RoleName=name)
    expect_error(iam.delete_role, "NoSuchEntity", http_status=404, RoleName=name)


TRUST_BAD = [
    ("no-principal", {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]},
     ("Principal",)),
    ("resource", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole",
         "Resource": "*"}]}, ("Has prohibited field Resource",)),
    ("not-json", "{'Version': 2012", ("This policy contains invalid Json",)),  # AWS's words for trust policies
]


@pytest.mark.berth_only  # moto does not validate trust policies in CreateRole
@pytest.mark.parametrize("case,document,words", TRUST_BAD, ids=[c[0] for c in TRUST_BAD])
def test_malformed_trust_policies(iam, case, document, words):
    name = uniq("badtrust")
    text = document if isinstance(document, str) else json.dumps(document)
    _, msg = expect_error(iam.create_role, "MalformedPolicyDocument", *words, RoleName=name,
                          AssumeRolePolicyDocument=text)
    expect_error(iam.get_role, "NoSuchEntity", http_status=404, RoleName=name)


# --- managed policies ---------------------------------------------------------------------------------------------

def test_managed_policy_versions(srv, iam):
    path = f"/{uniq('pol')}/"
    v1_doc = doc(allow("ecs:ListClusters"))
    p = iam.create_policy(PolicyName=uniq("ecs-read"), Path=path, PolicyDocument=v1_doc, Description="read ECS",
                          Tags=[{"Key": "owner", "Value": "ml"}])["Policy"]
    arn = p["Arn"]
    assert arn == policy_arn(p["PolicyName"], path)
    assert (p["DefaultVersionId"], p["AttachmentCount"], p["IsAttachable"], p["Path"]) == ("v1", 0, True, path)
    if BERTH:
        assert unique_id("ANPA").match(p["PolicyId"]), p["PolicyId"]
    _, msg = expect_error(iam.create_policy, "EntityAlreadyExists", http_status=409, PolicyName=p["PolicyName"],
                          Path=path, PolicyDocument=v1_doc)

    got = iam.get_policy(PolicyArn=arn)["Policy"]
    assert (got["PolicyName"], got["Description"], got["DefaultVersionId"]) == (p["PolicyName"], "read ECS", "v1")
    assert got["Tags"] == [{"Key": "owner", "Value": "ml"}]
    v1 = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert v1["Document"] == json.loads(v1_doc) and v1["IsDefaultVersion"] is True and v1["VersionId"] == "v1"
    if BERTH:  # moto sends this one as raw JSON
        raw = query(srv, "GetPolicyVersion", {"PolicyArn": arn, "VersionId": "v1"})
        text = xml(raw).find(".//PolicyVersion/Document").text
        assert text.startswith("%7B") and json.loads(urllib.parse.unquote(text)) == json.loads(v1_doc), text

    v2 = iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc(allow("ecs:List*")))["PolicyVersion"]
    assert (v2["VersionId"], v2["IsDefaultVersion"]) == ("v2", False)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v1"
    v3 = iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc(allow("ecs:Describe*")),
                                   SetAsDefault=True)["PolicyVersion"]
    assert (v3["VersionId"], v3["IsDefaultVersion"]) == ("v3", True)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v3"
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert {v["VersionId"]: v["IsDefaultVersion"] for v in versions} == {"v1": False, "v2": False, "v3": True}

    iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc(allow("ecs:DescribeClusters")))
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc(allow("ecs:DescribeServices")))
    _, msg = expect_error(iam.create_policy_version, "LimitExceeded", http_status=409, PolicyArn=arn,
                          PolicyDocument=doc(allow("ecs:DescribeTasks")))
    assert "5" in msg, msg
    assert len(iam.list_policy_versions(PolicyArn=arn)["Versions"]) == 5

    expect_error(iam.delete_policy_version, "DeleteConflict", http_status=409, PolicyArn=arn, VersionId="v3")
    iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
    expect_error(iam.get_policy_version, "NoSuchEntity", http_status=404, PolicyArn=arn, VersionId="v2")
    expect_error(iam.delete_policy_version, "NoSuchEntity", http_status=404, PolicyArn=arn, VersionId="v2")
    # version ids are never reused
    assert iam.create_policy_version(PolicyArn=arn, PolicyDocument=v1_doc)["PolicyVersion"]["VersionId"] == "v6"

    # Non-default versions block deleting the policy; so do attachments (moto checks neither).
    if BERTH:
        expect_error(iam.delete_policy, "DeleteConflict", http_status=409, PolicyArn=arn)
    for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
        if not v["IsDefaultVersion"]:
            iam.delete_policy_version(PolicyArn=arn, VersionId=v["VersionId"])
    user = new_user(iam)["UserName"]
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    if BERTH:
        expect_error(iam.delete_policy, "DeleteConflict", http_status=409, PolicyArn=arn)
    iam.detach_user_policy(UserName=user, PolicyArn=arn)
    iam.delete_policy(PolicyArn=arn)
    expect_error(iam.get_policy, "NoSuchEntity", http_status=404, PolicyArn=arn)
    expect_error(iam.delete_policy, "NoSuchEntity", http_status=404, PolicyArn=arn)


def test_attachments(iam):
    p = new_policy(iam)
    arn = p["Arn"]
    user = new_user(iam)["UserName"]
    group = iam.create_group(GroupName=uniq("g"))["Group"]["GroupName"]
    role = iam.create_role(RoleName=uniq("r"), AssumeRolePolicyDocument=trust())["Role"]["RoleName"]

    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    if BERTH:  # moto counts a second attachment to the same user
        iam.attach_user_policy(UserName=user, PolicyArn=arn)  # again: no error, still one attachment
    iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    iam.attach_role_policy(RoleName=role, PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 3
    want = [{"PolicyName": p["PolicyName"], "PolicyArn": arn}]
    assert iam.list_attached_user_policies(UserName=user)["AttachedPolicies"] == want
    assert iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"] == want
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == want
    assert paginate(iam, "list_attached_user_policies", "AttachedPolicies", UserName=user) == want

    missing = policy_arn(uniq("nope"))
    _, msg = expect_error(iam.attach_user_policy, "NoSuchEntity", http_status=404, UserName=user, PolicyArn=missing)
    assert missing in msg, msg
    expect_error(iam.attach_user_policy, "NoSuchEntity", http_status=404, UserName=user + "x", PolicyArn=arn)
    expect_error(iam.attach_role_policy, "NoSuchEntity", http_status=404, RoleName=role + "x", PolicyArn=arn)

    iam.detach_user_policy(UserName=user, PolicyArn=arn)
    iam.detach_group_policy(GroupName=group, PolicyArn=arn)
    iam.detach_role_policy(RoleName=role, PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 0
    assert iam.list_attached_user_policies(UserName=user)["AttachedPolicies"] == []
    expect_error(iam.detach_user_policy, "NoSuchEntity", http_status=404, UserName=user, PolicyArn=arn)
    expect_error(iam.detach_group_policy, "NoSuchEntity", http_status=404, GroupName=group, PolicyArn=arn)


@pytest.mark.berth_only
def test_aws_managed_policies_do_not_exist(iam):
    """Berth has no AWS managed policies: attaching one answers NoSuchEntity, and Scope=AWS lists nothing."""
    user = new_user(iam)["UserName"]
    for arn in ("arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/AdministratorAccess"):
        _, msg = expect_error(iam.attach_user_policy, "NoSuchEntity", http_status=404, UserName=user, PolicyArn=arn)
        assert msg == f"Policy {arn} does not exist or is not attachable.", msg
        expect_error(iam.get_policy, "NoSuchEntity", http_status=404, PolicyArn=arn)
    assert iam.list_attached_user_policies(UserName=user)["AttachedPolicies"] == []
    assert paginate(iam, "list_policies", "Policies", Scope="AWS") == []
    details = iam.get_account_authorization_details(Filter=["AWSManagedPolicy"])
    assert details["Policies"] == [] and details["UserDetailList"] == []


def test_list_policies(iam):
    path = f"/{uniq('lp')}/"
    names = sorted(uniq("lp") for _ in range(4))
    arns = {n: iam.create_policy(PolicyName=n, Path=path, PolicyDocument=doc(allow("ecs:List*")))["Policy"]["Arn"]
            for n in names}
    user = new_user(iam)["UserName"]
    iam.attach_user_policy(UserName=user, PolicyArn=arns[names[0]])

    local = iam.list_policies(Scope="Local", PathPrefix=path)
    assert sorted(x["PolicyName"] for x in local["Policies"]) == names and local["IsTruncated"] is False
    assert sorted(x["PolicyName"] for x in iam.list_policies(Scope="All", PathPrefix=path)["Policies"]) == names
    assert iam.list_policies(Scope="AWS", PathPrefix=path)["Policies"] == []
    attached = iam.list_policies(Scope="Local", PathPrefix=path, OnlyAttached=True)["Policies"]
    assert [(x["PolicyName"], x["AttachmentCount"]) for x in attached] == [(names[0], 1)]

    first = iam.list_policies(Scope="Local", PathPrefix=path, MaxItems=3)
    assert len(first["Policies"]) == 3 and first["IsTruncated"] is True
    rest = iam.list_policies(Scope="Local", PathPrefix=path, MaxItems=3, Marker=first["Marker"])
    assert rest["IsTruncated"] is False
    assert sorted(x["PolicyName"] for x in first["Policies"] + rest["Policies"]) == names
    paged = paginate(iam, "list_policies", "Policies", Scope="Local", PathPrefix=path,
                     PaginationConfig={"PageSize": 1})
    assert sorted(x["PolicyName"] for x in paged) == names


# --- inline policies ----------------------------------------------------------------------------------------------

def test_inline_policies(srv, iam):
    user = new_user(iam)["UserName"]
    group = iam.create_group(GroupName=uniq("g"))["Group"]["GroupName"]
    role = iam.create_role(RoleName=uniq("r"), AssumeRolePolicyDocument=trust())["Role"]["RoleName"]
    one, two = doc(allow("ecs:ListClusters")), doc(allow(["logs:DescribeLogGroups", "logs:GetLogEvents"]))
    kinds = [
        ("user", {"UserName": user}, iam.put_user_policy, iam.get_user_policy, iam.list_user_policies,
         iam.delete_user_policy),
        ("group", {"GroupName": group}, iam.put_group_policy, iam.get_group_policy, iam.list_group_policies,
         iam.delete_group_policy),
        ("role", {"RoleName": role}, iam.put_role_policy, iam.get_role_policy, iam.list_role_policies,
         iam.delete_role_policy),
    ]
    for kind, who, put, get, lst, delete in kinds:
        put(PolicyName="a", PolicyDocument=one, **who)
        put(PolicyName="b", PolicyDocument=one, **who)
        put(PolicyName="b", PolicyDocument=two, **who)  # replaces
        got = get(PolicyName="b", **who)
        assert got["PolicyName"] == "b" and got["PolicyDocument"] == json.loads(two), (kind, got)
        assert list(who.values())[0] == got[list(who)[0]]
        assert sorted(lst(**who)["PolicyNames"]) == ["a", "b"], kind
        delete(PolicyName="a", **who)
        assert lst(**who)["PolicyNames"] == ["b"], kind
        expect_error(get, "NoSuchEntity", http_status=404, PolicyName="a", **who)
        expect_error(delete, "NoSuchEntity", http_status=404, PolicyName="a", **who)
        bad = {k: v + "-missing" for k, v in who.items()}
        expect_error(put, "NoSuchEntity", http_status=404, PolicyName="a", PolicyDocument=one, **bad)
    raw = query(srv, "GetUserPolicy", {"UserName": user, "PolicyName": "b"})
    text = xml(raw).find(".//PolicyDocument").text
    assert text.startswith("%7B") and json.loads(urllib.parse.unquote(text)) == json.loads(two), text


def _d(statement, **top):
    return json.dumps({"Version": "2012-10-17", "Statement": statement, **top})


# (id, document, words one of which the message names, berth only)
MALFORMED = [
    ("not-json", "This is not a json document", ("Syntax errors in policy.",), False),
    ("missing-effect", _d([{"Action": "ecs:ListClusters", "Resource": "*"}]), ("Syntax errors in policy.", "Effect"),
     False),
    ("bad-effect", _d([{"Effect": "Maybe", "Action": "ecs:ListClusters", "Resource": "*"}]),
     ("Syntax errors in policy.", "Effect"), False),
    ("unknown-statement-element", _d([{"Effect": "Allow", "Action": "ecs:*", "Resource": "*", "Colour": "red"}]),
     ("Syntax errors in policy.", "Colour"), False),
    ("unknown-top-element", _d([{"Effect": "Allow", "Action": "ecs:*", "Resource": "*"}], Colour="red"),
     ("Syntax errors in policy.", "Colour"), False),
    ("bad-version", json.dumps({"Version": "2020-01-01", "Statement": [
        {"Effect": "Allow", "Action": "ecs:*", "Resource": "*"}]}), ("Syntax errors in policy.", "Version"), False),
    ("empty-statement", _d([]), ("Syntax errors in policy.", "Statement"), False),
    ("no-vendor", _d([{"Effect": "Allow", "Action": "RunTask", "Resource": "*"}]),
     ("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",), False),
    ("two-colons", _d([{"Effect": "Allow", "Action": "ecs:Run:Task", "Resource": "*"}]),
     ("Actions/Condition can contain only one colon.",), False),
    ("no-action", _d([{"Effect": "Allow", "Resource": "*"}]), ("Policy statement must contain actions.",), False),
    ("no-resource", _d([{"Effect": "Allow", "Action": "ecs:ListClusters"}]),
     ("Policy statement must contain resources.",), False),
    ("resource-not-arn", _d([{"Effect": "Allow", "Action": "ecs:ListClusters", "Resource": "my-cluster"}]),
     ('Resource my-cluster must be in ARN format or "*".',), False),
    ("principal-in-identity-policy", _d([{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "ecs:*",
                                          "Resource": "*"}]), ("principal",), True),
]


@pytest.mark.parametrize("case,document,words,berth_only", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_policy_documents(iam, case, document, words, berth_only):
    """MalformedPolicyDocument (HTTP 400), for inline and managed policies alike; nothing is stored."""
    if berth_only and not BERTH:
        pytest.skip("moto accepts this document")
    user = new_user(iam)["UserName"]
    name = uniq("bad")
    for fn, kw in [(iam.put_user_policy, {"UserName": user, "PolicyName": name}),
                   (iam.create_policy, {"PolicyName": name})]:
        _, msg = expect_error(fn, "MalformedPolicyDocument", http_status=400, PolicyDocument=document, **kw)
        assert any(w.lower() in msg.lower() for w in words), (case, msg)
    assert iam.list_user_policies(UserName=user)["PolicyNames"] == []
    expect_error(iam.get_policy, "NoSuchEntity", http_status=404, PolicyArn=policy_arn(name))
    # a managed policy keeps its versions when a new one is malformed
    p = new_policy(iam)
    expect_error(iam.create_policy_version, "MalformedPolicyDocument", PolicyArn=p["Arn"], PolicyDocument=document,
                 SetAsDefault=True)
    assert [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=p["Arn"])["Versions"]] == ["v1"]


def test_managed_policies_need_the_current_language_version(iam):
    for version in (None, "2008-10-17"):
        body = {"Statement": [{"Effect": "Allow", "Action": "ecs:ListClusters", "Resource": "*"}]}
        if version:
            body["Version"] = version
        _, msg = expect_error(iam.create_policy, "MalformedPolicyDocument", PolicyName=uniq("old"),
                              PolicyDocument=json.dumps(body))
        assert msg == "Policy document must be version 2012-10-17 or greater.", msg


# --- account authorization details --------------------------------------------------------------------------------

def test_account_authorization_details(iam):
    path = f"/{uniq('aad')}/"
    user, group = uniq("aad-user"), uniq("aad-group")
    role = uniq("aad-role")
    iam.create_user(UserName=user, Path=path)
    iam.create_group(GroupName=group, Path=path)
    iam.add_user_to_group(GroupName=group, UserName=user)
    iam.create_role(RoleName=role, Path=path, AssumeRolePolicyDocument=trust())
    p = iam.create_policy(PolicyName=uniq("aad-pol"), Path=path,
                          PolicyDocument=doc(allow("ecs:ListClusters")))["Policy"]
    iam.create_policy_version(PolicyArn=p["Arn"], PolicyDocument=doc(allow("ecs:List*")), SetAsDefault=True)
    inline = doc(allow("logs:DescribeLogGroups"))
    iam.put_user_policy(UserName=user, PolicyName="u-inline", PolicyDocument=inline)
    iam.put_group_policy(GroupName=group, PolicyName="g-inline", PolicyDocument=inline)
    iam.put_role_policy(RoleName=role, PolicyName="r-inline", PolicyDocument=inline)
    for attach, who in [(iam.attach_user_policy, {"UserName": user}), (iam.attach_group_policy, {"GroupName": group}),
                        (iam.attach_role_policy, {"RoleName": role})]:
        attach(PolicyArn=p["Arn"], **who)

    pages = list(iam.get_paginator("get_account_authorization_details").paginate(
        PaginationConfig={"PageSize": 5}))
    everything = {k: [x for page in pages for x in page.get(k, [])]
                  for k in ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")}
    attached = [{"PolicyName": p["PolicyName"], "PolicyArn": p["Arn"]}]

    [u] = [x for x in everything["UserDetailList"] if x["UserName"] == user]
    assert (u["Path"], u["Arn"]) == (path, user_arn(user, path))
    assert u["UserPolicyList"] == [{"PolicyName": "u-inline", "PolicyDocument": json.loads(inline)}]
    assert u["GroupList"] == [group] and u["AttachedManagedPolicies"] == attached

    [g] = [x for x in everything["GroupDetailList"] if x["GroupName"] == group]
    assert g["Arn"] == group_arn(group, path)
    assert g["GroupPolicyList"] == [{"PolicyName": "g-inline", "PolicyDocument": json.loads(inline)}]
    assert g["AttachedManagedPolicies"] == attached

    [r] = [x for x in everything["RoleDetailList"] if x["RoleName"] == role]
    assert r["Arn"] == role_arn(role, path) and r["AssumeRolePolicyDocument"] == json.loads(trust())
    assert r["RolePolicyList"] == [{"PolicyName": "r-inline", "PolicyDocument": json.loads(inline)}]
    assert r["AttachedManagedPolicies"] == attached

    [pol] = [x for x in everything["Policies"] if x["Arn"] == p["Arn"]]
    if BERTH:  # moto leaves PolicyName out
        assert pol["PolicyName"] == p["PolicyName"]
    assert (pol["DefaultVersionId"], pol["AttachmentCount"]) == ("v2", 3)
    versions = {v["VersionId"]: (v["IsDefaultVersion"], v["Document"]) for v in pol["PolicyVersionList"]}
    assert versions == {"v1": (False, json.loads(doc(allow("ecs:ListClusters")))),
                        "v2": (True, json.loads(doc(allow("ecs:List*"))))}

    # Filters: only the kinds asked for.
    only_users = iam.get_account_authorization_details(Filter=["User"], MaxItems=1000)
    assert only_users["GroupDetailList"] == [] and only_users["RoleDetailList"] == [] and only_users["Policies"] == []
    assert user in [x["UserName"] for x in only_users["UserDetailList"]]
    roles_and_policies = paginate_details(iam, Filter=["Role", "LocalManagedPolicy"])
    assert roles_and_policies["UserDetailList"] == [] and roles_and_policies["GroupDetailList"] == []
    assert role in [x["RoleName"] for x in roles_and_policies["RoleDetailList"]]
    assert p["Arn"] in [x["Arn"] for x in roles_and_policies["Policies"]]

    # Paging by hand: MaxItems / IsTruncated / Marker (moto ignores MaxItems here).
    if not BERTH:
        return
    first = iam.get_account_authorization_details(MaxItems=1)
    assert first["IsTruncated"] is True and first["Marker"]
    assert sum(len(first[k]) for k in everything) == 1


def paginate_details(iam, **kw):
    pages = list(iam.get_paginator("get_account_authorization_details").paginate(**kw))
    return {k: [x for page in pages for x in page.get(k, [])]
            for k in ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")}


# --- waiters ------------------------------------------------------------------------------------------------------

def test_waiters(iam):
    name = uniq("late")
    timer = threading.Timer(1.2, lambda: iam.create_user(UserName=name))
    started = time.monotonic()
    timer.start()
    try:
        iam.get_waiter("user_exists").wait(UserName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    finally:
        timer.join()
    assert 1.0 <= time.monotonic() - started < 8, "the waiter retried on NoSuchEntity until the user existed"

    role = iam.create_role(RoleName=uniq("r"), AssumeRolePolicyDocument=trust())["Role"]["RoleName"]
    iam.get_waiter("role_exists").wait(RoleName=role, WaiterConfig={"Delay": 1, "MaxAttempts": 3})
    arn = new_policy(iam)["Arn"]
    iam.get_waiter("policy_exists").wait(PolicyArn=arn, WaiterConfig={"Delay": 1, "MaxAttempts": 3})
    from botocore.exceptions import WaiterError
    with pytest.raises(WaiterError):
        iam.get_waiter("role_exists").wait(RoleName=role + "x", WaiterConfig={"Delay": 1, "MaxAttempts": 2})


# --- STS ----------------------------------------------------------------------------------------------------------

@pytest.mark.berth_only
def test_caller_identity_of_the_root(srv, sts):
    me = sts.get_caller_identity()
    assert (me["Account"], me["Arn"], me["UserId"]) == (ACCOUNT, ROOT_ARN, ACCOUNT)
    _, out, _ = srv.cli("sts", "get-caller-identity")
    assert out == {"UserId": ACCOUNT, "Account": ACCOUNT, "Arn": ROOT_ARN}
    r = query(srv, "GetCallerIdentity", service="sts")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/xml"), r.text
    root = xml(r)
    assert root.tag == "GetCallerIdentityResponse" and root.findtext(".//Arn") == ROOT_ARN, r.text
    assert root.findtext("ResponseMetadata/RequestId")


def test_caller_identity_of_a_user(srv, iam):
    u = new_user(iam, Path=f"/{uniq('sts')}/")
    key = iam.create_access_key(UserName=u["UserName"])["AccessKey"]
    me = srv.client("sts", creds=(key["AccessKeyId"], key["SecretAccessKey"])).get_caller_identity()
    assert (me["Account"], me["Arn"], me["UserId"]) == (ACCOUNT, u["Arn"], u["UserId"])


# --- the Query protocol on the wire ---------------------------------------------------------------------------------

@pytest.mark.berth_only
def test_query_protocol_documents(srv, iam):
    name = new_user(iam)["UserName"]
    r = query(srv, "GetUser", {"UserName": name})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/xml"), r.text
    root = xml(r)
    assert root.tag == "GetUserResponse" and root.find("GetUserResult/User/UserName").text == name, r.text
    assert root.findtext("ResponseMetadata/RequestId")

    r = query(srv, "GetUser", {"UserName": name + "x"})
    status, typ, code, msg, rid = xml_error(r)
    assert (status, typ, code) == (404, "Sender", "NoSuchEntity") and rid, r.text
    assert r.headers["Content-Type"].startswith("text/xml")

    r = query(srv, "FlyToTheMoon")
    status, typ, code, msg, rid = xml_error(r)
    assert status == 400 and code == "InvalidAction", r.text

    r = query(srv, "CreateUser", {})
    status, typ, code, msg, rid = xml_error(r)
    assert status == 400 and code in ("ValidationError", "MissingParameter"), r.text
    assert "userName" in msg or "UserName" in msg, msg

    # The same names in the CLI: errors are printed with their code, and the exit status is 254/255.
    rc, _, err = srv.cli("iam", "get-user", "--user-name", name + "x", check=False)
    assert rc != 0 and "NoSuchEntity" in err, err
