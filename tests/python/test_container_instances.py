import datetime

import pytest

from conftest import (ACCOUNT, REGION, TARGET, all_clusters, attr_map, cluster_arn, expect_error, register_instance,
                      tag_map, uniq)

moto_lacks = pytest.mark.xfail(TARGET == "moto", reason="moto ignores this part of ECS", strict=False)


def resources(res):
    out = {}
    for r in res or []:
        if r["type"] == "STRINGSET":
            out[r["name"]] = sorted(r.get("stringSetValue", []))
        elif r["type"] == "INTEGER":
            out[r["name"]] = r.get("integerValue")
        else:
            out[r["name"]] = r.get("longValue", r.get("doubleValue"))
    return out


def list_all(ecs, cluster, **kw):
    return [a for p in ecs.get_paginator("list_container_instances").paginate(cluster=cluster, **kw)
            for a in p["containerInstanceArns"]]


@pytest.fixture(scope="module")
def fleet(ecs):
    """Three instances: two linux (t3.large in 1a, g5.xlarge in 1b) and one windows m5.large in 1a."""
    cluster = uniq("fleet")
    ecs.create_cluster(clusterName=cluster)
    i1 = register_instance(ecs, cluster, az="us-east-1a", itype="t3.large",
                           attributes=[{"name": "stack", "value": "prod"}], tags=[{"key": "owner", "value": "a"}])
    i2 = register_instance(ecs, cluster, az="us-east-1b", itype="g5.xlarge",
                           attributes=[{"name": "stack", "value": "dev"}, {"name": "gpu", "value": "nvidia"}],
                           platformDevices=[{"id": "GPU-0", "type": "GPU"}])
    i3 = register_instance(ecs, cluster, az="us-east-1a", itype="m5.large", os_type="windows",
                           cpu=2048, mem=3072)
    return cluster, [i1, i2, i3]


def test_registration_fields(ecs, fleet):
    cluster, (i1, i2, i3) = fleet
    arn = i1["containerInstanceArn"]
    prefix = f"arn:aws:ecs:{REGION}:{ACCOUNT}:container-instance/{cluster}/"
    assert arn.startswith(prefix)
    short_id = arn[len(prefix):]
    assert short_id and "/" not in short_id
    assert i1["status"] == "ACTIVE"
    assert i1["ec2InstanceId"].startswith("i-")
    assert isinstance(i1["registeredAt"], datetime.datetime)
    assert i1["versionInfo"] == {"agentVersion": "1.80.0", "agentHash": "abcdef0",
                                 "dockerVersion": "DockerVersion: 24.0.7"}
    want = {"CPU": 4096, "MEMORY": 7680, "PORTS": sorted(["22", "2375", "2376", "51678", "51679"]), "PORTS_UDP": []}
    assert resources(i1["registeredResources"]) == want
    assert resources(i1["remainingResources"]) == want
    attrs = attr_map(i1["attributes"])
    assert attrs["ecs.availability-zone"] == "us-east-1a"
    assert attrs["ecs.instance-type"] == "t3.large"
    assert attrs["ecs.os-type"] == "linux"
    assert attrs["stack"] == "prod"
    assert attr_map(i3["attributes"])["ecs.os-type"] == "windows"
    assert resources(i3["registeredResources"])["CPU"] == 2048
    assert i1["runningTasksCount"] == 0 and i1["pendingTasksCount"] == 0


def test_describe_by_arn_and_id(ecs, fleet):
    cluster, insts = fleet
    arns = [i["containerInstanceArn"] for i in insts]
    ids = [a.rsplit("/", 1)[1] for a in arns]
    for idents in (arns, ids):
        d = ecs.describe_container_instances(cluster=cluster, containerInstances=idents)
        assert d["failures"] == []
        assert sorted(c["containerInstanceArn"] for c in d["containerInstances"]) == sorted(arns)
    # the cluster may be given as an ARN too
    d = ecs.describe_container_instances(cluster=cluster_arn(cluster), containerInstances=ids[:1])
    assert [c["containerInstanceArn"] for c in d["containerInstances"]] == arns[:1]
    assert d["containerInstances"][0]["ec2InstanceId"] == insts[0]["ec2InstanceId"]

    ghost = "0123456789abcdef0123456789abcdef"
    d = ecs.describe_container_instances(cluster=cluster, containerInstances=[ids[0], ghost])
    assert len(d["containerInstances"]) == 1
    assert [f["reason"] for f in d["failures"]] == ["MISSING"]
    assert d["failures"][0]["arn"].endswith(ghost)


@moto_lacks
def test_describe_include_tags(ecs, fleet):
    cluster, (i1, *_) = fleet
    d = ecs.describe_container_instances(cluster=cluster, containerInstances=[i1["containerInstanceArn"]],
                                         include=["TAGS"])
    assert tag_map(d["containerInstances"][0]["tags"]) == {"owner": "a"}


@moto_lacks
def test_cluster_counts(ecs, fleet):
    cluster, _ = fleet
    [c] = ecs.describe_clusters(clusters=[cluster], include=["STATISTICS"])["clusters"]
    assert c["registeredContainerInstancesCount"] == 3


FILTERS = [
    ("attribute:ecs.os-type == linux", {0, 1}),
    ("attribute:ecs.os-type equals linux", {0, 1}),
    ("attribute:ecs.os-type != linux", {2}),
    ("attribute:ecs.instance-type in [t3.large, g5.xlarge]", {0, 1}),
    ("attribute:ecs.instance-type in ['t3.large', 'm5.large']", {0, 2}),
    ("attribute:ecs.instance-type !in [t3.large]", {1, 2}),
    ("attribute:ecs.instance-type not_in [t3.large, m5.large]", {1}),
    ("attribute:ecs.instance-type =~ g5.*", {1}),
    ("attribute:ecs.instance-type matches m5\\..*", {2}),
    ("attribute:ecs.instance-type !~ .*\\.large", {1}),
    ("attribute:ecs.instance-type not_matches .*\\d\\.large", {1}),
    ("not(attribute:ecs.os-type == linux)", {2}),
    ("!(attribute:ecs.os-type == linux)", {2}),
    ("attribute:ecs.os-type == linux and attribute:ecs.availability-zone != us-east-1a", {1}),
    ("attribute:ecs.os-type == linux && attribute:stack == dev", {1}),
    ("attribute:ecs.availability-zone == us-east-1a or attribute:ecs.instance-type == g5.xlarge", {0, 1, 2}),
    ("attribute:stack == prod || attribute:ecs.os-type == windows", {0, 2}),
    ("(attribute:ecs.os-type == linux and attribute:stack == prod) or attribute:ecs.os-type == windows", {0, 2}),
    ("attribute:ecs.os-type == linux and not(attribute:stack =~ pro.*)", {1}),
    ("attribute:gpu exists", {1}),
    ("attribute:gpu !exists", {0, 2}),
    ("attribute:gpu not_exists", {0, 2}),
    ("runningTasksCount == 0", {0, 1, 2}),
    ("runningTasksCount > 0", set()),
    ("agentVersion > 1.14.5", {0, 1, 2}),
    ("agentVersion < 1.14.5", set()),
    ("registeredAt > 2018-06-18T22:28:28+00:00", {0, 1, 2}),
    ("registeredAt < 2018-06-18", set()),
]


@pytest.mark.parametrize("expr,want", FILTERS, ids=[f[0] for f in FILTERS])
@moto_lacks
def test_filter_language(ecs, fleet, expr, want):
    cluster, insts = fleet
    got = set(list_all(ecs, cluster, filter=expr))
    assert got == {insts[i]["containerInstanceArn"] for i in want}


@moto_lacks
def test_filter_by_instance_id(ecs, fleet):
    cluster, insts = fleet
    a, c = insts[0]["ec2InstanceId"], insts[2]["ec2InstanceId"]
    got = set(list_all(ecs, cluster, filter=f"ec2InstanceId in ['{a}', '{c}']"))
    assert got == {insts[0]["containerInstanceArn"], insts[2]["containerInstanceArn"]}
    got = list_all(ecs, cluster, filter=f"ec2InstanceId == {a}")
    assert got == [insts[0]["containerInstanceArn"]]


@pytest.mark.parametrize("expr", ["attribute:ecs.os-type ==", "bogus", "(attribute:a == b",
                                  "attribute:a == b and", "attribute:a <> b", "runningTasksCount > many"])
@moto_lacks
def test_invalid_filters(ecs, fleet, alive, expr):
    cluster, _ = fleet
    expect_error(ecs.list_container_instances, "InvalidParameterException", "filter", cluster=cluster, filter=expr)


@moto_lacks
def test_filter_with_cli(berth, fleet):
    cluster, insts = fleet
    _, out, _ = berth.cli("ecs", "list-container-instances", "--cluster", cluster,
                          "--filter", "attribute:ecs.os-type == linux")
    assert set(out["containerInstanceArns"]) == {insts[0]["containerInstanceArn"], insts[1]["containerInstanceArn"]}


@moto_lacks
def test_draining_and_status_filter(ecs, fleet):
    cluster, insts = fleet
    arn = insts[1]["containerInstanceArn"]
    resp = ecs.update_container_instances_state(cluster=cluster, containerInstances=[arn], status="DRAINING")
    assert [c["status"] for c in resp["containerInstances"]] == ["DRAINING"]
    assert resp["failures"] == []
    try:
        assert list_all(ecs, cluster, status="DRAINING") == [arn]
        assert arn not in list_all(ecs, cluster, status="ACTIVE")
        # without a status, every instance (ACTIVE and DRAINING) is listed
        assert arn in list_all(ecs, cluster)
        d = ecs.describe_container_instances(cluster=cluster, containerInstances=[arn])
        assert d["containerInstances"][0]["status"] == "DRAINING"
        # status filter and query filter combine
        assert list_all(ecs, cluster, status="DRAINING", filter="attribute:ecs.os-type == linux") == [arn]
        assert list_all(ecs, cluster, status="DRAINING", filter="attribute:ecs.os-type == windows") == []
    finally:
        resp = ecs.update_container_instances_state(cluster=cluster, containerInstances=[arn.rsplit("/", 1)[1]],
                                                    status="ACTIVE")
    assert [c["status"] for c in resp["containerInstances"]] == ["ACTIVE"]
    assert arn in list_all(ecs, cluster, status="ACTIVE")


@moto_lacks
def test_update_state_errors(ecs, fleet, alive):
    cluster, insts = fleet
    arn = insts[0]["containerInstanceArn"]
    expect_error(ecs.update_container_instances_state, ("InvalidParameterException", "ClientException"), "status",
                 cluster=cluster, containerInstances=[arn], status="STOPPED")
    resp = ecs.update_container_instances_state(cluster=cluster, containerInstances=["0" * 32], status="DRAINING")
    assert [f["reason"] for f in resp["failures"]] == ["MISSING"]
    assert ecs.describe_container_instances(cluster=cluster, containerInstances=[arn])[
        "containerInstances"][0]["status"] == "ACTIVE"
    expect_error(ecs.update_container_instances_state, "ClusterNotFoundException", cluster=uniq("nope"),
                 containerInstances=[arn], status="DRAINING")


@moto_lacks
def test_reregistration_keeps_arn(ecs):
    cluster = uniq("rereg")
    ecs.create_cluster(clusterName=cluster)
    first = register_instance(ecs, cluster, instance_id="i-0aaaaaaaaaaaaaaaa")
    again = register_instance(ecs, cluster, instance_id="i-0aaaaaaaaaaaaaaaa",
                              containerInstanceArn=first["containerInstanceArn"],
                              attributes=[{"name": "stack", "value": "canary"}])
    assert again["containerInstanceArn"] == first["containerInstanceArn"]
    assert attr_map(again["attributes"])["stack"] == "canary"
    assert list_all(ecs, cluster) == [first["containerInstanceArn"]]


def test_deregister(ecs):
    cluster = uniq("dereg")
    ecs.create_cluster(clusterName=cluster)
    a = register_instance(ecs, cluster)
    b = register_instance(ecs, cluster)
    out = ecs.deregister_container_instance(cluster=cluster, containerInstance=a["containerInstanceArn"])
    assert out["containerInstance"]["containerInstanceArn"] == a["containerInstanceArn"]
    assert out["containerInstance"]["status"] == "INACTIVE"
    out = ecs.deregister_container_instance(cluster=cluster, containerInstance=b["containerInstanceArn"].rsplit("/")[-1],
                                            force=True)
    assert out["containerInstance"]["status"] == "INACTIVE"
    assert list_all(ecs, cluster) == []
    d = ecs.describe_container_instances(cluster=cluster, containerInstances=[a["containerInstanceArn"]])
    assert ([c["status"] for c in d["containerInstances"]] == ["INACTIVE"]
            or [f["reason"] for f in d["failures"]] == ["MISSING"]), d
    ecs.delete_cluster(cluster=cluster)


@moto_lacks
def test_deregister_unknown(ecs, alive):
    cluster = uniq("deregx")
    ecs.create_cluster(clusterName=cluster)
    expect_error(ecs.deregister_container_instance, ("InvalidParameterException", "ClientException"),
                 cluster=cluster, containerInstance="0" * 32)
    expect_error(ecs.deregister_container_instance, "ClusterNotFoundException",
                 cluster=uniq("nope"), containerInstance="0" * 32)


@moto_lacks
def test_unknown_cluster(ecs, alive):
    name = uniq("nope")
    expect_error(lambda **kw: register_instance(ecs, **kw), "ClusterNotFoundException", cluster=name)
    expect_error(ecs.list_container_instances, "ClusterNotFoundException", cluster=name)
    expect_error(ecs.describe_container_instances, "ClusterNotFoundException", cluster=name,
                 containerInstances=["0" * 32])
    assert cluster_arn(name) not in all_clusters(ecs)


def test_omitted_cluster_means_default(ecs):
    inst = register_instance(ecs)  # no cluster: "default", created on demand
    arn = inst["containerInstanceArn"]
    assert arn.startswith(f"arn:aws:ecs:{REGION}:{ACCOUNT}:container-instance/default/")
    assert cluster_arn("default") in all_clusters(ecs)
    assert arn in [a for p in ecs.get_paginator("list_container_instances").paginate()
                   for a in p["containerInstanceArns"]]
    d = ecs.describe_container_instances(containerInstances=[arn])
    assert [c["containerInstanceArn"] for c in d["containerInstances"]] == [arn]
    ecs.deregister_container_instance(containerInstance=arn, force=True)


BAD_REGISTRATIONS = [
    ("negative-cpu", dict(totalResources=[{"name": "CPU", "type": "INTEGER", "integerValue": -1}]),
     ("CPU", "totalResources")),
    ("bogus-resource-type", dict(totalResources=[{"name": "CPU", "type": "BOGUS", "integerValue": 1}]),
     ("type", "BOGUS")),
    ("identity-doc-not-json", dict(instanceIdentityDocument="{not json"), ("instanceIdentityDocument",)),
    ("bad-attribute-name", dict(attributes=[{"name": "bad name!", "value": "x"}]), ("name", "attribute")),
    ("bad-attribute-value", dict(attributes=[{"name": "ok", "value": " padded "}]), ("value", "attribute")),
]


@pytest.mark.parametrize("case,extra,fields", BAD_REGISTRATIONS, ids=[b[0] for b in BAD_REGISTRATIONS])
@moto_lacks
def test_invalid_registration_stores_nothing(ecs, alive, case, extra, fields):
    cluster = uniq("badreg")
    ecs.create_cluster(clusterName=cluster)
    kw = {"cluster": cluster, "instanceIdentityDocument": '{"instanceId": "i-0bbbbbbbbbbbbbbbb"}', **extra}
    expect_error(ecs.register_container_instance, ("InvalidParameterException", "ClientException"), *fields, **kw)
    assert list_all(ecs, cluster) == []
    [c] = ecs.describe_clusters(clusters=[cluster])["clusters"]
    assert c["registeredContainerInstancesCount"] == 0
    ecs.delete_cluster(cluster=cluster)
