import pytest

from conftest import TARGET, cluster_arn, expect_error, register_instance, simple_td, td_arn, uniq

moto_lacks = pytest.mark.xfail(TARGET == "moto", reason="moto does not page this call", strict=False)


def pages(ecs, op, result_key, page_size, **kw):
    out = list(ecs.get_paginator(op).paginate(PaginationConfig={"PageSize": page_size}, **kw))
    for p in out[:-1]:
        assert len(p[result_key]) == page_size, "only the last page may be short"
        assert p.get("nextToken")
    assert len(out[-1][result_key]) <= page_size
    assert not out[-1].get("nextToken")
    items = [x for p in out for x in p[result_key]]
    return out, items


@pytest.fixture(scope="module")
def world(ecs):
    tag = uniq("pg")
    clusters = [f"{tag}-c{i}" for i in range(7)]
    for c in clusters:
        ecs.create_cluster(clusterName=c)
    family = f"{tag}-fam"
    for _ in range(5):
        ecs.register_task_definition(**simple_td(family))
    families = [f"{tag}-f{i}" for i in range(5)]
    for f in families:
        ecs.register_task_definition(**simple_td(f))
    insts = [register_instance(ecs, clusters[0], attributes=[{"name": "pg", "value": str(i)}])["containerInstanceArn"]
             for i in range(5)]
    return dict(tag=tag, clusters=clusters, family=family, families=families, insts=insts)


@moto_lacks
def test_list_clusters_paginator(ecs, world):
    out, items = pages(ecs, "list_clusters", "clusterArns", 2)
    assert len(items) == len(set(items)), "no duplicates across pages"
    assert {cluster_arn(c) for c in world["clusters"]} <= set(items)
    assert len(out) >= 4


@moto_lacks
def test_list_task_definitions_paginator(ecs, world):
    fam = world["family"]
    _, items = pages(ecs, "list_task_definitions", "taskDefinitionArns", 2, familyPrefix=fam)
    assert items == [td_arn(fam, r) for r in range(1, 6)]
    _, items = pages(ecs, "list_task_definitions", "taskDefinitionArns", 2, familyPrefix=fam, sort="DESC")
    assert items == [td_arn(fam, r) for r in range(5, 0, -1)]


@moto_lacks
def test_list_task_definition_families_paginator(ecs, world):
    _, items = pages(ecs, "list_task_definition_families", "families", 2, familyPrefix=world["tag"] + "-f")
    assert items == sorted(world["families"] + [world["family"]])


@moto_lacks
def test_list_container_instances_paginator(ecs, world):
    _, items = pages(ecs, "list_container_instances", "containerInstanceArns", 2, cluster=world["clusters"][0])
    assert sorted(items) == sorted(world["insts"])


@moto_lacks
def test_list_attributes_paginator(ecs, world):
    _, items = pages(ecs, "list_attributes", "attributes", 2, cluster=world["clusters"][0],
                     targetType="container-instance", attributeName="pg")
    assert sorted((a["targetId"], a["value"]) for a in items) == sorted(
        (arn, str(i)) for i, arn in enumerate(world["insts"]))


@moto_lacks
def test_max_results_by_hand(ecs, world):
    fam = world["family"]
    seen, token, calls = [], None, 0
    while True:
        kw = {"nextToken": token} if token else {}
        resp = ecs.list_task_definitions(familyPrefix=fam, maxResults=3, **kw)
        calls += 1
        assert len(resp["taskDefinitionArns"]) <= 3
        seen += resp["taskDefinitionArns"]
        token = resp.get("nextToken")
        if not token:
            break
    assert seen == [td_arn(fam, r) for r in range(1, 6)]
    assert calls == 2

    first = ecs.list_clusters(maxResults=1)
    assert len(first["clusterArns"]) == 1 and first["nextToken"]
    second = ecs.list_clusters(maxResults=1, nextToken=first["nextToken"])
    assert len(second["clusterArns"]) == 1 and second["clusterArns"] != first["clusterArns"]


@moto_lacks
def test_cli_max_items_and_starting_token(berth, world):
    fam = world["family"]

    def cli(*args):
        return berth.cli("ecs", "list-task-definitions", "--family-prefix", fam, *args)[1]

    out = cli("--max-items", "1")
    assert out["taskDefinitionArns"] == [td_arn(fam, 1)]
    out = cli("--max-items", "2", "--starting-token", out["NextToken"])
    assert out["taskDefinitionArns"] == [td_arn(fam, 2), td_arn(fam, 3)]
    out = cli("--starting-token", out["NextToken"])
    assert out["taskDefinitionArns"] == [td_arn(fam, 4), td_arn(fam, 5)]
    assert "NextToken" not in out

    # with --page-size the server pages (maxResults/nextToken) under the CLI's tokens
    out = cli("--page-size", "2", "--max-items", "3")
    assert out["taskDefinitionArns"] == [td_arn(fam, r) for r in (1, 2, 3)]
    out = cli("--page-size", "2", "--starting-token", out["NextToken"])
    assert out["taskDefinitionArns"] == [td_arn(fam, 4), td_arn(fam, 5)]
    # and the CLI's own pagination gathers every page when no limits are given
    out = cli("--page-size", "1")
    assert out["taskDefinitionArns"] == [td_arn(fam, r) for r in range(1, 6)]


@pytest.mark.parametrize("op,kw", [
    ("list_clusters", {}),
    ("list_task_definitions", {}),
    ("list_task_definition_families", {}),
    ("list_container_instances", {}),
    ("list_attributes", {"targetType": "container-instance"}),
])
@pytest.mark.parametrize("bad", [0, 101, -5])
@moto_lacks
def test_max_results_out_of_range(ecs, world, alive, op, kw, bad):
    if op in ("list_container_instances", "list_attributes"):
        kw = dict(kw, cluster=world["clusters"][0])
    expect_error(getattr(ecs, op), "InvalidParameterException", "maxResults", maxResults=bad, **kw)


@pytest.mark.parametrize("op,kw", [
    ("list_clusters", {}),
    ("list_task_definitions", {}),
    ("list_task_definition_families", {}),
])
@moto_lacks
def test_garbage_next_token(ecs, alive, op, kw):
    expect_error(getattr(ecs, op), ("InvalidParameterException", "ClientException"), "nextToken",
                 nextToken="definitely-not-a-token", **kw)
