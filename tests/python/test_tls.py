"""TLS: `berth up` serves HTTPS with a CA it creates on first start, writes `ca_bundle` into the aws profile, and
the aws CLI, boto3, Berth's own CLI and agents verify the server with it. Plain HTTP only with --insecure-http,
and only on loopback. An operator's certificate replaces the generated one. `aws:SecureTransport` says which
transport a request came over.
"""

import configparser
import json
import os
import socket
import ssl
import stat
import subprocess
import sys

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import SSLError

from conftest import ACCOUNT, REGION, berth_bin, clean_env, free_port, uniq
from test_tasks import Agent, test_image, wait_until  # noqa: F401

pytestmark = pytest.mark.berth_only


def aws(env, *args, check=True):
    p = subprocess.run([sys.executable, "-m", "awscli", "--output", "json", *args], env=env, capture_output=True,
                       text=True, timeout=60)
    if check:
        assert p.returncode == 0, p.stderr
    return p


@pytest.fixture(scope="module")
def tls_server(server_factory, tmp_path_factory):
    config = tmp_path_factory.mktemp("aws") / "config"
    srv = server_factory(no_aws_profile=False, start=False, env={"AWS_CONFIG_FILE": str(config)}, tls=True)
    srv.aws_config = config
    return srv.start()


def profile_env(srv):
    """The aws CLI with nothing but the profile `berth up` wrote (no --endpoint-url, no AWS_CA_BUNDLE)."""
    return clean_env(HOME=str(srv.home), AWS_SHARED_CREDENTIALS_FILE=str(srv.credentials_file),
                     AWS_CONFIG_FILE=str(srv.aws_config))


def test_the_profile_names_the_https_endpoint_and_the_ca(tls_server):
    cp = configparser.ConfigParser()
    cp.read(tls_server.aws_config)
    profile = cp["profile berth"]
    assert profile["endpoint_url"] == f"https://127.0.0.1:{tls_server.port}"
    assert profile["ca_bundle"] == tls_server.ca_bundle
    env = profile_env(tls_server)
    name = uniq("tls")
    aws(env, "--profile", "berth", "ecs", "create-cluster", "--cluster-name", name)
    out = json.loads(aws(env, "--profile", "berth", "ecs", "list-clusters").stdout)
    assert f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{name}" in out["clusterArns"]
    who = json.loads(aws(env, "--profile", "berth", "sts", "get-caller-identity").stdout)
    assert who["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"


def test_the_ca_key_is_private_and_kept_across_restarts(tls_server):
    key = tls_server.data_dir / "tls" / "ca.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    before = open(tls_server.ca_bundle).read()
    tls_server.restart()
    assert open(tls_server.ca_bundle).read() == before
    assert tls_server.client().list_clusters()["clusterArns"] is not None


def test_clients_without_the_ca_refuse_the_server(tls_server):
    ak, sk = tls_server.creds
    # The aws CLI with the key but not the profile (so no ca_bundle): the system's CAs do not know Berth's.
    env = clean_env(HOME=str(tls_server.home), AWS_ACCESS_KEY_ID=ak, AWS_SECRET_ACCESS_KEY=sk,
                    AWS_CONFIG_FILE=os.devnull)
    p = aws(env, "--endpoint-url", tls_server.endpoint, "--region", REGION, "ecs", "list-clusters", check=False)
    assert p.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in p.stderr, p.stderr
    env["AWS_CA_BUNDLE"] = tls_server.ca_bundle
    aws(env, "--endpoint-url", tls_server.endpoint, "--region", REGION, "ecs", "list-clusters")
    untrusting = boto3.client("ecs", endpoint_url=tls_server.endpoint, region_name=REGION, aws_access_key_id=ak,
                              aws_secret_access_key=sk, config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises(SSLError):
        untrusting.list_clusters()
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{tls_server.endpoint}/healthz", timeout=5)
    assert requests.get(f"{tls_server.endpoint}/healthz", verify=tls_server.ca_bundle, timeout=5).text == "ok"


def test_plain_http_to_the_https_port_gets_no_answer_and_the_server_goes_on(tls_server):
    with socket.create_connection(("127.0.0.1", tls_server.port), timeout=5) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        s.settimeout(5)
        try:
            answer = s.recv(4096)
        except (socket.timeout, ConnectionResetError):
            answer = b""
    assert b"200" not in answer and b"ok" not in answer
    ctx = ssl.create_default_context(cafile=tls_server.ca_bundle)
    with socket.create_connection(("127.0.0.1", tls_server.port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            assert b"200 OK" in s.recv(4096)


def test_the_local_agent_and_the_berth_cli_use_tls(tls_server):
    ecs = tls_server.client()
    state = tls_server.data_dir / "agent-state.json"
    wait_until("berth up's agent registered", state.exists, timeout=30)
    arn = json.loads(state.read_text())["containerInstanceArn"]
    wait_until("agent connected", lambda: ecs.describe_container_instances(
        containerInstances=[arn])["containerInstances"][0]["agentConnected"], timeout=30)
    p = subprocess.run([berth_bin(), "ps", "--profile", "berth", "--output", "json"], env=profile_env(tls_server),
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr


def test_a_separate_agent_verifies_the_server(tls_server, tmp_path):
    untrusting = Agent(tls_server, "default", tmp_path / "agent-no-ca")
    with pytest.raises(AssertionError) as e:
        untrusting.start()
    assert "certificate" in str(e.value).lower() or "tls" in str(e.value).lower(), e.value
    untrusting.cleanup()
    agent = Agent(tls_server, "default", tmp_path / "agent", extra=["--ca-bundle", tls_server.ca_bundle])
    arn = None
    try:
        arn = agent.start()
        ecs = tls_server.client()
        wait_until("the second agent connected", lambda: ecs.describe_container_instances(
            containerInstances=[arn])["containerInstances"][0]["agentConnected"], timeout=30)
    finally:
        agent.cleanup()
        # Gone for good: later tests must not place tasks on its instance.
        if arn:
            tls_server.client().deregister_container_instance(containerInstance=arn, force=True)


def test_secure_transport_condition(tls_server, server_factory):
    """A policy that denies everything not over TLS: the same user is allowed over HTTPS and denied over HTTP."""
    doc = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ecs:ListClusters", "Resource": "*"},
        {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]})
    results = {}
    for srv in (tls_server, server_factory()):
        iam = srv.client("iam")
        name = uniq("tls-user")
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="tls-only", PolicyDocument=doc)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        user = srv.client(creds=(key["AccessKeyId"], key["SecretAccessKey"]))
        try:
            user.list_clusters()
            results[srv.tls] = "allowed"
        except user.exceptions.ClientError as e:
            results[srv.tls] = e.response["Error"]["Code"]
    assert results == {True: "allowed", False: "AccessDeniedException"}, results


def test_plain_http_is_refused_off_loopback(tmp_path):
    port = free_port()
    p = subprocess.run([berth_bin(), "up", "--insecure-http", "--listen", f"0.0.0.0:{port}", "--data-dir",
                        str(tmp_path / "d"), "--no-aws-profile", "--no-agent"], env=clean_env(HOME=str(tmp_path)),
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "only on a loopback address" in p.stderr, p.stderr


def make_operator_pki(dir):
    """An operator's own CA and server certificate, made with openssl."""
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=dir)
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
        "-out", "ca.pem", "-days", "2", "-subj", "/CN=Operator CA")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key",
        "-out", "server.csr", "-subj", "/CN=berth.operator")
    (dir / "ext.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "ext.cnf")
    return dir / "server.pem", dir / "server.key", dir / "ca.pem"


def test_an_operators_certificate(server_factory, tmp_path):
    cert, key, ca = make_operator_pki(tmp_path)
    config = tmp_path / "aws-config"
    srv = server_factory(no_aws_profile=False, start=False, env={"AWS_CONFIG_FILE": str(config)}, tls=True,
                         extra_args=["--tls-cert", str(cert), "--tls-key", str(key), "--tls-ca-bundle", str(ca),
                                     "--no-agent"])
    # Clients trust the operator's CA, not Berth's.
    srv.__class__ = type("OperatorServer", (srv.__class__,), {"ca_bundle": property(lambda self: str(ca))})
    srv.start()
    srv.aws_config = config
    cp = configparser.ConfigParser()
    cp.read(config)
    assert cp["profile berth"]["ca_bundle"] == str(ca)
    who = json.loads(aws(profile_env(srv), "--profile", "berth", "sts", "get-caller-identity").stdout)
    assert who["Account"] == ACCOUNT
    presented = ssl.get_server_certificate(("127.0.0.1", srv.port))
    assert presented.strip() == cert.read_text().strip()


def test_bad_operator_files_are_clear_errors(tmp_path):
    cert, key, _ = make_operator_pki(tmp_path)
    other_key = tmp_path / "other.key"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out",
                    str(other_key)], check=True, capture_output=True)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    for c, k, expect in [(cert, other_key, "do not make a TLS server"), (garbage, key, "no certificate"),
                         (tmp_path / "missing.pem", key, "missing.pem")]:
        p = subprocess.run([berth_bin(), "up", "--listen", f"127.0.0.1:{free_port()}", "--data-dir",
                            str(tmp_path / "d"), "--no-aws-profile", "--no-agent", "--tls-cert", str(c), "--tls-key",
                            str(k)], env=clean_env(HOME=str(tmp_path)), capture_output=True, text=True, timeout=30)
        assert p.returncode != 0 and expect in p.stderr, (expect, p.stderr)
        assert "panicked" not in p.stderr


def link_of(srv):
    """The link endpoint the local agent registered (from `berth up`'s output: "agent metrics: URL/metrics")."""
    line = wait_until("berth up printed the agent link", lambda: next(
        (ln for ln in srv.stdout().splitlines() if ln.startswith("agent metrics: ")), None), timeout=30)
    return line.split(": ", 1)[1].rsplit("/metrics", 1)[0]


def test_the_agent_link_is_tls_with_a_certificate_from_the_ca(tls_server):
    link = link_of(tls_server)
    assert link.startswith("https://127.0.0.1:"), link
    # The certificate verifies with Berth's CA for the registered address (once the agent has it).
    body = wait_until("the link serves its certificate", lambda: _get(f"{link}/metrics", tls_server.ca_bundle),
                      timeout=30)
    assert "berth_stats_samples" in body
    host, port = link.removeprefix("https://").rsplit(":", 1)
    pem = ssl.get_server_certificate((host, int(port)))
    assert pem and pem != open(tls_server.ca_bundle).read()
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{link}/metrics", timeout=5)


def _get(url, ca):
    try:
        r = requests.get(url, verify=ca, timeout=5)
        return r.text if r.ok else None
    except requests.exceptions.RequestException:
        return None


def test_logs_are_read_over_the_tls_link(tls_server, test_image):
    """CloudWatch Logs reads go from the server to the agent's link endpoint, which it verifies."""
    ecs, logs = tls_server.client(), tls_server.client("logs")
    group = f"/ecs/{uniq('tls-logs')}"
    family = uniq("tls-logs")
    ecs.register_task_definition(family=family, containerDefinitions=[{
        "name": "main", "image": "berth-test/busybox:latest", "memory": 32, "essential": True,
        "command": ["sh", "-c", "echo over-tls-1; echo over-tls-2"],
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": group, "awslogs-region": REGION, "awslogs-stream-prefix": "ecs",
            "awslogs-create-group": "true"}}}])
    task = ecs.run_task(taskDefinition=family)["tasks"][0]["taskArn"]
    stream = f"ecs/main/{task.rsplit('/', 1)[1]}"

    def lines():
        try:
            return [e["message"] for e in logs.get_log_events(logGroupName=group, logStreamName=stream,
                                                                startFromHead=True)["events"]] or None
        except logs.exceptions.ClientError:
            return None
    assert wait_until("the task's lines", lambda: (lambda got: got if got and len(got) == 2 else None)(lines()),
                      timeout=60) == ["over-tls-1", "over-tls-2"]
