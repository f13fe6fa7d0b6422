#!/usr/bin/env python3
"""Log throughput: one chatty container under Berth, read back through the CloudWatch Logs API, against
`docker logs` of the same container.

    python3 bench/logs.py [--berth-bin target/release/berth] [--lines 200000] [--runs 3] [--out FILE]
    python3 bench/logs.py --quick          # 10,000 lines, one run: checks that it works

Needs Docker, boto3 and a release build (`cargo build --release -p berth-cli`). Builds nothing itself except the
test image (tests/images/build.sh).

Berth runs as `berth up` (server and agent in one process, SQLite store, SigV4 on) on a free port with a temporary
data dir. Each run registers a task definition whose one container (awslogs, group /bench/logs) runs
`seq 1 N` in berth-test/busybox -- N lines as fast as the container can print them -- and measures:

  ship      from just before RunTask until all N lines are readable with GetLogEvents (boto3, forward tokens, the
            reader polling from its last token every 20 ms while a page comes back empty): lines/s = N / that time.
            It includes the task's start (placement, container create and start), so it is a lower bound of the
            shipping rate itself; `container_s` (the task's startedAt to executionStoppedAt) says how long the
            container took to print them.
  cpu       CPU seconds (utime+stime from /proc/<pid>/stat) of the berth process over the ship window: the agent
            reading Docker's log stream and writing its stream files, plus the server answering the reader's
            GetLogEvents calls (one process; the reader is this script, not counted). Also per 100,000 lines.
  read      once everything is shipped: time to read all N lines through GetLogEvents (boto3, 10,000 a page)
            against `docker logs <container>` of the same container (the docker CLI, to /dev/null via a pipe
            counted here), both after the container exited.

Output: a table on stderr and one JSON object on stdout (also written to --out). Medians over --runs.
"""

import argparse
import datetime
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import cpu_seconds, free_port, log, read_creds  # noqa: E402

import boto3
from botocore.config import Config

REPO = Path(__file__).resolve().parents[1]
IMAGE = "berth-test/busybox:latest"
REGION = "us-east-1"
GROUP = "/bench/logs"
FAMILY = "bench-chatty"


class Berth:
    """`berth up` on a free port in a temporary directory, with clients for ECS and Logs."""

    def __init__(self, binary, workdir):
        self.binary, self.workdir = binary, Path(workdir)
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.data = self.workdir / "data"
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(HOME=str(self.workdir), AWS_CONFIG_FILE=str(self.workdir / "aws-config"))
        self.env = env
        self.proc = None
        self.instance_arn = None

    def start(self):
        self.proc = subprocess.Popen(
            [self.binary, "up", "--insecure-http", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(self.data),
             "--region", REGION, "--no-aws-profile", "--metadata-port", "0"],
            env=self.env, stdin=subprocess.DEVNULL, stdout=open(self.workdir / "berth.log", "wb"),
            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not self._healthy():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"berth up did not start:\n{(self.workdir / 'berth.log').read_text()}")
            time.sleep(0.02)
        ak, sk = read_creds(self.data / "credentials")
        cfg = Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=60)
        kw = dict(endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id=ak, aws_secret_access_key=sk,
                  config=cfg)
        self.ecs = boto3.client("ecs", **kw)
        self.logs = boto3.client("logs", **kw)
        state = self.data / "agent-state.json"
        while True:
            if time.monotonic() > deadline:
                raise RuntimeError(f"berth up's agent did not register:\n{(self.workdir / 'berth.log').read_text()}")
            if state.exists():
                self.instance_arn = json.loads(state.read_text())["containerInstanceArn"]
                ci = self.ecs.describe_container_instances(containerInstances=[self.instance_arn])
                if ci["containerInstances"] and ci["containerInstances"][0]["agentConnected"]:
                    break
            time.sleep(0.1)

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
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.instance_arn:
            ids = subprocess.run(["docker", "ps", "-aq", "--filter",
                                  f"label=berth.container-instance={self.instance_arn}"],
                                 capture_output=True, text=True).stdout.split()
            if ids:
                subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)


def read_all(logs, stream, expected, timeout, poll=0.02):
    """Follows `stream` with forward tokens until `expected` events were read; returns (count, seconds, calls).
    A stream the agent has not created yet (ResourceNotFoundException) is polled like an empty page."""
    started = time.perf_counter()
    count, token, calls = 0, None, 0
    while count < expected:
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"only {count} of {expected} lines readable after {timeout}s")
        kw = {"logGroupName": GROUP, "logStreamName": stream, "startFromHead": True}
        if token:
            kw["nextToken"] = token
        calls += 1
        try:
            out = logs.get_log_events(**kw)
        except logs.exceptions.ResourceNotFoundException:
            time.sleep(poll)
            continue
        count += len(out["events"])
        if not out["events"]:
            time.sleep(poll)
        token = out["nextForwardToken"]
    return count, time.perf_counter() - started, calls


def stamp(v):
    return v.timestamp() if hasattr(v, "timestamp") else float(v)


def one_run(berth, lines, timeout):
    berth.ecs.register_task_definition(family=FAMILY, containerDefinitions=[{
        "name": "chatty", "image": IMAGE, "memory": 64, "essential": True, "command": ["seq", "1", str(lines)],
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": GROUP, "awslogs-region": REGION, "awslogs-stream-prefix": "bench"}}}])
    cpu0 = cpu_seconds(berth.proc.pid)
    t0 = time.perf_counter()
    task = berth.ecs.run_task(taskDefinition=FAMILY)["tasks"][0]
    arn = task["taskArn"]
    stream = f"bench/chatty/{arn.rsplit('/', 1)[1]}"
    count, _, calls = read_all(berth.logs, stream, lines, timeout)
    ship_s = time.perf_counter() - t0
    cpu = cpu_seconds(berth.proc.pid) - cpu0

    # The container's own printing time, from the task's timestamps.
    deadline = time.monotonic() + 60
    while True:
        t = berth.ecs.describe_tasks(tasks=[arn])["tasks"][0]
        if t.get("executionStoppedAt") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    container_s = (stamp(t["executionStoppedAt"]) - stamp(t["startedAt"])
                   if t.get("executionStoppedAt") and t.get("startedAt") else None)

    # Reading everything back, after the container exited: Berth's API against docker logs.
    cpu1 = cpu_seconds(berth.proc.pid)
    read_count, read_s, _ = read_all(berth.logs, stream, lines, timeout)
    read_cpu = cpu_seconds(berth.proc.pid) - cpu1
    cid = t["containers"][0].get("runtimeId")
    t1 = time.perf_counter()
    p = subprocess.run(["docker", "logs", cid], capture_output=True, timeout=timeout)
    docker_s = time.perf_counter() - t1
    docker_lines = p.stdout.count(b"\n") + p.stderr.count(b"\n")
    subprocess.run(["docker", "rm", "-f", cid], capture_output=True)
    return {
        "lines": lines,
        "ship_s": round(ship_s, 3),
        "ship_lines_per_s": round(count / ship_s),
        "container_s": round(container_s, 3) if container_s is not None else None,
        "reader_calls": calls,
        "berth_cpu_s": round(cpu, 3),
        "berth_cpu_s_per_100k_lines": round(cpu * 100_000 / lines, 3),
        "read_api_s": round(read_s, 3),
        "read_api_lines": read_count,
        "read_api_berth_cpu_s": round(read_cpu, 3),
        "docker_logs_s": round(docker_s, 3),
        "docker_logs_lines": docker_lines,
    }


def median(runs, key):
    values = [r[key] for r in runs if r.get(key) is not None]
    return round(statistics.median(values), 3) if values else None


def table(summary):
    rows = [
        ("lines", summary["lines"], ""),
        ("ship: RunTask -> all readable (s)", summary["ship_s"], ""),
        ("ship: lines/s through GetLogEvents", summary["ship_lines_per_s"], ""),
        ("container printing time (s)", summary["container_s"], "startedAt -> executionStoppedAt"),
        ("berth CPU while shipping (s)", summary["berth_cpu_s"], "agent + server, one process"),
        ("berth CPU per 100k lines (s)", summary["berth_cpu_s_per_100k_lines"], ""),
        ("read all: GetLogEvents (s)", summary["read_api_s"], "boto3, 10,000 per page"),
        ("read all: docker logs (s)", summary["docker_logs_s"], "same container"),
    ]
    width = max(len(r[0]) for r in rows)
    out = [f"{'measure':<{width}}  {'median':>12}  note", "-" * (width + 30)]
    out += [f"{name:<{width}}  {value if value is not None else '-':>12}  {note}" for name, value, note in rows]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--berth-bin", default=os.environ.get("BERTH_BIN") or str(REPO / "target" / "release" / "berth"))
    ap.add_argument("--lines", type=int, default=200_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds a run may take to ship everything")
    ap.add_argument("--quick", action="store_true", help="10,000 lines, one run")
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.quick:
        args.lines, args.runs = 10_000, 1
    if not Path(args.berth_bin).exists():
        sys.exit(f"{args.berth_bin} not found: cargo build --release -p berth-cli (or pass --berth-bin)")
    log("building the test image (tests/images/build.sh)")
    subprocess.run(["bash", str(REPO / "tests" / "images" / "build.sh")], check=True, stdout=subprocess.DEVNULL)
    docker_version = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True,
                                    text=True).stdout.strip()
    result = {
        "bench": "logs",
        "date": datetime.date.today().isoformat(),
        "host_cpus": os.cpu_count(),
        "kernel": platform.release(),
        "docker_version": docker_version,
        "berth_bin": args.berth_bin,
        "image": IMAGE,
        "command": ["seq", "1", str(args.lines)],
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    runs = []
    with tempfile.TemporaryDirectory(prefix="berth-logs-bench-") as tmp:
        berth = Berth(args.berth_bin, tmp)
        try:
            log("starting berth up")
            berth.start()
            for i in range(args.runs):
                log(f"run {i + 1}/{args.runs}: {args.lines} lines")
                r = one_run(berth, args.lines, args.timeout)
                log(json.dumps(r))
                runs.append(r)
        finally:
            berth.stop()
    summary = {"lines": args.lines}
    for key in runs[0]:
        if key != "lines":
            summary[key] = median(runs, key)
    result["runs"] = runs
    result["median"] = summary
    result["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    log(table(summary))
    text = json.dumps(result)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
