"""Berth as an OIDC issuer, against one `berth up` with its local agent on real Docker.

- The discovery document and JWKS, fetched with requests as any verifier (AWS IAM, MinIO, Ceph RGW) does.
- A task whose container asks for a web identity token (docker label `berth.web-identity.audience`) gets one in the
  file `AWS_WEB_IDENTITY_TOKEN_FILE` names, readable by a non-root user; the container prints it and the test
  verifies it with PyJWT (an independent JWT library) against the published JWKS: signature, iss, aud, exp, and the
  subject (the task role) and the task claim. `AWS_ROLE_ARN`/`AWS_ROLE_SESSION_NAME` come from the role-arn label.
- STS AssumeRoleWithWebIdentity with boto3 (unsigned, as the SDKs send it): allowed by a trust policy whose `aud`
  and `sub` conditions hold, denied when they do not; tampered, `alg: none`, foreign and expired tokens answer
  InvalidIdentityToken / ExpiredTokenException, and the server keeps serving.

The expired token is forged with the issuer's own key (read from the test server's store and opened with its
secrets key, both in its data directory), so it is refused for its expiry and nothing else.
"""

import base64
import json
import sqlite3
import subprocess
import time

import boto3
import jwt
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import load_der_private_key

from conftest import ACCOUNT, REGION, REPO, error_of, uniq

pytestmark = pytest.mark.berth_only

IMAGE = "berth-test/busybox:latest"
AUDIENCE_LABEL = "berth.web-identity.audience"
ROLE_ARN_LABEL = "berth.web-identity.role-arn"
TIMEOUT = 60.0


# --- fixtures ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def srv(server_factory):
    p = subprocess.run(["bash", str(REPO / "tests" / "images" / "build.sh")], capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, f"tests/images/build.sh failed:\n{p.stderr}"
    return server_factory()


@pytest.fixture(scope="module")
def issuer(srv):
    # The default issuer is the server's own URL, as the aws profile names it.
    return srv.endpoint


@pytest.fixture(scope="module")
def provider(issuer):
    return issuer.split("://", 1)[1]


@pytest.fixture(scope="module")
def iam(srv):
    return srv.client("iam")


@pytest.fixture(scope="module")
def sts_anonymous(srv):
    """An STS client with no credentials: AssumeRoleWithWebIdentity is unsigned."""
    from botocore import UNSIGNED
    return boto3.client("sts", endpoint_url=srv.endpoint, region_name=REGION,
                        config=Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1}))


def wait_until(what, fn, timeout=TIMEOUT, interval=0.2):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout}s (last: {last!r})")


def trust(provider, aud, sub, also_ecs_tasks=False):
    statements = [{
        "Effect": "Allow",
        "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{provider}"},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {f"{provider}:aud": aud, f"{provider}:sub": sub}},
    }]
    if also_ecs_tasks:
        statements.append({"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                           "Action": "sts:AssumeRole"})
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


@pytest.fixture(scope="module")
def task_token(srv, iam, provider):
    """Runs a task whose container prints its web identity token; returns what the test needs about it."""
    ecs = srv.client()
    state = srv.data_dir / "agent-state.json"
    wait_until("the local agent registered", state.exists, timeout=30)
    instance = json.loads(state.read_text())["containerInstanceArn"]
    wait_until("agent connected",
               lambda: ecs.describe_container_instances(containerInstances=[instance])
               ["containerInstances"][0]["agentConnected"], timeout=30)

    audience = uniq("s3")
    task_role = uniq("oidc-task")
    task_role_arn = f"arn:aws:iam::{ACCOUNT}:role/{task_role}"
    # The task role trusts ECS tasks (its credentials come first) and may be the subject of tokens.
    iam.create_role(RoleName=task_role, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    reader = uniq("oidc-reader")
    reader_arn = f"arn:aws:iam::{ACCOUNT}:role/{reader}"
    iam.create_role(RoleName=reader, AssumeRolePolicyDocument=trust(provider, audience, task_role_arn))
    iam.put_role_policy(RoleName=reader, PolicyName="list", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecs:ListClusters", "Resource": "*"}]}))

    family = uniq("oidc")
    script = ('echo "TOKEN=$(cat "$AWS_WEB_IDENTITY_TOKEN_FILE")"; '
              'echo "FILE=$AWS_WEB_IDENTITY_TOKEN_FILE ROLE=$AWS_ROLE_ARN SESSION=$AWS_ROLE_SESSION_NAME"; '
              'echo "WHOAMI=$(id -u)"; '
              'echo "READONLY=$(touch /var/run/secrets/berth/web-identity/x 2>/dev/null && echo no || echo yes)"')
    ecs.register_task_definition(family=family, taskRoleArn=task_role, containerDefinitions=[
        {"name": "app", "image": IMAGE, "memory": 32, "essential": True, "user": "1000",
         "command": ["sh", "-c", script], "stopTimeout": 2,
         "dockerLabels": {AUDIENCE_LABEL: audience, ROLE_ARN_LABEL: reader_arn}},
    ])
    out = ecs.run_task(taskDefinition=family)
    assert out["failures"] == [], out["failures"]
    task_arn = out["tasks"][0]["taskArn"]
    task_id = task_arn.rsplit("/", 1)[1]

    def stopped():
        t = ecs.describe_tasks(tasks=[task_arn])["tasks"][0]
        return t if t["lastStatus"] == "STOPPED" else None

    task = wait_until("the task ran and stopped", stopped)
    assert task.get("stopCode") != "TaskFailedToStart", task.get("stoppedReason")
    assert task["containers"][0].get("exitCode") == 0, task

    ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=berth.task-arn={task_arn}"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert len(ids) == 1, ids
    logs = subprocess.run(["docker", "logs", ids[0]], capture_output=True, text=True, check=True).stdout
    lines = dict(line.split("=", 1) for line in logs.splitlines() if "=" in line and " " not in line.split("=")[0])
    return {
        "token": lines["TOKEN"], "logs": logs, "audience": audience, "task_arn": task_arn, "task_id": task_id,
        "task_role_arn": task_role_arn, "reader_arn": reader_arn, "family": family, "whoami": lines["WHOAMI"],
        "readonly": lines["READONLY"],
    }


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def parts(token):
    return token.split(".")


def claims_of(token):
    p = parts(token)[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


# --- tests ------------------------------------------------------------------------------------------------------

def test_discovery_document_and_jwks(srv, issuer):
    r = requests.get(f"{srv.endpoint}/.well-known/openid-configuration", timeout=10)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    doc = r.json()
    assert doc["issuer"] == issuer and not issuer.endswith("/")
    assert doc["jwks_uri"] == f"{issuer}/.well-known/jwks.json"
    assert doc["response_types_supported"] == ["id_token"]
    assert doc["subject_types_supported"] == ["public"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    for claim in ("iss", "sub", "aud", "exp", "iat", "https://berth.dev/ecs"):
        assert claim in doc["claims_supported"]
    jwks = requests.get(doc["jwks_uri"], timeout=10).json()
    assert jwks["keys"], jwks
    for key in jwks["keys"]:
        assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")
        assert key["kid"] and key["n"] and key["e"] == "AQAB"
        assert "d" not in key and "p" not in key, "no private material"
        # 2048-bit modulus.
        assert len(base64.urlsafe_b64decode(key["n"] + "==")) == 256


def test_a_task_s_token_verifies_with_pyjwt_against_the_jwks(task_token, issuer):
    t = task_token
    assert t["whoami"] == "1000", "the container ran as a non-root user and still read the token"
    assert t["readonly"] == "yes", "the token directory is mounted read-only"
    assert f"FILE=/var/run/secrets/berth/web-identity/token ROLE={t['reader_arn']} SESSION={t['task_id']}" in t["logs"]
    jwks = jwt.PyJWKClient(f"{issuer}/.well-known/jwks.json")
    key = jwks.get_signing_key_from_jwt(t["token"])
    claims = jwt.decode(t["token"], key.key, algorithms=["RS256"], audience=t["audience"], issuer=issuer,
                        options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]})
    assert claims["sub"] == t["task_role_arn"]
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["https://berth.dev/ecs"]["task"] == t["task_arn"]
    assert claims["https://berth.dev/ecs"]["family"] == t["family"]
    assert claims["https://berth.dev/ecs"]["cluster"].endswith(":cluster/default")
    assert jwt.get_unverified_header(t["token"])["alg"] == "RS256"
    # Another audience, another issuer, another key: PyJWT refuses too.
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(t["token"], key.key, algorithms=["RS256"], audience="elsewhere", issuer=issuer)
    with pytest.raises(jwt.InvalidIssuerError):
        jwt.decode(t["token"], key.key, algorithms=["RS256"], audience=t["audience"], issuer="https://x.example")


def test_the_token_directory_goes_when_the_task_stops(srv, task_token):
    wait_until("the task's token directory deleted",
               lambda: not (srv.data_dir / "tasks" / task_token["task_id"]).exists(), timeout=20)


def test_assume_role_with_web_identity_allowed_and_denied(srv, iam, provider, sts_anonymous, task_token):
    t = task_token
    out = sts_anonymous.assume_role_with_web_identity(RoleArn=t["reader_arn"], RoleSessionName="job-1",
                                                      WebIdentityToken=t["token"], DurationSeconds=900)
    assert out["SubjectFromWebIdentityToken"] == t["task_role_arn"]
    assert out["Audience"] == t["audience"]
    assert out["Provider"] == srv.endpoint
    reader = t["reader_arn"].rsplit("/", 1)[1]
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{reader}/job-1"
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    session = dict(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                   aws_session_token=creds["SessionToken"])
    who = boto3.client("sts", endpoint_url=srv.endpoint, region_name=REGION, **session).get_caller_identity()
    assert who["Arn"] == out["AssumedRoleUser"]["Arn"]
    # The role's permissions, and only those.
    ecs = boto3.client("ecs", endpoint_url=srv.endpoint, region_name=REGION,
                       config=Config(retries={"total_max_attempts": 1}), **session)
    ecs.list_clusters()
    with pytest.raises(ClientError) as e:
        ecs.create_cluster(clusterName=uniq("nope"))
    assert error_of(e)[0] == "AccessDeniedException"

    # Conditions that do not hold: another audience, another subject.
    for aud, sub in [("other-audience", t["task_role_arn"]), (t["audience"], f"arn:aws:iam::{ACCOUNT}:role/other")]:
        name = uniq("oidc-picky")
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(provider, aud, sub))
        with pytest.raises(ClientError) as e:
            sts_anonymous.assume_role_with_web_identity(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{name}",
                                                        RoleSessionName="job-1", WebIdentityToken=t["token"])
        code, message, status = error_of(e)
        assert (code, status) == ("AccessDenied", 403)
        assert message == "Not authorized to perform sts:AssumeRoleWithWebIdentity"


def issuer_private_key(srv, kid):
    """The issuer's private key `kid`, from the server's store, opened with its secrets key (white box)."""
    db = sqlite3.connect(f"file:{srv.data_dir / 'berth.db'}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT value FROM kv WHERE name = ? AND deleted = 0 ORDER BY revision DESC LIMIT 1",
                         (b"oidc/keyring",)).fetchone()
    finally:
        db.close()
    ring = json.loads(bytes(row[0]))
    key = next(k for k in ring["keys"] if k["kid"] == kid)
    sealed = base64.b64decode(key["private"])
    assert sealed[0] == 1, "sealing format 1: AES-256-GCM, 12-byte nonce"
    secret = bytes.fromhex((srv.data_dir / "secrets.key").read_text().strip())
    pkcs8 = AESGCM(secret).decrypt(sealed[1:13], sealed[13:], f"oidc-signing-key:{kid}".encode())
    return load_der_private_key(pkcs8, password=None)


def test_tampered_foreign_and_expired_tokens_are_refused(srv, sts_anonymous, task_token):
    t = task_token
    h, p, s = parts(t["token"])

    def refused(token):
        with pytest.raises(ClientError) as e:
            sts_anonymous.assume_role_with_web_identity(RoleArn=t["reader_arn"], RoleSessionName="job-1",
                                                        WebIdentityToken=token)
        return error_of(e)

    forged = dict(claims_of(t["token"]), sub=f"arn:aws:iam::{ACCOUNT}:role/admin")
    cases = {
        "payload": f"{h}.{b64(json.dumps(forged).encode())}.{s}",
        "signature": f"{h}.{p}.{s[:-6]}{'AAAAAA' if not s.endswith('AAAAAA') else 'BBBBBB'}",
        "alg none": f"{b64(json.dumps({'alg': 'none', 'typ': 'JWT'}).encode())}.{p}.",
        "HS256": jwt.encode(claims_of(t["token"]), "an-hmac-secret-of-thirty-two-bytes", algorithm="HS256",
                            headers={"kid": jwt.get_unverified_header(t["token"])["kid"]}),
        "not a jwt": "not-a-token",
    }
    for what, token in cases.items():
        code, message, status = refused(token)
        assert (code, status) == ("InvalidIdentityToken", 400), f"{what}: {code} {message}"

    foreign = dict(claims_of(t["token"]), iss="https://token.actions.githubusercontent.com")
    code, message, _ = refused(f"{h}.{b64(json.dumps(foreign).encode())}.{s}")
    assert code == "InvalidIdentityToken"
    assert "No OpenIDConnect provider found in your account for https://token.actions.githubusercontent.com" in message

    # Signed with the issuer's own key, but two hours old.
    kid = jwt.get_unverified_header(t["token"])["kid"]
    now = int(time.time())
    old = dict(claims_of(t["token"]), iat=now - 7200, nbf=now - 7200, exp=now - 3600)
    expired = jwt.encode(old, issuer_private_key(srv, kid), algorithm="RS256", headers={"kid": kid})
    code, message, status = refused(expired)
    assert (code, status) == ("ExpiredTokenException", 400), message
    # The same forgery, not expired, passes: the key really is the issuer's (the expiry alone was refused).
    fresh = dict(claims_of(t["token"]), iat=now, nbf=now, exp=now + 600)
    ok = jwt.encode(fresh, issuer_private_key(srv, kid), algorithm="RS256", headers={"kid": kid})
    sts_anonymous.assume_role_with_web_identity(RoleArn=t["reader_arn"], RoleSessionName="job-2",
                                                WebIdentityToken=ok)
    # Nothing of this broke the server.
    srv.client().list_clusters(maxResults=1)
