"""Secrets in tasks end to end: a container definition's `secrets` (Secrets Manager secrets, whole or one JSON key,
and SSM parameters) become environment variables of real containers on `berth up`'s own agent, read at task start
with the task's execution role, as on ECS.

The user's story with the aws CLI: a secret `hf-token` ({"token": ...}) and a SecureString parameter `/ml/db-url`,
a role trusting ecs-tasks.amazonaws.com that may read exactly those two, a task definition naming it as
`executionRoleArn`; the container's awslogs stream shows the values, while `docker inspect`, DescribeTasks and the
server's own log output (at debug level) show neither the values nor (inspect) the variables' names.

Also: a secret or parameter the role may not read, one that does not exist, a JSON key the secret lacks, malformed
registry credentials and secret options on awslogs all stop the task with ECS's `ResourceInitializationError`
before any container is created (secrets without an execution role are refused at registration, as ECS does); a container running as a non-root user keeps its
own entry point, command, arguments and working directory and still sees its secrets; the secret files on the host
are private, read-only in the container and gone when the task stops; a new value reaches new tasks, not a running
one (and a version stage pins the old one).

One dedicated HTTPS server (Berth's default transport, so the agent reads the secrets over TLS) logging at debug
level; every container runs the test image (a static busybox) with stopTimeout 2.
"""

import json
import os
import stat
import subprocess
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION, uniq
from test_logs import awslogs, read_stream, wait_local_agent
from test_task_roles import TRUST_ECS_TASKS, TRUST_SOMEONE_ELSE, make_role
from test_tasks import (SLEEPER, container, containers_with, docker, register, stop_all, test_image,  # noqa: F401
                        wait_status, wait_until)

pytestmark = pytest.mark.berth_only

PREFIX = ("ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval "
          "failed: ")
SHIM = "/run/berth/shim"
SECRETS_DIR = "/run/berth/secrets"


# --- fixtures and helpers ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def srv(server_factory, test_image):
    """A dedicated `berth up` serving HTTPS with its own CA, logging Berth's debug events; its agent connected."""
    s = server_factory(tls=True, env={"BERTH_LOG": "berth=debug,info"})
    wait_local_agent(s)
    return s


@pytest.fixture(scope="module")
def ecs(srv):
    return srv.client()


@pytest.fixture()
def started(ecs):
    """Tasks the test started; stopped afterwards (not waited for)."""
    arns = []
    yield arns
    stop_all(ecs, arns)


def statement(action, *resources):
    return {"Effect": "Allow", "Action": action, "Resource": list(resources)}


def execution_role(srv, *statements):
    """A role trusting ecs-tasks.amazonaws.com with an inline policy of `statements`; its ARN."""
    policy = {"Version": "2012-10-17", "Statement": list(statements)} if statements else None
    return make_role(srv.client("iam"), policy=policy)[1]


def create_secret(srv, value, prefix="secret"):
    """A Secrets Manager secret holding `value` (a string); its ARN."""
    return srv.client("secretsmanager").create_secret(Name=uniq(prefix), SecretString=value)["ARN"]


def put_parameter(srv, value, leaf="p"):
    """A SecureString parameter holding `value`; its name."""
    name = f"/{uniq('ml')}/{leaf}"
    srv.client("ssm").put_parameter(Name=name, Value=value, Type="SecureString")
    return name


def param_arn(name):
    return f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{name}"


def secrets(**value_from):
    return [{"name": k, "valueFrom": v} for k, v in value_from.items()]


def run_task(ecs, family, **kw):
    out = ecs.run_task(taskDefinition=family, **kw)
    assert out["failures"] == [], out["failures"]
    return out["tasks"][0]["taskArn"]


def task_id(arn):
    return arn.rsplit("/", 1)[1]


def secrets_dir(srv, arn):
    """Where the agent keeps a task's secret files on the host."""
    return srv.data_dir / "tasks" / task_id(arn) / "secrets"


def runtime_id(task, name):
    ids = [c.get("runtimeId") for c in task["containers"] if c["name"] == name]
    assert ids and ids[0], f"container {name} has no runtime id: {task['containers']}"
    return ids[0]


def output(task, name):
    """What container `name` of a task printed (docker logs), as lines."""
    return docker("logs", runtime_id(task, name)).splitlines()


def exit_code(task, name):
    return next(c.get("exitCode") for c in task["containers"] if c["name"] == name)


def inspect(container_id):
    [doc] = json.loads(docker("inspect", container_id))
    return doc


def env_file(values):
    """The NUL-separated env file the agent writes for `values` ({name: value})."""
    return b"".join(f"{k}={v}".encode() + b"\0" for k, v in values.items())


def environ_of(container_id, pid=1):
    """The environment of a process in a running container, as a dict."""
    raw = docker("exec", container_id, "cat", f"/proc/{pid}/environ")
    return dict(e.split("=", 1) for e in raw.split("\0") if "=" in e)


def server_output(srv):
    """Everything the server process printed, over all its starts."""
    return "\n".join(p.read_text(errors="replace") for p in sorted(srv.workdir.glob("std*.log")))


def assert_not_revealed(srv, ecs, arns, *values):
    """None of `values` in DescribeTasks of `arns` nor in anything the server process printed."""
    described = json.dumps(ecs.describe_tasks(tasks=list(arns), include=["TAGS"]), default=str)
    logs = server_output(srv)
    for v in values:
        assert v not in described, "a secret value in DescribeTasks"
        assert v not in logs, "a secret value in the server's log output"


def assert_failed_to_start(srv, task, *fragments, hidden=()):
    """The task stopped before any container: ECS's stop code and reason (with `fragments`, without `hidden`), no
    Docker container, no secret files on the host."""
    assert task["lastStatus"] == "STOPPED", task
    assert task["stopCode"] == "TaskFailedToStart", task
    reason = task["stoppedReason"]
    assert reason.startswith(PREFIX), reason
    for f in fragments:
        assert f in reason, f"{f!r} not in {reason!r}"
    for h in hidden:
        assert h not in reason, f"the stop reason reveals a value: {reason!r}"
    assert all(not c.get("runtimeId") for c in task["containers"]), task["containers"]
    assert containers_with("berth.task-arn", task["taskArn"], all_states=True) == []
    assert not secrets_dir(srv, task["taskArn"]).exists()
    return reason


@pytest.fixture(scope="module")
def story(srv, tmp_path_factory):
    """The issue's setup, with the aws CLI: the secret hf-token, the parameter /ml/db-url (unique names here) and
    the execution role `exec` allowed to read exactly those two."""
    tmp = tmp_path_factory.mktemp("story")
    token = f"hf_{uuid.uuid4().hex}"
    db_url = f"postgres://ml:{uuid.uuid4().hex}@db.internal:5432/ml?sslmode=require"
    hf_json = json.dumps({"token": token})
    _, out, _ = srv.cli("secretsmanager", "create-secret", "--name", uniq("hf-token"), "--secret-string", hf_json)
    secret_arn = out["ARN"]
    param = f"/{uniq('ml')}/db-url"
    srv.cli("ssm", "put-parameter", "--name", param, "--type", "SecureString", "--value", db_url)

    role = uniq("exec")
    (tmp / "trust.json").write_text(json.dumps(TRUST_ECS_TASKS))
    (tmp / "policy.json").write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        statement("secretsmanager:GetSecretValue", secret_arn),
        statement("ssm:GetParameters", param_arn(param))]}))
    _, out, _ = srv.cli("iam", "create-role", "--role-name", role,
                        "--assume-role-policy-document", f"file://{tmp / 'trust.json'}")
    role_arn = out["Role"]["Arn"]
    srv.cli("iam", "put-role-policy", "--role-name", role, "--policy-name", "read-ml-secrets",
            "--policy-document", f"file://{tmp / 'policy.json'}")
    return {"token": token, "db_url": db_url, "hf_json": hf_json, "secret_arn": secret_arn, "param": param,
            "role_arn": role_arn, "tmp": tmp}


# --- 1. the user's story ----------------------------------------------------------------------------------------

def test_secrets_reach_the_container_and_nothing_else(srv, ecs, story):
    s = story
    family = uniq("hf-train")
    group = f"/ecs/{family}"
    # `env` prints the environment: the command itself names no secret, so inspect must show no name at all.
    td = {"family": family, "executionRoleArn": s["role_arn"], "containerDefinitions": [
        container("train", command=["env"], secrets=secrets(HF_TOKEN=f"{s['secret_arn']}:token::",
                                                            DB_URL=s["param"], HF_JSON=s["secret_arn"]),
                  environment=[{"name": "PLAIN", "value": "not-a-secret"}],
                  logConfiguration=awslogs(group, "ecs"))]}
    path = s["tmp"] / f"{family}.json"
    path.write_text(json.dumps(td))
    _, out, _ = srv.cli("ecs", "register-task-definition", "--cli-input-json", f"file://{path}")
    assert [x["valueFrom"] for x in out["taskDefinition"]["containerDefinitions"][0]["secrets"]] == [
        f"{s['secret_arn']}:token::", s["param"], s["secret_arn"]]
    _, out, _ = srv.cli("ecs", "run-task", "--task-definition", family)
    assert out["failures"] == [], out
    arn = out["tasks"][0]["taskArn"]
    task = wait_status(ecs, [arn], "STOPPED")[0]
    assert exit_code(task, "train") == 0, task

    # The values, exactly, in the container's awslogs stream.
    stream = f"ecs/train/{task_id(arn)}"
    logs = srv.client("logs")

    def shipped():
        lines = [e["message"].rstrip("\n") for e in read_stream(logs, stream, group)]
        return lines if any(x.startswith("HF_TOKEN=") for x in lines) else None

    lines = wait_until("the container's output shipped", shipped)
    _, out, _ = srv.cli("logs", "get-log-events", "--log-group-name", group, "--log-stream-name", stream,
                        "--start-from-head")
    cli_lines = [e["message"].rstrip("\n") for e in out["events"]]
    for seen in (lines, cli_lines):
        assert f"HF_TOKEN={s['token']}" in seen, seen
        assert f"DB_URL={s['db_url']}" in seen, seen
        assert f"HF_JSON={s['hf_json']}" in seen, seen
        assert "PLAIN=not-a-secret" in seen, seen

    # docker inspect: neither values nor names anywhere; the container starts through the shim, whose file and
    # directory are mounted read-only.
    doc = inspect(runtime_id(task, "train"))
    everything = json.dumps(doc)
    for hidden in (s["token"], s["db_url"], "HF_TOKEN", "DB_URL", "HF_JSON"):
        assert hidden not in everything, f"{hidden!r} in docker inspect"
    assert "PLAIN=not-a-secret" in doc["Config"]["Env"], "plain environment stays where ECS puts it"
    assert doc["Config"]["Entrypoint"] == [SHIM, f"{SECRETS_DIR}/env"], doc["Config"]
    assert doc["Config"]["Cmd"] == ["env"], doc["Config"]
    mounts = {m["Destination"]: m for m in doc["Mounts"]}
    assert mounts[SHIM]["RW"] is False and mounts[SECRETS_DIR]["RW"] is False, mounts

    # Not in DescribeTasks (boto3 or the CLI), nor the server's output; the files are gone with the task.
    assert_not_revealed(srv, ecs, [arn], s["token"], s["db_url"])
    _, out, _ = srv.cli("ecs", "describe-tasks", "--tasks", arn)
    assert s["token"] not in json.dumps(out) and s["db_url"] not in json.dumps(out)
    assert "DEBUG" in server_output(srv), "the server logs at debug level"
    # Nor on the server's disk, but in the container's own output (the awslogs stream) and the task's files.
    for path in srv.data_dir.rglob("*"):
        if path.is_file() and not {"logs", "tasks"} & set(path.relative_to(srv.data_dir).parts):
            data = path.read_bytes()
            assert s["token"].encode() not in data and s["db_url"].encode() not in data, path
    wait_until("the task's secret files removed", lambda: not secrets_dir(srv, arn).exists())


# --- 2. and 3. what the role may not read, and what does not exist ------------------------------------------------

def test_what_the_execution_role_may_not_read_stops_the_task_before_any_container(srv, ecs, story):
    s = story
    other_value = f"other-{uuid.uuid4().hex}"
    other = create_secret(srv, other_value, "not-for-exec")
    param_value = f"pw-{uuid.uuid4().hex}"
    param = put_parameter(srv, param_value, "not-for-exec")
    # The story's role may read the story's secret and parameter only.
    asm = uniq("denied-asm")
    register(ecs, asm, container("app", command=["env"], secrets=secrets(
        HF_TOKEN=f"{s['secret_arn']}:token::", OTHER=other)), executionRoleArn=s["role_arn"])
    ssm = uniq("denied-ssm")
    register(ecs, ssm, container("app", command=["env"], secrets=secrets(DB_URL=s["param"], PW=param)),
             executionRoleArn=s["role_arn"])
    arns = [run_task(ecs, asm), run_task(ecs, ssm)]
    a, b = wait_status(ecs, arns, "STOPPED")
    hidden = (other_value, param_value, s["token"], s["db_url"])
    reason = assert_failed_to_start(srv, a, "unable to retrieve secret from asm", other, "AccessDeniedException",
                                    "secretsmanager:GetSecretValue", hidden=hidden)
    assert s["secret_arn"] + " " not in reason, "only the secret it may not read is named"
    assert_failed_to_start(srv, b, "unable to retrieve secrets from ssm", "AccessDeniedException",
                           "ssm:GetParameters", param, hidden=hidden)
    assert_not_revealed(srv, ecs, arns, *hidden)


def test_an_execution_role_ecs_cannot_assume_stops_the_task_before_any_container(srv, ecs, story):
    s = story
    iam = srv.client("iam")
    _, untrusting = make_role(iam, trust=TRUST_SOMEONE_ELSE, policy={"Version": "2012-10-17", "Statement": [
        statement("secretsmanager:GetSecretValue", "*")]})
    missing = f"arn:aws:iam::{ACCOUNT}:role/{uniq('no-such-role')}"
    arns = []
    for role in (untrusting, missing):
        family = uniq("exec-unassumable")
        register(ecs, family, container("app", secrets=secrets(HF_TOKEN=f"{s['secret_arn']}:token::")),
                 executionRoleArn=role)
        arns.append(run_task(ecs, family))
    for task, role in zip(wait_status(ecs, arns, "STOPPED"), (untrusting, missing)):
        assert_failed_to_start(srv, task, f"ECS was unable to assume the role '{role}'", hidden=[s["token"]])


def test_missing_secrets_parameters_and_keys_stop_the_task_before_any_container(srv, ecs):
    role = execution_role(srv, statement(["secretsmanager:GetSecretValue", "ssm:GetParameters"], "*"))
    value = f"v-{uuid.uuid4().hex}"
    secret = create_secret(srv, json.dumps({"token": value}), "keyed")
    no_secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{uniq('nothing')}-AbCdEf"
    no_param = f"/{uniq('ml')}/nothing"
    # Registry credentials that are not {"username": ..., "password": ...}.
    bad_auth = create_secret(srv, json.dumps({"user": value}), "registry")
    # A value no environment variable can hold.
    nul = create_secret(srv, f"{value}\0rest", "nul")
    cases = {
        "nul-value": ([container("app", secrets=secrets(WITH_NUL=nul))],
                      ["container app: the value of secret WITH_NUL holds a NUL character"]),
        "missing-secret": ([container("app", secrets=secrets(A=no_secret))],
                           ["unable to retrieve secret from asm", no_secret, "ResourceNotFoundException"]),
        "missing-param": ([container("app", secrets=secrets(A=no_param))],
                          [f"unable to retrieve secrets from ssm: invalid parameters: {no_param}"]),
        "missing-key": ([container("app", secrets=secrets(A=f"{secret}:nope::"))],
                        ["did not contain json key nope"]),
        "registry-auth": ([container("app", repositoryCredentials={"credentialsParameter": bad_auth})],
                          ["asm fetching username: AuthorizationData is malformed, empty field"]),
    }
    arns = {}
    for case, (containers, _) in cases.items():
        family = uniq(case)
        register(ecs, family, *containers, executionRoleArn=role)
        arns[case] = run_task(ecs, family)
    stopped = dict(zip(arns, wait_status(ecs, list(arns.values()), "STOPPED")))
    for case, (_, fragments) in cases.items():
        assert_failed_to_start(srv, stopped[case], *fragments, hidden=[value])
    assert_not_revealed(srv, ecs, list(arns.values()), value)


# --- 4. what is refused before anything is fetched ---------------------------------------------------------------

def test_secrets_without_an_execution_role_are_refused_as_ecs_does(srv, ecs, story):
    s = story
    # ECS refuses the registration itself, with its words, through boto3 and the aws CLI alike.
    family = uniq("no-exec-role")
    app = container("app", command=["sh", "-c", "echo token=$HF_TOKEN"],
                    secrets=secrets(HF_TOKEN=f"{s['secret_arn']}:token::"))
    words = "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'."
    with pytest.raises(ClientError) as e:
        ecs.register_task_definition(family=family, containerDefinitions=[app])
    assert e.value.response["Error"]["Code"] == "ClientException"
    assert e.value.response["Error"]["Message"] == words
    rc, _, err = srv.cli("ecs", "register-task-definition", "--family", family,
                         "--container-definitions", json.dumps([app]), check=False)
    assert rc != 0 and "ClientException" in err and words in err, err
    with pytest.raises(ClientError):
        ecs.describe_task_definition(taskDefinition=family)
    # A definition whose role may read nothing runs with RunTask's override naming one that may.
    register(ecs, family, app, executionRoleArn=execution_role(srv))
    # Other mistakes seen before anything is fetched: secret options on awslogs (Berth keeps awslogs itself) and a
    # malformed Secrets Manager ARN.
    log_opts = uniq("awslogs-secret-options")
    log = awslogs(f"/ecs/{log_opts}", "ecs")
    log["secretOptions"] = secrets(token=s["secret_arn"])
    register(ecs, log_opts, container("app", logConfiguration=log), executionRoleArn=s["role_arn"])
    bad_arn = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{uniq('x')}:token"
    malformed = uniq("malformed-arn")
    register(ecs, malformed, container("app", secrets=secrets(A=bad_arn)), executionRoleArn=s["role_arn"])
    early = [run_task(ecs, log_opts), run_task(ecs, malformed)]
    # The role given at RunTask instead.
    overridden = run_task(ecs, family, overrides={"executionRoleArn": s["role_arn"]})

    b, c = wait_status(ecs, early, "STOPPED")
    assert_failed_to_start(srv, b, "container app has logConfiguration.secretOptions for the awslogs log driver")
    assert_failed_to_start(srv, c, "unable to retrieve secret from asm", bad_arn,
                           "an invalid ARN format for the AWS Secrets Manager secret was specified")
    task = wait_status(ecs, [overridden], "STOPPED")[0]
    assert exit_code(task, "app") == 0, task
    assert f"token={s['token']}" in output(task, "app")


# --- 5. a non-root user, its own entry point, command and arguments ------------------------------------------------

def test_a_non_root_container_keeps_its_command_and_sees_its_secrets(srv, ecs, story):
    s = story
    task_role = execution_role(srv)  # no permissions: only for Berth's CA in the container
    family = uniq("non-root")
    script = ('echo "token=$HF_TOKEN uid=$(id -u) gid=$(id -g) args=$0,$1,$2 pwd=$(pwd) plain=$PLAIN"; '
              'echo "ca=$AWS_CA_BUNDLE $(head -n 1 $AWS_CA_BUNDLE)"; '
              f'cat {SECRETS_DIR}/env > /dev/null && echo readable')
    entry_command = 'echo "db=$DB_URL uid=$(id -u)"'
    register(ecs, family,
             # The definition's entry point and command, a user by name, a read-only root file system.
             container("entry", entryPoint=["sh", "-c"], command=[entry_command], user="nobody", essential=False,
                       readonlyRootFilesystem=True, secrets=secrets(DB_URL=s["param"])),
             # No entry point, no command: the image's (`sh`, which exits at once without input).
             {k: v for k, v in container("defaults", essential=False, secrets=secrets(DB_URL=s["param"])).items()
              if k != "command"},
             # A command with arguments ($0, $1, an empty $2), a numeric user and group, a working directory, under
             # Docker's init.
             container("user", command=["sh", "-c", script, "zero", "one two", ""], user="1000:1000",
                       workingDirectory="/tmp", environment=[{"name": "PLAIN", "value": "kept"}],
                       linuxParameters={"initProcessEnabled": True},
                       secrets=secrets(HF_TOKEN=f"{s['secret_arn']}:token::"),
                       dependsOn=[{"containerName": "entry", "condition": "SUCCESS"},
                                  {"containerName": "defaults", "condition": "SUCCESS"}]),
             executionRoleArn=s["role_arn"], taskRoleArn=task_role)
    arn = run_task(ecs, family)
    task = wait_status(ecs, [arn], "STOPPED")[0]
    assert [exit_code(task, n) for n in ("entry", "defaults", "user")] == [0, 0, 0], task
    assert output(task, "entry") == [f"db={s['db_url']} uid=65534"]
    user = output(task, "user")
    assert user[0] == f"token={s['token']} uid=1000 gid=1000 args=zero,one two, pwd=/tmp plain=kept", user
    assert user[1] == "ca=/etc/berth/ca.pem -----BEGIN CERTIFICATE-----", user
    assert user[2:] == ["readable"], user
    docs = {n: inspect(runtime_id(task, n)) for n in ("entry", "defaults", "user")}
    for name, doc in docs.items():
        assert doc["Config"]["Entrypoint"] == [SHIM, f"{SECRETS_DIR}/env"], (name, doc["Config"])
        assert s["token"] not in json.dumps(doc) and s["db_url"] not in json.dumps(doc)
    assert docs["entry"]["Config"]["Cmd"] == ["sh", "-c", entry_command]
    assert docs["entry"]["Config"]["User"] == "nobody"
    assert docs["defaults"]["Config"]["Cmd"] == ["sh"], "the image's command"
    assert docs["user"]["Config"]["Cmd"] == ["sh", "-c", script, "zero", "one two", ""]
    assert (docs["user"]["Config"]["User"], docs["user"]["Config"]["WorkingDir"]) == ("1000:1000", "/tmp")


# --- 6. the files on the host -------------------------------------------------------------------------------------

def test_secret_files_are_private_read_only_and_gone_when_the_task_stops(srv, ecs, story, started):
    s = story
    # A value with newlines, quotes, `=`, `$` and non-ASCII text, whole; the parameter by its ARN.
    odd = f"line one\nline two = 'single' \"double\" $HOME \\ ü € {uuid.uuid4().hex}"
    odd_secret = create_secret(srv, odd, "odd")
    role = execution_role(srv, statement("secretsmanager:GetSecretValue", s["secret_arn"], odd_secret),
                          statement("ssm:GetParameters", param_arn(s["param"])))
    family = uniq("files")
    # Its health check sees the secrets too, as on ECS (where they are in the container's environment).
    health = {"command": ["CMD-SHELL", 'test -n "$HF_TOKEN" && test -n "$ODD"'], "interval": 5, "timeout": 2,
              "retries": 1}
    register(ecs, family, container("app", secrets=secrets(HF_TOKEN=f"{s['secret_arn']}:token::",
                                                           DB_URL=param_arn(s["param"]), ODD=odd_secret),
                                    healthCheck=health), executionRoleArn=role)
    arn = run_task(ecs, family)
    started.append(arn)
    task = wait_status(ecs, [arn], "RUNNING")[0]
    cid = runtime_id(task, "app")
    top = secrets_dir(srv, arn)
    env = top / "app" / "env"
    expected = {"HF_TOKEN": s["token"], "DB_URL": s["db_url"], "ODD": odd}
    assert env.read_bytes() == env_file(expected)
    assert stat.S_IMODE(os.stat(top).st_mode) == 0o700, oct(os.stat(top).st_mode)
    assert stat.S_IMODE(os.stat(env).st_mode) == 0o444, oct(os.stat(env).st_mode)
    # Inside: the command's environment has them exactly; the file cannot be changed.
    assert {k: v for k, v in environ_of(cid).items() if k in expected} == expected
    p = subprocess.run(["docker", "exec", cid, "sh", "-c", f"echo x > {SECRETS_DIR}/env"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode != 0 and "Read-only file system" in p.stderr, p
    assert env.read_bytes() == env_file(expected), "read-only inside"
    # The task metadata endpoint, as the container sees it, has neither values nor names.
    for path in ("", "/task"):
        seen = docker("exec", cid, "sh", "-c", f'wget -q -O- "$ECS_CONTAINER_METADATA_URI_V4{path}"')
        assert json.loads(seen) and not any(v in seen for v in [*expected.values(), *expected]), seen

    # The agent restarts (with the server): the container and its files stay, and still go with the task.
    srv.restart()
    wait_local_agent(srv)
    assert wait_status(ecs, [arn], "RUNNING")[0]["containers"][0]["runtimeId"] == cid
    assert env.read_bytes() == env_file(expected)
    assert {k: v for k, v in environ_of(cid).items() if k in expected} == expected

    health = wait_until("a health status", lambda: ecs.describe_tasks(tasks=[arn])["tasks"][0]["containers"][0].get(
        "healthStatus") not in (None, "UNKNOWN") and ecs.describe_tasks(tasks=[arn])["tasks"][0], timeout=30)
    assert health["containers"][0]["healthStatus"] == "HEALTHY", (health["containers"][0],
                                                                 inspect(cid)["State"].get("Health"))

    ecs.stop_task(task=arn, reason="done")
    task = wait_status(ecs, [arn], "STOPPED")[0]
    assert task["stopCode"] == "UserInitiated" and exit_code(task, "app") == 0, task
    wait_until("the task's secret files removed", lambda: not top.exists())
    assert not (srv.data_dir / "tasks" / task_id(arn)).exists(), "nothing else of the task is left"
    assert_not_revealed(srv, ecs, [arn], s["token"], s["db_url"], odd)


# --- 7. rotation ---------------------------------------------------------------------------------------------------

def test_a_new_value_reaches_new_tasks_not_a_running_one(srv, ecs, started):
    old, new = f"old-{uuid.uuid4().hex}", f"new-{uuid.uuid4().hex}"
    old_url, new_url = f"postgres://a:{uuid.uuid4().hex}@db/ml", f"postgres://b:{uuid.uuid4().hex}@db/ml"
    secret = create_secret(srv, json.dumps({"token": old}), "rotated")
    param = put_parameter(srv, old_url, "db-url")
    role = execution_role(srv, statement("secretsmanager:GetSecretValue", secret),
                          statement("ssm:GetParameters", param_arn(param)))
    family = uniq("rotation")
    register(ecs, family, container("app", command=["sh", "-c", 'echo "token=$HF_TOKEN db=$DB_URL"; ' + SLEEPER[2]],
                                    secrets=secrets(HF_TOKEN=f"{secret}:token::", DB_URL=param)),
             executionRoleArn=role)
    running = run_task(ecs, family)
    started.append(running)
    before = wait_status(ecs, [running], "RUNNING")[0]

    srv.client("secretsmanager").put_secret_value(SecretId=secret, SecretString=json.dumps({"token": new}))
    srv.client("ssm").put_parameter(Name=param, Value=new_url, Type="SecureString", Overwrite=True)
    # A new task gets the new values; one that names the previous stage and version 1 of the parameter gets the
    # old ones.
    pinned = uniq("rotation-pinned")
    register(ecs, pinned, container("app", command=["sh", "-c", 'echo "token=$HF_TOKEN db=$DB_URL"'],
                                    secrets=secrets(HF_TOKEN=f"{secret}:token:AWSPREVIOUS:", DB_URL=f"{param}:1")),
             executionRoleArn=role)
    fresh = run_task(ecs, family, overrides={"containerOverrides": [
        {"name": "app", "command": ["sh", "-c", 'echo "token=$HF_TOKEN db=$DB_URL"']}]})
    previous = run_task(ecs, pinned)
    fresh_task, previous_task = wait_status(ecs, [fresh, previous], "STOPPED")
    assert output(fresh_task, "app") == [f"token={new} db={new_url}"], fresh_task
    assert output(previous_task, "app") == [f"token={old} db={old_url}"], previous_task

    # The running task still has the values it started with, in its process and in its file.
    cid = runtime_id(before, "app")
    assert output(before, "app") == [f"token={old} db={old_url}"]
    seen = environ_of(cid)
    assert (seen.get("HF_TOKEN"), seen.get("DB_URL")) == (old, old_url), "the running task keeps its values"
    assert (secrets_dir(srv, running) / "app" / "env").read_bytes() == env_file({"HF_TOKEN": old,
                                                                                 "DB_URL": old_url})
    assert_not_revealed(srv, ecs, [running, fresh, previous], old, new, old_url, new_url)
