"""The event stream `GET /events`: server-sent events of cluster, task, service and instance changes, signed like
any request and resumable from a store revision."""

import json
import queue
import threading
import time

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import REGION, uniq

pytestmark = pytest.mark.berth_only

IMAGE = "berth-test/busybox:latest"


def signed_headers(berth, url, headers=None):
    ak, sk = berth.creds
    req = AWSRequest(method="GET", url=url, headers=headers or {})
    SigV4Auth(Credentials(ak, sk), "ecs", REGION).add_auth(req)
    return dict(req.prepare().headers)


class EventStream:
    """Reads SSE frames on a thread so tests can wait with a timeout."""

    def __init__(self, berth, query="", headers=None):
        url = f"{berth.endpoint}/events" + (f"?{query}" if query else "")
        self.response = requests.get(url, headers=signed_headers(berth, url, headers), stream=True, timeout=30)
        self.frames = queue.Queue()
        self.seen = []
        if self.response.status_code == 200:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        frame = {}
        try:
            for line in self.response.iter_lines(decode_unicode=True):
                if line == "":
                    if "event" in frame:
                        frame["data"] = json.loads(frame.get("data", "null"))
                        self.frames.put(frame)
                    frame = {}
                elif line.startswith(":"):
                    continue
                else:
                    name, _, value = line.partition(": ")
                    frame[name] = value
        except (requests.RequestException, ValueError, AttributeError):
            pass

    def next(self, predicate=lambda f: True, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no matching event within the timeout")
            try:
                frame = self.frames.get(timeout=left)
            except queue.Empty:
                continue
            self.seen.append(frame)
            if predicate(frame):
                return frame

    def close(self):
        self.response.close()


def test_stream_starts_with_hello_and_carries_cluster_changes(berth, ecs):
    name = uniq("ev")
    stream = EventStream(berth, f"cluster={name}")
    try:
        assert stream.response.status_code == 200
        assert stream.response.headers["content-type"].startswith("text/event-stream")
        hello = stream.next()
        assert hello["event"] == "hello" and hello["data"]["revision"] > 0
        ecs.create_cluster(clusterName=name)
        created = stream.next(lambda f: f["event"] == "cluster")
        assert created["data"]["op"] == "put"
        assert created["data"]["value"]["clusterName"] == name
        assert int(created["id"]) > hello["data"]["revision"]
        ecs.delete_cluster(cluster=name)
        deleted = stream.next(lambda f: f["event"] == "cluster" and f["data"]["value"]["status"] == "INACTIVE")
        assert int(deleted["id"]) > int(created["id"])
    finally:
        stream.close()


def test_task_lifecycle_arrives_in_order_without_bookkeeping(berth, ecs):
    family = uniq("evtask")
    ecs.register_task_definition(family=family, containerDefinitions=[
        {"name": "main", "image": IMAGE, "memory": 32, "command": ["sleep", "30"]}])
    stream = EventStream(berth, "cluster=default")
    try:
        stream.next(lambda f: f["event"] == "hello")
        task = ecs.run_task(taskDefinition=family)["tasks"][0]
        task_id = task["taskArn"].rsplit("/", 1)[1]
        mine = lambda status: lambda f: (f["event"] == "task" and f["data"]["id"] == task_id  # noqa: E731
                                         and f["data"]["value"]["lastStatus"] == status)
        running = stream.next(mine("RUNNING"), timeout=60)
        assert running["data"]["cluster"] == "default"
        assert not any(k.startswith("berth") for k in running["data"]["value"])
        ecs.stop_task(task=task["taskArn"], reason="events test")
        stopped = stream.next(mine("STOPPED"), timeout=60)
        assert int(stopped["id"]) > int(running["id"])
        # Instances hold the task's resources: their changes are in the stream too, without Berth's hidden fields.
        instances = [f for f in stream.seen if f["event"] == "instance"]
        assert instances, "placing and stopping the task changed its instance"
        for inst in instances:
            assert not any(k.startswith("berth") for k in inst["data"]["value"])
    finally:
        stream.close()


def test_a_client_resumes_from_a_revision(berth, ecs):
    name = uniq("evres")
    stream = EventStream(berth, f"cluster={name}")
    hello = stream.next()
    stream.close()
    # Changes while nobody listens are delivered on resume, in order, by `since` and by Last-Event-ID.
    ecs.create_cluster(clusterName=name)
    ecs.tag_resource(resourceArn=ecs.describe_clusters(clusters=[name])["clusters"][0]["clusterArn"],
                     tags=[{"key": "team", "value": "ml"}])
    since = hello["data"]["revision"]
    for query, headers in ((f"cluster={name}&since={since}", None),
                           (f"cluster={name}", {"Last-Event-ID": str(since)})):
        resumed = EventStream(berth, query, headers)
        try:
            first = resumed.next()
            assert first["event"] == "cluster" and first["data"]["value"]["clusterName"] == name
            second = resumed.next()
            assert int(second["id"]) > int(first["id"]) > since
            assert {"key": "team", "value": "ml"} in second["data"]["value"]["tags"]
        finally:
            resumed.close()


def test_bad_requests_get_ecs_errors(berth):
    url = f"{berth.endpoint}/events?since=yesterday"
    r = requests.get(url, headers=signed_headers(berth, url), timeout=10)
    assert r.status_code == 400
    assert r.json()["__type"] == "InvalidParameterException" and "since" in r.json()["message"]
    r = requests.get(f"{berth.endpoint}/events", timeout=10)
    assert r.status_code in (400, 403)
    assert r.json()["__type"] == "MissingAuthenticationTokenException"
