"""A restart with the same data dir keeps every resource, the revision counters and the credentials."""

import signal

import pytest

from conftest import attr_map, register_instance, simple_td, tag_map, td_arn

pytestmark = pytest.mark.berth_only


def state(ecs, cluster, family, inst_arn):
    [c] = ecs.describe_clusters(clusters=[cluster], include=["SETTINGS", "TAGS"])["clusters"]
    tds = {s: ecs.list_task_definitions(familyPrefix=family, status=s)["taskDefinitionArns"]
           for s in ("ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS")}
    td1 = ecs.describe_task_definition(taskDefinition=f"{family}:1", include=["TAGS"])
    [ci] = ecs.describe_container_instances(cluster=cluster, containerInstances=[inst_arn],
                                            include=["TAGS"])["containerInstances"]
    return {
        "clusters": sorted(ecs.list_clusters()["clusterArns"]),
        "cluster": (c["clusterArn"], c["status"], c["registeredContainerInstancesCount"],
                    sorted((s["name"], s["value"]) for s in c["settings"]), tag_map(c["tags"])),
        "tds": tds,
        "td1": (td1["taskDefinition"]["containerDefinitions"], td1["taskDefinition"]["registeredAt"],
                tag_map(td1["tags"])),
        "families": ecs.list_task_definition_families(status="ALL")["families"],
        "instance": (ci["containerInstanceArn"], ci["ec2InstanceId"], ci["status"], attr_map(ci["attributes"]),
                     ci["registeredResources"], ci["versionInfo"], ci["registeredAt"], tag_map(ci.get("tags"))),
        "attrs": sorted((a["name"], a.get("value"), a["targetId"]) for a in
                        ecs.list_attributes(cluster=cluster, targetType="container-instance")["attributes"]),
    }


def test_restart_keeps_everything(server_factory):
    srv = server_factory()
    creds_text = srv.credentials_file.read_text()
    ecs = srv.client()

    cluster, family = "persist", "persist-td"
    ecs.create_cluster(clusterName=cluster, tags=[{"key": "k", "value": "v"}],
                       settings=[{"name": "containerInsights", "value": "enabled"}])
    ecs.create_cluster(clusterName="gone")
    ecs.delete_cluster(cluster="gone")
    for _ in range(4):
        ecs.register_task_definition(**simple_td(family), tags=[{"key": "team", "value": "ml"}])
    ecs.deregister_task_definition(taskDefinition=f"{family}:2")
    ecs.deregister_task_definition(taskDefinition=f"{family}:4")
    ecs.delete_task_definitions(taskDefinitions=[f"{family}:4"])  # the highest revision is deleted
    inst = register_instance(ecs, cluster, attributes=[{"name": "stack", "value": "prod"}],
                             tags=[{"key": "host", "value": "a"}])
    arn = inst["containerInstanceArn"]
    ecs.put_attributes(cluster=cluster, attributes=[{"name": "rack", "value": "r1", "targetId": arn}])
    ecs.update_container_instances_state(cluster=cluster, containerInstances=[arn], status="DRAINING")
    ecs.tag_resource(resourceArn=td_arn(family, 1), tags=[{"key": "extra", "value": "x"}])

    before = state(ecs, cluster, family, arn)
    assert before["instance"][2] == "DRAINING"

    srv.restart(signal.SIGTERM)
    assert srv.credentials_file.read_text() == creds_text, "credentials must not be regenerated"
    ecs = srv.client()  # the same key still works (a new client: no cached connections)
    after = state(ecs, cluster, family, arn)
    for k in before:
        assert after[k] == before[k], k

    # revisions continue after the highest ever registered, even though it was deleted
    assert ecs.register_task_definition(**simple_td(family))["taskDefinition"]["revision"] == 5

    # Ctrl-C is a clean shutdown too, and a second restart still has everything
    srv.restart(signal.SIGINT)
    ecs = srv.client()
    assert ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]["revision"] == 5
    assert ecs.register_task_definition(**simple_td(family))["taskDefinition"]["revision"] == 6
    assert state(ecs, cluster, family, arn)["attrs"] == before["attrs"]
    assert srv.stop() == 0


def test_stop_is_prompt_and_clean(server_factory):
    srv = server_factory()
    ecs = srv.client()
    ecs.create_cluster(clusterName="x")
    assert srv.stop(signal.SIGTERM, timeout=5) == 0
    srv.start()
    # The local agent registers into "default"; the user's cluster is all else there is.
    names = [a.rsplit("/", 1)[1] for a in srv.client().list_clusters()["clusterArns"]]
    assert [n for n in names if n != "default"] == ["x"]
    assert srv.stop(signal.SIGTERM, timeout=5) == 0
