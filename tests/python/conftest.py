"""End-to-end tests: a real `berth` process driven by boto3, the aws CLI and raw signed HTTP.

The binary is taken from $BERTH_BIN, else target/debug/berth (build it first: `cargo build -p berth-cli`).
Nothing here builds anything.

For checking the suite's own logic without Berth, BERTH_E2E_TARGET=moto runs it against `moto_server`:
tests marked `berth_only` (auth, persistence, the profile writer, ...) are skipped there, and some ECS
validations that moto does not implement are expected to fail.
"""

import configparser
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
ACCOUNT = "123456789012"
TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113."
TARGET = os.environ.get("BERTH_E2E_TARGET", "berth")
READY_TIMEOUT = float(os.environ.get("BERTH_READY_TIMEOUT", "20"))

# Never let the developer's environment leak into the clients under test.
_SCRUB = [k for k in os.environ if k.startswith("AWS_")]


def berth_bin():
    return os.environ.get("BERTH_BIN") or str(REPO / "target" / "debug" / "berth")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def uniq(prefix="t"):
    """A name unique to this test run (tests share one server)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
    env.update(extra)
    return env


class Server:
    """A `berth up` process on a free port with its own data dir and its own HOME."""

    def __init__(self, workdir, extra_args=(), no_aws_profile=True, env=None, port=None, tls=False):
        self.workdir = Path(workdir)
        self.data_dir = self.workdir / "data"
        self.home = self.workdir / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        # HTTPS with Berth's own CA, as `berth up` serves by default; most tests ask for plain HTTP on loopback
        # (--insecure-http) because they are about the API, not the transport (test_tls.py is).
        self.tls = tls
        self.endpoint = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.extra_args = list(extra_args)
        self.no_aws_profile = no_aws_profile
        self.env = clean_env(HOME=str(self.home), AWS_CONFIG_FILE=str(self.workdir / "aws-config"))
        self.env.update(env or {})
        self.proc = None
        self.starts = 0

    # --- process control -------------------------------------------------------------------------
    def argv(self):
        # Metadata port 0: several berths share this host's Docker during the tests.
        argv = [berth_bin(), "up", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(self.data_dir),
                "--region", REGION, "--account-id", ACCOUNT, "--metadata-port", "0"]
        if self.no_aws_profile:
            argv.append("--no-aws-profile")
        if not self.tls:
            argv.append("--insecure-http")
        return argv + self.extra_args

    def start(self):
        self.starts += 1
        self.stdout_path = self.workdir / f"stdout.{self.starts}.log"
        self.stderr_path = self.workdir / f"stderr.{self.starts}.log"
        if not Path(self.argv()[0]).exists():
            pytest.fail(f"berth binary not found at {self.argv()[0]} (build it or set BERTH_BIN)")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(self.argv(), env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=open(self.stdout_path, "wb"), stderr=open(self.stderr_path, "wb"))
        self.wait_ready()
        return self

    def wait_ready(self):
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode} before becoming ready:\n{self.logs()}")
            try:
                if self.tls:
                    conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=1,
                                                       context=ssl.create_default_context(cafile=self.ca_bundle))
                else:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                conn.request("GET", "/healthz")
                resp = conn.getresponse()
                resp.read()
                conn.close()
                if resp.status == 200:
                    self.ready_after = time.monotonic() - self.started_at
                    return
            except OSError:
                pass
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"server not ready within {READY_TIMEOUT}s:\n{self.logs()}")

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Send `sig` and wait; returns the exit code (kills and fails on timeout)."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"server did not exit within {timeout}s after {sig!r}\n{self.logs()}")

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self, sig=signal.SIGTERM):
        rc = self.stop(sig)
        assert rc == 0, f"exit code {rc} after {sig!r}\n{self.logs()}"
        return self.start()

    def stdout(self):
        return self.stdout_path.read_text(errors="replace")

    def stderr(self):
        return self.stderr_path.read_text(errors="replace")

    def logs(self):
        try:
            return f"--- stdout ---\n{self.stdout()}\n--- stderr ---\n{self.stderr()}"
        except OSError:
            return "(no logs)"

    # --- credentials and clients -----------------------------------------------------------------
    @property
    def ca_bundle(self):
        """Berth's CA certificate, which clients verify the server with (TLS servers only)."""
        return str(self.data_dir / "tls" / "ca.pem")

    @property
    def verify(self):
        """What boto3 and requests take as `verify`."""
        return self.ca_bundle if self.tls else True

    @property
    def credentials_file(self):
        return self.data_dir / "credentials"

    @property
    def creds(self):
        cp = configparser.ConfigParser()
        assert cp.read(self.credentials_file), f"{self.credentials_file} missing"
        return cp["berth"]["aws_access_key_id"].strip(), cp["berth"]["aws_secret_access_key"].strip()

    def client(self, service="ecs", creds=None, retries=1, **kw):
        ak, sk = creds or self.creds
        cfg = Config(retries={"total_max_attempts": retries}, connect_timeout=5, read_timeout=30)
        kw.setdefault("verify", self.verify)
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=ak, aws_secret_access_key=sk, config=cfg, **kw)

    def cli_env(self, **extra):
        cfg = self.workdir / "cli-config"
        if not cfg.exists():
            cfg.write_text(f"[default]\nregion = {REGION}\n\n[profile berth]\nregion = {REGION}\n")
        if self.tls:
            extra.setdefault("AWS_CA_BUNDLE", self.ca_bundle)
        return clean_env(HOME=str(self.home), AWS_SHARED_CREDENTIALS_FILE=str(self.credentials_file),
                         AWS_CONFIG_FILE=str(cfg), AWS_PAGER="", **extra)

    def cli(self, *args, check=True, endpoint=True, env=None):
        """Run `aws [--endpoint-url E] --profile berth --output json ARGS`; returns (rc, parsed json or text, stderr)."""
        argv = [sys.executable, "-m", "awscli"]
        if endpoint:
            argv += ["--endpoint-url", self.endpoint]
        argv += ["--profile", "berth", "--output", "json", *args]
        p = subprocess.run(argv, env=env or self.cli_env(), capture_output=True, text=True, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed ({p.returncode}):\n{p.stderr}\n{p.stdout}")
        out = p.stdout
        try:
            out = json.loads(out) if out.strip() else None
        except ValueError:
            pass
        return p.returncode, out, p.stderr

    def raw(self, target, body, creds=None, sign=True, headers=None, region=REGION, mutate=None, timeout=30):
        """POST / with X-Amz-Target `target` (an op name or a full target) and `body` (bytes, str, or a JSON value).

        Signed with botocore's SigV4Auth unless sign=False; `mutate(prepared_headers)` may alter the request after
        signing. Returns a requests.Response; `.json()` gives the error document.
        """
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        hdrs = {"Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": target if "." in target else TARGET_PREFIX + target}
        hdrs.update(headers or {})
        req = AWSRequest(method="POST", url=self.endpoint + "/", data=body, headers=hdrs)
        if sign:
            ak, sk = creds or self.creds
            SigV4Auth(Credentials(ak, sk), "ecs", region).add_auth(req)
        prepared = dict(req.prepare().headers)
        if mutate:
            mutate(prepared)
        return requests.post(self.endpoint + "/", data=body, headers=prepared, timeout=timeout, verify=self.verify)


class MotoServer(Server):
    """Stand-in used only to validate the suite's logic (BERTH_E2E_TARGET=moto)."""

    def argv(self):
        return [shutil.which("moto_server") or "moto_server", "-H", "127.0.0.1", "-p", str(self.port)]

    def start(self):
        self.starts += 1
        self.stdout_path = self.workdir / f"stdout.{self.starts}.log"
        self.stderr_path = self.workdir / f"stderr.{self.starts}.log"
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(self.argv(), env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=open(self.stdout_path, "wb"), stderr=open(self.stderr_path, "wb"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.credentials_file.write_text("[berth]\naws_access_key_id = AKIDMOTO\naws_secret_access_key = moto\n")
        return self


def pytest_configure(config):
    config.addinivalue_line("markers", "berth_only: needs Berth itself (skipped when BERTH_E2E_TARGET=moto)")


def pytest_collection_modifyitems(config, items):
    if TARGET == "moto":
        skip = pytest.mark.skip(reason="Berth-specific behaviour; not checked against moto")
        for item in items:
            if "berth_only" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def server_factory(tmp_path_factory):
    """Start extra servers (own data dir, own HOME); all are killed at the end of the session."""
    started = []

    def make(extra_args=(), no_aws_profile=True, env=None, start=True, tls=False):
        cls = MotoServer if TARGET == "moto" else Server
        srv = cls(tmp_path_factory.mktemp("berth"), extra_args=extra_args, no_aws_profile=no_aws_profile, env=env,
                  tls=tls)
        started.append(srv)
        return srv.start() if start else srv

    yield make
    for srv in started:
        try:
            srv.stop(timeout=5)
        except AssertionError:
            pass
        srv.kill()
        remove_containers(srv)


def remove_containers(srv):
    """Removes the containers a server's local agent created (they outlive the process by design)."""
    state = getattr(srv, "data_dir", None) and Path(srv.data_dir) / "agent-state.json"
    if not state or not state.exists():
        return
    arn = json.loads(state.read_text())["containerInstanceArn"]
    ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=berth.container-instance={arn}"],
                         capture_output=True, text=True).stdout.split()
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)


@pytest.fixture(scope="session")
def berth(server_factory):
    """The shared server most tests talk to. Tests use unique names so they do not see each other. Its local agent
    registers in the background (creating the cluster `default`); it is waited for, so that no test sees it appear."""
    srv = server_factory()
    state = getattr(srv, "data_dir", None) and Path(srv.data_dir) / "agent-state.json"
    deadline = time.monotonic() + 30
    while state and not state.exists() and time.monotonic() < deadline and srv.proc.poll() is None:
        if "agent not started" in srv.stderr():
            break
        time.sleep(0.05)
    # Registered is not yet connected: until the agent polls for work, placement on it fails with AGENT.
    if state and state.exists():
        arn = json.loads(state.read_text())["containerInstanceArn"]
        ecs = srv.client()
        while time.monotonic() < deadline and srv.proc.poll() is None:
            found = ecs.describe_container_instances(cluster="default", containerInstances=[arn])["containerInstances"]
            if found and found[0]["agentConnected"]:
                break
            time.sleep(0.05)
    return srv


@pytest.fixture(scope="session")
def ecs(berth):
    return berth.client()


@pytest.fixture()
def alive(ecs):
    """After the test: the server still answers a signed request."""
    yield
    ecs.list_clusters(maxResults=1)


def error_of(excinfo_or_exc):
    """(code, message, http status) of a botocore ClientError."""
    e = getattr(excinfo_or_exc, "value", excinfo_or_exc)
    assert isinstance(e, ClientError), repr(e)
    return (e.response["Error"]["Code"], e.response["Error"].get("Message", ""),
            e.response["ResponseMetadata"]["HTTPStatusCode"])


def normalise(text):
    return "".join(ch for ch in text.lower() if ch.isalnum())


def names_field(message, *fields):
    """True when the message mentions one of `fields` ("clusterName" matches "cluster name" too)."""
    m = normalise(message)
    return any(normalise(f) in m for f in fields)


def expect_error(fn, codes, /, *fields, http_status=400, **kwargs):
    """Call fn(**kwargs); assert a ClientError with a code in `codes`, the HTTP status, and a message naming a field."""
    if isinstance(codes, str):
        codes = (codes,)
    with pytest.raises(ClientError) as ei:
        fn(**kwargs)
    code, msg, http = error_of(ei)
    assert code in codes, f"expected {codes}, got {code}: {msg}"
    if http_status is not None:
        assert http == http_status, f"{code}: HTTP {http}, expected {http_status}"
    if fields:
        assert names_field(msg, *fields), f"{code} message does not name {fields}: {msg!r}"
    return code, msg


def cluster_arn(name):
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{name}"


def td_arn(family, rev):
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{family}:{rev}"


def simple_td(family, **extra):
    """A minimal valid EC2 task definition."""
    td = {"family": family,
          "containerDefinitions": [{"name": "main", "image": "busybox:latest", "memory": 128, "essential": True,
                                    "command": ["sleep", "3600"]}]}
    td.update(extra)
    return td


def identity_doc(instance_id, az="us-east-1a", itype="t3.large"):
    return json.dumps({"instanceId": instance_id, "availabilityZone": az, "instanceType": itype, "region": REGION,
                       "accountId": ACCOUNT, "imageId": "ami-0123456789abcdef0", "architecture": "x86_64"})


def register_instance(ecs, cluster=None, instance_id=None, az="us-east-1a", itype="t3.large", os_type="linux",
                      cpu=4096, mem=7680, attributes=(), **extra):
    instance_id = instance_id or "i-" + uuid.uuid4().hex[:17]
    if TARGET == "moto":  # moto only registers instances its EC2 mock knows
        ec2 = boto3.client("ec2", endpoint_url=ecs.meta.endpoint_url, region_name=REGION,
                           aws_access_key_id="x", aws_secret_access_key="y")
        instance_id = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1,
                                        InstanceType=itype)["Instances"][0]["InstanceId"]
    kw = dict(
        instanceIdentityDocument=identity_doc(instance_id, az, itype),
        totalResources=[
            {"name": "CPU", "type": "INTEGER", "integerValue": cpu},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": mem},
            {"name": "PORTS", "type": "STRINGSET", "stringSetValue": ["22", "2375", "2376", "51678", "51679"]},
            {"name": "PORTS_UDP", "type": "STRINGSET", "stringSetValue": []},
        ],
        versionInfo={"agentVersion": "1.80.0", "agentHash": "abcdef0", "dockerVersion": "DockerVersion: 24.0.7"},
        attributes=[{"name": "ecs.os-type", "value": os_type},
                    {"name": "ecs.cpu-architecture", "value": "x86_64"},
                    *attributes],
    )
    if cluster is not None:
        kw["cluster"] = cluster
    kw.update(extra)
    return ecs.register_container_instance(**kw)["containerInstance"]


def attr_map(attributes):
    return {a["name"]: a.get("value") for a in attributes or []}


def tag_map(tags):
    return {t["key"]: t["value"] for t in tags or []}


def all_clusters(ecs):
    return [a for p in ecs.get_paginator("list_clusters").paginate() for a in p["clusterArns"]]
