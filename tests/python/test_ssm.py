"""SSM Parameter Store against one `berth up --no-agent`, with boto3 and the aws CLI: String, StringList and
SecureString parameters (sealed; without WithDecryption the sealed text comes back), versions and selectors
(`name:3`, `name:label`), labels, hierarchies (GetParametersByPath, one level and recursive), DescribeParameters
filters, history, paginators, tiers and their size limits, allowed patterns, tags, deletion, bad input answered with
Parameter Store's codes, and SecureString values never reaching the store file or the server's log in clear.
"""

import json
import uuid

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION, expect_error, uniq

pytestmark = pytest.mark.berth_only


@pytest.fixture(scope="module")
def srv(server_factory):
    return server_factory(extra_args=["--no-agent"], env={"BERTH_LOG": "debug"})


@pytest.fixture(scope="module")
def ssm(srv):
    return srv.client("ssm")


def root():
    """A hierarchy of this test's own."""
    return "/" + uniq("t")


def raw(srv, operation, body):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonSSM." + operation}
    req = AWSRequest(method="POST", url=srv.endpoint + "/", data=data, headers=headers)
    SigV4Auth(Credentials(*srv.creds), "ssm", REGION).add_auth(req)
    resp = requests.post(srv.endpoint + "/", data=data, headers=dict(req.prepare().headers), timeout=30)
    return resp.status_code, resp.json()


def raw_error(srv, operation, body):
    status, doc = raw(srv, operation, body)
    assert status == 400, (status, doc)
    return doc["__type"], doc.get("message", "")


def test_put_and_get_each_type(ssm):
    base = root()
    ssm.put_parameter(Name=f"{base}/s", Value="plain", Type="String")
    out = ssm.put_parameter(Name=f"{base}/list", Value="a,b,c", Type="StringList")
    assert (out["Version"], out["Tier"]) == (1, "Standard")
    ssm.put_parameter(Name=f"{base}/secure", Value="s3cr3t-value", Type="SecureString", Description="token",
                      KeyId="alias/aws/ssm")
    p = ssm.get_parameter(Name=f"{base}/s")["Parameter"]
    assert (p["Name"], p["Type"], p["Value"], p["Version"]) == (f"{base}/s", "String", "plain", 1)
    assert p["DataType"] == "text"
    assert p["ARN"] == f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{base}/s"
    assert ssm.get_parameter(Name=f"{base}/list")["Parameter"]["Value"] == "a,b,c"
    sealed = ssm.get_parameter(Name=f"{base}/secure")["Parameter"]
    assert sealed["Type"] == "SecureString" and sealed["Value"] != "s3cr3t-value" and "s3cr3t" not in sealed["Value"]
    opened = ssm.get_parameter(Name=f"{base}/secure", WithDecryption=True)["Parameter"]
    assert opened["Value"] == "s3cr3t-value"
    assert ssm.get_parameter(Name=p["ARN"])["Parameter"]["Value"] == "plain", "by ARN"
    # One-level names: '/x' and 'x' are the same parameter.
    flat = uniq("flat")
    ssm.put_parameter(Name=flat, Value="1", Type="String")
    assert ssm.get_parameter(Name="/" + flat)["Parameter"]["Value"] == "1"
    expect_error(ssm.put_parameter, "ParameterAlreadyExists", Name="/" + flat, Value="2", Type="String")
    code, msg = expect_error(ssm.get_parameter, "ParameterNotFound", Name=f"{base}/missing")
    assert f"{base}/missing" in msg


def test_overwrite_versions_and_selectors(ssm):
    name = root() + "/db/url"
    ssm.put_parameter(Name=name, Value="v1", Type="String", Description="first")
    code, msg = expect_error(ssm.put_parameter, "ParameterAlreadyExists", Name=name, Value="v2", Type="String")
    assert "overwrite" in msg
    out = ssm.put_parameter(Name=name, Value="v2", Overwrite=True)
    assert out["Version"] == 2
    ssm.put_parameter(Name=name, Value="v3", Overwrite=True, Type="StringList")
    p = ssm.get_parameter(Name=name)["Parameter"]
    assert (p["Value"], p["Version"], p["Type"]) == ("v3", 3, "StringList")
    described = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"]
    assert described[0]["Description"] == "first", "the description is kept"
    v1 = ssm.get_parameter(Name=f"{name}:1")["Parameter"]
    assert (v1["Value"], v1["Version"], v1["Selector"], v1["Type"]) == ("v1", 1, ":1", "String")
    code, msg = expect_error(ssm.get_parameter, "ParameterVersionNotFound", Name=f"{name}:9")
    assert "9" in msg
    ssm.label_parameter_version(Name=name, ParameterVersion=2, Labels=["stable"])
    p = ssm.get_parameter(Name=f"{name}:stable")["Parameter"]
    assert (p["Value"], p["Selector"]) == ("v2", ":stable")
    expect_error(ssm.get_parameter, "ParameterVersionNotFound", Name=f"{name}:nolabel")
    expect_error(ssm.get_parameter, "ValidationException", "Name", Name=f"{name}:")


def test_get_parameters(ssm):
    base = root()
    for i in range(3):
        ssm.put_parameter(Name=f"{base}/p{i}", Value=f"v{i}", Type="SecureString" if i == 2 else "String")
    out = ssm.get_parameters(Names=[f"{base}/p0", f"{base}/p1", f"{base}/p1", f"{base}/p2", f"{base}/nope",
                                    f"{base}/p0:7", "bad name"], WithDecryption=True)
    assert sorted((p["Name"], p["Value"]) for p in out["Parameters"]) == [
        (f"{base}/p0", "v0"), (f"{base}/p1", "v1"), (f"{base}/p2", "v2")]
    assert sorted(out["InvalidParameters"]) == sorted([f"{base}/nope", f"{base}/p0:7", "bad name"])
    sealed = ssm.get_parameters(Names=[f"{base}/p2"])["Parameters"][0]
    assert sealed["Value"] != "v2"


def test_hierarchies_by_path_with_paginator_and_filters(ssm, srv):
    base = root()
    names = [f"{base}/app/a", f"{base}/app/b", f"{base}/app/c", f"{base}/app/deep/d", f"{base}/app/deep/er/e",
             f"{base}/other"]
    for n in names:
        ssm.put_parameter(Name=n, Value=n.rsplit("/", 1)[1], Type="SecureString" if n.endswith("/b") else "String")

    def by_path(**kw):
        pages = ssm.get_paginator("get_parameters_by_path").paginate(**kw)
        return [p["Name"] for page in pages for p in page["Parameters"]]

    assert by_path(Path=f"{base}/app") == names[:3]
    assert by_path(Path=f"{base}/app/") == names[:3], "a trailing slash is the same path"
    assert by_path(Path=f"{base}/app", Recursive=True, PaginationConfig={"PageSize": 2}) == names[:5]
    assert by_path(Path=base, Recursive=True) == sorted(names)
    assert by_path(Path=f"{base}/ap") == [], "a prefix of a level is not a path"
    first = ssm.get_parameters_by_path(Path=f"{base}/app", Recursive=True, MaxResults=2)
    assert len(first["Parameters"]) == 2 and first["NextToken"]
    assert by_path(Path=f"{base}/app", ParameterFilters=[{"Key": "Type", "Values": ["SecureString"]}]) \
        == [f"{base}/app/b"]
    secure = ssm.get_parameters_by_path(Path=f"{base}/app", WithDecryption=True)["Parameters"]
    assert {p["Name"]: p["Value"] for p in secure}[f"{base}/app/b"] == "b"
    ssm.put_parameter(Name=f"{base}/app/a", Value="a2", Overwrite=True)
    ssm.label_parameter_version(Name=f"{base}/app/a", ParameterVersion=1, Labels=["golden"])
    labelled = ssm.get_parameters_by_path(Path=f"{base}/app", ParameterFilters=[{"Key": "Label", "Values": ["golden"]}])
    assert [(p["Name"], p["Value"], p["Version"]) for p in labelled["Parameters"]] == [(f"{base}/app/a", "a", 1)]
    flat = uniq("rootlevel")
    ssm.put_parameter(Name=flat, Value="x", Type="String")
    assert flat in by_path(Path="/"), "one-level names lie under /"
    expect_error(ssm.get_parameters_by_path, "InvalidFilterKey", "Name", Path=base,
                 ParameterFilters=[{"Key": "Name", "Values": ["x"]}])
    expect_error(ssm.get_parameters_by_path, "ValidationException", "forward slash", Path="no-slash")
    expect_error(ssm.get_parameters_by_path, "InvalidNextToken", Path=base, NextToken="garbage")
    code, _ = raw_error(srv, "GetParametersByPath", {"Path": base, "MaxResults": 11})
    assert code == "ValidationException"


def test_describe_parameters_filters_and_paginator(ssm, srv):
    base = root()
    ssm.put_parameter(Name=f"{base}/x/one", Value="1", Type="String", Tags=[{"Key": "team", "Value": "ml-infra"}])
    ssm.put_parameter(Name=f"{base}/x/two", Value="2", Type="SecureString", Tier="Advanced")
    ssm.put_parameter(Name=f"{base}/x/y/three", Value="3", Type="StringList")

    def described(**kw):
        pages = ssm.get_paginator("describe_parameters").paginate(**kw)
        return [p for page in pages for p in page["Parameters"]]

    within = [{"Key": "Path", "Option": "Recursive", "Values": [base]}]
    everything = described(ParameterFilters=within, PaginationConfig={"PageSize": 1})
    assert [p["Name"] for p in everything] == [f"{base}/x/one", f"{base}/x/two", f"{base}/x/y/three"]
    two = [p for p in everything if p["Name"].endswith("/two")][0]
    assert (two["Type"], two["Tier"], two["KeyId"], two["Version"]) == ("SecureString", "Advanced", "alias/aws/ssm", 1)
    assert "Value" not in two
    names = lambda ps: [p["Name"] for p in ps]  # noqa: E731
    one_level = [{"Key": "Path", "Values": [f"{base}/x"]}]
    assert names(described(ParameterFilters=one_level)) == [f"{base}/x/one", f"{base}/x/two"]
    lists = [{"Key": "Type", "Values": ["StringList"]}]
    assert names(described(ParameterFilters=within + lists)) == [f"{base}/x/y/three"]
    assert names(described(ParameterFilters=within + [{"Key": "tag:team"}])) == [f"{base}/x/one"]
    assert names(described(ParameterFilters=within + [{"Key": "tag:team", "Option": "BeginsWith", "Values": ["ml"]}])) \
        == [f"{base}/x/one"]
    assert names(described(ParameterFilters=within + [{"Key": "Tier", "Values": ["Advanced"]}])) == [f"{base}/x/two"]
    assert names(described(ParameterFilters=[{"Key": "Name", "Option": "BeginsWith", "Values": [f"{base}/x/y"]}])) \
        == [f"{base}/x/y/three"]
    assert names(described(ParameterFilters=[{"Key": "Name", "Values": [f"{base}/x/one"]}])) == [f"{base}/x/one"]
    assert names(described(Filters=[{"Key": "Name", "Values": [f"{base}/x/t"]}])) == [f"{base}/x/two"]
    keyed = [{"Key": "KeyId", "Values": ["alias/aws/ssm"]}]
    assert names(described(ParameterFilters=within + keyed)) == [f"{base}/x/two"]
    expect_error(ssm.describe_parameters, "ValidationException", "ParameterFilters",
                 Filters=[{"Key": "Name", "Values": ["a"]}], ParameterFilters=[{"Key": "Name", "Values": ["a"]}])
    expect_error(ssm.describe_parameters, "InvalidFilterKey", "Label",
                 ParameterFilters=[{"Key": "Label", "Values": ["a"]}])
    expect_error(ssm.describe_parameters, "InvalidFilterOption", "Contains",
                 ParameterFilters=[{"Key": "Type", "Option": "Contains", "Values": ["String"]}])
    expect_error(ssm.describe_parameters, "InvalidFilterValue", "Type",
                 ParameterFilters=[{"Key": "Type", "Values": ["Number"]}])
    code, msg = raw_error(srv, "DescribeParameters", {"MaxResults": 51})
    assert code == "ValidationException" and "MaxResults" in msg


def test_history_labels_and_the_version_limit(ssm):
    name = root() + "/hist"
    for i in range(1, 5):
        ssm.put_parameter(Name=name, Value=f"v{i}", Type="SecureString", Overwrite=i > 1)
    out = ssm.label_parameter_version(Name=name, ParameterVersion=2, Labels=["prod", "1bad", "awsy", "beta"])
    assert (sorted(out["InvalidLabels"]), out["ParameterVersion"]) == (["1bad", "awsy"], 2)
    assert ssm.label_parameter_version(Name=name, Labels=["prod"])["ParameterVersion"] == 4, "a label moves"
    pages = list(ssm.get_paginator("get_parameter_history").paginate(Name=name, WithDecryption=True,
                                                                     PaginationConfig={"PageSize": 1}))
    history = [p for page in pages for p in page["Parameters"]]
    assert [(h["Version"], h["Value"], h.get("Labels", [])) for h in history] == [
        (1, "v1", []), (2, "v2", ["beta"]), (3, "v3", []), (4, "v4", ["prod"])]
    assert history[0]["KeyId"] == "alias/aws/ssm" and history[0]["Tier"] == "Standard"
    assert all(h["Value"] != "v1" for h in ssm.get_parameter_history(Name=name)["Parameters"][:1]), "sealed"
    out = ssm.unlabel_parameter_version(Name=name, ParameterVersion=4, Labels=["prod", "nope"])
    assert (out["RemovedLabels"], out["InvalidLabels"]) == (["prod"], ["nope"])
    expect_error(ssm.label_parameter_version, "ParameterVersionNotFound", Name=name, ParameterVersion=99,
                 Labels=["x"])
    ssm.label_parameter_version(Name=name, ParameterVersion=1, Labels=[f"l{i}" for i in range(10)])
    expect_error(ssm.label_parameter_version, "ParameterVersionLabelLimitExceeded", Name=name, ParameterVersion=1,
                 Labels=["eleventh"])
    expect_error(ssm.get_parameter_history, "ParameterNotFound", Name=root())

    # 100 versions are kept; the oldest goes, unless it has a label.
    for i in range(5, 101):
        ssm.put_parameter(Name=name, Value=f"v{i}", Type="SecureString", Overwrite=True)
    code, msg = expect_error(ssm.put_parameter, "ParameterMaxVersionLimitExceeded", Name=name, Value="v101",
                             Overwrite=True)
    assert "Version 1" in msg
    ssm.unlabel_parameter_version(Name=name, ParameterVersion=1, Labels=[f"l{i}" for i in range(10)])
    assert ssm.put_parameter(Name=name, Value="v101", Overwrite=True)["Version"] == 101
    versions = [h["Version"] for p in ssm.get_paginator("get_parameter_history").paginate(Name=name)
                for h in p["Parameters"]]
    assert versions == list(range(2, 102))
    expect_error(ssm.get_parameter, "ParameterVersionNotFound", Name=f"{name}:1")


def test_delete_parameters(ssm, srv):
    base = root()
    for i in range(3):
        ssm.put_parameter(Name=f"{base}/d{i}", Value="v", Type="String")
    ssm.delete_parameter(Name=f"{base}/d0")
    expect_error(ssm.get_parameter, "ParameterNotFound", Name=f"{base}/d0")
    expect_error(ssm.delete_parameter, "ParameterNotFound", Name=f"{base}/d0")
    out = ssm.delete_parameters(Names=[f"{base}/d1", f"{base}/d2", f"{base}/d0"])
    assert sorted(out["DeletedParameters"]) == [f"{base}/d1", f"{base}/d2"]
    assert out["InvalidParameters"] == [f"{base}/d0"]
    # A new parameter of the same name starts again at version 1, without the old history.
    assert ssm.put_parameter(Name=f"{base}/d1", Value="new", Type="String")["Version"] == 1
    assert len(ssm.get_parameter_history(Name=f"{base}/d1")["Parameters"]) == 1
    code, _ = raw_error(srv, "DeleteParameters", {"Names": [f"{base}/x{i}" for i in range(11)]})
    assert code == "ValidationException"


def test_tags(ssm):
    name = root() + "/tagged"
    ssm.put_parameter(Name=name, Value="v", Type="String", Tags=[{"Key": "a", "Value": "1"}])
    ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=name, Tags=[{"Key": "b", "Value": "2"}])
    tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]
    assert tags == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
    ssm.remove_tags_from_resource(ResourceType="Parameter", ResourceId=name, TagKeys=["a"])
    arn = ssm.get_parameter(Name=name)["Parameter"]["ARN"]
    by_arn = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=arn)["TagList"]
    assert by_arn == [{"Key": "b", "Value": "2"}]
    expect_error(ssm.add_tags_to_resource, "InvalidResourceType", "Parameter", ResourceType="Document",
                 ResourceId="doc", Tags=[{"Key": "a", "Value": "1"}])
    expect_error(ssm.list_tags_for_resource, "InvalidResourceId", ResourceType="Parameter", ResourceId=root())
    expect_error(ssm.add_tags_to_resource, "TooManyTagsError", ResourceType="Parameter", ResourceId=name,
                 Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    expect_error(ssm.add_tags_to_resource, "ValidationException", "aws:", ResourceType="Parameter", ResourceId=name,
                 Tags=[{"Key": "aws:x", "Value": "v"}])
    expect_error(ssm.put_parameter, "ValidationException", "overwrite", Name=name, Value="v2", Overwrite=True,
                 Tags=[{"Key": "c", "Value": "3"}])


def test_tiers_and_size_limits(ssm):
    base = root()
    expect_error(ssm.put_parameter, "ValidationException", "Standard", Name=f"{base}/big", Value="x" * 4097,
                 Type="String")
    assert ssm.put_parameter(Name=f"{base}/std", Value="x" * 4096, Type="String")["Tier"] == "Standard"
    assert ssm.put_parameter(Name=f"{base}/adv", Value="x" * 8192, Type="String", Tier="Advanced")["Tier"] == "Advanced"
    expect_error(ssm.put_parameter, "ValidationException", "Advanced", Name=f"{base}/huge", Value="x" * 8193,
                 Type="String", Tier="Advanced")
    out = ssm.put_parameter(Name=f"{base}/auto", Value="x" * 5000, Type="String", Tier="Intelligent-Tiering")
    assert out["Tier"] == "Advanced"
    assert ssm.put_parameter(Name=f"{base}/small", Value="x", Type="String", Tier="Intelligent-Tiering")["Tier"] \
        == "Standard"
    expect_error(ssm.put_parameter, "ValidationException", "downgrade", Name=f"{base}/adv", Value="y", Overwrite=True,
                 Tier="Standard")
    assert ssm.put_parameter(Name=f"{base}/adv", Value="y", Overwrite=True)["Tier"] == "Advanced"


def test_names_patterns_and_unsupported_options(ssm, srv):
    base = root()
    for reserved in ("/aws/mine", "awsthing", "/SSM/x", "ssm-y"):
        expect_error(ssm.put_parameter, "ValidationException", "aws", Name=reserved, Value="v", Type="String")
    expect_error(ssm.put_parameter, "ValidationException", "fully qualified", Name="a/b", Value="v", Type="String")
    expect_error(ssm.put_parameter, "ValidationException", "Name", Name=f"{base}/bad name", Value="v", Type="String")
    expect_error(ssm.put_parameter, "HierarchyLevelLimitExceededException", "15", Name=base + "/l" * 15, Value="v",
                 Type="String")
    ssm.put_parameter(Name=base + "/l" * 14, Value="v", Type="String")
    expect_error(ssm.put_parameter, "ValidationException", "Type", Name=f"{base}/untyped", Value="v")
    ssm.put_parameter(Name=f"{base}/num", Value="42", Type="String", AllowedPattern=r"^\d+$")
    code, msg = expect_error(ssm.put_parameter, "ParameterPatternMismatchException", "allowedPattern",
                             Name=f"{base}/num", Value="forty-two", Overwrite=True)
    assert "forty-two" not in msg
    assert ssm.put_parameter(Name=f"{base}/num", Value="43", Overwrite=True)["Version"] == 2
    expect_error(ssm.put_parameter, "InvalidAllowedPatternException", "AllowedPattern", Name=f"{base}/re",
                 Value="v", Type="String", AllowedPattern="(?=lookahead)")
    code, msg = expect_error(ssm.put_parameter, "InvalidKeyId", "KeyId", Name=f"{base}/k", Value="v",
                             Type="SecureString", KeyId="alias/custom")
    assert "KMS" in msg
    expect_error(ssm.put_parameter, "ValidationException", "KeyId", Name=f"{base}/k", Value="v", Type="String",
                 KeyId="alias/aws/ssm")
    expect_error(ssm.put_parameter, "ValidationException", "DataType", Name=f"{base}/ami", Value="ami-123",
                 Type="String", DataType="aws:ec2:image")
    expect_error(ssm.put_parameter, "ValidationException", "Policies", Name=f"{base}/p", Value="v", Type="String",
                 Policies='[{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2030-01-01T00:00:00Z"}}]')
    code, msg = raw_error(srv, "PutParameter", {"Name": f"{base}/t", "Value": "v", "Type": "Number"})
    assert code == "ValidationException" and "type" in msg
    code, msg = raw_error(srv, "PutParameter", {"Name": f"{base}/t", "Type": "String"})
    assert code == "ValidationException" and "Value" in msg
    code, msg = raw_error(srv, "GetParameters", {"Names": [f"{base}/{i}" for i in range(11)]})
    assert code == "ValidationException" and "Names" in msg
    code, msg = raw_error(srv, "SendCommand", {"DocumentName": "AWS-RunShellScript"})
    assert code == "InvalidRequestException" and "SendCommand" in msg
    assert raw_error(srv, "Frobnicate", {})[0] == "UnknownOperationException"
    status, doc = raw(srv, "GetParameter", b"[1, 2]")
    assert status == 400 and doc["__type"] == "SerializationException"


def test_aws_cli(srv):
    base = root()
    _, out, _ = srv.cli("ssm", "put-parameter", "--name", f"{base}/cli", "--value", "from-cli", "--type", "String")
    assert out["Version"] == 1
    srv.cli("ssm", "put-parameter", "--name", f"{base}/cli-secret", "--value", "hidden", "--type", "SecureString")
    _, got, _ = srv.cli("ssm", "get-parameter", "--name", f"{base}/cli-secret", "--with-decryption")
    assert got["Parameter"]["Value"] == "hidden"
    _, listed, _ = srv.cli("ssm", "get-parameters-by-path", "--path", base, "--max-items", "1")
    assert len(listed["Parameters"]) == 1 and listed.get("NextToken")
    _, listed, _ = srv.cli("ssm", "get-parameters-by-path", "--path", base)
    assert [p["Name"] for p in listed["Parameters"]] == [f"{base}/cli", f"{base}/cli-secret"]
    _, described, _ = srv.cli("ssm", "describe-parameters", "--parameter-filters",
                              f"Key=Path,Option=Recursive,Values={base}")
    assert len(described["Parameters"]) == 2
    rc, _, err = srv.cli("ssm", "get-parameter", "--name", f"{base}/none", check=False)
    assert rc != 0 and "ParameterNotFound" in err
    srv.cli("ssm", "delete-parameter", "--name", f"{base}/cli")


def test_secure_strings_never_reach_the_store_or_the_log_in_clear(ssm, srv):
    marker = "ssm-leak-check-" + uuid.uuid4().hex
    base = root()
    ssm.put_parameter(Name=f"{base}/s", Value=marker + "-1", Type="SecureString")
    ssm.put_parameter(Name=f"{base}/s", Value=marker + "-2", Type="SecureString", Overwrite=True)
    ssm.label_parameter_version(Name=f"{base}/s", ParameterVersion=1, Labels=["old"])
    assert ssm.get_parameter(Name=f"{base}/s:old", WithDecryption=True)["Parameter"]["Value"] == marker + "-1"
    ssm.get_parameters_by_path(Path=base, WithDecryption=True)
    ssm.get_parameter_history(Name=f"{base}/s", WithDecryption=True)
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name=f"{base}/p", Value=marker, Type="String", AllowedPattern=r"^\d+$")
    assert marker not in str(e.value.response)
    for shown in (ssm.describe_parameters(ParameterFilters=[{"Key": "Path", "Values": [base]}]),
                  ssm.get_parameter(Name=f"{base}/s"), ssm.get_parameter_history(Name=f"{base}/s")):
        assert marker not in json.dumps(shown, default=str)
    srv.restart()
    ssm2 = srv.client("ssm")
    assert ssm2.get_parameter(Name=f"{base}/s", WithDecryption=True)["Parameter"]["Value"] == marker + "-2"
    files = [p for p in srv.data_dir.iterdir() if p.name.startswith("berth.db")]
    assert any(p.name == "berth.db" for p in files)
    for path in files:
        assert marker.encode() not in path.read_bytes(), f"{path.name} holds a SecureString value in clear"
    logs = srv.logs()
    assert "GetParameter" in logs, "the server logged the requests (debug level)"
    assert marker not in logs
