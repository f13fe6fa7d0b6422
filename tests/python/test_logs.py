"""Container logs through the CloudWatch Logs API, with the real aws CLI and boto3 against a real `berth up`.

A task definition with the awslogs driver (group /ecs/trainer, prefix ecs) runs a container that prints 10,000
lines as fast as it can and exits; every line is read back in order with `aws logs get-log-events` (forward tokens),
after the container is removed, and after the berth process (server and its agent) restarts. `aws logs tail
--follow` shows a running task's lines; filter-log-events matches terms and quoted phrases; groups are created,
described, given a retention and deleted; a host that is gone answers a clear error at once; bad input gets clear
errors.

The aws CLI installed here is version 1, which has no `logs tail` (a version 2 command); where it is missing, the
test runs the same FilterLogEvents polling loop `aws logs tail --follow` runs (interleaved, startTime 10 minutes
back, nextToken paging, then polling from the newest timestamp and dropping events already shown) as a separate
process with botocore.

Everything runs on one dedicated server (its own data dir), so the group /ecs/trainer holds only these tests'
streams.
"""

import json
import selectors
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from botocore.exceptions import ClientError

from conftest import REGION, REPO, error_of, expect_error, uniq
from test_tasks import IMAGE, Agent, docker, instance_of, wait_status, wait_until

pytestmark = pytest.mark.berth_only

GROUP = "/ecs/trainer"
LINES = 10_000
TIMEOUT = 90.0
LOGS_TARGET = "Logs_20140328."


# --- fixtures ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def image():
    p = subprocess.run(["bash", str(REPO / "tests" / "images" / "build.sh")], capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, f"tests/images/build.sh failed:\n{p.stderr}"
    return IMAGE


@pytest.fixture(scope="module")
def srv(server_factory, image):
    """A dedicated `berth up` whose own agent holds the streams; agents are declared lost after 5 s of silence."""
    s = server_factory(extra_args=["--agent-deadline", "5"])
    wait_local_agent(s)
    return s


@pytest.fixture(scope="module")
def ecs(srv):
    return srv.client()


@pytest.fixture(scope="module")
def logs(srv):
    return srv.client("logs")


def local_instance(s):
    state = s.data_dir / "agent-state.json"
    wait_until(f"{state} written by berth up's agent", state.exists, timeout=30)
    return json.loads(state.read_text())["containerInstanceArn"]


def wait_local_agent(s):
    arn = local_instance(s)
    ecs = s.client()
    wait_until("agent connected", lambda: instance_of(ecs, arn)["agentConnected"], timeout=30)
    return arn


def awslogs(group, prefix):
    return {"logDriver": "awslogs", "options": {"awslogs-group": group, "awslogs-region": REGION,
                                                "awslogs-stream-prefix": prefix}}


def run_task(ecs, family, command, group=GROUP, prefix="ecs", cluster=None, name=None):
    """Registers `family` with one container `name` (default: the family) running `command`; runs one task."""
    name = name or family
    ecs.register_task_definition(family=family, containerDefinitions=[{
        "name": name, "image": IMAGE, "memory": 64, "essential": True, "command": command, "stopTimeout": 2,
        "logConfiguration": awslogs(group, prefix)}])
    kw = {"cluster": cluster} if cluster else {}
    out = ecs.run_task(taskDefinition=family, **kw)
    assert out["failures"] == [], out["failures"]
    task = out["tasks"][0]
    return task["taskArn"], f"{prefix}/{name}/{task['taskArn'].rsplit('/', 1)[1]}"


def read_stream_cli(srv, stream, group=GROUP):
    """Every event of `stream` with `aws logs get-log-events`, oldest first, following forward tokens until the
    token repeats (CloudWatch's end-of-stream signal)."""
    events, token, calls = [], None, 0
    while True:
        args = ["logs", "get-log-events", "--log-group-name", group, "--log-stream-name", stream,
                "--start-from-head"]
        if token:
            args += ["--next-token", token]
        _, out, _ = srv.cli(*args)
        calls += 1
        events += out["events"]
        if out["nextForwardToken"] == token or calls > 100:
            return events, calls
        token = out["nextForwardToken"]


def read_stream(logs, stream, group=GROUP, limit=None):
    """Every event of `stream` with boto3, following forward tokens."""
    events, token = [], None
    while True:
        kw = {"logGroupName": group, "logStreamName": stream, "startFromHead": True}
        if token:
            kw["nextToken"] = token
        if limit:
            kw["limit"] = limit
        out = logs.get_log_events(**kw)
        events += out["events"]
        if out["nextForwardToken"] == token:
            return events
        token = out["nextForwardToken"]


def wait_lines(logs, stream, count, group=GROUP, timeout=TIMEOUT):
    """Waits until `count` events of `stream` are readable; returns them."""
    last = []

    def enough():
        nonlocal last
        try:
            last = read_stream(logs, stream, group)
        except ClientError as e:
            last = [f"({error_of(e)[0]})"]
            return None
        return last if len(last) >= count else None

    try:
        return wait_until(f"{count} events in {stream}", enough, timeout=timeout, interval=0.5)
    except AssertionError:
        raise AssertionError(f"{stream}: {len(last)} events readable, expected {count}; last: {last[-3:]}")


def messages(events):
    return [e["message"].rstrip("\n") for e in events]


@pytest.fixture(scope="module")
def trainer(srv, ecs, logs):
    """The 10,000-line task, finished and fully shipped: (task arn, stream name)."""
    arn, stream = run_task(ecs, "trainer", ["seq", "1", str(LINES)])
    wait_status(ecs, [arn], "STOPPED", timeout=TIMEOUT)
    wait_lines(logs, stream, LINES)
    return arn, stream


@pytest.fixture(scope="module")
def chatter(srv, ecs, logs):
    """A second finished task in the same group, printing lines to search: (task arn, stream name, lines)."""
    lines = ["INFO starting worker", "ERROR disk full on /data", "WARN disk almost full", "INFO retrying",
             "ERROR network unreachable", "INFO done: disk full handled"]
    script = "; ".join(f"echo '{line}'" for line in lines)
    arn, stream = run_task(ecs, uniq("chatter"), ["sh", "-c", script], prefix="app", name="chatter")
    wait_status(ecs, [arn], "STOPPED", timeout=TIMEOUT)
    wait_lines(logs, stream, len(lines))
    return arn, stream, lines


# --- the 10,000 lines ---------------------------------------------------------------------------------------------

def test_ten_thousand_lines_in_order_after_removal_and_restart(srv, ecs, logs, trainer):
    arn, stream = trainer
    expected = [str(i) for i in range(1, LINES + 1)]

    events, calls = read_stream_cli(srv, stream)
    assert messages(events) == expected, f"{len(events)} events over {calls} calls"
    stamps = [e["timestamp"] for e in events]
    assert stamps == sorted(stamps), "timestamps never go back"

    # The last 100 lines, as the data scientist asks: newest first page (startFromHead false) and a backward step.
    out = logs.get_log_events(logGroupName=GROUP, logStreamName=stream, limit=100)
    assert messages(out["events"]) == expected[-100:]
    back = logs.get_log_events(logGroupName=GROUP, logStreamName=stream, limit=100,
                               nextToken=out["nextBackwardToken"])
    assert messages(back["events"]) == expected[-200:-100]
    # By logGroupIdentifier (the group's ARN) and in small pages too.
    group_arn = f"arn:aws:logs:{REGION}:123456789012:log-group:{GROUP}"
    first = logs.get_log_events(logGroupIdentifier=group_arn, logStreamName=stream, startFromHead=True, limit=7)
    assert messages(first["events"]) == expected[:7]
    assert messages(read_stream(logs, stream, limit=2500)) == expected

    # The container is removed: its lines stay.
    ids = docker("ps", "-aq", "--filter", f"label=berth.task-arn={arn}").split()
    assert ids, "the task's container is still there before the removal"
    docker("rm", "-f", *ids)
    assert not docker("ps", "-aq", "--filter", f"label=berth.task-arn={arn}").split()
    events, _ = read_stream_cli(srv, stream)
    assert messages(events) == expected, "all lines after docker rm -f"

    # The berth process (server and its agent) restarts: its lines stay.
    srv.restart()
    wait_local_agent(srv)
    events, _ = read_stream_cli(srv, stream)
    assert messages(events) == expected, "all lines after the agent restarted"


def test_tail_follow_shows_lines_of_a_running_task(srv, ecs, logs):
    family = uniq("ticker")
    arn, stream = run_task(ecs, family, ["sh", "-c",
                                         "trap 'exit 0' TERM; i=0; while true; do i=$((i+1)); echo tick-$i; "
                                         "sleep 0.2; done"], group="/ecs/ticker")
    try:
        wait_status(ecs, [arn], "RUNNING", timeout=TIMEOUT)
        argv, how = tail_command(srv, "/ecs/ticker")
        proc = subprocess.Popen(argv, env=srv.cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seen, arrived = [], []
        try:
            deadline = time.monotonic() + 40
            sel = selectors.DefaultSelector()
            sel.register(proc.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline and len(seen) < 30:
                if not sel.select(timeout=1):
                    if proc.poll() is not None:
                        break
                    continue
                line = proc.stdout.readline()
                if not line:
                    break
                if "tick-" in line:
                    seen.append(line.split("tick-", 1)[1].strip())
                    arrived.append(time.monotonic())
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                _, err = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
        ticks = [int(s) for s in seen]
        assert len(ticks) >= 30, f"{how} printed {ticks} (stderr: {err[-2000:]})"
        assert ticks == sorted(ticks) and len(set(ticks)) == len(ticks), f"in order, no repeats: {ticks}"
        assert ticks == list(range(ticks[0], ticks[0] + len(ticks))), f"no gaps: {ticks}"
        # The lines arrived as they were printed (5 a second), through the follow loop's polling, not in one batch.
        assert arrived[-1] - arrived[0] > 2, f"all {len(ticks)} lines arrived within {arrived[-1] - arrived[0]:.1f}s"
    finally:
        ecs.stop_task(task=arn, reason="test done")


TAIL_FOLLOW = textwrap.dedent("""
    # The polling loop of `aws logs tail GROUP --follow` (AWS CLI v2), for a CLI without `logs tail`.
    import sys, time
    import boto3
    group, endpoint = sys.argv[1], sys.argv[2]
    logs = boto3.session.Session(profile_name="berth").client("logs", endpoint_url=endpoint)
    kwargs = {"logGroupName": group, "interleaved": True, "startTime": int((time.time() - 600) * 1000)}
    seen = {}
    while True:
        page = logs.filter_log_events(**kwargs)
        for e in page["events"]:
            if e["eventId"] not in seen.setdefault(e["timestamp"], set()):
                seen[e["timestamp"]].add(e["eventId"])
                print(e["timestamp"], e["logStreamName"], e["message"].rstrip(), flush=True)
        if seen:
            newest = max(seen)
            seen = {newest: seen[newest]}
        if "nextToken" in page:
            kwargs["nextToken"] = page["nextToken"]
        else:
            kwargs.pop("nextToken", None)
            if seen:
                kwargs["startTime"] = max(seen)
            time.sleep(1)
""")


def tail_command(srv, group):
    """`aws logs tail GROUP --follow` when this CLI has it, else the same polling loop with botocore."""
    probe = subprocess.run([sys.executable, "-m", "awscli", "logs", "tail", "help"], env=srv.cli_env(),
                           capture_output=True, text=True, timeout=60)
    if probe.returncode == 0 and "--follow" in probe.stdout:
        return ([sys.executable, "-m", "awscli", "--endpoint-url", srv.endpoint, "--profile", "berth", "logs",
                 "tail", group, "--follow", "--format", "short"], "aws logs tail --follow")
    return [sys.executable, "-c", TAIL_FOLLOW, group, srv.endpoint], "the aws logs tail --follow loop"


# --- filtering and describing -----------------------------------------------------------------------------------

def test_filter_terms_and_quoted_phrases(srv, logs, trainer, chatter):
    _, stream, lines = chatter
    _, out, _ = srv.cli("logs", "filter-log-events", "--log-group-name", GROUP, "--filter-pattern", "ERROR")
    assert messages(out["events"]) == ["ERROR disk full on /data", "ERROR network unreachable"]
    assert {e["logStreamName"] for e in out["events"]} == {stream}
    _, out, _ = srv.cli("logs", "filter-log-events", "--log-group-name", GROUP, "--filter-pattern", '"disk full"')
    assert messages(out["events"]) == ["ERROR disk full on /data", "INFO done: disk full handled"]
    _, out, _ = srv.cli("logs", "filter-log-events", "--log-group-name", GROUP, "--filter-pattern", "disk full")
    assert messages(out["events"]) == ["ERROR disk full on /data", "WARN disk almost full",
                                       "INFO done: disk full handled"], "terms match in any order and place"
    # A phrase from the 10,000-line stream: both streams searched.
    out = logs.filter_log_events(logGroupName=GROUP, filterPattern='"9999"')
    assert messages(out["events"]) == ["9999"]
    searched = {s["logStreamName"]: s["searchedCompletely"] for s in out["searchedLogStreams"]}
    assert searched == {stream: True, trainer[1]: True}, searched

    # Paging: one event a page, tokens chained, everything once and in order.
    got, token, pages = [], None, 0
    while True:
        kw = {"logGroupName": GROUP, "logStreamNames": [stream], "limit": 1}
        if token:
            kw["nextToken"] = token
        page = logs.filter_log_events(**kw)
        got += page["events"]
        pages += 1
        token = page.get("nextToken")
        if not token or pages > 20:
            break
    assert messages(got) == lines
    ids = [e["eventId"] for e in got]
    assert len(set(ids)) == len(ids)
    # The whole group through the paginator: every line of both streams, ordered by time.
    everything = [e for p in logs.get_paginator("filter_log_events").paginate(
        logGroupName=GROUP, PaginationConfig={"PageSize": 3000}) for e in p["events"]]
    assert len(everything) == LINES + len(lines)
    keys = [(e["timestamp"], e["eventId"]) for e in everything]
    assert keys == sorted(keys)
    assert [m for m in messages(everything) if not m.isdigit()] == lines
    # A prefix and a time window.
    out = logs.filter_log_events(logGroupName=GROUP, logStreamNamePrefix="app/")
    assert messages(out["events"]) == lines
    last = got[-1]["timestamp"]
    out = logs.filter_log_events(logGroupName=GROUP, logStreamNames=[stream], startTime=last, endTime=last + 1)
    assert messages(out["events"])[-1] == lines[-1]


def test_describe_groups_and_streams(srv, logs, trainer, chatter):
    _, out, _ = srv.cli("logs", "describe-log-groups", "--log-group-name-prefix", "/ecs/")
    groups = {g["logGroupName"]: g for g in out["logGroups"]}
    assert GROUP in groups, groups
    g = groups[GROUP]
    assert g["arn"] == f"arn:aws:logs:{REGION}:123456789012:log-group:{GROUP}:*"
    assert g["creationTime"] > 0 and "retentionInDays" not in g
    out = logs.describe_log_groups(logGroupNamePattern="trainer")
    assert [x["logGroupName"] for x in out["logGroups"]] == [GROUP]

    _, out, _ = srv.cli("logs", "describe-log-streams", "--log-group-name", GROUP)
    streams = {s["logStreamName"]: s for s in out["logStreams"]}
    assert set(streams) == {trainer[1], chatter[1]}, streams
    s = streams[trainer[1]]
    assert s["arn"] == f"arn:aws:logs:{REGION}:123456789012:log-group:{GROUP}:log-stream:{trainer[1]}"
    assert s["firstEventTimestamp"] <= s["lastEventTimestamp"], s
    assert s["storedBytes"] > 0, s
    out = logs.describe_log_streams(logGroupName=GROUP, orderBy="LastEventTime", descending=True)
    assert [x["logStreamName"] for x in out["logStreams"]] == [chatter[1], trainer[1]], "newest events first"
    out = logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix="app/")
    assert [x["logStreamName"] for x in out["logStreams"]] == [chatter[1]]
    page = logs.describe_log_streams(logGroupName=GROUP, limit=1)
    rest = logs.describe_log_streams(logGroupName=GROUP, limit=1, nextToken=page["nextToken"])
    assert [x["logStreamName"] for x in page["logStreams"] + rest["logStreams"]] == sorted(streams)
    assert "nextToken" not in rest


def test_group_lifecycle_and_retention(srv, ecs, logs):
    name = f"/berth/{uniq('g')}"
    srv.cli("logs", "create-log-group", "--log-group-name", name)
    rc, _, err = srv.cli("logs", "create-log-group", "--log-group-name", name, check=False)
    assert rc != 0 and "ResourceAlreadyExistsException" in err, err
    srv.cli("logs", "put-retention-policy", "--log-group-name", name, "--retention-in-days", "7")
    [g] = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    assert g["retentionInDays"] == 7
    expect_error(logs.put_retention_policy, "InvalidParameterException", "retentionInDays",
                 logGroupName=name, retentionInDays=2)
    expect_error(logs.put_retention_policy, "ResourceNotFoundException", logGroupName=name + "-none",
                 retentionInDays=7)
    logs.delete_retention_policy(logGroupName=name)
    [g] = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    assert "retentionInDays" not in g

    # Paging through groups.
    names = sorted([name] + [f"{name}/{i}" for i in range(3)])
    for n in names[1:]:
        logs.create_log_group(logGroupName=n)
    listed, token = [], None
    while True:
        kw = {"logGroupNamePrefix": name, "limit": 2}
        if token:
            kw["nextToken"] = token
        page = logs.describe_log_groups(**kw)
        listed += [x["logGroupName"] for x in page["logGroups"]]
        token = page.get("nextToken")
        if not token:
            break
    assert listed == names

    # A group with a stream on the host: deleting it removes the group and its streams.
    doomed = f"/berth/{uniq('doomed')}"
    arn, stream = run_task(ecs, uniq("doomed"), ["sh", "-c", "echo one; echo two"], group=doomed)
    wait_status(ecs, [arn], "STOPPED", timeout=TIMEOUT)
    wait_lines(logs, stream, 2, group=doomed)
    logs.put_retention_policy(logGroupName=doomed, retentionInDays=1)
    assert messages(read_stream(logs, stream, doomed)) == ["one", "two"], "events newer than the retention stay"
    srv.cli("logs", "delete-log-group", "--log-group-name", doomed)
    assert logs.describe_log_groups(logGroupNamePrefix=doomed)["logGroups"] == []
    for fn, kw in [(logs.get_log_events, {"logStreamName": stream}), (logs.describe_log_streams, {}),
                   (logs.filter_log_events, {})]:
        code, msg = expect_error(fn, "ResourceNotFoundException", logGroupName=doomed, **kw)
        assert msg == "The specified log group does not exist.", msg
    expect_error(logs.delete_log_group, "ResourceNotFoundException", logGroupName=doomed)
    for n in names:
        logs.delete_log_group(logGroupName=n)


def test_group_tags_by_arn_and_by_name(srv, logs):
    """Tags on log groups as CloudWatch keeps them (what Terraform's aws_cloudwatch_log_group reads and writes)."""
    name = f"/berth/{uniq('tagged')}"
    logs.create_log_group(logGroupName=name, tags={"team": "ml", "empty": ""})
    [g] = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    arn = g["logGroupArn"]
    assert g["arn"] == arn + ":*"
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "ml", "empty": ""}
    # The aws CLI, by ARN (also with DescribeLogGroups' trailing ':*').
    srv.cli("logs", "tag-resource", "--resource-arn", g["arn"], "--tags", "cost=42,team=research")
    _, out, _ = srv.cli("logs", "list-tags-for-resource", "--resource-arn", arn)
    assert out["tags"] == {"team": "research", "empty": "", "cost": "42"}
    logs.untag_resource(resourceArn=arn, tagKeys=["empty", "never-set"])
    assert logs.list_tags_log_group(logGroupName=name)["tags"] == {"team": "research", "cost": "42"}
    # The older operations, by name.
    srv.cli("logs", "tag-log-group", "--log-group-name", name, "--tags", "stage=dev")
    srv.cli("logs", "untag-log-group", "--log-group-name", name, "--tags", "cost")
    _, out, _ = srv.cli("logs", "list-tags-log-group", "--log-group-name", name)
    assert out["tags"] == {"team": "research", "stage": "dev"}

    # Limits and errors.
    fifty = {f"k{i}": "v" for i in range(49)}  # with the two it has: 51
    code, msg = expect_error(logs.tag_resource, "TooManyTagsException", resourceArn=arn, tags=fifty)
    assert "50" in msg, msg
    assert len(logs.list_tags_for_resource(resourceArn=arn)["tags"]) == 2, "a refused request changes nothing"
    expect_error(logs.tag_log_group, "InvalidParameterException", logGroupName=name, tags=fifty)
    expect_error(logs.tag_resource, "InvalidParameterException", "aws:", resourceArn=arn, tags={"aws:x": "1"})
    expect_error(logs.tag_resource, "InvalidParameterException", "tags", resourceArn=arn, tags={"a*b": "1"})
    missing = arn.replace(name, name + "-none")
    for fn, kw in [(logs.list_tags_for_resource, {}), (logs.tag_resource, {"tags": {"a": "b"}}),
                   (logs.untag_resource, {"tagKeys": ["a"]})]:
        expect_error(fn, "ResourceNotFoundException", resourceArn=missing, **kw)
    expect_error(logs.list_tags_for_resource, "ResourceNotFoundException",
                 resourceArn=f"arn:aws:logs:{REGION}:123456789012:destination:nope")
    expect_error(logs.list_tags_for_resource, "InvalidParameterException", "resourceArn",
                 resourceArn="arn:aws:ecs:us-east-1:123456789012:cluster/default")
    expect_error(logs.list_tags_log_group, "ResourceNotFoundException", logGroupName=name + "-none")
    expect_error(logs.untag_log_group, "ResourceNotFoundException", logGroupName=name + "-none", tags=["a"])
    logs.delete_log_group(logGroupName=name)
    expect_error(logs.list_tags_for_resource, "ResourceNotFoundException", resourceArn=arn)


# --- a host that is gone ------------------------------------------------------------------------------------------

@pytest.fixture()
def agents():
    made = []
    yield made
    for a in made:
        a.cleanup()


def test_a_gone_host_answers_a_clear_error_at_once(srv, ecs, logs, agents, tmp_path, trainer):
    ecs.create_cluster(clusterName="far")
    agent = Agent(srv, "far", tmp_path / "agent-far", extra=["--link-listen", "127.0.0.1:0"])
    agents.append(agent)
    instance = agent.start()
    wait_until("far agent connected", lambda: instance_of(ecs, instance, "far")["agentConnected"], timeout=30)
    arn, stream = run_task(ecs, uniq("far"), ["sh", "-c", "echo far-1; echo far-2; trap 'exit 0' TERM; "
                                                            "sleep 600 & wait"], cluster="far")
    wait_status(ecs, [arn], "RUNNING", cluster="far", timeout=TIMEOUT)
    assert messages(wait_lines(logs, stream, 2)) == ["far-1", "far-2"]

    agent.kill()
    for phase in ("just killed", "disconnected"):
        if phase == "disconnected":
            wait_until("far instance disconnected",
                       lambda: not instance_of(ecs, instance, "far")["agentConnected"], timeout=30)
        started = time.monotonic()
        code, msg = expect_error(logs.get_log_events, "ServiceUnavailableException", logGroupName=GROUP,
                                 logStreamName=stream)
        took = time.monotonic() - started
        assert took < 5, f"{phase}: answered after {took:.1f}s"
        assert stream in msg and instance in msg, msg
        # The group's other streams still answer, and the gone host's stream is reported as not searched.
        out = logs.filter_log_events(logGroupName=GROUP, filterPattern='"far-"')
        searched = {s["logStreamName"]: s["searchedCompletely"] for s in out["searchedLogStreams"]}
        assert searched[stream] is False and searched[trainer[1]] is True, searched
        out = logs.filter_log_events(logGroupName=GROUP, filterPattern='"10000"')
        assert messages(out["events"]) == ["10000"]
        # DescribeLogStreams lists it still, without what only the host knows.
        streams = {s["logStreamName"]: s for s in logs.describe_log_streams(logGroupName=GROUP)["logStreams"]}
        assert stream in streams and "lastEventTimestamp" not in streams[stream]

    # Back: its lines are readable again.
    assert agent.start() == instance
    wait_until("far agent connected again", lambda: instance_of(ecs, instance, "far")["agentConnected"], timeout=30)
    assert messages(wait_lines(logs, stream, 2)) == ["far-1", "far-2"]


# --- bad input ----------------------------------------------------------------------------------------------------

def test_bad_input_gets_clear_errors(srv, logs, trainer, chatter):
    stream, other = trainer[1], chatter[1]
    page = logs.get_log_events(logGroupName=GROUP, logStreamName=stream, startFromHead=True, limit=5)
    # A token from another stream.
    code, msg = expect_error(logs.get_log_events, "InvalidParameterException", "nextToken", logGroupName=GROUP,
                             logStreamName=other, nextToken=page["nextForwardToken"])
    assert "another log stream" in msg, msg
    expect_error(logs.get_log_events, "InvalidParameterException", "nextToken", logGroupName=GROUP,
                 logStreamName=stream, nextToken="not-a-token")
    # A FilterLogEvents token reused for another group or another pattern.
    page = logs.filter_log_events(logGroupName=GROUP, limit=1)
    logs.create_log_group(logGroupName="/berth/other")
    expect_error(logs.filter_log_events, "InvalidParameterException", "nextToken", logGroupName="/berth/other",
                 nextToken=page["nextToken"])
    expect_error(logs.filter_log_events, "InvalidParameterException", "nextToken", logGroupName=GROUP,
                 filterPattern="ERROR", nextToken=page["nextToken"])
    # A missing group, a missing stream.
    code, msg = expect_error(logs.get_log_events, "ResourceNotFoundException", logGroupName="/ecs/nothing-here",
                             logStreamName=stream)
    assert msg == "The specified log group does not exist.", msg
    code, msg = expect_error(logs.get_log_events, "ResourceNotFoundException", logGroupName=GROUP,
                             logStreamName="ecs/trainer/none")
    assert msg == "The specified log stream does not exist.", msg
    expect_error(logs.describe_log_streams, "ResourceNotFoundException", logGroupName="/ecs/nothing-here")
    rc, _, err = srv.cli("logs", "get-log-events", "--log-group-name", "/ecs/nothing-here", "--log-stream-name",
                         "x", check=False)
    assert rc != 0 and "ResourceNotFoundException" in err and "log group does not exist" in err, err
    # A huge limit, and other limits.
    for fn, kw in [(logs.get_log_events, {"logStreamName": stream}), (logs.filter_log_events, {}),
                   (logs.describe_log_streams, {})]:
        expect_error(fn, "InvalidParameterException", "limit", logGroupName=GROUP, limit=2_000_000_000, **kw)
    expect_error(logs.describe_log_groups, "InvalidParameterException", "limit", limit=51)
    rc, _, err = srv.cli("logs", "get-log-events", "--log-group-name", GROUP, "--log-stream-name", stream,
                         "--limit", "100000", check=False)
    assert rc != 0 and "InvalidParameterException" in err and "limit" in err, err
    # Invalid names and combinations.
    expect_error(logs.create_log_group, "InvalidParameterException", "logGroupName", logGroupName="bad name!")
    expect_error(logs.get_log_events, "InvalidParameterException", "logGroupName", logGroupName="a:b",
                 logStreamName=stream)
    expect_error(logs.get_log_events, "InvalidParameterException", "logStreamName", logGroupName=GROUP,
                 logStreamName="a*b")
    expect_error(logs.get_log_events, "InvalidParameterException", "logGroupIdentifier", logGroupName=GROUP,
                 logGroupIdentifier=GROUP, logStreamName=stream)
    expect_error(logs.get_log_events, "InvalidParameterException", "logGroupName", logStreamName=stream)
    expect_error(logs.filter_log_events, "InvalidParameterException", "logStreamNamePrefix", logGroupName=GROUP,
                 logStreamNames=[stream], logStreamNamePrefix="ecs/")
    expect_error(logs.filter_log_events, "InvalidParameterException", "filterPattern", logGroupName=GROUP,
                 filterPattern='"unclosed')
    expect_error(logs.filter_log_events, "InvalidParameterException", "filterPattern", logGroupName=GROUP,
                 filterPattern="{ $.level = 1 }")
    expect_error(logs.describe_log_streams, "InvalidParameterException", "logStreamNamePrefix", logGroupName=GROUP,
                 orderBy="LastEventTime", logStreamNamePrefix="ecs/")
    expect_error(logs.describe_log_groups, "InvalidParameterException", "logGroupNamePattern",
                 logGroupNamePrefix="/ecs", logGroupNamePattern="x")
    # botocore refuses a negative time before sending it; a raw request gets the server's answer.
    r = raw_logs(srv, "GetLogEvents", {"logGroupName": GROUP, "logStreamName": stream, "startTime": -5})
    assert r.status_code == 400 and r.json()["__type"] == "InvalidParameterException", r.text
    assert "startTime" in r.json()["message"], r.text


def test_operations_berth_does_not_serve(srv, logs):
    code, msg = expect_error(logs.put_log_events, "InvalidOperationException", "PutLogEvents",
                             logGroupName=GROUP, logStreamName="x", logEvents=[{"timestamp": 1, "message": "m"}])
    assert "not supported by Berth" in msg, msg
    expect_error(logs.start_query, "InvalidOperationException", "StartQuery", logGroupName=GROUP, startTime=0,
                 endTime=1, queryString="fields @message")
    r = raw_logs(srv, "NoSuchOperation", {})
    assert r.status_code == 400 and r.json()["__type"] == "UnknownOperationException", r.text
    r = raw_logs(srv, "GetLogEvents", "{not json")
    assert r.status_code == 400 and r.json()["__type"] == "SerializationException", r.text
    r = raw_logs(srv, "GetLogEvents", {"logGroupName": GROUP, "logStreamName": "x", "limit": "ten"})
    assert r.status_code == 400 and r.json()["__type"] == "InvalidParameterException", r.text
    assert "limit" in r.json()["message"], r.text


def raw_logs(srv, operation, body):
    """A signed Logs request with any body (boto3 would refuse to send some of these)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    import requests
    data = body if isinstance(body, str) else json.dumps(body)
    req = AWSRequest(method="POST", url=srv.endpoint + "/", data=data.encode(),
                     headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": LOGS_TARGET + operation})
    SigV4Auth(Credentials(*srv.creds), "logs", REGION).add_auth(req)
    return requests.post(srv.endpoint + "/", data=data.encode(), headers=dict(req.prepare().headers), timeout=30)
