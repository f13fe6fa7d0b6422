#!/usr/bin/env python3
"""Berth API benchmark: signed ECS requests against Berth and against moto_server, same client, same run.

    python3 bench/api_bench.py [--duration 10] [--concurrency 32] [--quick]

Modes (all run by default, pick with --mode):
  throughput  closed loop, `concurrency` requests in flight, mix of 10% RegisterTaskDefinition, 45%
              DescribeTaskDefinition, 45% ListTaskDefinitions; against Berth and moto; then the ratio.
  fixed       open loop at --rate requests/s (default 500) for --duration seconds against Berth; latency is
              measured from each request's scheduled send time, so client stalls count against the server.
  startup     time from spawning `berth up` on a fresh data dir to its first successful signed response,
              --startup-runs times (default 5), median reported.

Every request is built and signed from scratch (botocore SigV4Auth on a new AWSRequest; canonical request,
string to sign, key derivation and HMAC each time) and sent on a keep-alive http.client connection per thread.
Worker processes (multiprocessing) x threads keep the Python client off the critical path; each result line
states the CPU the client and the server used, so a client-bound run is visible as such.

Output: one JSON line per result on stdout; progress on stderr.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import free_port, log, read_creds, tree_cpu_seconds  # noqa: E402

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REPO = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113."
SEED_FAMILIES = 10
SEED_REVISIONS = 5






# ------------------------------------------------------------------------------------------------------
# servers



def wait_port(port, proc, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"port {port} not open after {timeout}s")




class Target:
    def __init__(self, name, argv, port, creds_path=None, fixed_creds=None, workdir=None):
        self.name, self.argv, self.port = name, argv, port
        self.creds_path, self.fixed_creds, self.workdir = creds_path, fixed_creds, workdir
        self.proc = None

    def start(self):
        self.log = open(Path(self.workdir) / f"{self.name}.log", "wb")
        env = dict(os.environ)
        env["HOME"] = str(self.workdir)  # never touch the user's aws config
        env["AWS_CONFIG_FILE"] = str(Path(self.workdir) / "aws-config")
        self.proc = subprocess.Popen(self.argv, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=env)
        wait_port(self.port, self.proc)
        if self.creds_path:
            deadline = time.monotonic() + 10
            while not Path(self.creds_path).exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            self.creds = read_creds(self.creds_path)
        else:
            self.creds = self.fixed_creds
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()


def berth_target(binary, workdir):
    port = free_port()
    data = Path(workdir) / "berth-data"
    argv = [binary, "up", "--insecure-http", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data), "--no-aws-profile",
            "--region", REGION]
    return Target("berth", argv, port, creds_path=data / "credentials", workdir=workdir)


def moto_target(workdir):
    port = free_port()
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    if shutil.which("moto_server") and not _has_module("moto.server"):
        argv = ["moto_server", "-H", "127.0.0.1", "-p", str(port)]
    return Target("moto", argv, port, fixed_creds=("AKIDBENCHMOTO0000000", "moto-does-not-check-this"),
                  workdir=workdir)


def _has_module(name):
    import importlib.util
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


# ------------------------------------------------------------------------------------------------------
# the client

CONTAINER = {
    "name": "trainer", "image": "berth/trainer:latest", "essential": True, "cpu": 512, "memory": 1024,
    "command": ["python", "train.py", "--epochs", "3"],
    "environment": [{"name": "EPOCHS", "value": "3"}, {"name": "DATA_DIR", "value": "/data"}],
    "portMappings": [{"containerPort": 8080, "hostPort": 0, "protocol": "tcp"}],
    "logConfiguration": {"logDriver": "json-file", "options": {"max-size": "10m"}},
}


def td_body(family):
    return {"family": family, "networkMode": "bridge", "containerDefinitions": [CONTAINER]}


class Client:
    """One keep-alive connection; every call builds and signs a fresh request."""

    def __init__(self, port, creds):
        self.port = port
        self.host = f"127.0.0.1:{port}"
        self.url = f"http://{self.host}/"
        self.creds = Credentials(*creds)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, op, payload):
        body = json.dumps(payload).encode()
        req = AWSRequest(method="POST", url=self.url, data=body,
                         headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": TARGET_PREFIX + op})
        SigV4Auth(self.creds, "ecs", REGION).add_auth(req)
        headers = dict(req.prepare().headers)
        for attempt in (0, 1):
            try:
                self.conn.request("POST", "/", body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.will_close:
                    self.conn.close()
                return resp.status, data
            except (http.client.HTTPException, OSError):
                self.conn.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")


OPS = ["RegisterTaskDefinition", "DescribeTaskDefinition", "ListTaskDefinitions"]


def pick(rng, wid):
    r = rng.random()
    fam = f"bench-seed-{rng.randrange(SEED_FAMILIES)}"
    if r < 0.10:
        return "RegisterTaskDefinition", td_body(f"bench-reg-{wid % 16}")
    if r < 0.55:
        return "DescribeTaskDefinition", {"taskDefinition": f"{fam}:{rng.randrange(1, SEED_REVISIONS + 1)}"}
    return "ListTaskDefinitions", {"familyPrefix": fam, "maxResults": 100}


def timed_call(client, op, payload):
    """One call: (succeeded, body or the exception text)."""
    try:
        status, data = client.call(op, payload)
        return status == 200, data
    except Exception as e:  # noqa: BLE001 - any failure counts as an error of the run
        return False, repr(e).encode()


def thread_closed(port, creds, wid, start_at, end_at, out):
    c = Client(port, creds)
    rng = random.Random(wid)
    lat, errs, first_err = [], 0, None
    c.call("ListClusters", {})  # open the connection before the clock starts
    while time.monotonic() < start_at:
        time.sleep(0.001)
    while True:
        op, payload = pick(rng, wid)
        t0 = time.monotonic()
        if t0 >= end_at:
            break
        ok, data = timed_call(c, op, payload)
        t1 = time.monotonic()
        if t1 <= end_at:
            lat.append((t1 - t0, OPS.index(op)))
            if not ok:
                errs += 1
                first_err = first_err or data[:300].decode(errors="replace")
    out.append((lat, errs, first_err))


def thread_open(port, creds, wid, start_at, end_at, interval, offset, out):
    """Open loop: send at start_at + offset + k*interval; latency counts from the scheduled time."""
    c = Client(port, creds)
    rng = random.Random(wid)
    lat, service, errs, first_err, late = [], [], 0, None, 0
    c.call("ListClusters", {})
    k = 0
    while True:
        sched = start_at + offset + k * interval
        if sched >= end_at:
            break
        k += 1
        now = time.monotonic()
        if sched > now:
            time.sleep(sched - now)
        elif now - sched > 0.001:
            late += 1
        op, payload = pick(rng, wid)
        t0 = time.monotonic()
        ok, data = timed_call(c, op, payload)
        t1 = time.monotonic()
        lat.append((t1 - sched, OPS.index(op)))
        service.append(t1 - t0)
        if not ok:
            errs += 1
            first_err = first_err or data[:300].decode(errors="replace")
    out.append((lat, errs, first_err, service, late))


def worker(args):
    """One client process: `threads` threads; returns latencies, errors and this process's CPU seconds."""
    mode, port, creds, pidx, threads, start_at, end_at, rate_per_thread, total_threads = args
    cpu_marks = []

    def sample():  # this process's CPU seconds at the start and the end of the measured window
        for t in (start_at, end_at):
            time.sleep(max(0.0, t - time.monotonic()))
            r = resource.getrusage(resource.RUSAGE_SELF)
            cpu_marks.append(r.ru_utime + r.ru_stime)
    sampler = threading.Thread(target=sample)
    sampler.start()
    out = []
    ts = []
    for t in range(threads):
        wid = pidx * threads + t
        if mode == "closed":
            th = threading.Thread(target=thread_closed, args=(port, creds, wid, start_at, end_at, out))
        else:
            interval = 1.0 / rate_per_thread
            offset = interval * wid / total_threads
            th = threading.Thread(target=thread_open,
                                  args=(port, creds, wid, start_at, end_at, interval, offset, out))
        th.start()
        ts.append(th)
    for th in ts:
        th.join()
    sampler.join()
    return out, cpu_marks[1] - cpu_marks[0]


def pct(sorted_vals, p):
    if not sorted_vals:
        return None
    i = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[i]


def run_load(target, mode, duration, concurrency, processes, rate=None):
    threads = max(1, -(-concurrency // processes))
    total_threads = threads * processes
    warmup = 1.0 + 0.05 * total_threads
    start_at = time.monotonic() + warmup
    end_at = start_at + duration
    rate_per_thread = (rate / total_threads) if rate else None
    ctx = multiprocessing.get_context("fork")
    server_marks = []

    def sample():
        for t in (start_at, end_at):
            time.sleep(max(0.0, t - time.monotonic()))
            server_marks.append(tree_cpu_seconds(target.proc.pid))
    sampler = threading.Thread(target=sample)
    sampler.start()
    with ctx.Pool(processes) as pool:
        jobs = [(mode, target.port, target.creds, p, threads, start_at, end_at, rate_per_thread, total_threads)
                for p in range(processes)]
        res = pool.map(worker, jobs)
    sampler.join()
    server_cpu = server_marks[1] - server_marks[0]
    lat, errs, first_err, service, late = [], 0, None, [], 0
    client_cpu = 0.0
    for outs, cpu in res:
        client_cpu += cpu
        for o in outs:
            lat += o[0]
            errs += o[1]
            first_err = first_err or o[2]
            if mode == "open":
                service += o[3]
                late += o[4]
    per_op = {}
    for i, name in enumerate(OPS):
        xs = sorted(x for x, o in lat if o == i)
        if xs:
            per_op[name] = {"n": len(xs), "p50_ms": round(pct(xs, 50) * 1000, 3),
                            "p99_ms": round(pct(xs, 99) * 1000, 3)}
    lat = sorted(x for x, _ in lat)
    service.sort()
    # CPU figures cover the measured window only (connection set-up and warm-up excluded).
    result = {
        "target": target.name,
        "mode": "throughput" if mode == "closed" else "fixed_rate",
        "duration_s": duration,
        "concurrency": total_threads,
        "client_processes": processes,
        "requests": len(lat),
        "rps": round(len(lat) / duration, 1),
        "p50_ms": round(pct(lat, 50) * 1000, 3) if lat else None,
        "p99_ms": round(pct(lat, 99) * 1000, 3) if lat else None,
        "p999_ms": round(pct(lat, 99.9) * 1000, 3) if lat else None,
        "max_ms": round(lat[-1] * 1000, 3) if lat else None,
        "errors": errs,
        "client_cpu_s": round(client_cpu, 2),
        "client_cores_used": round(client_cpu / duration, 2),
        "server_cpu_s": round(server_cpu, 2),
        "server_cores_used": round(server_cpu / duration, 2),
        "host_cpus": os.cpu_count(),
        "per_op": per_op,
    }
    result["client_bound"] = result["client_cores_used"] >= 0.85 * min(processes, os.cpu_count())
    # client and server together used (nearly) every core: the figure is the machine's, not the server's ceiling
    result["host_bound"] = result["client_cores_used"] + result["server_cores_used"] >= 0.85 * os.cpu_count()
    if mode == "open":
        result["target_rps"] = rate
        result["service_p50_ms"] = round(pct(service, 50) * 1000, 3) if service else None
        result["service_p99_ms"] = round(pct(service, 99) * 1000, 3) if service else None
        result["sent_late"] = late
    if first_err:
        result["first_error"] = first_err
    return result


def run_rust_load(berth_bin, tgt, duration, concurrency):
    """The same mix through `berth bench api` (which seeds the families itself), with the server's CPU use."""
    argv = [berth_bin, "bench", "api", "--endpoint", f"http://127.0.0.1:{tgt.port}", "--region", REGION,
            "--duration", str(duration), "--concurrency", str(concurrency)]
    if tgt.creds_path:
        argv += ["--credentials", str(tgt.creds_path)]
    else:
        argv += ["--access-key-id", tgt.creds[0], "--secret-access-key", tgt.creds[1]]
    cpu0, wall0 = tree_cpu_seconds(tgt.proc.pid), time.monotonic()
    out = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=duration + 120)
    cpu1, wall1 = tree_cpu_seconds(tgt.proc.pid), time.monotonic()
    r = json.loads(out.stdout.strip().splitlines()[-1])
    # Seeding and connection set-up fall inside this window too, so this slightly overstates the server's share.
    r.update({"target": tgt.name, "mode": "throughput", "host_cpus": os.cpu_count(),
              "server_cores_used": round((cpu1 - cpu0) / (wall1 - wall0), 2)})
    return r


def seed(target):
    c = Client(target.port, target.creds)
    for f in range(SEED_FAMILIES):
        for _ in range(SEED_REVISIONS):
            status, data = c.call("RegisterTaskDefinition", td_body(f"bench-seed-{f}"))
            if status != 200:
                raise RuntimeError(f"{target.name}: seeding failed: {status} {data[:300]!r}")
    status, data = c.call("DescribeTaskDefinition", {"taskDefinition": f"bench-seed-0:{SEED_REVISIONS}"})
    if status != 200:
        raise RuntimeError(f"{target.name}: describe after seeding failed: {status} {data[:300]!r}")


# ------------------------------------------------------------------------------------------------------
# startup

def startup_once(binary, workdir, timeout=20):
    port = free_port()
    data = Path(tempfile.mkdtemp(prefix="startup-", dir=workdir))
    argv = [binary, "up", "--insecure-http", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data / "d"), "--no-aws-profile"]
    env = dict(os.environ, HOME=str(data), AWS_CONFIG_FILE=str(data / "aws-config"))
    creds_path = data / "d" / "credentials"
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                            env=env)
    try:
        creds, client, attempts = None, None, 0
        while time.monotonic() - t0 < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"berth up exited with {proc.returncode}")
            attempts += 1
            try:
                if creds is None:
                    creds = read_creds(creds_path)
                if client is None:
                    client = Client(port, creds)
                status, _ = client.call("ListClusters", {})
                if status == 200:
                    return time.monotonic() - t0, attempts
            except (OSError, KeyError, http.client.HTTPException):
                client = None
            time.sleep(0.0005)
        raise RuntimeError(f"no signed 200 within {timeout}s")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(data, ignore_errors=True)


# ------------------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=10.0, help="seconds per load run (default 10)")
    ap.add_argument("--concurrency", type=int, default=32, help="requests in flight, closed loop (default 32)")
    ap.add_argument("--processes", type=int, default=None,
                    help="client processes (default min(4, cpus)); threads = concurrency / processes")
    ap.add_argument("--rate", type=float, default=500.0, help="fixed-rate mode requests/s (default 500)")
    ap.add_argument("--startup-runs", type=int, default=5)
    ap.add_argument("--mode", choices=["all", "throughput", "fixed", "startup"], default="all")
    ap.add_argument("--targets", default="berth,moto", help="throughput targets (default berth,moto)")
    ap.add_argument("--berth-bin", default=os.environ.get("BERTH_BIN") or str(REPO / "target" / "release" / "berth"))
    ap.add_argument("--quick", action="store_true", help="2-second smoke run (3 startup runs)")
    ap.add_argument("--client", choices=["both", "botocore", "rust"], default="both",
                    help="throughput client: botocore (Python, this script) or rust (`berth bench api`, "
                         "aws-sigv4 + reqwest, far cheaper per request); default both")
    args = ap.parse_args()
    if args.quick:
        args.duration = 2.0
        args.startup_runs = min(args.startup_runs, 3)
    processes = args.processes or max(1, min(4, os.cpu_count() or 1))
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    needs_berth = args.mode in ("fixed", "startup") or (args.mode in ("all", "throughput") and "berth" in targets)
    if args.mode == "all":
        needs_berth = True
    if needs_berth and not Path(args.berth_bin).exists():
        sys.exit(f"berth binary not found: {args.berth_bin} (cargo build --release, or set BERTH_BIN)")
    workdir = Path(tempfile.mkdtemp(prefix="berth-bench-"))
    results = []

    def emit(r):
        results.append(r)
        print(json.dumps(r), flush=True)

    try:
        if args.mode in ("all", "throughput"):
            clients = ["botocore", "rust"] if args.client == "both" else [args.client]
            for client in clients:
                by_target = {}
                for name in targets:
                    tgt = berth_target(args.berth_bin, workdir) if name == "berth" else moto_target(workdir)
                    log(f"[{name}] starting: {' '.join(map(str, tgt.argv))}")
                    tgt.start()
                    try:
                        log(f"[{name}] closed loop, {client} client, {args.concurrency} in flight, {args.duration}s")
                        if client == "botocore":
                            seed(tgt)
                            r = run_load(tgt, "closed", args.duration, args.concurrency, processes)
                        else:
                            r = run_rust_load(args.berth_bin, tgt, args.duration, args.concurrency)
                        r["client"] = client
                        by_target[name] = r
                        emit(r)
                    finally:
                        tgt.stop()
                if "berth" in by_target and "moto" in by_target and by_target["moto"]["rps"]:
                    b, m = by_target["berth"], by_target["moto"]
                    bound = b.get("client_bound") or b.get("host_bound")
                    emit({"mode": "ratio", "client": client, "berth_over_moto_rps": round(b["rps"] / m["rps"], 2),
                          "moto_over_berth_p99": round(m["p99_ms"] / b["p99_ms"], 2) if b["p99_ms"] else None,
                          "target_ratio": 20, "met": b["rps"] / m["rps"] >= 20,
                          "note": "berth run was client- or host-bound; the ratio is a lower bound" if bound else ""})
        if args.mode in ("all", "fixed"):
            tgt = berth_target(args.berth_bin, workdir)
            tgt.start()
            try:
                seed(tgt)
                fixed_procs = max(1, min(2, processes))
                log(f"[berth] open loop at {args.rate} req/s for {args.duration}s")
                r = run_load(tgt, "open", args.duration, 16, fixed_procs, rate=args.rate)
                r["target_p99_ms"] = 10
                r["met"] = r["p99_ms"] is not None and r["p99_ms"] <= 10 and r["errors"] == 0
                emit(r)
            finally:
                tgt.stop()
        if args.mode in ("all", "startup"):
            times = []
            for i in range(args.startup_runs):
                t, attempts = startup_once(args.berth_bin, workdir)
                log(f"[berth] startup run {i + 1}: {t * 1000:.1f} ms ({attempts} attempts)")
                times.append(t)
            med = statistics.median(times)
            emit({"target": "berth", "mode": "startup", "runs": len(times),
                  "median_ms": round(med * 1000, 1), "min_ms": round(min(times) * 1000, 1),
                  "max_ms": round(max(times) * 1000, 1), "target_ms": 200, "met": med <= 0.2})
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if all(r.get("errors", 0) == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
