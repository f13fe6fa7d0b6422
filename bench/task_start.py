#!/usr/bin/env python3
"""Task start latency: Berth's RunTask-to-RUNNING against raw `docker run -d`, same machine, same image, one run;
and the resident memory of a separate `berth agent`, idle and with 50 running tasks.

    python3 bench/task_start.py [--berth-bin target/release/berth] [--runs 30] [--concurrency 20] [--out FILE]

Needs Docker, boto3, and a release build (`cargo build --release -p berth-cli`). Builds nothing itself except the
test image (tests/images/build.sh, a static busybox imported with `docker import`).

What is timed:
  docker   wall time of `docker run -d berth-test/busybox:latest sleep 300` (a subprocess: the docker CLI, the
           Engine's create and start); returns once the container is started.
  berth    from just before RunTask (count 1) to the first DescribeTasks that shows lastStatus RUNNING. One poller
           thread calls DescribeTasks for every task still pending, every --poll-ms (5) ms, so the figure includes
           the API call, placement, the agent's work channel, container create and start on the same Engine, the
           agent's state report and the client's poll.
Each is measured --runs times one start at a time ("single"; docker and Berth alternate, start by start, so a change
in the machine's background load hits both alike; the containers stay up until the phase ends), then in rounds of
--concurrency simultaneous starts (threads released by a barrier; a docker round, then a Berth round, and so on)
until at least --runs starts ("concurrent"). After each phase or round the containers are removed (docker) or
stopped (StopTask, waited for STOPPED); that teardown is not timed.

The DescribeTasks poll is signed with botocore's SigV4Auth on a keep-alive connection rather than through a boto3
client, whose per-call overhead would take a large share of a 2-core machine at 200 polls a second and slow the
very starts being measured. RunTask goes through boto3.

Berth runs as two processes, as on a real host: `berth server` (SQLite store, SigV4 on) and `berth agent`
(--stop-timeout 1, --metadata-port 0) joining cluster "bench". The task definition runs the same image and command
with memory 32. Compared with `docker inspect` of the raw container, Berth's container differs only in a 32 MiB memory
limit (CpuShares 2), its berth.* labels, two ECS_CONTAINER_METADATA_URI* variables and StopTimeout 1.

Also reported: the medians of where Berth's time goes, from the task's own timestamps (client start -> createdAt ->
pullStartedAt -> pullStoppedAt -> startedAt -> seen RUNNING; server, agent and client share this host's clock), and
the CPU seconds used in each phase by berth server, berth agent, dockerd, containerd, this script and the docker CLI
processes.

Agent memory: VmRSS from /proc/<agent pid>/status, idle (registered, 5 s settled, before any task) and with
--memory-tasks (50) tasks RUNNING (RunTask count 10, repeated), 5 s settled.

Percentiles are nearest-rank: with 30 samples p99 is the largest. Output: one JSON object on stdout (progress on
stderr), also written to --out.
"""

import argparse
import datetime
import http.client
import json
import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import cpu_seconds, free_port, log, read_creds  # noqa: E402

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

REPO = Path(__file__).resolve().parents[1]
IMAGE = "berth-test/busybox:latest"
COMMAND = ["sleep", "300"]
REGION = "us-east-1"
CLUSTER = "bench"
FAMILY = "bench-sleep"






def pct(samples, p):
    """Nearest-rank percentile, in ms."""
    s = sorted(samples)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)] * 1000


def summary(samples):
    return {"n": len(samples), "p50_ms": round(pct(samples, 50), 1), "p99_ms": round(pct(samples, 99), 1),
            "mean_ms": round(statistics.mean(samples) * 1000, 1), "min_ms": round(min(samples) * 1000, 1),
            "max_ms": round(max(samples) * 1000, 1)}


def rss_kib(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def rss_breakdown_kib(pid):
    """Anonymous (heap, stacks) and file-backed (the binary's pages) parts of the resident set."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key = line.split(":")[0]
            if key in ("RssAnon", "RssFile", "RssShmem"):
                out[key] = int(line.split()[1])
    return out




def docker_pids():
    """dockerd and containerd: their CPU is part of both figures."""
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                name = Path(f"/proc/{d}/comm").read_text().strip()
            except OSError:
                continue
            if name in ("dockerd", "containerd"):
                out[name] = int(d)
    return out


class CpuMeter:
    """CPU seconds used by named processes over a phase."""

    def __init__(self, pids):
        self.pids = pids

    def __enter__(self):
        self.t0 = time.monotonic()
        self.start = {n: self._cpu(p) for n, p in self.pids.items()}
        self.start.update(self._client())
        return self

    def __exit__(self, *exc):
        self.wall = time.monotonic() - self.t0
        now = {n: self._cpu(p) for n, p in self.pids.items()}
        now.update(self._client())
        self.used = {n: round(now[n] - self.start[n], 2) for n in now}
        self.used["wall_s"] = round(self.wall, 2)

    @staticmethod
    def _client():
        """This script (boto3, polling) and its children (the docker CLI processes)."""
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return {"client_python": me.ru_utime + me.ru_stime, "client_docker_cli": kids.ru_utime + kids.ru_stime}

    @staticmethod
    def _cpu(pid):
        try:
            return cpu_seconds(pid)
        except OSError:
            return 0.0


# ------------------------------------------------------------------------------------------------------
# raw docker

def docker_run():
    t0 = time.perf_counter()
    p = subprocess.run(["docker", "run", "-d", IMAGE, *COMMAND], capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"docker run failed: {p.stderr}")
    return elapsed, p.stdout.strip()


def docker_rm(ids):
    for i in range(0, len(ids), 50):
        subprocess.run(["docker", "rm", "-f", *ids[i:i + 50]], capture_output=True)


def concurrently(n, fn):
    """Runs fn(i) on n threads released together; returns the results in order (exceptions re-raised)."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def worker(i):
        barrier.wait()
        try:
            results[i] = fn(i)
        except Exception as e:  # noqa: BLE001 - re-raised below
            results[i] = e

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        if isinstance(r, Exception):
            raise r
    return results


def docker_round(n):
    """n simultaneous `docker run -d`; returns (times, container ids)."""
    results = concurrently(n, lambda i: docker_run())
    return [r[0] for r in results], [r[1] for r in results]


# ------------------------------------------------------------------------------------------------------
# berth

class Describer:
    """DescribeTasks for the tight poll: each call signed afresh with botocore's SigV4Auth (as boto3 signs) and sent
    on one keep-alive connection, without boto3's per-call machinery, so the poll costs the 2 shared cores little."""

    def __init__(self, port, ak, sk):
        self.port, self.creds = port, Credentials(ak, sk)
        self.conn = None

    def __call__(self, arns):
        body = json.dumps({"cluster": CLUSTER, "tasks": arns}).encode()
        req = AWSRequest(method="POST", url=f"http://127.0.0.1:{self.port}/", data=body, headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.DescribeTasks"})
        SigV4Auth(self.creds, "ecs", REGION).add_auth(req)
        headers = dict(req.prepare().headers)
        for attempt in (1, 2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                self.conn.request("POST", "/", body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                break
            except (OSError, http.client.HTTPException):
                self.conn = None
                if attempt == 2:
                    raise
        if resp.status != 200:
            raise RuntimeError(f"DescribeTasks: HTTP {resp.status}: {data[:300]!r}")
        return json.loads(data)["tasks"]

class Berth:
    """`berth server` and a separate `berth agent` on free ports in a temporary directory."""

    def __init__(self, binary, workdir, poll_ms):
        self.binary = binary
        self.workdir = Path(workdir)
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.poll = poll_ms / 1000
        self.server = self.agent = None
        self.instance_arn = None
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(HOME=str(self.workdir), AWS_CONFIG_FILE=str(self.workdir / "aws-config"))
        self.env = env

    def start(self):
        data = self.workdir / "server"
        self.server = subprocess.Popen(
            [self.binary, "server", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(data),
             "--region", REGION, "--no-aws-profile"],
            env=self.env, stdin=subprocess.DEVNULL, stdout=open(self.workdir / "server.log", "wb"),
            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not self._healthy():
            if self.server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"berth server did not start:\n{(self.workdir / 'server.log').read_text()}")
            time.sleep(0.02)
        ak, sk = read_creds(data / "credentials")
        cfg = Config(retries={"total_max_attempts": 1}, max_pool_connections=64, connect_timeout=5, read_timeout=60)
        self.ecs = boto3.client("ecs", endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id=ak,
                                aws_secret_access_key=sk, config=cfg)
        self.keys = (ak, sk)
        self.ecs.create_cluster(clusterName=CLUSTER)
        agent_dir = self.workdir / "agent"
        self.agent = subprocess.Popen(
            [self.binary, "agent", "--server", self.endpoint, "--cluster", CLUSTER, "--data-dir", str(agent_dir),
             "--credentials", str(data / "credentials"), "--metadata-port", "0", "--stop-timeout", "1"],
            env=self.env, stdin=subprocess.DEVNULL, stdout=open(self.workdir / "agent.log", "wb"),
            stderr=subprocess.STDOUT)
        state = agent_dir / "agent-state.json"
        deadline = time.monotonic() + 30
        while True:
            if self.agent.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"berth agent did not register:\n{(self.workdir / 'agent.log').read_text()}")
            if state.exists() and "agent registered as" in (self.workdir / "agent.log").read_text():
                break
            time.sleep(0.02)
        self.instance_arn = json.loads(state.read_text())["containerInstanceArn"]
        self.ecs.register_task_definition(family=FAMILY, containerDefinitions=[
            {"name": "main", "image": IMAGE, "memory": 32, "essential": True, "command": COMMAND}])

    def _healthy(self):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
            conn.request("GET", "/healthz")
            ok = conn.getresponse().status == 200
            conn.close()
            return ok
        except OSError:
            return False

    def stop(self):
        for p in (self.agent, self.server):
            if p and p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        if self.instance_arn:
            ids = subprocess.run(["docker", "ps", "-aq", "--filter",
                                  f"label=berth.container-instance={self.instance_arn}"],
                                 capture_output=True, text=True).stdout.split()
            docker_rm(ids)

    # --- timing ---------------------------------------------------------------------------------------
    def describe(self, arns):
        out = []
        for i in range(0, len(arns), 100):
            out += self.ecs.describe_tasks(cluster=CLUSTER, tasks=arns[i:i + 100])["tasks"]
        return out

    def timed_starts(self, n):
        """n simultaneous RunTask (count 1) calls, one thread each; one poller sees them RUNNING.

        Returns a list of dicts: elapsed seconds and the task's own timestamps, relative to the client's start.
        """
        lock = threading.Lock()
        pending = {}  # arn -> (t0 perf, t0 wall)
        done = {}
        finished = threading.Event()
        errors = []

        describe = Describer(self.port, *self.keys)

        def poller():
            while not finished.is_set() or pending:
                with lock:
                    arns = list(pending)
                if not arns:
                    time.sleep(self.poll / 5)
                    continue
                try:
                    tasks = describe(arns)
                except Exception as e:  # noqa: BLE001 - reported after the round
                    errors.append(e)
                    return
                seen = time.perf_counter()
                for t in tasks:
                    if t["lastStatus"] == "RUNNING":
                        with lock:
                            t0, wall0 = pending.pop(t["taskArn"])
                        done[t["taskArn"]] = (seen - t0, wall0, t)
                    elif t["lastStatus"] == "STOPPED":
                        errors.append(RuntimeError(f"task stopped before RUNNING: {t.get('stoppedReason')}"))
                        return
                time.sleep(self.poll)

        def start(_):
            wall0 = time.time()
            t0 = time.perf_counter()
            out = self.ecs.run_task(cluster=CLUSTER, taskDefinition=FAMILY, count=1)
            if out["failures"] or not out["tasks"]:
                raise RuntimeError(f"RunTask failed: {out['failures']}")
            with lock:
                pending[out["tasks"][0]["taskArn"]] = (t0, wall0)
            return out["tasks"][0]["taskArn"]

        poll_thread = threading.Thread(target=poller)
        poll_thread.start()
        try:
            arns = concurrently(n, start) if n > 1 else [start(0)]
        finally:
            finished.set()
            deadline = time.monotonic() + 120
            while pending and not errors and time.monotonic() < deadline:
                time.sleep(0.01)
            if pending and not errors:
                errors.append(RuntimeError(f"{len(pending)} tasks not RUNNING within 120 s"))
            with lock:
                pending.clear()
            poll_thread.join()
        if errors:
            raise errors[0]
        results = []
        for a in arns:
            elapsed, wall0, t = done[a]
            phases = {k: (stamp(t[k]) - wall0) * 1000 for k in ("createdAt", "pullStartedAt", "pullStoppedAt",
                                                                 "startedAt") if t.get(k) is not None}
            results.append({"arn": a, "elapsed": elapsed, "at_ms": phases})
        return results

    def stop_tasks(self, arns):
        for a in arns:
            self.ecs.stop_task(cluster=CLUSTER, task=a, reason="bench round over")
        deadline = time.monotonic() + 120
        while arns:
            arns = [t["taskArn"] for t in self.describe(arns) if t["lastStatus"] != "STOPPED"]
            if time.monotonic() > deadline:
                raise RuntimeError(f"{len(arns)} tasks not STOPPED within 120 s")
            time.sleep(0.1)

    def run_many(self, total, per_call=10):
        arns = []
        while len(arns) < total:
            out = self.ecs.run_task(cluster=CLUSTER, taskDefinition=FAMILY, count=min(per_call, total - len(arns)))
            if out["failures"]:
                raise RuntimeError(f"RunTask failed: {out['failures']}")
            arns += [t["taskArn"] for t in out["tasks"]]
        deadline = time.monotonic() + 180
        while True:
            states = [t["lastStatus"] for t in self.describe(arns)]
            if all(s == "RUNNING" for s in states):
                return arns
            if "STOPPED" in states or time.monotonic() > deadline:
                raise RuntimeError(f"not all {total} tasks RUNNING: {sorted(set(states))}")
            time.sleep(0.2)


def stamp(v):
    if isinstance(v, datetime.datetime):
        return v.timestamp()
    return float(v)


def phase_breakdown(results):
    """Medians of where the time went, from the task's own timestamps (server and agent clocks = this host's)."""
    def med(key_from, key_to):
        vals = [r["at_ms"][key_to] - (r["at_ms"][key_from] if key_from else 0) for r in results
                if key_to in r["at_ms"] and (not key_from or key_from in r["at_ms"])]
        return round(statistics.median(vals), 1) if vals else None

    last = [r["elapsed"] * 1000 - r["at_ms"]["startedAt"] for r in results if "startedAt" in r["at_ms"]]
    return {
        "client_to_createdAt_ms": med(None, "createdAt"),
        "createdAt_to_pullStartedAt_ms": med("createdAt", "pullStartedAt"),
        "pullStartedAt_to_pullStoppedAt_ms": med("pullStartedAt", "pullStoppedAt"),
        "pullStoppedAt_to_startedAt_ms": med("pullStoppedAt", "startedAt"),
        "startedAt_to_seen_RUNNING_ms": round(statistics.median(last), 1) if last else None,
    }


# ------------------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--berth-bin", default=os.environ.get("BERTH_BIN") or str(REPO / "target" / "release" / "berth"))
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--memory-tasks", type=int, default=50)
    ap.add_argument("--poll-ms", type=float, default=5.0)
    ap.add_argument("--settle", type=float, default=5.0, help="seconds before each memory reading")
    ap.add_argument("--out")
    args = ap.parse_args()
    if not Path(args.berth_bin).exists():
        sys.exit(f"{args.berth_bin} not found: cargo build --release -p berth-cli (or pass --berth-bin)")
    if not shutil.which("docker"):
        sys.exit("docker not found")

    log("building the test image (tests/images/build.sh)")
    subprocess.run(["bash", str(REPO / "tests" / "images" / "build.sh")], check=True, stdout=subprocess.DEVNULL)
    docker_version = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True,
                                    text=True).stdout.strip()

    result = {
        "bench": "task_start",
        "date": datetime.date.today().isoformat(),
        "host_cpus": os.cpu_count(),
        "kernel": platform.release(),
        "docker_version": docker_version,
        "berth_bin": args.berth_bin,
        "image": IMAGE,
        "command": COMMAND,
        "runs": args.runs,
        "concurrency": args.concurrency,
        "poll_ms": args.poll_ms,
        "percentiles": "nearest rank",
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    with tempfile.TemporaryDirectory(prefix="berth-task-bench-") as tmp:
        berth = Berth(args.berth_bin, tmp, args.poll_ms)
        try:
            log("starting berth server and berth agent")
            berth.start()
            time.sleep(args.settle)
            idle_rss = rss_kib(berth.agent.pid)
            result["agent_memory"] = {"idle_rss_kib": idle_rss, "idle_parts_kib": rss_breakdown_kib(berth.agent.pid)}
            log(f"agent idle VmRSS {idle_rss} KiB")

            # Warm-up (not counted): the image's first use, Berth's first placement.
            _, cid = docker_run()
            docker_rm([cid])
            berth.stop_tasks([r["arn"] for r in berth.timed_starts(1)])

            pids = {"berth_server": berth.server.pid, "berth_agent": berth.agent.pid, **docker_pids()}
            cpu = {k: {} for k in ("docker_single", "berth_single", "docker_concurrent", "berth_concurrent")}

            def metered(phase, fn):
                with CpuMeter(pids) as m:
                    out = fn()
                for k, v in m.used.items():
                    cpu[phase][k] = round(cpu[phase].get(k, 0) + v, 2)
                return out

            # Interleaved, one start at a time, so a change in the machine's background load hits both alike.
            log(f"single: docker run -d and RunTask, alternately, x{args.runs}")
            d_single, d_ids, b_single = [], [], []
            try:
                for _ in range(args.runs):
                    elapsed, cid = metered("docker_single", docker_run)
                    d_single.append(elapsed)
                    d_ids.append(cid)
                    b_single += metered("berth_single", lambda: berth.timed_starts(1))
            finally:
                docker_rm(d_ids)
                berth.stop_tasks([r["arn"] for r in b_single])
            rounds = math.ceil(args.runs / args.concurrency)
            log(f"concurrent: {args.concurrency} at once, docker and berth rounds alternately, x{rounds}")
            d_conc, b_conc = [], []
            for _ in range(rounds):
                times, ids = metered("docker_concurrent", lambda: docker_round(args.concurrency))
                docker_rm(ids)
                d_conc += times
                round_results = metered("berth_concurrent", lambda: berth.timed_starts(args.concurrency))
                berth.stop_tasks([r["arn"] for r in round_results])
                b_conc += round_results

            bs = [r["elapsed"] for r in b_single]
            bc = [r["elapsed"] for r in b_conc]
            result["docker_run_d"] = {"single": summary(d_single), "concurrent": summary(d_conc)}
            result["berth_runtask_to_running"] = {"single": summary(bs), "concurrent": summary(bc)}
            result["ratio_berth_over_docker"] = {
                "single_p50": round(pct(bs, 50) / pct(d_single, 50), 2),
                "single_p99": round(pct(bs, 99) / pct(d_single, 99), 2),
                "concurrent_p50": round(pct(bc, 50) / pct(d_conc, 50), 2),
                "concurrent_p99": round(pct(bc, 99) / pct(d_conc, 99), 2),
            }
            result["berth_phases_median"] = {"single": phase_breakdown(b_single),
                                             "concurrent": phase_breakdown(b_conc)}
            result["cpu_seconds"] = cpu
            log(json.dumps(result["ratio_berth_over_docker"]))

            log(f"agent memory with {args.memory_tasks} running tasks")
            arns = berth.run_many(args.memory_tasks)
            time.sleep(args.settle)
            result["agent_memory"].update({
                "running_tasks": len(arns),
                "with_tasks_rss_kib": rss_kib(berth.agent.pid),
                "with_tasks_parts_kib": rss_breakdown_kib(berth.agent.pid),
                "peak_rss_kib": rss_kib(berth.agent.pid, "VmHWM"),
                "server_rss_kib": rss_kib(berth.server.pid),
            })
            result["agent_memory"]["idle_rss_mib"] = round(idle_rss / 1024, 2)
            result["agent_memory"]["with_tasks_rss_mib"] = round(result["agent_memory"]["with_tasks_rss_kib"] / 1024, 2)
            berth.stop_tasks(arns)
        finally:
            berth.stop()

    result["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["targets"] = {
        "task_start_ratio_max": 1.10,
        "task_start_met": all(v <= 1.10 for v in result["ratio_berth_over_docker"].values()),
        "agent_idle_mib_max": 10,
        "agent_idle_met": result["agent_memory"]["idle_rss_mib"] <= 10,
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
