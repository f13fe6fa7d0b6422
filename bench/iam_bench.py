#!/usr/bin/env python3
"""IAM, TLS and task credentials benchmarks (issue 14), each against a peer measured in the same run.

    python3 bench/iam_bench.py authz [--rounds 3] [--duration 10] [--concurrency 32]
    python3 bench/iam_bench.py tls   [--rounds 3] [--duration 10] [--concurrency 32] [--handshakes 600]
    python3 bench/iam_bench.py creds [--runs 5] [--gets 2000]
    python3 bench/iam_bench.py all   # the three in that order; --quick for a smoke run

authz  One `berth up --no-agent --insecure-http`; `berth bench api` (its mix: 10% RegisterTaskDefinition, 45%
       DescribeTaskDefinition, 45% ListTaskDefinitions) alternately with the admin (root) key, which skips policy
       evaluation, and with an IAM user holding 10 managed policies of 20 statements each (wildcard and NotAction
       actions, ARN patterns, ${aws:username}, StringLike / IpAddress / DateGreaterThan / BoolIfExists /
       ForAnyValue:StringEquals / Null conditions, Deny statements that do not match), the statements that allow the
       mix last. Ratio user / admin.
tls    Two `berth up --no-agent` at once, one serving HTTPS (its generated CA, --ca-bundle) and one plain HTTP;
       `berth bench api` with the admin key against each in turn (keep-alive connections). Ratio HTTPS / HTTP.
       Separately: a fresh connection per request (TCP, plus a full TLS handshake on HTTPS; no session resumption),
       sequential GET /healthz from Python's http.client, both servers alternating in blocks.
creds  `berth up --insecure-http` with its local agent (Docker, berth-test/busybox:latest). A task with a task
       role runs the host's Python (mounted read-only, host network) with boto3, which finds the role's
       credentials through AWS_CONTAINER_CREDENTIALS_FULL_URI; the container prints time.time() when its first
       ecs:ListClusters succeeds. Peer: the same container by `docker run -d` with the same mounts and an IAM user's
       static keys (same policy). Time from just before RunTask / `docker run` to that first success, runs
       alternating. Then the credentials endpoint's latency (sequential keep-alive GETs with the task's token, from
       the host) against the agent's task metadata endpoint (ECS_CONTAINER_METADATA_URI_V4/task) and nginx serving
       the same credentials JSON as a static file (when nginx is installed), blocks alternating.

Output: one JSON line per result on stdout (progress on stderr). Exit status 1 when a run had errors.
"""

import argparse
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import free_port, log, read_creds, tree_cpu_seconds  # noqa: E402

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
IMAGE = "berth-test/busybox:latest"
BENCH_LABEL = "berth.iam-bench"
USER_NAME = "bench-user"


def pct(sorted_vals, p):
    """Nearest-rank percentile of a sorted list."""
    if not sorted_vals:
        return None
    i = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[i]


def ms(x):
    return None if x is None else round(x * 1000, 3)


def summary(samples):
    xs = sorted(samples)
    return {"n": len(xs), "p50_ms": ms(pct(xs, 50)), "p99_ms": ms(pct(xs, 99)), "mean_ms": ms(statistics.fmean(xs)),
            "min_ms": ms(xs[0]), "max_ms": ms(xs[-1])}


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def emit(obj):
    print(json.dumps(obj), flush=True)
    return obj


# ------------------------------------------------------------------------------------------------------
# berth up

class BerthUp:
    """`berth up` on a free loopback port in its own temporary directory."""

    def __init__(self, binary, workdir, name, tls=False, agent=False):
        self.binary, self.name, self.tls, self.agent = binary, name, tls, agent
        self.dir = Path(workdir) / name
        self.dir.mkdir(parents=True)
        self.data = self.dir / "data"
        self.port = free_port()
        self.proc = None
        self.scheme = "https" if tls else "http"
        self.endpoint = f"{self.scheme}://127.0.0.1:{self.port}"
        self.instance_arn = None

    @property
    def ca_bundle(self):
        return str(self.data / "tls" / "ca.pem") if self.tls else None

    def start(self):
        argv = [self.binary, "up", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(self.data),
                "--no-aws-profile", "--region", REGION]
        if not self.tls:
            argv.append("--insecure-http")
        if self.agent:
            argv += ["--metadata-port", "0", "--stop-timeout", "1"]
        else:
            argv.append("--no-agent")
        self.argv = argv
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(HOME=str(self.dir), AWS_CONFIG_FILE=str(self.dir / "aws-config"))
        self.log_path = self.dir / "berth.log"
        log(f"[{self.name}] {' '.join(argv)}")
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=open(self.log_path, "wb"),
                                     stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while not (self.data / "credentials").exists() or not self.healthy():
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name}: berth up did not start (exit {self.proc.poll()}):\n"
                                       f"{self.log_tail()}")
                time.sleep(0.02)
            self.admin = read_creds(self.data / "credentials")
            if self.agent:
                self.wait_agent(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def ssl_context(self):
        return ssl.create_default_context(cafile=self.ca_bundle)

    def connection(self, timeout=10, context=None):
        if self.tls:
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=context or self.ssl_context())
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def healthy(self):
        try:
            conn = self.connection(timeout=1)
            conn.request("GET", "/healthz")
            ok = conn.getresponse().status == 200
            conn.close()
            return ok
        except (OSError, http.client.HTTPException, ssl.SSLError):
            return False

    def client(self, service, creds=None):
        ak, sk = creds or self.admin
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id=ak,
                            aws_secret_access_key=sk, verify=self.ca_bundle if self.tls else None,
                            config=Config(retries={"max_attempts": 2}))

    def wait_agent(self, deadline):
        ecs = self.client("ecs")
        while True:
            try:  # cluster `default` exists once the agent has registered
                arns = ecs.list_container_instances(cluster="default").get("containerInstanceArns", [])
            except ecs.exceptions.ClusterNotFoundException:
                arns = []
            if arns:
                inst = ecs.describe_container_instances(cluster="default",
                                                        containerInstances=arns[:1])["containerInstances"][0]
                if inst.get("agentConnected") and inst.get("status") == "ACTIVE":
                    self.instance_arn = inst["containerInstanceArn"]
                    return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: the local agent did not register:\n{self.log_tail()}")
            time.sleep(0.05)

    def log_tail(self, lines=30):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.instance_arn:
            docker_rm(docker("ps", "-aq", "--filter", f"label=berth.container-instance={self.instance_arn}",
                             check=False).split())


def bench_api(berth_bin, srv, creds, duration, concurrency):
    """One `berth bench api` run against srv with creds; its JSON line plus the server's and the client's CPU."""
    argv = [berth_bin, "bench", "api", "--endpoint", srv.endpoint, "--region", REGION, "--duration", str(duration),
            "--concurrency", str(concurrency), "--access-key-id", creds[0], "--secret-access-key", creds[1]]
    if srv.tls:
        argv += ["--ca-bundle", srv.ca_bundle]
    cpu0, wall0 = tree_cpu_seconds(srv.proc.pid), time.monotonic()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 120)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu1, wall1 = tree_cpu_seconds(srv.proc.pid), time.monotonic()
    if out.returncode != 0:
        raise RuntimeError(f"berth bench api failed ({out.returncode}): {out.stderr[-2000:]}")
    r = json.loads(out.stdout.strip().splitlines()[-1])
    wall = wall1 - wall0
    # The window includes seeding (50 registrations) and connection set-up, so the shares are slightly high.
    r["server_cores_used"] = round((cpu1 - cpu0) / wall, 2)
    r["client_cores_used"] = round((ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime) / wall, 2)
    r["server_cpu_ms_per_request"] = round((cpu1 - cpu0) * 1000 / max(1, r["requests"]), 4)
    return r


def side_by_side(runs, a, b):
    """Per-side aggregate of alternating runs: total rps, median of the rounds' p50/p99."""
    out = {}
    for side in (a, b):
        rs = [r for r in runs if r["side"] == side]
        out[side] = {
            "runs": len(rs),
            "rps": round(sum(r["requests"] for r in rs) / sum(r["duration_s"] for r in rs), 1),
            "rps_per_round": [r["rps"] for r in rs],
            "p50_ms_median": round(statistics.median(r["p50_ms"] for r in rs), 3),
            "p99_ms_median": round(statistics.median(r["p99_ms"] for r in rs), 3),
            "p99_ms_per_round": [r["p99_ms"] for r in rs],
            "errors": sum(r["errors"] for r in rs),
            "server_cpu_ms_per_request": round(statistics.median(r["server_cpu_ms_per_request"] for r in rs), 4),
            "server_cores_used": round(statistics.median(r["server_cores_used"] for r in rs), 2),
            "client_cores_used": round(statistics.median(r["client_cores_used"] for r in rs), 2),
        }
    return out


def alternate(rounds, sides):
    """ABBA order: round i runs the sides forwards when i is even, backwards when odd."""
    for i in range(rounds):
        yield from (sides if i % 2 == 0 else list(reversed(sides)))


# ------------------------------------------------------------------------------------------------------
# 1. authorization cost

def statement(p, s, acct):
    """Statement s of filler policy p: each kind makes the evaluator match something, and none of them allows or
    denies the benchmark's calls."""
    td = f"arn:aws:ecs:{REGION}:{acct}:task-definition"
    cl = f"arn:aws:ecs:{REGION}:{acct}:cluster"
    tag = f"{p}x{s}"
    kind = (p + s) % 10
    if kind == 0:  # action matches Describe*, resource does not; condition on the user name
        return {"Effect": "Allow", "Action": ["ecs:Describe*"], "Resource": [f"{cl}/team-{tag}-*", f"{cl}/ops-{p}"],
                "Condition": {"StringLike": {"aws:username": ["bench-*", f"team{p}-*"]}}}
    if kind == 1:  # deny of actions the bench never calls
        return {"Effect": "Deny", "Action": ["ecs:Delete*", "ecs:DeregisterTaskDefinition", "ecs:UpdateService"],
                "Resource": f"{cl}/prod-{tag}*", "Condition": {"StringNotLike": {"aws:username": "admin-*"}}}
    if kind == 2:  # every task definition action, other families; time condition
        return {"Effect": "Allow", "Action": "ecs:*TaskDefinition*", "Resource": f"{td}/svc-{tag}-*:*",
                "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2024-01-01T00:00:00Z"}}}
    if kind == 3:  # action and resource match ListTaskDefinitions; the address does not
        return {"Effect": "Allow", "Action": "ecs:List*", "Resource": "*",
                "Condition": {"IpAddress": {"aws:SourceIp": [f"10.{p}.{s}.0/24", "192.168.0.0/16"]}}}
    if kind == 4:  # NotAction deny of everything outside ECS, STS and logs
        return {"Effect": "Deny", "NotAction": ["ecs:*", "sts:GetCallerIdentity", "logs:Get*", "logs:Describe*"],
                "Resource": "*", "Condition": {"StringNotEquals": {"aws:PrincipalAccount": acct}}}
    if kind == 5:  # deny of plain HTTP from outside: matches every call, the address condition does not
        return {"Effect": "Deny", "Action": "ecs:*", "Resource": "*",
                "Condition": {"BoolIfExists": {"aws:SecureTransport": "false"},
                              "NotIpAddress": {"aws:SourceIp": ["127.0.0.0/8", f"10.{p}.0.0/16"]}}}
    if kind == 6:  # tag-gated reads: the bench's requests carry no tags
        return {"Effect": "Allow", "Action": ["ecs:Describe*", "ecs:List*"], "Resource": "*",
                "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": [f"team-{tag}", "cost-center"]}}}
    if kind == 7:  # the user's own families, through a policy variable
        return {"Effect": "Allow", "Action": ["ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition"],
                "Resource": f"{td}/${{aws:username}}-{tag}-*:*"}
    if kind == 8:  # no reserved tag keys on new task definitions
        return {"Effect": "Deny", "Action": "ecs:RegisterTaskDefinition", "Resource": f"{td}/*",
                "Condition": {"ForAnyValue:StringLike": {"aws:TagKeys": ["berth:*", f"reserved-{tag}"]}}}
    # kind 9: only named users: deny any caller without aws:username
    return {"Effect": "Deny", "Action": ["ecs:*TaskDefinition*", "ecs:Run*"], "Resource": "*",
            "Condition": {"Null": {"aws:username": "true"}}}


def allowing_statements(acct):
    """What lets the user run the mix (and the ListClusters that opens each connection), all conditions true."""
    td = f"arn:aws:ecs:{REGION}:{acct}:task-definition"
    return [
        {"Sid": "BenchReads", "Effect": "Allow", "Action": ["ecs:Describe*", "ecs:List*"], "Resource": "*",
         "Condition": {"StringLike": {"aws:username": "bench-*"}, "IpAddress": {"aws:SourceIp": "127.0.0.0/8"},
                       "DateGreaterThan": {"aws:CurrentTime": "2024-01-01T00:00:00Z"}}},
        {"Sid": "BenchFamilies", "Effect": "Allow", "Action": "ecs:*TaskDefinition*", "Resource": f"{td}/bench*:*",
         "Condition": {"StringEquals": {"aws:PrincipalArn": f"arn:aws:iam::{acct}:user/bench/${{aws:username}}"},
                       "Null": {"aws:username": "false"}}},
        {"Sid": "Clusters", "Effect": "Allow", "Action": "ecs:ListClusters", "Resource": "*"},
    ]


def policy_documents(acct, policies=10, statements=20):
    """`policies` documents of `statements` statements; the allowing ones are the last of the last document."""
    allow = allowing_statements(acct)
    docs = []
    for p in range(policies):
        stmts = [statement(p, s, acct) for s in range(statements)]
        if p == policies - 1:
            stmts = stmts[:statements - len(allow)] + allow
        docs.append({"Version": "2012-10-17", "Statement": stmts})
    return docs


def make_bench_user(srv, policies, statements):
    iam = srv.client("iam")
    acct = srv.client("sts").get_caller_identity()["Account"]
    iam.create_user(UserName=USER_NAME, Path="/bench/")
    sizes = []
    for i, doc in enumerate(policy_documents(acct, policies, statements)):
        text = json.dumps(doc, separators=(",", ":"))
        sizes.append(len(text))
        arn = iam.create_policy(PolicyName=f"bench-policy-{i}", PolicyDocument=text)["Policy"]["Arn"]
        iam.attach_user_policy(UserName=USER_NAME, PolicyArn=arn)
    key = iam.create_access_key(UserName=USER_NAME)["AccessKey"]
    return (key["AccessKeyId"], key["SecretAccessKey"]), sizes, acct


def run_authz(args, workdir):
    srv = BerthUp(args.berth_bin, workdir, "authz").start()
    try:
        user, sizes, acct = make_bench_user(srv, args.policies, args.statements)
        log(f"[authz] user {USER_NAME}: {args.policies} managed policies x {args.statements} statements "
            f"({min(sizes)}-{max(sizes)} characters each)")
        # The policies are what allows the user: a call they do not allow is denied.
        try:
            srv.client("ecs", user).create_cluster(clusterName="not-allowed")
            raise RuntimeError("the bench user may call ecs:CreateCluster; its policies allow too much")
        except srv.client("ecs").exceptions.ClientError as e:
            if e.response["Error"]["Code"] != "AccessDeniedException":
                raise
        # Smoke: the user may do everything the mix does.
        check = bench_api(args.berth_bin, srv, user, 1, 4)
        if check["errors"]:
            raise RuntimeError(f"the bench user is denied part of the mix: {check}\n{srv.log_tail()}")
        keys = {"admin": srv.admin, "user": user}
        runs = []
        for side in alternate(args.rounds, ["admin", "user"]):
            log(f"[authz] {side}: {args.duration}s, {args.concurrency} in flight")
            r = bench_api(args.berth_bin, srv, keys[side], args.duration, args.concurrency)
            r.update(bench="authz", side=side, load=loadavg())
            runs.append(emit(r))
        agg = side_by_side(runs, "admin", "user")
        a, u = agg["admin"], agg["user"]
        ratio = u["rps"] / a["rps"]
        return emit({"bench": "authz", "summary": agg, "policies": args.policies, "statements": args.statements,
                     "policy_chars": sizes, "account": acct,
                     "user_over_admin_rps": round(ratio, 3),
                     "user_minus_admin_p99_ms": round(u["p99_ms_median"] - a["p99_ms_median"], 3),
                     "target": "user throughput >= 0.90 x admin",
                     "met": ratio >= 0.90 and not (a["errors"] or u["errors"]),
                     "host_cpus": os.cpu_count()})
    finally:
        srv.stop()


# ------------------------------------------------------------------------------------------------------
# 2. TLS cost

def fresh_connections(srv, n, context):
    """n sequential GET /healthz, each on a new connection (TCP, and a full TLS handshake on HTTPS)."""
    lat, errors = [], 0
    for _ in range(n):
        t0 = time.perf_counter()
        try:
            conn = srv.connection(timeout=10, context=context)
            conn.request("GET", "/healthz", headers={"Connection": "close"})
            resp = conn.getresponse()
            resp.read()
            ok = resp.status == 200
            conn.close()
        except (OSError, http.client.HTTPException, ssl.SSLError):
            ok = False
        lat.append(time.perf_counter() - t0)
        errors += not ok
    return lat, errors


def run_tls(args, workdir):
    servers = {"https": BerthUp(args.berth_bin, workdir, "tls-https", tls=True),
               "http": BerthUp(args.berth_bin, workdir, "tls-http", tls=False)}
    try:
        for s in servers.values():
            s.start()
        runs = []
        for side in alternate(args.rounds, ["https", "http"]):
            srv = servers[side]
            log(f"[tls] {side}: {args.duration}s, {args.concurrency} in flight (keep-alive)")
            r = bench_api(args.berth_bin, srv, srv.admin, args.duration, args.concurrency)
            r.update(bench="tls", side=side, load=loadavg())
            runs.append(emit(r))
        agg = side_by_side(runs, "https", "http")
        h, p = agg["https"], agg["http"]
        ratio = h["rps"] / p["rps"]
        delta_p99 = h["p99_ms_median"] - p["p99_ms_median"]
        out = {"bench": "tls", "summary": agg, "https_over_http_rps": round(ratio, 3),
               "https_minus_http_p99_ms": round(delta_p99, 3),
               "target": "https throughput >= 0.80 x http and p99 <= http p99 + 1.5 ms",
               "met": ratio >= 0.80 and delta_p99 <= 1.5 and not (h["errors"] or p["errors"]),
               "host_cpus": os.cpu_count()}
        emit(out)
        # A fresh connection per request: what a client without keep-alive pays.
        contexts = {"https": servers["https"].ssl_context(), "http": None}  # one context, as a client keeps it
        lat = {"https": [], "http": []}
        errors = {"https": 0, "http": 0}
        for side in ("https", "http"):  # warm-up, untimed
            fresh_connections(servers[side], 20, contexts[side])
        block = max(1, args.handshakes // 6)
        cpu = {"https": 0.0, "http": 0.0}
        done = 0
        i = 0
        while done < args.handshakes:
            n = min(block, args.handshakes - done)
            for side in (["https", "http"] if i % 2 == 0 else ["http", "https"]):
                c0 = tree_cpu_seconds(servers[side].proc.pid)
                xs, e = fresh_connections(servers[side], n, contexts[side])
                cpu[side] += tree_cpu_seconds(servers[side].proc.pid) - c0
                lat[side] += xs
                errors[side] += e
            done += n
            i += 1
        probe = servers["https"].connection(context=contexts["https"])
        probe.connect()
        negotiated = [probe.sock.version(), probe.sock.cipher()[0]]
        probe.close()
        fresh = {side: dict(summary(lat[side]), errors=errors[side],
                            server_cpu_ms_per_connection=round(cpu[side] * 1000 / len(lat[side]), 3))
                 for side in lat}
        fresh_out = emit({"bench": "tls_fresh_connection", "client": "python http.client, one request per connection, "
                     "sequential, GET /healthz", "summary": fresh,
                     "https_minus_http_p50_ms": round(fresh["https"]["p50_ms"] - fresh["http"]["p50_ms"], 3),
                     "https_over_http_p50": round(fresh["https"]["p50_ms"] / fresh["http"]["p50_ms"], 2),
                     "tls": negotiated, "client_openssl": ssl.OPENSSL_VERSION, "host_cpus": os.cpu_count(),
                     "load": loadavg()})
        return out, fresh_out
    finally:
        for s in servers.values():
            s.stop()


# ------------------------------------------------------------------------------------------------------
# 3. task credentials

def docker(*a, check=True, timeout=120):
    p = subprocess.run(["docker", *a], capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError(f"docker {' '.join(a[:3])}...: {p.stderr.strip()}")
    return p.stdout.strip()


def docker_rm(ids):
    if ids:
        docker("rm", "-f", *ids, check=False)


# Runs inside the container: the first ecs:ListClusters that succeeds, with the credentials the environment gives
# boto3 (the task role's through AWS_CONTAINER_CREDENTIALS_FULL_URI, or static keys).
PROBE = r"""
import time
t0 = time.time()
import json, sys
import boto3
t1 = time.time()
attempts, err = 0, None
while True:
    attempts += 1
    try:
        boto3.client("ecs").list_clusters()
        break
    except Exception as e:
        err = repr(e)[:300]
        if time.time() - t0 > 60:
            print("PROBEFAIL " + err, flush=True)
            sys.exit(1)
        time.sleep(0.01)
t2 = time.time()
print("PROBE " + json.dumps({"start": t0, "imported": t1, "ok": t2, "attempts": attempts, "err": err}), flush=True)
"""


def host_python_mounts():
    """(inside, host) paths that let a busybox container run this interpreter with its packages (as
    tests/python/test_task_roles.py does)."""
    paths = {"/usr": "/usr", "/lib": os.path.realpath("/lib"), "/lib64": os.path.realpath("/lib64"),
             sys.base_prefix: sys.base_prefix, sys.prefix: sys.prefix}
    return [(inside, host) for inside, host in sorted(paths.items()) if os.path.isdir(host)]


def parse_docker_time(s):
    """Docker's RFC 3339 timestamp (nanoseconds, Z) as epoch seconds."""
    from datetime import datetime, timezone
    base, _, frac = s.rstrip("Z").partition(".")
    t = datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
    return t + (float("0." + frac) if frac else 0.0)


def probe_result(cid, t_before):
    logs = docker("logs", cid)
    line = next((ln for ln in logs.splitlines() if ln.startswith("PROBE ")), None)
    if not line:
        raise RuntimeError(f"container {cid}: no probe output:\n{logs[-2000:]}")
    p = json.loads(line[len("PROBE "):])
    started = parse_docker_time(docker("inspect", "--format", "{{.State.StartedAt}}", cid))
    return {"total_s": p["ok"] - t_before, "to_container_start_s": started - t_before,
            "python_start_s": p["start"] - started, "import_boto3_s": p["imported"] - p["start"],
            "first_call_s": p["ok"] - p["imported"], "attempts": p["attempts"], "first_error": p["err"]}


class CredsBench:
    def __init__(self, args, workdir):
        self.args, self.workdir = args, Path(workdir)
        self.srv = None
        self.peer_containers = []
        self.tasks = []

    def setup(self):
        subprocess.run([str(REPO / "tests" / "images" / "build.sh")], check=True, capture_output=True)
        self.srv = BerthUp(self.args.berth_bin, self.workdir, "creds", agent=True).start()
        self.ecs = self.srv.client("ecs")
        iam = self.srv.client("iam")
        policy = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "ecs:ListClusters", "Resource": "*"}]})
        trust = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
        self.role_arn = iam.create_role(RoleName="bench-task-role", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        iam.put_role_policy(RoleName="bench-task-role", PolicyName="list-clusters", PolicyDocument=policy)
        iam.create_user(UserName="bench-static")
        iam.put_user_policy(UserName="bench-static", PolicyName="list-clusters", PolicyDocument=policy)
        key = iam.create_access_key(UserName="bench-static")["AccessKey"]
        self.static = (key["AccessKeyId"], key["SecretAccessKey"])
        mounts = host_python_mounts()
        self.env = {"AWS_ENDPOINT_URL": self.srv.endpoint, "AWS_DEFAULT_REGION": REGION, "HOME": "/tmp"}
        self.command = [f"{sys.prefix}/bin/python", "-c", PROBE]
        volumes = [{"name": f"host{i}", "host": {"sourcePath": host}} for i, (_, host) in enumerate(mounts)]
        points = [{"sourceVolume": f"host{i}", "containerPath": inside, "readOnly": True}
                  for i, (inside, _) in enumerate(mounts)]
        self.probe_td = self.ecs.register_task_definition(
            family="bench-role-probe", taskRoleArn=self.role_arn, networkMode="host", volumes=volumes,
            containerDefinitions=[{"name": "probe", "image": IMAGE, "memory": 256, "essential": True,
                                   "mountPoints": points, "command": self.command,
                                   "environment": [{"name": k, "value": v} for k, v in self.env.items()]}],
        )["taskDefinition"]["taskDefinitionArn"]
        self.docker_args = ["--network", "host", "--memory", "256m", "--label", f"{BENCH_LABEL}=1"]
        for inside, host in mounts:
            self.docker_args += ["-v", f"{host}:{inside}:ro"]
        for k, v in dict(self.env, AWS_ACCESS_KEY_ID=self.static[0], AWS_SECRET_ACCESS_KEY=self.static[1]).items():
            self.docker_args += ["-e", f"{k}={v}"]

    def wait_status(self, arn, status, timeout=120, interval=0.2):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            t = self.ecs.describe_tasks(cluster="default", tasks=[arn])["tasks"][0]
            if t["lastStatus"] == status:
                return t
            if status != "STOPPED" and t["lastStatus"] == "STOPPED":
                raise RuntimeError(f"task stopped: {t.get('stoppedReason')}")
            time.sleep(interval)
        raise RuntimeError(f"task {arn} not {status} after {timeout}s\n{self.srv.log_tail()}")

    def containers_of(self, arn):
        return docker("ps", "-aq", "--filter", f"label=berth.task-arn={arn}").split()

    def berth_once(self):
        t_before = time.time()
        resp = self.ecs.run_task(cluster="default", taskDefinition=self.probe_td)
        if resp.get("failures") or not resp.get("tasks"):
            raise RuntimeError(f"RunTask failed: {resp.get('failures')}")
        arn = resp["tasks"][0]["taskArn"]
        self.tasks.append(arn)
        t = self.wait_status(arn, "STOPPED")
        cids = self.containers_of(arn)
        if not cids:
            raise RuntimeError(f"no container for {arn}: {t.get('stoppedReason')}")
        try:
            r = probe_result(cids[0], t_before)
        finally:
            docker_rm(cids)
        return r

    def docker_once(self):
        t_before = time.time()
        cid = docker("run", "-d", *self.docker_args, IMAGE, *self.command)
        self.peer_containers.append(cid)
        docker("wait", cid, timeout=120)
        try:
            return probe_result(cid, t_before)
        finally:
            docker_rm([cid])

    def start_times(self):
        log("[creds] warm-up (one of each, not counted)")
        self.berth_once()
        self.docker_once()
        runs = {"berth": [], "docker": []}
        for i, side in enumerate(alternate(self.args.runs, ["berth", "docker"])):
            r = self.berth_once() if side == "berth" else self.docker_once()
            r.update(bench="creds_start", side=side)
            log(f"[creds] {side}: {r['total_s'] * 1000:.0f} ms to the first signed call "
                f"(container start {r['to_container_start_s'] * 1000:.0f} ms, attempts {r['attempts']})")
            runs[side].append(emit({k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}))
        out = {}
        for side, rs in runs.items():
            out[side] = {"runs": len(rs), "median_s": round(statistics.median(r["total_s"] for r in rs), 3),
                         "max_s": round(max(r["total_s"] for r in rs), 3),
                         "min_s": round(min(r["total_s"] for r in rs), 3)}
            for part in ("to_container_start_s", "python_start_s", "import_boto3_s", "first_call_s"):
                out[side]["median_" + part] = round(statistics.median(r[part] for r in rs), 3)
        return emit({"bench": "creds_start", "summary": out,
                     "berth_over_docker_median": round(out["berth"]["median_s"] / out["docker"]["median_s"], 3),
                     "berth_over_docker_max": round(out["berth"]["max_s"] / out["docker"]["max_s"], 3),
                     "host_cpus": os.cpu_count(), "load": loadavg()})

    def endpoint_latency(self):
        td = self.ecs.register_task_definition(
            family="bench-role-sleeper", taskRoleArn=self.role_arn,
            containerDefinitions=[{"name": "main", "image": IMAGE, "memory": 32, "essential": True,
                                   "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]}],
        )["taskDefinition"]["taskDefinitionArn"]
        arn = self.ecs.run_task(cluster="default", taskDefinition=td)["tasks"][0]["taskArn"]
        self.tasks.append(arn)
        self.wait_status(arn, "RUNNING")
        cid = self.containers_of(arn)[0]
        env = dict(e.split("=", 1) for e in json.loads(docker("inspect", "--format", "{{json .Config.Env}}", cid)))
        creds_uri = env["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
        token = env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
        meta_uri = env["ECS_CONTAINER_METADATA_URI_V4"] + "/task"
        targets = {"credentials": (creds_uri, {"Authorization": token}), "metadata_task": (meta_uri, {})}
        body = http_get_once(creds_uri, {"Authorization": token})
        if "AccessKeyId" not in json.loads(body):
            raise RuntimeError(f"credentials endpoint answered {body[:300]!r}")
        nginx = None
        try:
            if shutil.which("nginx") and not self.args.no_nginx:
                nginx = Nginx(self.workdir / "nginx", body).start()
                targets["nginx_static"] = (f"http://127.0.0.1:{nginx.port}/credentials.json", {})
            sizes = {name: len(http_get_once(*t)) for name, t in targets.items()}
            clients = {name: KeepAliveGet(*t) for name, t in targets.items()}
            # The agent limits each token to 40 requests/s (burst 60), as ECS's agent does; 429s past it. So the
            # GETs are paced: every 1/rate s one GET to each endpoint, in rotating order.
            names = list(clients)
            interval = 1.0 / self.args.rate
            lat = {name: [] for name in clients}
            for tick in range(-20, self.args.gets):  # 20 ticks of warm-up
                due = time.perf_counter() + interval
                k = tick % len(names)
                for name in names[k:] + names[:k]:
                    xs = clients[name].run(1)
                    if tick >= 0:
                        lat[name] += xs
                time.sleep(max(0.0, due - time.perf_counter()))
            out = {name: dict(summary(xs), bytes=sizes[name], errors=clients[name].errors,
                              throttled=clients[name].throttled, reconnects=clients[name].reconnects)
                   for name, xs in lat.items()}
            res = {"bench": "creds_endpoint", "client": f"python http.client keep-alive, sequential GETs, each "
                   f"endpoint {self.args.rate:g}/s (under the agent's 40/s per token)",
                   "summary": out, "host_cpus": os.cpu_count(), "load": loadavg()}
            for peer in ("metadata_task", "nginx_static"):
                if peer in out:
                    res[f"credentials_over_{peer}_p50"] = round(out["credentials"]["p50_ms"] / out[peer]["p50_ms"], 2)
                    res[f"credentials_over_{peer}_p99"] = round(out["credentials"]["p99_ms"] / out[peer]["p99_ms"], 2)
            return emit(res)
        finally:
            if nginx:
                nginx.stop()
            self.ecs.stop_task(cluster="default", task=arn, reason="bench done")
            self.wait_status(arn, "STOPPED")
            docker_rm(self.containers_of(arn))

    def cleanup(self):
        docker_rm(docker("ps", "-aq", "--filter", f"label={BENCH_LABEL}=1", check=False).split())
        if self.srv:
            for arn in self.tasks:
                try:
                    self.ecs.stop_task(cluster="default", task=arn, reason="bench cleanup")
                except Exception:  # noqa: BLE001 - already stopped or gone
                    pass
            self.srv.stop()


def http_get_once(uri, headers):
    u = urllib.parse.urlsplit(uri)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=10)
    conn.request("GET", u.path or "/", headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    if resp.status != 200:
        raise RuntimeError(f"GET {uri}: {resp.status} {data[:300]!r}")
    return data


class KeepAliveGet:
    """Sequential GETs of one URI on one keep-alive connection (reconnecting if the server closes it)."""

    def __init__(self, uri, headers):
        u = urllib.parse.urlsplit(uri)
        self.host, self.port, self.path, self.headers = u.hostname, u.port or 80, u.path or "/", headers
        self.conn = None
        self.errors = self.reconnects = self.throttled = 0

    def run(self, n):
        lat = []
        for _ in range(n):
            t0 = time.perf_counter()
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
                    self.reconnects += 1
                self.conn.request("GET", self.path, headers=self.headers)
                resp = self.conn.getresponse()
                resp.read()
                if resp.status == 429:
                    self.throttled += 1
                if resp.status != 200:
                    self.errors += 1
                if resp.will_close:
                    self.conn.close()
                    self.conn = None
            except (OSError, http.client.HTTPException):
                self.errors += 1
                self.conn = None
            lat.append(time.perf_counter() - t0)
        return lat


class Nginx:
    """nginx in the foreground on a free loopback port, serving one static JSON file."""

    def __init__(self, root, body):
        self.root, self.body, self.port, self.proc = Path(root), body, free_port(), None

    def start(self):
        (self.root / "www").mkdir(parents=True)
        (self.root / "www" / "credentials.json").write_bytes(self.body)
        conf = self.root / "nginx.conf"
        user = "user root;\n" if os.geteuid() == 0 else ""
        conf.write_text(f"""{user}worker_processes 1;
daemon off;
pid {self.root}/nginx.pid;
error_log {self.root}/error.log;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {self.root}/tmp;
  proxy_temp_path {self.root}/tmp;
  fastcgi_temp_path {self.root}/tmp;
  uwsgi_temp_path {self.root}/tmp;
  scgi_temp_path {self.root}/tmp;
  keepalive_requests 100000;
  server {{
    listen 127.0.0.1:{self.port};
    location / {{ root {self.root}/www; default_type application/json; }}
  }}
}}
""")
        (self.root / "tmp").mkdir()
        self.proc = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(self.root)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not start: {(self.root / 'error.log').read_text()[-1000:]}")
                time.sleep(0.02)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: the master stops its workers
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def run_creds(args, workdir):
    b = CredsBench(args, workdir)
    try:
        b.setup()
        start = b.start_times()
        endpoint = b.endpoint_latency()
        return start, endpoint
    finally:
        b.cleanup()


# ------------------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("part", choices=["authz", "tls", "creds", "all"])
    ap.add_argument("--rounds", type=int, default=3, help="authz/tls: rounds of one run per side (default 3)")
    ap.add_argument("--duration", type=float, default=10.0, help="authz/tls: seconds per run (default 10)")
    ap.add_argument("--concurrency", type=int, default=32, help="authz/tls: requests in flight (default 32)")
    ap.add_argument("--policies", type=int, default=10, help="authz: managed policies of the user (default 10)")
    ap.add_argument("--statements", type=int, default=20, help="authz: statements per policy (default 20)")
    ap.add_argument("--handshakes", type=int, default=600, help="tls: fresh connections per server (default 600)")
    ap.add_argument("--runs", type=int, default=5, help="creds: starts per side (default 5)")
    ap.add_argument("--gets", type=int, default=2000, help="creds: GETs per endpoint (default 2000)")
    ap.add_argument("--rate", type=float, default=35.0,
                    help="creds: GETs per second per endpoint (default 35; the agent allows 40 per token)")
    ap.add_argument("--no-nginx", action="store_true", help="creds: skip the nginx peer")
    ap.add_argument("--berth-bin", default=os.environ.get("BERTH_BIN") or str(REPO / "target" / "release" / "berth"))
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 round of 2 s, 2 starts, 200 GETs")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.duration, args.handshakes, args.runs, args.gets = 1, 2.0, 60, 2, 200
    if not Path(args.berth_bin).exists():
        sys.exit(f"berth binary not found: {args.berth_bin} (cargo build --release -p berth-cli, or set BERTH_BIN)")
    workdir = Path(tempfile.mkdtemp(prefix="berth-iam-bench-"))
    ok = True
    emit({"bench": "machine", "host_cpus": os.cpu_count(), "load": loadavg(), "berth_bin": args.berth_bin,
          "python": sys.version.split()[0], "argv": sys.argv[1:]})
    try:
        if args.part in ("authz", "all"):
            r = run_authz(args, workdir)
            ok &= not any(r["summary"][s]["errors"] for s in r["summary"])
        if args.part in ("tls", "all"):
            for r in run_tls(args, workdir):
                ok &= not any(r["summary"][s]["errors"] for s in r["summary"])
        if args.part in ("creds", "all"):
            _, r = run_creds(args, workdir)
            ok &= not any(r["summary"][s]["errors"] for s in r["summary"])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
