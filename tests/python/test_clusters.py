import pytest

from conftest import ACCOUNT, REGION, all_clusters, cluster_arn, expect_error, register_instance, tag_map, uniq


def test_create_describe_list_delete(ecs):
    name = uniq("cl")
    resp = ecs.create_cluster(clusterName=name, tags=[{"key": "team", "value": "ml"}],
                              settings=[{"name": "containerInsights", "value": "enabled"}])
    c = resp["cluster"]
    assert resp["ResponseMetadata"]["RequestId"]
    assert c["clusterArn"] == cluster_arn(name)
    assert c["clusterName"] == name
    assert c["status"] == "ACTIVE"
    for k in ("registeredContainerInstancesCount", "runningTasksCount", "pendingTasksCount", "activeServicesCount"):
        assert c[k] == 0, k

    assert cluster_arn(name) in all_clusters(ecs)

    # by short name and by ARN, with every include
    for ident in (name, cluster_arn(name)):
        d = ecs.describe_clusters(clusters=[ident], include=["SETTINGS", "STATISTICS", "TAGS"])
        assert d["failures"] == []
        [c] = d["clusters"]
        assert c["clusterArn"] == cluster_arn(name)
        assert {"name": "containerInsights", "value": "enabled"} in c["settings"]
        assert tag_map(c["tags"]) == {"team": "ml"}
        assert isinstance(c.get("statistics", []), list)

    # without include, tags are not returned
    [c] = ecs.describe_clusters(clusters=[name])["clusters"]
    assert not c.get("tags")

    deleted = ecs.delete_cluster(cluster=name)["cluster"]
    assert deleted["clusterArn"] == cluster_arn(name)
    assert deleted["status"] == "INACTIVE"
    assert cluster_arn(name) not in all_clusters(ecs)
    d = ecs.describe_clusters(clusters=[name])
    # ECS keeps INACTIVE clusters describable for a while; MISSING is also acceptable.
    assert ([c["status"] for c in d["clusters"]] == ["INACTIVE"]
            or [f["reason"] for f in d["failures"]] == ["MISSING"]), d


def test_create_cluster_is_idempotent(ecs):
    name = uniq("idem")
    a = ecs.create_cluster(clusterName=name)["cluster"]
    b = ecs.create_cluster(clusterName=name)["cluster"]
    assert a["clusterArn"] == b["clusterArn"]
    assert all_clusters(ecs).count(cluster_arn(name)) == 1
    ecs.delete_cluster(cluster=name)


def test_create_without_name_creates_default(ecs):
    c = ecs.create_cluster()["cluster"]
    assert c["clusterName"] == "default"
    assert c["clusterArn"] == cluster_arn("default")
    # DescribeClusters with no clusters describes "default"
    d = ecs.describe_clusters()
    assert [c["clusterName"] for c in d["clusters"]] == ["default"]


def test_describe_missing_reports_failure(ecs):
    name = uniq("nope")
    existing = uniq("yes")
    ecs.create_cluster(clusterName=existing)
    d = ecs.describe_clusters(clusters=[existing, name])
    assert [c["clusterName"] for c in d["clusters"]] == [existing]
    assert len(d["failures"]) == 1
    f = d["failures"][0]
    assert f["reason"] == "MISSING"
    assert f["arn"] == cluster_arn(name)
    ecs.delete_cluster(cluster=existing)


def test_update_cluster_settings(ecs):
    name = uniq("set")
    ecs.create_cluster(clusterName=name)
    c = ecs.update_cluster_settings(cluster=name, settings=[{"name": "containerInsights", "value": "enabled"}])["cluster"]
    assert {"name": "containerInsights", "value": "enabled"} in c["settings"]
    c = ecs.update_cluster_settings(cluster=cluster_arn(name),
                                    settings=[{"name": "containerInsights", "value": "disabled"}])["cluster"]
    assert {"name": "containerInsights", "value": "disabled"} in c["settings"]
    [c] = ecs.describe_clusters(clusters=[name], include=["SETTINGS"])["clusters"]
    assert {"name": "containerInsights", "value": "disabled"} in c["settings"]

    expect_error(ecs.update_cluster_settings, "ClusterNotFoundException", cluster=uniq("nope"),
                 settings=[{"name": "containerInsights", "value": "enabled"}])
    expect_error(ecs.update_cluster_settings, ("InvalidParameterException", "ClientException"), "value",
                 cluster=name, settings=[{"name": "containerInsights", "value": "sometimes"}])
    [c] = ecs.describe_clusters(clusters=[name], include=["SETTINGS"])["clusters"]
    assert {"name": "containerInsights", "value": "disabled"} in c["settings"]
    ecs.delete_cluster(cluster=name)


def test_update_cluster(ecs):
    name = uniq("upd")
    ecs.create_cluster(clusterName=name)
    c = ecs.update_cluster(cluster=name, settings=[{"name": "containerInsights", "value": "enabled"}],
                           configuration={"executeCommandConfiguration": {"logging": "DEFAULT"}})["cluster"]
    assert c["clusterArn"] == cluster_arn(name)
    assert {"name": "containerInsights", "value": "enabled"} in c["settings"]
    assert c["configuration"]["executeCommandConfiguration"]["logging"] == "DEFAULT"
    expect_error(ecs.update_cluster, "ClusterNotFoundException", cluster=uniq("nope"),
                 settings=[{"name": "containerInsights", "value": "enabled"}])
    ecs.delete_cluster(cluster=name)


def test_delete_unknown_cluster(ecs):
    expect_error(ecs.delete_cluster, "ClusterNotFoundException", cluster=uniq("nope"))


@pytest.mark.parametrize("bad", ["has space", "bang!", "x" * 256, "ünïcödé", "a/b"])
def test_invalid_cluster_names_store_nothing(ecs, alive, bad):
    before = set(all_clusters(ecs))
    expect_error(ecs.create_cluster, ("InvalidParameterException", "ClientException"), "clusterName",
                 clusterName=bad)
    assert set(all_clusters(ecs)) == before


def test_longest_legal_name(ecs):
    name = uniq("L")  # "L-" + 10 hex digits
    name = name + "x" * (255 - len(name))
    c = ecs.create_cluster(clusterName=name)["cluster"]
    assert c["clusterName"] == name
    ecs.delete_cluster(cluster=name)


def test_live_counts_and_delete_with_instances(ecs):
    name = uniq("cnt")
    ecs.create_cluster(clusterName=name)
    ci = [register_instance(ecs, cluster=name) for _ in range(2)]
    [c] = ecs.describe_clusters(clusters=[name], include=["STATISTICS"])["clusters"]
    assert c["registeredContainerInstancesCount"] == 2

    code, _ = expect_error(ecs.delete_cluster, "ClusterContainsContainerInstancesException", cluster=name)
    assert cluster_arn(name) in all_clusters(ecs)

    for inst in ci:
        ecs.deregister_container_instance(cluster=name, containerInstance=inst["containerInstanceArn"], force=True)
    [c] = ecs.describe_clusters(clusters=[name])["clusters"]
    assert c["registeredContainerInstancesCount"] == 0
    assert ecs.delete_cluster(cluster=name)["cluster"]["status"] == "INACTIVE"


def test_list_clusters_arn_format(ecs):
    name = uniq("fmt")
    ecs.create_cluster(clusterName=name)
    arns = all_clusters(ecs)
    assert f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{name}" in arns
    assert all(a.startswith(f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/") for a in arns)
    ecs.delete_cluster(cluster=name)


def test_list_account_settings(ecs):
    resp = ecs.list_account_settings()
    assert isinstance(resp["settings"], list)
    for s in resp["settings"]:
        assert {"name", "value"} <= set(s)
