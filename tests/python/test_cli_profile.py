"""`berth up` without --no-aws-profile writes an aws profile that works with no --endpoint-url."""

import configparser
import subprocess
import sys

import pytest

from conftest import REGION, clean_env

pytestmark = pytest.mark.berth_only


def aws(env, *args):
    p = subprocess.run([sys.executable, "-m", "awscli", *args], env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_profile_written_and_usable(server_factory, tmp_path):
    config = tmp_path / "aws-config"
    config.write_text("[default]\nregion = eu-west-1\n\n[profile other]\nregion = ap-south-1\noutput = text\n")
    srv = server_factory(no_aws_profile=False, start=False, env={"AWS_CONFIG_FILE": str(config)})
    srv.start()

    cp = configparser.ConfigParser()  # raises on duplicate sections
    cp.read(config)
    assert cp["profile berth"]["region"] == REGION
    assert cp["profile berth"]["endpoint_url"].rstrip("/") == srv.endpoint
    # the user's other profiles are untouched
    assert cp["profile other"]["region"] == "ap-south-1" and cp["profile other"]["output"] == "text"
    assert cp["default"]["region"] == "eu-west-1"
    # HOME's ~/.aws/config is not written when AWS_CONFIG_FILE points elsewhere
    assert not (srv.home / ".aws" / "config").exists()

    env = clean_env(HOME=str(srv.home), AWS_SHARED_CREDENTIALS_FILE=str(srv.credentials_file),
                    AWS_CONFIG_FILE=str(config))
    aws(env, "--profile", "berth", "ecs", "create-cluster", "--cluster-name", "ml", "--output", "json")
    out = aws(env, "--profile", "berth", "ecs", "list-clusters", "--output", "json")
    assert f"arn:aws:ecs:{REGION}:123456789012:cluster/ml" in out

    # a restart rewrites the profile in place (no duplicate section) and it still works
    srv.restart()
    cp = configparser.ConfigParser()
    cp.read(config)
    assert cp["profile berth"]["endpoint_url"].rstrip("/") == srv.endpoint
    assert cp["profile other"]["region"] == "ap-south-1"
    assert "ml" in aws(env, "--profile", "berth", "ecs", "list-clusters", "--output", "text")


def test_profile_goes_to_home_by_default(server_factory):
    srv = server_factory(no_aws_profile=False, start=False)
    srv.env.pop("AWS_CONFIG_FILE")
    srv.start()
    cfg = srv.home / ".aws" / "config"
    cp = configparser.ConfigParser()
    assert cp.read(cfg), f"{cfg} not written"
    assert cp["profile berth"]["endpoint_url"].rstrip("/") == srv.endpoint

