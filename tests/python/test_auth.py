"""Signature V4 checks, the admin credentials file, and `--auth none`."""

import datetime
import os
import stat
from unittest import mock

import botocore.auth
import pytest
import requests
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import REGION, error_of, uniq

pytestmark = pytest.mark.berth_only


def shifted_clock(minutes):
    real = botocore.auth.get_current_datetime

    def now(*a, **kw):
        return real(*a, **kw) + datetime.timedelta(minutes=minutes)
    return mock.patch.object(botocore.auth, "get_current_datetime", now)


def doc(resp):
    d = resp.json()
    return resp.status_code, d.get("__type", "").split("#")[-1].split(":")[0], d.get("message", d.get("Message", ""))


def test_credentials_file(berth):
    st = os.stat(berth.credentials_file)
    assert stat.S_IMODE(st.st_mode) == 0o600
    ak, sk = berth.creds
    assert len(ak) >= 16 and ak.isalnum() and ak.isupper(), ak
    assert len(sk) >= 30
    # `berth up` tells the user the endpoint and where the credentials went
    out = berth.stdout() + berth.stderr()
    assert str(berth.credentials_file) in out or os.path.realpath(berth.credentials_file) in out, out
    assert f"127.0.0.1:{berth.port}" in out, out


def test_missing_signature(berth, ecs):
    r = berth.raw("ListClusters", {}, sign=False)
    assert doc(r)[:2] == (403, "MissingAuthenticationTokenException"), r.text
    assert r.headers.get("x-amzn-RequestId")
    # an Authorization header without the AWS4 scheme is no signature either
    r = berth.raw("ListClusters", {}, sign=False, headers={"Authorization": "Bearer abc"})
    assert doc(r)[0] == 403 and doc(r)[1] in ("MissingAuthenticationTokenException", "IncompleteSignatureException",
                                              "InvalidSignatureException"), r.text
    ecs.list_clusters()


def test_unknown_access_key(berth):
    c = berth.client(creds=("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"))
    code, msg, status = error_of(pytest.raises(Exception, c.list_clusters).value)
    assert (code, status) == ("UnrecognizedClientException", 403)


def test_wrong_secret(berth):
    ak, _ = berth.creds
    c = berth.client(creds=(ak, "not-the-secret-not-the-secret-not-the"))
    code, msg, status = error_of(pytest.raises(Exception, c.list_clusters).value)
    assert (code, status) == ("InvalidSignatureException", 403)


def test_tampering_after_signing(berth, ecs):
    name = uniq("tamper")
    r = berth.raw("CreateCluster", {"clusterName": name})
    assert r.status_code == 200
    ecs.delete_cluster(cluster=name)

    body = b'{"clusterName": "%s"}' % name.encode()
    req = AWSRequest(method="POST", url=berth.endpoint + "/", data=body,
                     headers={"Content-Type": "application/x-amz-json-1.1",
                              "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.CreateCluster"})
    botocore.auth.SigV4Auth(Credentials(*berth.creds), "ecs", REGION).add_auth(req)
    headers = dict(req.prepare().headers)
    # body changed
    r = requests.post(berth.endpoint + "/", data=body.replace(b"tamper", b"tampex"), headers=headers)
    assert doc(r)[:2] == (403, "InvalidSignatureException"), r.text
    # signed header changed
    r = requests.post(berth.endpoint + "/", data=body,
                      headers=dict(headers, **{"X-Amz-Target": "AmazonEC2ContainerServiceV20141113.DeleteCluster"}))
    assert doc(r)[:2] == (403, "InvalidSignatureException"), r.text
    # signature mangled
    auth = headers["Authorization"]
    r = requests.post(berth.endpoint + "/", data=body, headers=dict(headers, Authorization=auth[:-4] + "0000"))
    assert doc(r)[:2] == (403, "InvalidSignatureException"), r.text
    names = [a.rsplit("/", 1)[1] for a in ecs.list_clusters(maxResults=100)["clusterArns"]]
    assert name not in names and name.replace("tamper", "tampex") not in names


def test_unsigned_extra_headers_are_ignored(berth, ecs):
    """Only the request's SignedHeaders are canonicalised: headers added by proxies do not break it."""
    def add(h):
        h["X-Forwarded-For"] = "10.1.2.3"
        h["User-Agent"] = "something-else/1.0"
    r = berth.raw("ListClusters", {}, mutate=add)
    assert r.status_code == 200, r.text


def test_clock_skew(berth):
    ecs = berth.client()
    for minutes in (-10, 10):  # within 15 minutes: accepted
        with shifted_clock(minutes):
            ecs.list_clusters()
    for minutes in (-20, 20):
        with shifted_clock(minutes):
            code, msg, status = error_of(pytest.raises(Exception, ecs.list_clusters).value)
        assert status == 403
        assert code in ("InvalidSignatureException", "SignatureDoesNotMatch"), (minutes, code, msg)
    with shifted_clock(-20):
        r = berth.raw("ListClusters", {})
    status, code, msg = doc(r)
    assert (status, code) == (403, "InvalidSignatureException")
    assert "expired" in msg.lower(), msg


def test_other_signing_identities(berth):
    # a signature scoped to another service does not verify
    req = AWSRequest(method="POST", url=berth.endpoint + "/", data=b"{}",
                     headers={"Content-Type": "application/x-amz-json-1.1",
                              "X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListClusters"})
    botocore.auth.SigV4Auth(Credentials(*berth.creds), "s3", REGION).add_auth(req)
    r = requests.post(berth.endpoint + "/", data=b"{}", headers=dict(req.prepare().headers))
    assert r.status_code == 403, r.text


def test_signature_scoped_to_another_region(berth):
    """The server's --region is part of the credential scope it verifies."""
    r = berth.raw("ListClusters", {}, region="eu-west-1")
    assert doc(r)[:2] == (403, "InvalidSignatureException"), r.text


def test_healthz_is_unsigned(berth):
    r = requests.get(berth.endpoint + "/healthz")
    assert r.status_code == 200 and r.text.strip() == "ok"


def test_auth_none(server_factory):
    srv = server_factory(extra_args=["--auth", "none", "--no-agent"])
    r = srv.raw("CreateCluster", {"clusterName": "open"}, sign=False)
    assert r.status_code == 200, r.text
    assert r.json()["cluster"]["clusterName"] == "open"
    # any credentials at all work too
    c = srv.client(creds=("AKIAANYTHING0000000", "whatever"))
    assert [a.rsplit("/", 1)[1] for a in c.list_clusters()["clusterArns"]] == ["open"]
    err = srv.stderr().lower()
    assert "warn" in err and "auth" in err, srv.logs()
    assert srv.stop() == 0
