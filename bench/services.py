#!/usr/bin/env python3
"""ECS services on Berth against Docker Swarm services (and raw `docker run -d` where it applies), same machine, same
Engine, same image, one run.

    python3 bench/services.py [--berth-bin target/release/berth] [--sizes 20,50] [--repeats 3] [--kills 10]
                              [--skip-swarm] [--skip-berth] [--skip-raw] [--scenarios scale,heal,rolling] [--quick]

Needs Docker (the script may `docker swarm init`; it leaves the swarm at the end only if it created it), boto3's
botocore, and a release build (`cargo build --release -p berth-cli`). Builds nothing itself except the test image
(tests/images/build.sh: berth-test/busybox:latest; no registry is used, Swarm runs with --no-resolve-image).

Scenarios (all three by default):
  scale    a new service to N RUNNING tasks, N in --sizes, timed from just before the create call until the first
           poll that shows N tasks running.
             berth   CreateService(desiredCount N); poll ListTasks(serviceName)+DescribeTasks.
             swarm   `docker service create --detach --no-resolve-image --replicas N ...`; poll the service's tasks
                     with desired state running (the Engine API query behind `docker service ps --filter
                     desired-state=running`).
             raw     N `docker run -d` on N threads released together, timed until the last returns (each returns
                     once its container is started); the floor: no orchestrator at all.
           Each size --repeats times, the three systems in rotating order; everything removed between runs (service
           deleted with force and its tasks STOPPED, swarm service removed and its containers gone, raw containers
           removed), untimed.
  heal     a service of --heal-size (5) tasks; `docker kill` one of its containers (Berth: by label berth.task-arn;
           Swarm: by label com.docker.swarm.service.name) and time until a replacement is running and the count is
           back to 5 (5 running, the killed task not among them). --kills (10) times per system; p50/p90.
           Swarm twice: default restart policy (restart-delay 5 s) and --restart-delay 0s, reported separately.
  rolling  a service of --rolling-size (20) tasks moved to a new image tag (`docker tag berth-test/busybox:latest
           berth-test/busybox:vK`, a fresh K per run, so the image is the same bytes under a new name).
             berth   RegisterTaskDefinition (new revision, image vK), UpdateService(taskDefinition, deployment-
                     Configuration minimumHealthyPercent 100, maximumPercent 150). `completed`: the first poll
                     (DescribeServices + ListTasks + DescribeTasks) showing one deployment, PRIMARY, rolloutState
                     COMPLETED, on the new revision, with all 20 tasks RUNNING on it.
             swarm   `docker service update --detach=false --no-resolve-image --image berth-test/busybox:vK
                     --update-parallelism 10 --update-order start-first` (never below 20 running, at most 30: the
                     same bounds). `completed`: the command returning (the manager marks the update completed a
                     monitor period, 5 s by default, after the last task is updated; the CLI returns after that).
                     Twice: default settings, and --update-monitor 1ms (0s means "default" to the CLI), reported
                     separately.
           Also reported for both: `new_running_s`, the first poll showing 20 tasks running on the new image, and
           the sampled minimum running / maximum active (running+pending) task counts during the rollout (tasks
           meant to run: Berth desiredStatus RUNNING, Swarm desired state running), the sampled maximum of the
           service's containers actually running on the host (old ones being stopped included: both orchestrators
           take a stopping task out of the bound while its container still waits out the stop grace); for Swarm
           the manager's own UpdateStatus (StartedAt -> CompletedAt) and when the poll first saw it completed.
           --repeats times each, on the same service (v2, v3, ...).

Both orchestrators run the same container: berth-test/busybox:latest, `sleep 3600`, a 16 MiB memory limit (Berth:
task definition cpu 10, memory 16; Swarm: --limit-memory 16M; raw: --memory 16m), and the same stop grace
(--stop-grace, 1 s: the container's stopTimeout for Berth, --stop-grace-period for Swarm; `sleep` as PID 1 ignores
SIGTERM, so every stop waits the grace out).

Polling, both sides every --poll-ms (20) ms at a fixed cadence, with requests that cost the shared cores little:
Berth's calls are signed with botocore's SigV4Auth (as boto3 signs) on one keep-alive connection, without boto3's
per-call machinery; Swarm's are GETs to the Engine API on its unix socket (/tasks, /services), the query `docker
service ps` makes. Spawning the docker CLI every 20 ms would cost ~14 ms of CPU per call, most of a core, and slow
the very containers being measured. The time of a measurement is when the poll response that showed the condition
arrived.

Berth runs as `berth up` (server and local agent, cluster `default`) on a free port with a temporary data dir and
HOME, --no-aws-profile, --metadata-port 0, --stop-timeout equal to --stop-grace.

Output: one JSON object per measurement on stdout (a header object first, summaries last), then a Markdown table
(seconds; Berth/Swarm and Berth/raw ratios) ready for docs/BENCHMARKS.md. Progress goes to stderr. A failed
measurement (a timeout, an error from Berth or Docker) is printed as an object with "error" and the run goes on with
the next one; the exit status is then 1 and Berth's logs are kept (their path is printed). Swarm services, raw
containers, Berth's services and containers and the image tags made here are always removed on the way out.
Percentiles are nearest-rank; medians of scale and rolling runs are statistics.median.
"""

import argparse
import datetime
import http.client
import json
import math
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import free_port, log, read_creds  # noqa: E402

from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
IMAGE_REPO = "berth-test/busybox"
IMAGE = f"{IMAGE_REPO}:latest"
COMMAND = ["sleep", "3600"]
REGION = "us-east-1"
CLUSTER = "default"
FAMILY = "bench-svc"
CPU_UNITS = 10
MEMORY_MIB = 16
TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113."
RUN_ID = uuid.uuid4().hex[:8]
LABEL = "berth-bench.services"  # on raw containers and swarm services/containers: this run's id


class BenchError(Exception):
    """A measurement that failed: a timeout or an error from Berth or Docker (message says which and what)."""


# ------------------------------------------------------------------------------------------------------
# small helpers

def now():
    return time.perf_counter()


def pct(samples, p):
    """Nearest-rank percentile."""
    s = sorted(samples)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def r3(x):
    return None if x is None else round(x, 3)


def docker(*args, check=True, timeout=120):
    p = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise BenchError(f"docker {' '.join(args[:6])}{' ...' if len(args) > 6 else ''} failed "
                         f"({p.returncode}): {p.stderr.strip()[:500]}")
    return p.stdout


def docker_rm(ids):
    ids = list(ids)
    for i in range(0, len(ids), 50):
        subprocess.run(["docker", "rm", "-f", *ids[i:i + 50]], capture_output=True)


def poll_until(what, check, timeout, interval):
    """Calls check() every `interval` s (fixed cadence) until it returns (True, state); returns (perf time of the
    response that satisfied it, state). check() returns (done, state); `state` of the last poll is in the timeout
    message."""
    deadline = now() + timeout
    due = now()
    while True:
        done, state = check()
        seen = now()
        if done:
            return seen, state
        if seen > deadline:
            raise BenchError(f"timeout: {what} not reached within {timeout:g} s; last poll: {state}")
        due += interval
        pause = due - now()
        if pause > 0:
            time.sleep(pause)
        else:
            due = now()


def parse_rfc3339(s):
    """Docker's timestamps (nanoseconds, Z) as epoch seconds."""
    if not s or s.startswith("0001-"):
        return None
    s = s.rstrip("Z")
    if "." in s:
        head, frac = s.split(".", 1)
        s = f"{head}.{frac[:6]}"
        fmt = "%Y-%m-%dT%H:%M:%S.%f"
    else:
        fmt = "%Y-%m-%dT%H:%M:%S"
    return datetime.datetime.strptime(s, fmt).replace(tzinfo=datetime.timezone.utc).timestamp()


# ------------------------------------------------------------------------------------------------------
# Docker Engine API on the unix socket (the poll; the CLI does everything else)

class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.socket_path)
        self.sock = s


def docker_socket():
    host = os.environ.get("DOCKER_HOST", "")
    if host.startswith("unix://"):
        return host[len("unix://"):]
    if host:
        sys.exit(f"DOCKER_HOST={host}: only a unix socket is supported")
    return "/var/run/docker.sock"


class Engine:
    """GETs on one keep-alive connection; one instance per thread."""

    def __init__(self):
        self.path = docker_socket()
        self.conn = None

    def get(self, path, **query):
        if query:
            path += "?" + urllib.parse.urlencode({k: json.dumps(v) if isinstance(v, dict) else v
                                                  for k, v in query.items()})
        for attempt in (1, 2):
            try:
                if self.conn is None:
                    self.conn = UnixHTTPConnection(self.path)
                self.conn.request("GET", path)
                resp = self.conn.getresponse()
                data = resp.read()
                break
            except (OSError, http.client.HTTPException):
                self.conn = None
                if attempt == 2:
                    raise
        if resp.status != 200:
            raise BenchError(f"Engine API GET {path}: HTTP {resp.status}: {data[:300]!r}")
        return json.loads(data)

    def service_tasks(self, name):
        """Tasks of a swarm service with desired state running (`docker service ps NAME -f desired-state=running`)."""
        return self.get("/tasks", filters={"service": {name: True}, "desired-state": {"running": True}})

    def service(self, name):
        return self.get(f"/services/{urllib.parse.quote(name)}")

    def running_containers(self, label):
        """Containers running with `label` (KEY=VALUE): what the host really runs, stopping ones included."""
        return len(self.get("/containers/json", filters={"label": {label: True}, "status": {"running": True}}))


def swarm_counts(tasks, image=None):
    """(running, running on `image`, active) of swarm tasks with desired state running."""
    running = [t for t in tasks if t["Status"]["State"] == "running"]
    on_image = [t for t in running if image is None or t["Spec"]["ContainerSpec"]["Image"] == image]
    return len(running), len(on_image), len(tasks)


def state_histogram(states):
    out = {}
    for s in states:
        out[s] = out.get(s, 0) + 1
    return out


# ------------------------------------------------------------------------------------------------------
# Berth

class EcsError(BenchError):
    def __init__(self, op, code, message):
        super().__init__(f"berth {op}: {code}: {message}")
        self.code = code


class Ecs:
    """ECS JSON calls signed with botocore's SigV4Auth on one keep-alive connection; one instance per thread."""

    def __init__(self, port, ak, sk):
        self.port, self.creds = port, Credentials(ak, sk)
        self.conn = None

    def __call__(self, op, **body):
        data = json.dumps(body).encode()
        req = AWSRequest(method="POST", url=f"http://127.0.0.1:{self.port}/", data=data, headers={
            "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET_PREFIX + op})
        SigV4Auth(self.creds, "ecs", REGION).add_auth(req)
        headers = dict(req.prepare().headers)
        for attempt in (1, 2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                self.conn.request("POST", "/", body=data, headers=headers)
                resp = self.conn.getresponse()
                out = resp.read()
                break
            except (OSError, http.client.HTTPException):
                self.conn = None
                if attempt == 2:
                    raise
        try:
            doc = json.loads(out) if out else {}
        except ValueError:
            doc = {"message": out[:300].decode(errors="replace")}
        if resp.status != 200:
            code = str(doc.get("__type", f"HTTP {resp.status}")).rsplit("#", 1)[-1]
            raise EcsError(op, code, doc.get("message") or doc.get("Message") or doc)
        return doc

    # --- the calls the bench needs ---------------------------------------------------------------------
    def service_tasks(self, service, desired="RUNNING"):
        """DescribeTasks of ListTasks(serviceName, desiredStatus)."""
        arns, token = [], None
        while True:
            body = {"cluster": CLUSTER, "serviceName": service, "desiredStatus": desired, "maxResults": 100}
            if token:
                body["nextToken"] = token
            out = self("ListTasks", **body)
            arns += out.get("taskArns", [])
            token = out.get("nextToken")
            if not token:
                break
        return self.describe_tasks(arns)

    def describe_tasks(self, arns):
        tasks = []
        for i in range(0, len(arns), 100):
            out = self("DescribeTasks", cluster=CLUSTER, tasks=arns[i:i + 100])
            tasks += out.get("tasks", [])
        return tasks

    def service(self, name):
        out = self("DescribeServices", cluster=CLUSTER, services=[name])
        if out.get("failures"):
            raise BenchError(f"berth DescribeServices {name}: failures {out['failures']}")
        return out["services"][0]


def berth_counts(tasks, td_arn=None):
    """(running, running on td_arn, active) of Berth tasks with desiredStatus RUNNING."""
    running = [t for t in tasks if t.get("lastStatus") == "RUNNING"]
    on_td = [t for t in running if td_arn is None or t.get("taskDefinitionArn") == td_arn]
    return len(running), len(on_td), len(tasks)


class Berth:
    """`berth up` on a free port in a temporary directory (server, SQLite store, local agent in cluster default)."""

    def __init__(self, binary, workdir, stop_grace, poll):
        self.binary = binary
        self.workdir = Path(workdir)
        self.port = free_port()
        self.stop_grace = stop_grace
        self.poll = poll
        self.proc = None
        self.instance_arn = None
        self.services = set()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update(HOME=str(self.workdir / "home"), AWS_CONFIG_FILE=str(self.workdir / "aws-config"))

    def start(self):
        (self.workdir / "home").mkdir(parents=True, exist_ok=True)
        data = self.workdir / "data"
        self.log_path = self.workdir / "berth.log"
        self.proc = subprocess.Popen(
            [self.binary, "up", "--insecure-http", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(data), "--region", REGION,
             "--no-aws-profile", "--metadata-port", "0", "--stop-timeout", str(self.stop_grace)],
            env=self.env, stdin=subprocess.DEVNULL, stdout=open(self.log_path, "wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not (data / "credentials").exists() or not self._healthy():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"berth up did not start (exit {self.proc.poll()}):\n{self.log_tail()}")
            time.sleep(0.02)
        self.keys = read_creds(data / "credentials")
        self.ecs = self.client()
        # The local agent registers this host in cluster `default`.
        while True:
            try:
                arns = self.ecs("ListContainerInstances", cluster=CLUSTER).get("containerInstanceArns", [])
            except EcsError:
                arns = []
            if arns:
                inst = self.ecs("DescribeContainerInstances", cluster=CLUSTER,
                                containerInstances=arns[:1])["containerInstances"][0]
                if inst.get("agentConnected") and inst.get("status") == "ACTIVE":
                    self.instance_arn = inst["containerInstanceArn"]
                    break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"berth up's agent did not register in cluster {CLUSTER}:\n{self.log_tail()}")
            time.sleep(0.05)
        self.td_latest = self.register(IMAGE)

    def _healthy(self):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
            conn.request("GET", "/healthz")
            ok = conn.getresponse().status == 200
            conn.close()
            return ok
        except OSError:
            return False

    def client(self):
        return Ecs(self.port, *self.keys)

    def log_tail(self, lines=40):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def alive(self):
        if self.proc.poll() is not None:
            raise BenchError(f"berth up exited with {self.proc.returncode}:\n{self.log_tail()}")

    def register(self, image):
        out = self.ecs("RegisterTaskDefinition", family=FAMILY, containerDefinitions=[{
            "name": "main", "image": image, "cpu": CPU_UNITS, "memory": MEMORY_MIB, "essential": True,
            "command": COMMAND, "stopTimeout": self.stop_grace}])
        return out["taskDefinition"]["taskDefinitionArn"]

    def create_service(self, name, count, td, deployment=None):
        body = {"cluster": CLUSTER, "serviceName": name, "taskDefinition": td, "desiredCount": count}
        if deployment:
            body["deploymentConfiguration"] = deployment
        self.services.add(name)
        return self.ecs("CreateService", **body)["service"]

    def events(self, name, n=3):
        try:
            return [e.get("message") for e in self.ecs.service(name).get("events", [])[:n]]
        except BenchError as e:
            return [f"(DescribeServices failed: {e})"]

    def wait_running(self, name, count, timeout, exclude=(), ecs=None):
        """Until `count` tasks of the service are RUNNING (none of `exclude`); returns the perf time seen."""
        ecs = ecs or self.ecs

        def check():
            tasks = ecs.service_tasks(name)
            running = [t for t in tasks if t.get("lastStatus") == "RUNNING" and t["taskArn"] not in exclude]
            return len(running) >= count, {"running": len(running), "lastStatus":
                                           state_histogram(t.get("lastStatus") for t in tasks)}
        try:
            return poll_until(f"berth service {name}: {count} tasks RUNNING", check, timeout, self.poll)[0]
        except BenchError as e:
            self.alive()
            raise BenchError(f"{e}; latest events: {self.events(name)}") from None

    def delete_service(self, name, timeout):
        """DeleteService(force), then until its tasks are STOPPED; removes their exited containers."""
        known = [t["taskArn"] for t in self.ecs.service_tasks(name)]
        self.ecs("DeleteService", cluster=CLUSTER, service=name, force=True)

        def check():
            live = [t["taskArn"] for t in self.ecs.service_tasks(name)]
            for a in live:
                if a not in known:
                    known.append(a)
            not_stopped = [t for t in self.ecs.describe_tasks(known) if t.get("lastStatus") != "STOPPED"]
            return not live and not not_stopped, {"desired_running": len(live), "not_stopped": len(not_stopped)}
        poll_until(f"berth service {name}: tasks STOPPED after DeleteService(force)", check, timeout, 0.1)
        try:
            poll_until(f"berth service {name}: INACTIVE", lambda: (
                (s := self.ecs.service(name)["status"]) == "INACTIVE", s), 30, 0.1)
        except BenchError as e:
            log(f"  note: {e}")
        self.services.discard(name)
        self.remove_exited(known)

    def remove_exited(self, arns):
        ids = []
        for a in arns:
            ids += docker("ps", "-aq", "--filter", f"label=berth.task-arn={a}", "--filter", "status=exited",
                          check=False).split()
        docker_rm(ids)

    def container_of(self, arn):
        ids = docker("ps", "-q", "--filter", f"label=berth.task-arn={arn}", "--filter", "status=running").split()
        if not ids:
            raise BenchError(f"no running container with label berth.task-arn={arn}")
        return ids[0]

    def stop(self):
        for name in list(self.services):
            try:
                self.ecs("DeleteService", cluster=CLUSTER, service=name, force=True)
            except Exception as e:  # noqa: BLE001 - best effort on the way out
                log(f"  cleanup: DeleteService {name}: {e}")
        if self.services:
            time.sleep(min(5, self.stop_grace + 2))
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.instance_arn:
            docker_rm(docker("ps", "-aq", "--filter", f"label=berth.container-instance={self.instance_arn}",
                             check=False).split())


# ------------------------------------------------------------------------------------------------------
# Docker Swarm

class Swarm:
    def __init__(self, stop_grace, poll):
        self.stop_grace = stop_grace
        self.poll = poll
        self.created_swarm = False
        self.services = set()
        self.engine = Engine()

    def ensure(self):
        state = docker("info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}").split()
        if state == ["active", "true"]:
            log("swarm: this Engine is already a manager; the swarm stays at the end")
            return
        if state and state[0] != "inactive":
            raise BenchError(f"swarm: node state {' '.join(state)}; need an inactive node or a manager")
        p = subprocess.run(["docker", "swarm", "init"], capture_output=True, text=True)
        if p.returncode != 0:
            log(f"swarm init: {p.stderr.strip()}; retrying with --advertise-addr 127.0.0.1")
            docker("swarm", "init", "--advertise-addr", "127.0.0.1")
        self.created_swarm = True
        log("swarm: initialised (left at the end)")

    def create(self, name, replicas, extra=(), detach=True):
        self.services.add(name)
        docker("service", "create", "--quiet", f"--detach={'true' if detach else 'false'}", "--no-resolve-image",
               "--replicas", str(replicas), "--name", name, "--stop-grace-period", f"{self.stop_grace}s",
               "--limit-memory", f"{MEMORY_MIB}M", "--label", f"{LABEL}={RUN_ID}",
               "--container-label", f"{LABEL}={RUN_ID}", *extra, IMAGE, *COMMAND)

    def wait_running(self, name, count, timeout, exclude_task=None, engine=None):
        engine = engine or self.engine

        def check():
            tasks = engine.service_tasks(name)
            running = [t for t in tasks if t["Status"]["State"] == "running" and t["ID"] != exclude_task]
            return len(running) >= count, {"running": len(running),
                                           "states": state_histogram(t["Status"]["State"] for t in tasks),
                                           "errors": sorted({t["Status"].get("Err") for t in tasks} - {None, ""})}
        return poll_until(f"swarm service {name}: {count} tasks running", check, timeout, self.poll)[0]

    def remove(self, name, timeout):
        docker("service", "rm", name, check=False)
        poll_until(f"swarm service {name}: containers removed", lambda: (
            not (ids := docker("ps", "-aq", "--filter", f"label=com.docker.swarm.service.name={name}",
                               check=False).split()), {"containers": len(ids)}), timeout, 0.2)
        self.services.discard(name)

    def container_of(self, name):
        out = docker("ps", "--filter", f"label=com.docker.swarm.service.name={name}", "--filter", "status=running",
                     "--format", '{{.ID}} {{.Label "com.docker.swarm.task.id"}}').split("\n")
        rows = [line.split() for line in out if line.strip()]
        if not rows:
            raise BenchError(f"no running container with label com.docker.swarm.service.name={name}")
        return rows[0][0], rows[0][1]

    def cleanup(self):
        for name in list(self.services):
            try:
                self.remove(name, 60)
            except Exception as e:  # noqa: BLE001 - best effort on the way out
                log(f"  cleanup: swarm service {name}: {e}")
        if self.created_swarm:
            subprocess.run(["docker", "swarm", "leave", "--force"], capture_output=True)
            log("swarm: left")


# ------------------------------------------------------------------------------------------------------
# raw docker run -d

class Raw:
    def __init__(self):
        self.ids = []

    def scale(self, n):
        """n `docker run -d` on n threads released together; returns (seconds to the last, to the first)."""
        barrier = threading.Barrier(n + 1)
        done, errors, ids = [None] * n, [], [None] * n

        def worker(i):
            barrier.wait()
            p = subprocess.run(["docker", "run", "-d", "--label", f"{LABEL}={RUN_ID}", "--memory", f"{MEMORY_MIB}m",
                                IMAGE, *COMMAND], capture_output=True, text=True)
            done[i] = now()
            if p.returncode != 0:
                errors.append(p.stderr.strip()[:300])
            else:
                ids[i] = p.stdout.strip()

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        t0 = now()
        barrier.wait()
        for t in threads:
            t.join()
        self.ids += [i for i in ids if i]
        if errors:
            raise BenchError(f"raw: {len(errors)} of {n} docker run failed: {errors[0]}")
        running = docker("inspect", "--format", "{{.State.Running}}", *ids).split()
        if running.count("true") != n:
            raise BenchError(f"raw: {running.count('true')} of {n} containers running after docker run -d")
        return max(done) - t0, min(done) - t0

    def cleanup(self):
        docker_rm(self.ids)
        self.ids = []
        docker_rm(docker("ps", "-aq", "--filter", f"label={LABEL}={RUN_ID}", check=False).split())


# ------------------------------------------------------------------------------------------------------
# the scenarios

class Bench:
    def __init__(self, args, berth, swarm, raw):
        self.a, self.berth, self.swarm, self.raw = args, berth, swarm, raw
        self.results = []  # every measurement object
        self.errors = 0
        self.tags = []
        self.seq = 0
        self.teardown_timeout = max(60.0, args.timeout)

    def emit(self, obj):
        obj = {"bench": "services", **obj}
        self.results.append(obj)
        print(json.dumps(obj), flush=True)
        if self.a.out:
            with open(self.a.out, "a") as f:
                f.write(json.dumps(obj) + "\n")

    def name(self, what):
        self.seq += 1
        return f"bench-{what}-{RUN_ID}-{self.seq}"

    def guarded(self, label, fn, teardown):
        """Runs one measurement; a failure is emitted as an error object; teardown always runs."""
        try:
            return fn()
        except BenchError as e:
            self.errors += 1
            log(f"  FAILED {label}: {e}")
            self.emit({"scenario": label[0], "system": label[1], "error": str(e)})
        finally:
            try:
                teardown()
            except Exception as e:  # noqa: BLE001 - reported, the run goes on
                self.errors += 1
                log(f"  teardown after {label} failed: {e}")
                self.emit({"scenario": label[0], "system": label[1], "error": f"teardown: {e}"})
        return None

    def settle(self):
        time.sleep(self.a.settle)

    # --- scale-out -----------------------------------------------------------------------------------
    def scale(self):
        systems = [s for s, on in (("raw", self.raw), ("swarm", self.swarm), ("berth", self.berth)) if on]
        for rep in range(self.a.repeats):
            for n in self.a.sizes:
                order = systems[rep % len(systems):] + systems[:rep % len(systems)]
                for system in order:
                    log(f"scale-out: {system}, {n} tasks, run {rep + 1}/{self.a.repeats}")
                    getattr(self, f"scale_{system}")(n, rep)
                    self.settle()

    def scale_raw(self, n, rep):
        def run():
            total, first = self.raw.scale(n)
            self.emit({"scenario": "scale", "system": "raw", "n": n, "repeat": rep, "seconds": r3(total),
                       "first_s": r3(first)})
        self.guarded(("scale", "raw"), run, self.raw.cleanup)

    def scale_swarm(self, n, rep):
        name = self.name(f"scale{n}")

        def run():
            t0 = now()
            self.swarm.create(name, n)
            call = now() - t0
            seen = self.swarm.wait_running(name, n, self.a.timeout)
            self.emit({"scenario": "scale", "system": "swarm", "n": n, "repeat": rep, "seconds": r3(seen - t0),
                       "create_call_s": r3(call)})
        self.guarded(("scale", "swarm"), run, lambda: self.swarm.remove(name, self.teardown_timeout))

    def scale_berth(self, n, rep):
        name = self.name(f"scale{n}")

        def run():
            t0 = now()
            self.berth.create_service(name, n, self.berth.td_latest)
            call = now() - t0
            seen = self.berth.wait_running(name, n, self.a.timeout)
            self.emit({"scenario": "scale", "system": "berth", "n": n, "repeat": rep, "seconds": r3(seen - t0),
                       "create_call_s": r3(call)})
        self.guarded(("scale", "berth"), run, lambda: self.berth.delete_service(name, self.teardown_timeout))

    # --- self-healing --------------------------------------------------------------------------------
    def heal(self):
        n, k = self.a.heal_size, self.a.kills
        if self.berth:
            name = self.name("heal")

            def run_berth():
                log(f"self-healing: berth, service of {n}, {k} kills")
                self.berth.create_service(name, n, self.berth.td_latest)
                self.berth.wait_running(name, n, self.a.timeout)
                samples = []
                for i in range(k):
                    self.settle()
                    running = [t["taskArn"] for t in self.berth.ecs.service_tasks(name)
                               if t.get("lastStatus") == "RUNNING"]
                    victim = running[i % len(running)]
                    cid = self.berth.container_of(victim)
                    t0 = now()
                    docker("kill", cid)
                    seen = self.berth.wait_running(name, n, self.a.timeout, exclude={victim})
                    samples.append(seen - t0)
                    self.emit({"scenario": "heal", "system": "berth", "n": n, "kill": i, "seconds": r3(seen - t0)})
                self.emit_heal_summary("berth", n, samples)
            self.guarded(("heal", "berth"), run_berth,
                         lambda: self.berth.delete_service(name, self.teardown_timeout))
            self.settle()
        if self.swarm:
            for variant, extra in (("swarm", ()), ("swarm-restart-delay-0s", ("--restart-delay", "0s"))):
                name = self.name("heal")

                def run_swarm(variant=variant, extra=extra, name=name):
                    log(f"self-healing: {variant}, service of {n}, {k} kills")
                    self.swarm.create(name, n, extra)
                    self.swarm.wait_running(name, n, self.a.timeout)
                    samples = []
                    for i in range(k):
                        self.settle()
                        cid, task_id = self.swarm.container_of(name)
                        t0 = now()
                        docker("kill", cid)
                        seen = self.swarm.wait_running(name, n, self.a.timeout, exclude_task=task_id)
                        samples.append(seen - t0)
                        self.emit({"scenario": "heal", "system": variant, "n": n, "kill": i,
                                   "seconds": r3(seen - t0)})
                    self.emit_heal_summary(variant, n, samples)
                self.guarded(("heal", variant), run_swarm,
                             lambda name=name: self.swarm.remove(name, self.teardown_timeout))
                self.settle()

    def emit_heal_summary(self, system, n, samples):
        self.emit({"scenario": "heal", "system": system, "n": n, "summary": True, "kills": len(samples),
                   "p50_s": r3(pct(samples, 50)), "p90_s": r3(pct(samples, 90)), "min_s": r3(min(samples)),
                   "max_s": r3(max(samples))})

    # --- rolling update ------------------------------------------------------------------------------
    def new_tag(self):
        tag = f"{IMAGE_REPO}:v{len(self.tags) + 2}"
        exists = subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0
        docker("tag", IMAGE, tag)
        if not exists:
            self.tags.append(tag)
        else:
            self.tags.append(None)  # keeps the numbering; not ours to remove
        return tag

    def rolling(self):
        n = self.a.rolling_size
        surge = max(1, n * (self.a.max_percent - 100) // 100)
        tags = [self.new_tag() for _ in range(self.a.repeats)]
        if self.berth:
            name = self.name("rolling")

            def run_berth():
                deployment = {"minimumHealthyPercent": 100, "maximumPercent": self.a.max_percent}
                log(f"rolling update: berth, {n} tasks, {len(tags)} updates")
                self.berth.create_service(name, n, self.berth.td_latest, deployment)
                self.berth.wait_running(name, n, self.a.timeout)
                self.wait_berth_steady(name, self.berth.td_latest)
                for rep, tag in enumerate(tags):
                    self.settle()
                    td = self.berth.register(tag)
                    self.emit({"scenario": "rolling", "system": "berth", "n": n, "repeat": rep, "image": tag,
                               **self.berth_update(name, n, td, deployment)})
            self.guarded(("rolling", "berth"), run_berth,
                         lambda: self.berth.delete_service(name, self.teardown_timeout))
            self.settle()
        if self.swarm:
            for variant, extra in (("swarm", ()), ("swarm-update-monitor-1ms", ("--update-monitor", "1ms"))):
                name = self.name("rolling")

                def run_swarm(variant=variant, extra=extra, name=name):
                    log(f"rolling update: {variant}, {n} tasks, {len(tags)} updates")
                    self.swarm.create(name, n, ("--update-parallelism", str(surge), "--update-order", "start-first",
                                                *extra))
                    self.swarm.wait_running(name, n, self.a.timeout)
                    for rep, tag in enumerate(tags):
                        self.settle()
                        self.emit({"scenario": "rolling", "system": variant, "n": n, "repeat": rep, "image": tag,
                                   "update_parallelism": surge, **self.swarm_update(name, n, tag, surge)})
                self.guarded(("rolling", variant), run_swarm,
                             lambda name=name: self.swarm.remove(name, self.teardown_timeout))
                self.settle()

    def wait_berth_steady(self, name, td):
        def check():
            svc = self.berth.ecs.service(name)
            deps = svc.get("deployments", [])
            ok = (len(deps) == 1 and deps[0].get("status") == "PRIMARY" and deps[0].get("rolloutState") == "COMPLETED"
                  and deps[0].get("taskDefinition") == td)
            return ok, [(d.get("status"), d.get("rolloutState"), d.get("runningCount")) for d in deps]
        poll_until(f"berth service {name}: one COMPLETED deployment", check, self.a.timeout, self.a.poll_ms / 1000)

    def berth_update(self, name, n, td, deployment):
        ecs = self.berth.ecs
        engine = Engine()
        label = f"berth.container-instance={self.berth.instance_arn}"  # only this service runs meanwhile
        stats = {"min_running": None, "max_active": 0, "max_containers": 0}
        marks = {}
        t0 = now()

        def check():
            svc = ecs.service(name)
            tasks = ecs.service_tasks(name)
            stats["max_containers"] = max(stats["max_containers"], engine.running_containers(label))
            running, on_new, active = berth_counts(tasks, td)
            stats["min_running"] = running if stats["min_running"] is None else min(stats["min_running"], running)
            stats["max_active"] = max(stats["max_active"], active)
            if on_new >= n and "new_running" not in marks:
                marks["new_running"] = now() - t0
            deps = svc.get("deployments", [])
            for d in deps:
                if d.get("rolloutState") == "FAILED":
                    raise BenchError(f"berth service {name}: deployment {d.get('id')} FAILED: "
                                     f"{d.get('rolloutStateReason')}; events: {self.berth.events(name)}")
            done = (len(deps) == 1 and deps[0].get("status") == "PRIMARY"
                    and deps[0].get("rolloutState") == "COMPLETED" and deps[0].get("taskDefinition") == td
                    and on_new == n and active == n)
            return done, {"deployments": [(d.get("status"), d.get("rolloutState"), d.get("taskDefinition", "")
                                           .rsplit(":", 1)[-1], d.get("runningCount")) for d in deps],
                          "running": running, "running_new": on_new, "active": active}

        ecs("UpdateService", cluster=CLUSTER, service=name, taskDefinition=td, deploymentConfiguration=deployment)
        call = now() - t0
        try:
            seen, _ = poll_until(f"berth service {name}: deployment of {td.rsplit('/', 1)[-1]} COMPLETED with {n} "
                                 f"tasks RUNNING on it", check, self.a.timeout, self.a.poll_ms / 1000)
        except BenchError as e:
            self.berth.alive()
            raise BenchError(f"{e}; latest events: {self.berth.events(name)}") from None
        return {"seconds": r3(seen - t0), "new_running_s": r3(marks.get("new_running")), "update_call_s": r3(call),
                "min_running_seen": stats["min_running"], "max_active_seen": stats["max_active"],
                "max_containers_seen": stats["max_containers"]}

    def swarm_update(self, name, n, image, parallelism):
        engine = Engine()
        before = (self.swarm.engine.service(name).get("UpdateStatus") or {}).get("CompletedAt")
        stats = {"min_running": None, "max_active": 0, "max_containers": 0}
        marks = {}
        stop = threading.Event()
        poll_error = []

        def poller():
            due = now()
            try:
                while not stop.is_set():
                    tasks = engine.service_tasks(name)
                    running, on_new, active = swarm_counts(tasks, image)
                    t = now() - t0
                    stats["min_running"] = running if stats["min_running"] is None else min(stats["min_running"],
                                                                                             running)
                    stats["max_active"] = max(stats["max_active"], active)
                    stats["max_containers"] = max(stats["max_containers"], engine.running_containers(
                        f"com.docker.swarm.service.name={name}"))
                    if on_new >= n and "new_running" not in marks:
                        marks["new_running"] = t
                    if "completed_seen" not in marks:
                        st = engine.service(name).get("UpdateStatus") or {}
                        if st.get("State") == "completed" and st.get("CompletedAt") != before:
                            marks["completed_seen"] = now() - t0
                            marks["status"] = st
                    due += self.a.poll_ms / 1000
                    time.sleep(max(0, due - now()))
            except Exception as e:  # noqa: BLE001 - reported below
                poll_error.append(e)

        t0 = now()
        th = threading.Thread(target=poller, daemon=True)
        th.start()
        try:
            p = subprocess.run(["docker", "service", "update", "--quiet", "--detach=false", "--no-resolve-image",
                                "--image", image, "--update-parallelism", str(parallelism),
                                "--update-order", "start-first", name],
                               capture_output=True, text=True, timeout=self.a.timeout)
            cli = now() - t0
            if p.returncode != 0:
                raise BenchError(f"docker service update {name} failed ({p.returncode}): {p.stderr.strip()[:500]}")
            # Let the poll see the final state (it normally has by now).
            deadline = now() + 30
            while ("new_running" not in marks or "completed_seen" not in marks) and now() < deadline \
                    and not poll_error:
                time.sleep(0.05)
        except subprocess.TimeoutExpired:
            raise BenchError(f"timeout: docker service update {name} did not return within {self.a.timeout:g} s")
        finally:
            stop.set()
            th.join()
        if poll_error:
            raise BenchError(f"swarm poll failed: {poll_error[0]}")
        st = marks.get("status") or {}
        started, completed = parse_rfc3339(st.get("StartedAt")), parse_rfc3339(st.get("CompletedAt"))
        # Old tasks shut down: wait (untimed) for exactly n running containers before the next update.
        poll_until(f"swarm service {name}: old containers stopped", lambda: (
            len(c := docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={name}").split()) == n,
            {"running_containers": len(c)}), self.a.timeout, 0.2)
        return {"seconds": r3(cli), "new_running_s": r3(marks.get("new_running")),
                "update_completed_seen_s": r3(marks.get("completed_seen")),
                "swarm_update_status": st.get("State"), "swarm_reported_s": r3(completed - started)
                if started and completed else None,
                "min_running_seen": stats["min_running"], "max_active_seen": stats["max_active"],
                "max_containers_seen": stats["max_containers"]}

    def cleanup_tags(self):
        for tag in self.tags:
            if tag:
                subprocess.run(["docker", "rmi", tag], capture_output=True)

    # --- report --------------------------------------------------------------------------------------
    def summaries(self):
        rows = []  # (label, berth, swarm, raw)

        def med(scenario, system, n, key="seconds"):
            vals = [r[key] for r in self.results if r.get("scenario") == scenario and r.get("system") == system
                    and r.get("n") == n and not r.get("summary") and "error" not in r and r.get(key) is not None]
            return (statistics.median(vals), len(vals)) if vals else (None, 0)

        def heal(system, key):
            for r in self.results:
                if r.get("scenario") == "heal" and r.get("system") == system and r.get("summary"):
                    return r[key], r["kills"]
            return None, 0

        for n in self.a.sizes:
            b, nb = med("scale", "berth", n)
            s, ns = med("scale", "swarm", n)
            w, nw = med("scale", "raw", n)
            rows.append((f"scale-out to {n} tasks RUNNING (median of {max(nb, ns, nw)})", b, s, w))
        if "heal" in self.a.scenarios:
            k, n = self.a.kills, self.a.heal_size
            for variant, note in (("swarm", ""), ("swarm-restart-delay-0s", ", Swarm with --restart-delay 0s")):
                for key, p in (("p50_s", "p50"), ("p90_s", "p90")):
                    rows.append((f"self-healing: {n} tasks, one container killed, until {n} run again "
                                 f"({p} of {k}){note}", heal("berth", key)[0], heal(variant, key)[0], None))
        if "rolling" in self.a.scenarios:
            n, r = self.a.rolling_size, self.a.repeats
            b, _ = med("rolling", "berth", n, "new_running_s")
            for variant, note in (("swarm", ""), ("swarm-update-monitor-1ms", ", Swarm with --update-monitor 1ms")):
                rows.append((f"rolling update of {n} (100%/{self.a.max_percent}%): all {n} running on the new image "
                             f"(median of {r}){note}", b, med("rolling", variant, n, "new_running_s")[0], None))
            b, _ = med("rolling", "berth", n)
            for variant, note in (("swarm", " (its 5 s monitor included)"),
                                  ("swarm-update-monitor-1ms", ", Swarm with --update-monitor 1ms")):
                rows.append((f"rolling update of {n}: reported complete, Berth deployment COMPLETED / "
                             f"`docker service update --detach=false` returns (median of {r}){note}", b,
                             med("rolling", variant, n)[0], None))
        return rows

    def markdown(self):
        def f(x):
            return "-" if x is None else f"{x:.2f}"

        def ratio(a, b):
            return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}x"

        lines = ["| measurement (seconds) | Berth | Docker Swarm | raw `docker run -d` | Berth / Swarm | Berth / raw |",
                 "|---|---|---|---|---|---|"]
        for label, b, s, w in self.summaries():
            lines.append(f"| {label} | {f(b)} | {f(s)} | {f(w)} | {ratio(b, s)} | {ratio(b, w)} |")
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--berth-bin", default=os.environ.get("BERTH_BIN") or str(REPO / "target" / "release" / "berth"))
    ap.add_argument("--sizes", default="20,50", help="scale-out sizes, comma-separated")
    ap.add_argument("--repeats", type=int, default=3, help="runs of each scale-out size and of the rolling update")
    ap.add_argument("--kills", type=int, default=10, help="kills per system in the self-healing scenario")
    ap.add_argument("--heal-size", type=int, default=5)
    ap.add_argument("--rolling-size", type=int, default=20)
    ap.add_argument("--max-percent", type=int, default=150, help="rolling update surge bound (min healthy is 100)")
    ap.add_argument("--scenarios", default="scale,heal,rolling")
    ap.add_argument("--skip-swarm", action="store_true")
    ap.add_argument("--skip-berth", action="store_true")
    ap.add_argument("--skip-raw", action="store_true")
    ap.add_argument("--poll-ms", type=float, default=20.0)
    ap.add_argument("--stop-grace", type=int, default=1, help="seconds from SIGTERM to SIGKILL, both orchestrators")
    ap.add_argument("--settle", type=float, default=2.0, help="seconds of pause between measurements")
    ap.add_argument("--timeout", type=float, default=180.0, help="seconds any one wait may take")
    ap.add_argument("--out", help="also append the JSON objects to this file")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: sizes 5, 1 repeat, 2 kills, rolling of 4, settle 1 s")
    a = ap.parse_args()
    if a.quick:
        a.sizes, a.repeats, a.kills, a.rolling_size, a.settle = "5", 1, 2, 4, 1.0
    a.sizes = [int(x) for x in a.sizes.split(",") if x.strip()]
    a.scenarios = [x.strip() for x in a.scenarios.split(",") if x.strip()]
    unknown = set(a.scenarios) - {"scale", "heal", "rolling"}
    if unknown:
        sys.exit(f"unknown scenarios: {', '.join(sorted(unknown))}")
    if not shutil.which("docker"):
        sys.exit("docker not found")
    if not a.skip_berth and not Path(a.berth_bin).exists():
        sys.exit(f"{a.berth_bin} not found: cargo build --release -p berth-cli (or pass --berth-bin, or --skip-berth)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    log("building the test image (tests/images/build.sh)")
    subprocess.run(["bash", str(REPO / "tests" / "images" / "build.sh")], check=True, stdout=subprocess.DEVNULL)
    docker_version = docker("version", "--format", "{{.Server.Version}}").strip()

    workdir = Path(tempfile.mkdtemp(prefix="berth-services-bench-"))
    berth = swarm = raw = bench = None
    keep = False
    try:
        if not a.skip_berth:
            berth = Berth(a.berth_bin, workdir, a.stop_grace, a.poll_ms / 1000)
            log("starting berth up")
            berth.start()
        if not a.skip_swarm:
            swarm = Swarm(a.stop_grace, a.poll_ms / 1000)
            swarm.ensure()
        if not a.skip_raw:
            raw = Raw()
        bench = Bench(a, berth, swarm, raw)
        bench.emit({"header": True, "run_id": RUN_ID, "date": datetime.datetime.now().isoformat(timespec="seconds"),
                    "host_cpus": os.cpu_count(), "kernel": platform.release(), "docker_version": docker_version,
                    "berth_bin": None if a.skip_berth else a.berth_bin, "image": IMAGE, "command": COMMAND,
                    "berth_task": {"cpu": CPU_UNITS, "memory": MEMORY_MIB}, "stop_grace_s": a.stop_grace,
                    "poll_ms": a.poll_ms, "sizes": a.sizes, "repeats": a.repeats, "kills": a.kills,
                    "heal_size": a.heal_size, "rolling_size": a.rolling_size, "max_percent": a.max_percent,
                    "scenarios": a.scenarios, "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]})
        # Warm-up, untimed: the image's first container start on this Engine.
        docker_rm([docker("run", "-d", "--label", f"{LABEL}={RUN_ID}", IMAGE, *COMMAND).strip()])
        for scenario in a.scenarios:
            getattr(bench, scenario)()
        bench.emit({"summary": True, "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
                    "errors": bench.errors})
        print()
        print(bench.markdown())
        keep = bench.errors > 0
    except BaseException:
        keep = True
        raise
    finally:
        log("cleaning up")
        for what, fn in (("swarm", swarm and swarm.cleanup), ("raw", raw and raw.cleanup),
                         ("berth", berth and berth.stop), ("tags", bench and bench.cleanup_tags)):
            if fn:
                try:
                    fn()
                except Exception as e:  # noqa: BLE001 - keep cleaning
                    log(f"  cleanup of {what} failed: {e}")
        if keep and berth:
            log(f"berth's log and data kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(1 if bench is None or bench.errors else 0)


if __name__ == "__main__":
    main()
