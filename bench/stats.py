#!/usr/bin/env python3
"""Overhead of the agent's stats collection: CPU of a `berth agent` running 50 tasks with stats sampling off and on.

    python3 bench/stats.py [--berth-bin target/release/berth] [--tasks 50] [--interval 10] [--window 60]
                           [--repeats 2] [--quick] [--out FILE]

Needs Docker and boto3. Builds nothing except the test image (tests/images/build.sh).

Berth runs as two processes, as on a real host: `berth server` and `berth agent` (cluster "bench-stats",
--metadata-port 0). --tasks tasks (RunTask count 10, repeated) run the test image's sleeper (memory 8 MiB, no CPU
reservation). Then the agent is restarted alternately with `--stats-interval 0` (off) and `--stats-interval
<interval>` (on), --repeats times each; a restarted agent adopts the running containers, so the same 50 containers
are measured in every phase. Each phase waits for the agent to register and for two sampling intervals to pass, then
measures over --window seconds the CPU time (utime + stime from /proc/<pid>/stat) of:

  agent    the `berth agent` process: sampling (one-shot Docker stats per container), the gauges, the report
  server   the `berth server` process: answering SubmitTaskStats (besides the agent's idle long poll)
  dockerd  the Docker daemon, which answers the stats calls (when its /proc entry is readable)

Output: a table on stderr, and one JSON object on stdout (also written to --out). --quick: 20 s windows, one
repeat, 3 s interval, for a smoke run.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import cpu_seconds, free_port, log, read_creds  # noqa: E402

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
CLUSTER = "bench-stats"
FAMILY = "bench-stats-sleeper"
IMAGE = "berth-test/busybox:latest"
SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; sleep 100000 & wait"]


def default_binary():
    for candidate in (os.environ.get("BERTH_BIN"), REPO / "target" / "release" / "berth",
                      REPO / "target" / "debug" / "berth"):
        if candidate and Path(candidate).exists():
            return str(candidate)
    return str(REPO / "target" / "release" / "berth")


def pid_of(name):
    out = subprocess.run(["pidof", name], capture_output=True, text=True).stdout.split()
    return int(out[0]) if out else None


def readable_cpu(pid):
    if pid is None:
        return None
    try:
        return cpu_seconds(pid)
    except OSError:
        return None


def agent_help(binary):
    return subprocess.run([binary, "agent", "--help"], capture_output=True, text=True).stdout


class Bench:
    def __init__(self, binary, workdir):
        self.binary = binary
        self.workdir = Path(workdir)
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update(HOME=str(self.workdir), AWS_CONFIG_FILE=str(self.workdir / "aws-config"))
        self.server = None
        self.agent = None
        self.instance_arn = None
        self.agent_starts = 0
        # The link endpoint defaults to a fixed port; a free loopback one keeps the benchmark off it.
        self.extra_agent_args = []
        if "--link-listen" in agent_help(binary):
            self.extra_agent_args = ["--link-listen", "127.0.0.1:0"]

    def start_server(self):
        data = self.workdir / "server"
        self.server = subprocess.Popen(
            [self.binary, "server", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(data),
             "--region", REGION, "--no-aws-profile"],
            env=self.env, stdin=subprocess.DEVNULL, stdout=open(self.workdir / "server.log", "wb"),
            stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not (data / "credentials").exists() or not self._answers():
            if self.server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"berth server did not start:\n{(self.workdir / 'server.log').read_text()}")
            time.sleep(0.05)
        self.credentials = data / "credentials"
        ak, sk = read_creds(self.credentials)
        cfg = Config(retries={"total_max_attempts": 3}, connect_timeout=5, read_timeout=60)
        self.ecs = boto3.client("ecs", endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id=ak,
                                aws_secret_access_key=sk, config=cfg)
        self.ecs.create_cluster(clusterName=CLUSTER)

    def _answers(self):
        import http.client
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
            conn.request("GET", "/healthz")
            ok = conn.getresponse().status == 200
            conn.close()
            return ok
        except OSError:
            return False

    def start_agent(self, interval):
        self.agent_starts += 1
        log_path = self.workdir / f"agent.{self.agent_starts}.log"
        self.agent = subprocess.Popen(
            [self.binary, "agent", "--server", self.endpoint, "--cluster", CLUSTER,
             "--data-dir", str(self.workdir / "agent"), "--credentials", str(self.credentials),
             "--metadata-port", "0", "--stop-timeout", "1", "--stats-interval", str(interval),
             *self.extra_agent_args],
            env=self.env, stdin=subprocess.DEVNULL, stdout=open(log_path, "wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while "agent registered as" not in log_path.read_text(errors="replace"):
            if self.agent.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"berth agent did not register:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.05)
        state = json.loads((self.workdir / "agent" / "agent-state.json").read_text())
        self.instance_arn = state["containerInstanceArn"]

    def stop_agent(self):
        if self.agent and self.agent.poll() is None:
            self.agent.terminate()
            try:
                self.agent.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.agent.kill()
                self.agent.wait()

    def run_tasks(self, count):
        self.ecs.register_task_definition(family=FAMILY, containerDefinitions=[
            {"name": "main", "image": IMAGE, "memory": 8, "essential": True, "command": SLEEPER, "stopTimeout": 1}])
        arns = []
        while len(arns) < count:
            out = self.ecs.run_task(cluster=CLUSTER, taskDefinition=FAMILY, count=min(10, count - len(arns)))
            if out["failures"]:
                raise RuntimeError(f"RunTask failed: {out['failures']}")
            arns += [t["taskArn"] for t in out["tasks"]]
        deadline = time.monotonic() + 180
        while True:
            running = sum(t["lastStatus"] == "RUNNING" for t in self.describe(arns))
            if running == count:
                return arns
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {running} of {count} tasks RUNNING after 180 s")
            time.sleep(1)

    def describe(self, arns):
        out = []
        for i in range(0, len(arns), 100):
            out += self.ecs.describe_tasks(cluster=CLUSTER, tasks=arns[i:i + 100])["tasks"]
        return out

    def measure(self, window):
        dockerd = pid_of("dockerd")
        before = (cpu_seconds(self.agent.pid), cpu_seconds(self.server.pid), readable_cpu(dockerd))
        t0 = time.monotonic()
        time.sleep(window)
        elapsed = time.monotonic() - t0
        after = (cpu_seconds(self.agent.pid), cpu_seconds(self.server.pid), readable_cpu(dockerd))
        result = {"window_s": round(elapsed, 2),
                  "agent_cpu_s": round(after[0] - before[0], 3),
                  "server_cpu_s": round(after[1] - before[1], 3)}
        if before[2] is not None and after[2] is not None:
            result["dockerd_cpu_s"] = round(after[2] - before[2], 3)
        return result

    def stop(self):
        self.stop_agent()
        if self.server and self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.server.kill()
        if self.instance_arn:
            ids = subprocess.run(["docker", "ps", "-aq", "--filter",
                                  f"label=berth.container-instance={self.instance_arn}"],
                                 capture_output=True, text=True).stdout.split()
            if ids:
                subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)


def percent_of_core(cpu_s, window_s):
    return round(100.0 * cpu_s / window_s, 3) if window_s else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--berth-bin", default=default_binary())
    ap.add_argument("--tasks", type=int, default=50)
    ap.add_argument("--interval", type=float, default=10.0, help="stats interval of the 'on' phases, seconds")
    ap.add_argument("--window", type=float, default=60.0, help="measured seconds per phase")
    ap.add_argument("--repeats", type=int, default=2, help="off/on phase pairs")
    ap.add_argument("--quick", action="store_true", help="20 s windows, one repeat, 3 s interval")
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.quick:
        args.window, args.repeats, args.interval = 20.0, 1, 3.0
    if not Path(args.berth_bin).exists():
        sys.exit(f"no berth binary at {args.berth_bin} (cargo build --release -p berth-cli, or --berth-bin)")
    if "--stats-interval" not in agent_help(args.berth_bin):
        sys.exit(f"{args.berth_bin} has no --stats-interval: rebuild it")
    build = subprocess.run(["bash", str(REPO / "tests" / "images" / "build.sh")], capture_output=True, text=True)
    if build.returncode != 0:
        sys.exit(f"tests/images/build.sh failed:\n{build.stderr}")

    workdir = tempfile.mkdtemp(prefix="berth-stats-bench-")
    bench = Bench(args.berth_bin, workdir)
    phases = []
    try:
        bench.start_server()
        bench.start_agent(0)
        log(f"starting {args.tasks} tasks")
        bench.run_tasks(args.tasks)
        for i in range(args.repeats):
            for mode, interval in (("off", 0), ("on", args.interval)):
                bench.stop_agent()
                bench.start_agent(interval)
                # Registration, adoption, and two sampling intervals (the first sample of each container has no
                # CPU figure yet) before measuring.
                time.sleep(max(5.0, 2 * interval + 1))
                log(f"phase {i + 1}/{args.repeats} stats {mode}: measuring {args.window:.0f} s")
                m = bench.measure(args.window)
                m.update(mode=mode, interval_s=interval or None, repeat=i + 1)
                phases.append(m)
    finally:
        bench.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    def mean(mode, key):
        values = [percent_of_core(p[key], p["window_s"]) for p in phases if p["mode"] == mode and key in p]
        return round(sum(values) / len(values), 3) if values else None

    summary = {}
    for key in ("agent_cpu_s", "server_cpu_s", "dockerd_cpu_s"):
        off, on = mean("off", key), mean("on", key)
        name = key.replace("_cpu_s", "")
        summary[name] = {"off_pct_core": off, "on_pct_core": on,
                         "overhead_pct_core": None if off is None or on is None else round(on - off, 3)}
    per_50 = 50.0 / args.tasks
    for v in summary.values():
        if v["overhead_pct_core"] is not None:
            v["overhead_pct_core_per_50_tasks"] = round(v["overhead_pct_core"] * per_50, 3)

    log("")
    log(f"{'process':<9} {'stats off':>12} {'stats on':>12} {'overhead':>12} {'per 50 tasks':>14}   (% of one core)")
    for name, v in summary.items():
        if v["off_pct_core"] is None:
            continue
        log(f"{name:<9} {v['off_pct_core']:>12.3f} {v['on_pct_core']:>12.3f} {v['overhead_pct_core']:>12.3f} "
            f"{v.get('overhead_pct_core_per_50_tasks', 0):>14.3f}")
    log(f"({args.tasks} running tasks, stats every {args.interval:g} s, {args.window:g} s windows, "
        f"{args.repeats} repeat(s))")

    result = {"benchmark": "stats_overhead", "tasks": args.tasks, "interval_s": args.interval,
              "window_s": args.window, "repeats": args.repeats, "quick": args.quick,
              "binary": args.berth_bin, "host": {"cpus": os.cpu_count(), "machine": platform.machine()},
              "phases": phases, "summary": summary}
    text = json.dumps(result)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
