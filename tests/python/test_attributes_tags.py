import pytest

from conftest import TARGET, attr_map, cluster_arn, expect_error, register_instance, simple_td, tag_map, uniq

moto_lacks = pytest.mark.xfail(TARGET == "moto", reason="moto ignores this part of ECS", strict=False)


@pytest.fixture()
def inst(ecs):
    cluster = uniq("attr")
    ecs.create_cluster(clusterName=cluster)
    i = register_instance(ecs, cluster)
    yield cluster, i["containerInstanceArn"]
    ecs.deregister_container_instance(cluster=cluster, containerInstance=i["containerInstanceArn"], force=True)
    ecs.delete_cluster(cluster=cluster)


def listed(ecs, cluster, **kw):
    return [a for p in ecs.get_paginator("list_attributes").paginate(cluster=cluster, targetType="container-instance",
                                                                      **kw)
            for a in p["attributes"]]


def custom(attrs):
    return {k: v for k, v in attr_map(attrs).items() if not k.startswith(("ecs.", "com.amazonaws."))}


def test_put_list_delete_attributes(ecs, inst):
    cluster, arn = inst
    short_id = arn.rsplit("/", 1)[1]
    resp = ecs.put_attributes(cluster=cluster, attributes=[
        {"name": "stack", "value": "prod", "targetType": "container-instance", "targetId": arn},
        {"name": "rack/id", "value": "r 12@dc1:a", "targetType": "container-instance", "targetId": short_id},
        {"name": "flag", "targetId": arn},  # a value is optional; with a full ARN, targetType is too
    ])
    assert {a["name"] for a in resp["attributes"]} == {"stack", "rack/id", "flag"}

    [d] = ecs.describe_container_instances(cluster=cluster, containerInstances=[arn])["containerInstances"]
    assert custom(d["attributes"]) == {"stack": "prod", "rack/id": "r 12@dc1:a", "flag": None}

    mine = [a for a in listed(ecs, cluster) if a["name"] in ("stack", "rack/id", "flag")]
    assert len(mine) == 3
    assert all(a["targetId"] == arn for a in mine), mine
    assert all(a.get("targetType", "container-instance") == "container-instance" for a in mine)
    by_name = listed(ecs, cluster, attributeName="stack")
    assert [(a["name"], a.get("value"), a["targetId"]) for a in by_name] == [("stack", "prod", arn)]
    assert [a["targetId"] for a in listed(ecs, cluster, attributeName="stack", attributeValue="prod")] == [arn]
    assert listed(ecs, cluster, attributeName="stack", attributeValue="dev") == []
    # the built-in attributes are listed too
    assert [a["value"] for a in listed(ecs, cluster, attributeName="ecs.os-type")] == ["linux"]

    # overwrite
    ecs.put_attributes(cluster=cluster, attributes=[{"name": "stack", "value": "dev", "targetId": arn}])
    assert [a.get("value") for a in listed(ecs, cluster, attributeName="stack")] == ["dev"]

    resp = ecs.delete_attributes(cluster=cluster, attributes=[{"name": "stack", "targetId": arn},
                                                              {"name": "flag", "targetType": "container-instance",
                                                               "targetId": short_id}])
    assert {a["name"] for a in resp["attributes"]} == {"stack", "flag"}
    [d] = ecs.describe_container_instances(cluster=cluster, containerInstances=[arn])["containerInstances"]
    assert custom(d["attributes"]) == {"rack/id": "r 12@dc1:a"}
    assert listed(ecs, cluster, attributeName="stack") == []


BAD_ATTRIBUTES = [
    # (id, attributes (ARN stands for the instance's ARN, ID for its short id), codes, fields named)
    ("bad-name", [{"name": "bad name!", "value": "x", "targetId": "ARN"}], ("InvalidParameterException",), ("name",)),
    ("long-name", [{"name": "n" * 129, "value": "x", "targetId": "ARN"}], ("InvalidParameterException",), ("name",)),
    ("long-value", [{"name": "ok", "value": "v" * 129, "targetId": "ARN"}], ("InvalidParameterException",),
     ("value",)),
    ("value-leading-space", [{"name": "ok", "value": " leading", "targetId": "ARN"}],
     ("InvalidParameterException",), ("value",)),
    ("value-trailing-space", [{"name": "ok", "value": "trailing ", "targetId": "ARN"}],
     ("InvalidParameterException",), ("value",)),
    ("value-bad-char", [{"name": "ok", "value": "semi;colon", "targetId": "ARN"}],
     ("InvalidParameterException",), ("value",)),
    ("bad-target-type", [{"name": "ok", "value": "x", "targetType": "task", "targetId": "ARN"}],
     ("InvalidParameterException",), ("targetType",)),
    ("no-target", [{"name": "ok", "value": "x"}], ("InvalidParameterException",), ("targetId",)),
    ("short-id-without-target-type", [{"name": "ok", "value": "x", "targetId": "ID"}],
     ("InvalidParameterException",), ("targetType",)),
    ("unknown-target", [{"name": "ok", "value": "x", "targetType": "container-instance", "targetId": "0" * 32}],
     ("TargetNotFoundException",), ()),
    # PutAttributes takes at most 10 attributes per call (and 10 custom attributes per resource)
    ("eleven", [{"name": f"a{i}", "value": "x", "targetId": "ARN"} for i in range(11)],
     ("AttributeLimitExceededException", "InvalidParameterException"), ()),
    # one bad attribute spoils the batch: the good one is not stored either
    ("batch", [{"name": "good", "value": "x", "targetId": "ARN"}, {"name": "bad name!", "value": "x", "targetId": "ARN"}],
     ("InvalidParameterException",), ("name",)),
]


@pytest.mark.parametrize("case,attrs,codes,fields", BAD_ATTRIBUTES, ids=[b[0] for b in BAD_ATTRIBUTES])
@moto_lacks
def test_attribute_validation_stores_nothing(ecs, inst, alive, case, attrs, codes, fields):
    cluster, arn = inst
    subst = {"ARN": arn, "ID": arn.rsplit("/", 1)[1]}
    attrs = [dict(a, targetId=subst.get(a["targetId"], a["targetId"])) if "targetId" in a else a for a in attrs]

    def current():
        return custom(ecs.describe_container_instances(cluster=cluster, containerInstances=[arn])
                      ["containerInstances"][0]["attributes"])
    before = current()
    expect_error(ecs.put_attributes, codes, *fields, cluster=cluster, attributes=attrs)
    assert current() == before


@moto_lacks
def test_put_attributes_unknown_cluster(ecs, inst, alive):
    _, arn = inst
    expect_error(ecs.put_attributes, "ClusterNotFoundException", cluster=uniq("nope"),
                 attributes=[{"name": "ok", "value": "x", "targetId": arn}])


@moto_lacks
def test_ten_custom_attributes_allowed(ecs, inst):
    cluster, arn = inst
    ecs.put_attributes(cluster=cluster, attributes=[{"name": f"a{i}", "value": "x", "targetId": arn}
                                                    for i in range(10)])
    expect_error(ecs.put_attributes, "AttributeLimitExceededException", cluster=cluster,
                 attributes=[{"name": "one-more", "value": "x", "targetId": arn}])
    # replacing an existing one is not an extra attribute
    ecs.put_attributes(cluster=cluster, attributes=[{"name": "a0", "value": "y", "targetId": arn}])


@moto_lacks
def test_list_attributes_needs_known_cluster(ecs, alive):
    expect_error(ecs.list_attributes, "ClusterNotFoundException", cluster=uniq("nope"), targetType="container-instance")


def test_tags_on_every_taggable_resource(ecs, inst):
    cluster, inst_arn = inst
    family = uniq("tagtd")
    td_arn = ecs.register_task_definition(**simple_td(family))["taskDefinition"]["taskDefinitionArn"]
    for arn in (cluster_arn(cluster), inst_arn, td_arn):
        assert ecs.list_tags_for_resource(resourceArn=arn)["tags"] == []
        ecs.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "test"}, {"key": "owner", "value": "me"}])
        assert tag_map(ecs.list_tags_for_resource(resourceArn=arn)["tags"]) == {"env": "test", "owner": "me"}
        ecs.tag_resource(resourceArn=arn, tags=[{"key": "env", "value": "prod"}, {"key": "ünï", "value": "cödé ✓"}])
        assert tag_map(ecs.list_tags_for_resource(resourceArn=arn)["tags"]) == {
            "env": "prod", "owner": "me", "ünï": "cödé ✓"}
        ecs.untag_resource(resourceArn=arn, tagKeys=["owner", "not-there"])
        assert tag_map(ecs.list_tags_for_resource(resourceArn=arn)["tags"]) == {"env": "prod", "ünï": "cödé ✓"}

    [c] = ecs.describe_clusters(clusters=[cluster], include=["TAGS"])["clusters"]
    assert tag_map(c["tags"]) == {"env": "prod", "ünï": "cödé ✓"}
    assert tag_map(ecs.describe_task_definition(taskDefinition=td_arn, include=["TAGS"])["tags"]) == {
        "env": "prod", "ünï": "cödé ✓"}


@moto_lacks
def test_tag_validation_stores_nothing(ecs, alive):
    cluster = uniq("tagbad")
    arn = ecs.create_cluster(clusterName=cluster, tags=[{"key": "keep", "value": "me"}])["cluster"]["clusterArn"]
    cases = [
        ([{"key": "k" * 129, "value": "v"}], ("key",)),
        ([{"key": "k", "value": "v" * 257}], ("value",)),
        ([{"key": "aws:reserved", "value": "v"}], ("aws",)),
        ([{"key": f"k{i}", "value": "v"} for i in range(51)], ("tags",)),
        ([{"key": "ok", "value": "v"}, {"key": "k" * 129, "value": "v"}], ("key",)),
    ]
    for tags, fields in cases:
        expect_error(ecs.tag_resource, "InvalidParameterException", *fields, resourceArn=arn, tags=tags)
        assert tag_map(ecs.list_tags_for_resource(resourceArn=arn)["tags"]) == {"keep": "me"}
    expect_error(ecs.tag_resource, "InvalidParameterException", "resourceArn", resourceArn="not-an-arn",
                 tags=[{"key": "a", "value": "b"}])
    expect_error(ecs.list_tags_for_resource, ("InvalidParameterException",), "resourceArn", resourceArn="not-an-arn")
    code, _ = expect_error(ecs.tag_resource, ("ResourceNotFoundException", "ClusterNotFoundException"),
                           resourceArn=cluster_arn(uniq("nope")), tags=[{"key": "a", "value": "b"}])
    expect_error(ecs.list_tags_for_resource, ("ResourceNotFoundException", "ClusterNotFoundException"),
                 resourceArn=cluster_arn(uniq("nope")))
    ecs.delete_cluster(cluster=cluster)
