"""Metrics and utilization against a real `berth up` (server and local agent in one process) on real Docker.

A service runs one CPU-burning container (busybox `while :; do :; done`, cpu 1024 = one core reserved). It must show
up as such in the agent's Prometheus endpoint (per task and container CPU in cores), in the server's
`DescribeUtilization` (task, service and cluster percentages of the reservation) and in the server's own `/metrics`
(utilization gauges, API request counters, tasks by status, placements, controller and store timings). When the
service is gone, the agent's series for the task go away.

The burner's threshold is 0.4 of a core rather than a full one: this host has two cores shared with builds and other
tests, and the kernel gives the container its fair share, not a whole core. An idle container uses about 0.

This server samples every second (`--stats-interval 1`); the server's datapoints are 10 s apart regardless.
"""

import re
import time

import pytest
import requests

from conftest import free_port, uniq
from test_tasks import IMAGE, test_image, wait_until  # noqa: F401 (fixture)

pytestmark = pytest.mark.berth_only

BERTH_TARGET = "BerthV20261206."
BURN = ["sh", "-c", "trap 'exit 0' TERM; while :; do :; done"]
# Of one core (1024 CPU units).
BUSY = 0.4
TIMEOUT = 60.0


@pytest.fixture(scope="module")
def metered(server_factory, test_image):
    """A `berth up` sampling every second, with its agent's link endpoint (and so /metrics) on a known port."""
    link_port = free_port()
    srv = server_factory(extra_args=["--stats-interval", "1", "--link-listen", f"127.0.0.1:{link_port}",
                                     "--stop-timeout", "2"])
    srv.agent_metrics_url = f"http://127.0.0.1:{link_port}/metrics"
    srv.ecs = srv.client()
    state = srv.data_dir / "agent-state.json"
    wait_until("berth up's agent registered", state.exists, timeout=30)
    return srv


def utilization(srv, **body):
    r = srv.raw(BERTH_TARGET + "DescribeUtilization", body)
    assert r.status_code == 200, r.text
    return r.json()


def samples(text, name):
    """{labels dict as a frozenset of items: value} for every sample of metric `name` in Prometheus text."""
    out = {}
    for line in text.splitlines():
        m = re.match(rf"^{re.escape(name)}(?:\{{(.*)\}})? (\S+)$", line)
        if m:
            labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(1) or ""))
            out[labels] = float(m.group(2))
    return out


def value(text, name, **labels):
    """The sample of `name` whose labels include `labels`, or None."""
    want = set(labels.items())
    for got, v in samples(text, name).items():
        if want <= got:
            return v
    return None


def test_burning_container_shows_in_agent_and_server_numbers(metered):
    srv, ecs = metered, metered.ecs
    family, service = uniq("burn"), uniq("burner")
    ecs.register_task_definition(family=family, containerDefinitions=[
        {"name": "burn", "image": IMAGE, "cpu": 1024, "memory": 64, "essential": True, "command": BURN,
         "stopTimeout": 2}])
    ecs.create_service(serviceName=service, taskDefinition=family, desiredCount=1)
    try:
        def running_task():
            arns = ecs.list_tasks(serviceName=service, desiredStatus="RUNNING")["taskArns"]
            tasks = ecs.describe_tasks(tasks=arns)["tasks"] if arns else []
            return [t for t in tasks if t["lastStatus"] == "RUNNING"]
        task = wait_until("the burner RUNNING", running_task, timeout=TIMEOUT)[0]
        task_arn = task["taskArn"]
        task_id = task_arn.rsplit("/", 1)[1]
        group = f"service:{service}"

        # The agent: per-task and per-container CPU in cores, memory in bytes, Docker call latency.
        def agent_busy():
            text = requests.get(metered.agent_metrics_url, timeout=5).text
            cores = value(text, "berth_task_cpu_usage_cores", task_id=task_id, group=group, cluster="default")
            return text if cores is not None and cores > BUSY else None
        text = wait_until(f"the agent's berth_task_cpu_usage_cores of {task_id} above {BUSY}", agent_busy,
                          timeout=TIMEOUT, interval=0.5)
        assert value(text, "berth_container_cpu_usage_cores", task_id=task_id, container="burn") > BUSY
        memory = value(text, "berth_container_memory_usage_bytes", task_id=task_id, container="burn")
        assert memory is not None and 0 < memory < 64 << 20
        assert value(text, "berth_task_memory_usage_bytes", task_id=task_id) == pytest.approx(memory, rel=0.5)
        assert value(text, "berth_docker_request_duration_seconds_count", call="stats_one_shot") > 0
        assert value(text, "berth_stats_samples_total") > 0
        assert value(text, "berth_stats_reports_total") > 0

        # The server: the task against its reservation, its service and the cluster.
        def server_busy():
            u = utilization(srv, services=[service])
            svc = u["services"][0]
            mine = [t for t in u["tasks"] if t["taskArn"] == task_arn]
            ok = (svc.get("cpuUtilization") or 0) > BUSY * 100 and mine and (
                mine[0].get("cpuUtilization") or 0) > BUSY * 100
            return u if ok else None
        u = wait_until(f"DescribeUtilization of {service} above {BUSY * 100}%", server_busy, timeout=TIMEOUT,
                       interval=0.5)
        svc = u["services"][0]
        assert svc["serviceName"] == service
        assert svc["datapoints"] and svc["datapoints"][-1]["cpuUtilization"] > 0
        assert 0 < svc["memoryUtilization"] < 100
        t = [t for t in u["tasks"] if t["taskArn"] == task_arn][0]
        assert t["group"] == group
        assert t["cpuReserved"] == 1024 and t["memoryReservedMiB"] == 64
        assert t["cpuUsed"] > BUSY * 1024
        assert [c["name"] for c in t["containers"]] == ["burn"]
        assert 0 < t["memoryUsedMiB"] < 64
        assert u["cluster"]["clusterName"] == "default"
        assert u["cluster"]["cpuUtilization"] > BUSY * 100
        timestamps = [d["timestamp"] for d in u["cluster"]["datapoints"]]
        assert timestamps == sorted(timestamps) and timestamps[-1] <= time.time() + 1

        # Every service of the cluster when none is named; one task when it is named by id.
        everything = utilization(srv)
        assert service in [s["serviceName"] for s in everything["services"]]
        by_id = utilization(srv, tasks=[task_id])
        assert [x["taskArn"] for x in by_id["tasks"]] == [task_arn]

        # The server's /metrics: utilization gauges, request counters, tasks, placements, controllers, store.
        text = requests.get(srv.endpoint + "/metrics", timeout=5).text
        assert value(text, "berth_service_cpu_utilization_percent", cluster="default", service=service) > BUSY * 100
        assert value(text, "berth_cluster_cpu_utilization_percent", cluster="default") > BUSY * 100
        assert value(text, "berth_api_requests_total", operation="DescribeUtilization", code="200") >= 3
        assert value(text, "berth_api_requests_total", operation="CreateService", code="200") >= 1
        assert value(text, "berth_api_requests_total", operation="SubmitTaskStats", code="200") >= 1
        assert value(text, "berth_api_request_duration_seconds_count", operation="DescribeTasks") >= 1
        assert value(text, "berth_tasks", cluster="default", last_status="RUNNING", desired_status="RUNNING") >= 1
        assert value(text, "berth_placements_total", cluster="default") >= 1
        assert value(text, "berth_connected_agents", cluster="default") == 1
        assert value(text, "berth_store_revision") > 0
        assert value(text, "berth_store_operation_duration_seconds_count", operation="txn") > 0
        assert value(text, "berth_controller_pass_duration_seconds_count", controller="services") >= 1
        assert text.rstrip().endswith("# EOF")
    finally:
        ecs.delete_service(service=service, force=True)

    # The task stops with its service: its series leave the agent's endpoint, and the server stops listing it.
    def gone():
        text = requests.get(metered.agent_metrics_url, timeout=5).text
        return f'task_id="{task_id}"' not in text
    wait_until(f"the agent's series of {task_id} removed", gone, timeout=TIMEOUT, interval=0.5)
    wait_until("the server forgets the stopped task",
               lambda: task_arn not in [t["taskArn"] for t in utilization(srv)["tasks"]], timeout=TIMEOUT)


def test_unknown_operation_counts_as_other(metered):
    r = metered.raw(BERTH_TARGET + "NoSuchOperation" + "x" * 50, {})
    assert r.status_code == 400 and r.json()["__type"] == "UnknownOperationException"
    text = requests.get(metered.endpoint + "/metrics", timeout=5).text
    assert "NoSuchOperation" not in text
    assert value(text, "berth_api_requests_total", operation="other", code="400") >= 1


def test_bad_describe_utilization_input(metered):
    def error(body):
        r = metered.raw(BERTH_TARGET + "DescribeUtilization", body)
        assert r.status_code == 400, r.text
        return r.json()["__type"], r.json()["message"]

    code, message = error({"cluster": "no-such-cluster"})
    assert code == "ClusterNotFoundException"
    code, message = error({"services": [f"s{i}" for i in range(101)]})
    assert code == "InvalidParameterException" and "services" in message
    code, message = error({"tasks": "not-a-list"})
    assert code == "InvalidParameterException" and "tasks" in message
    code, message = error({"services": [""]})
    assert code == "InvalidParameterException" and "services" in message
    # Unsigned: refused like any ECS call.
    r = metered.raw(BERTH_TARGET + "DescribeUtilization", {}, sign=False)
    assert r.status_code in (400, 403)


def test_agent_metrics_need_no_token(metered):
    r = requests.get(metered.agent_metrics_url, timeout=5)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/openmetrics-text")
    assert "# EOF" in r.text


def test_placement_failures_are_counted_by_reason(metered):
    ecs = metered.ecs
    family = uniq("huge")
    ecs.register_task_definition(family=family, containerDefinitions=[
        {"name": "main", "image": IMAGE, "memory": 4_000_000, "essential": True, "command": ["true"]}])
    out = ecs.run_task(taskDefinition=family)
    assert out["tasks"] == [] and [f["reason"] for f in out["failures"]] == ["RESOURCE:MEMORY"]
    text = requests.get(metered.endpoint + "/metrics", timeout=5).text
    assert value(text, "berth_placement_failures_total", cluster="default", reason="RESOURCE:MEMORY") >= 1
