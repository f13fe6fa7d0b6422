"""IAM policies enforced on every ECS, CloudWatch Logs, IAM and STS call, against one `berth up --no-agent`.

The account root (the server's credentials file) may do everything; IAM users may do what their identity-based
policies (inline and managed, their own and their groups') allow: an explicit Deny wins, then an Allow, else the
request is implicitly denied. Refusals are AWS's: `AccessDeniedException`, HTTP 400, for the JSON APIs (ECS, Logs);
`AccessDenied`, HTTP 403, for the Query APIs (IAM, STS); the message is "User: <arn> is not authorized to perform:
<action> on resource: <resource> because no identity-based policy allows the <action> action" (or "... with an
explicit deny in an identity-based policy"). sts:GetCallerIdentity needs no permission.

Covered: a user with no policies; RunTask allowed only for one cluster (Resource and an `ecs:cluster` ArnEquals
condition; the cluster has no instances, so an allowed RunTask fails placement, not authorization); `Describe*` /
`List*` wildcards and case-insensitive actions; NotAction; an explicit Deny beating a group's Allow; a managed policy
reaching a group's members and going away when detached or when a member leaves; switching a managed policy's
default version; `${aws:username}` in Resource (log groups, and the users' own access keys); aws:RequestTag and
aws:TagKeys on CreateCluster; aws:ResourceTag on clusters; Null; StringLikeIfExists; aws:SourceIp; denied mutations
changing nothing; Logs enforcement; access key last-used; inactive and deleted keys; the error documents on the
wire.

BERTH_E2E_TARGET=moto: moto enforces policies only once authentication is switched on (POST
/moto-api/reset-auth 0), and has no account root, so there the "root" is an IAM user with Allow *:* made before.
moto matches actions but not resources or conditions, and words its refusals differently: those checks are
berth_only or guarded by `BERTH`.
"""

import datetime
import json
import re
from functools import cached_property

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import ACCOUNT, REGION, TARGET, all_clusters, cluster_arn, error_of, simple_td, td_arn, uniq
from test_iam import BERTH, allow, deny, doc, query, user_arn, xml_error

INVALID_TOKEN = "The security token included in the request is invalid."


# --- principals ---------------------------------------------------------------------------------------------------

class Principal:
    """A set of credentials and the clients that sign with them."""

    def __init__(self, srv, name, creds, arn):
        self.srv, self.name, self.creds, self.arn = srv, name, creds, arn

    def client(self, service):
        return self.srv.client(service, creds=self.creds)

    @cached_property
    def ecs(self):
        return self.client("ecs")

    @cached_property
    def logs(self):
        return self.client("logs")

    @cached_property
    def iam(self):
        return self.client("iam")

    @cached_property
    def sts(self):
        return self.client("sts")


@pytest.fixture(scope="module")
def root(server_factory):
    """This module's server and its all-powerful principal."""
    if TARGET == "moto":
        srv = server_factory()
        boot = srv.client("iam")
        boot.create_user(UserName="berth-root")
        boot.put_user_policy(UserName="berth-root", PolicyName="all", PolicyDocument=doc(allow("*")))
        key = boot.create_access_key(UserName="berth-root")["AccessKey"]
        r = requests.post(srv.endpoint + "/moto-api/reset-auth", data=b"0", timeout=10)
        assert r.status_code == 200, r.text
        return Principal(srv, "berth-root", (key["AccessKeyId"], key["SecretAccessKey"]), user_arn("berth-root"))
    srv = server_factory(extra_args=["--no-agent"])
    return Principal(srv, None, srv.creds, f"arn:aws:iam::{ACCOUNT}:root")


def make_user(root, prefix="user", inline=(), managed=(), groups=()):
    """An IAM user with inline policies (documents), attached managed policies (ARNs), groups, and one access key."""
    name = uniq(prefix)
    root.iam.create_user(UserName=name)
    for i, document in enumerate(inline):
        root.iam.put_user_policy(UserName=name, PolicyName=f"inline-{i}", PolicyDocument=document)
    for arn in managed:
        root.iam.attach_user_policy(UserName=name, PolicyArn=arn)
    for group in groups:
        root.iam.add_user_to_group(GroupName=group, UserName=name)
    key = root.iam.create_access_key(UserName=name)["AccessKey"]
    return Principal(root.srv, name, (key["AccessKeyId"], key["SecretAccessKey"]), user_arn(name))


def make_group(root, prefix="group", inline=(), managed=()):
    name = uniq(prefix)
    root.iam.create_group(GroupName=name)
    for i, document in enumerate(inline):
        root.iam.put_group_policy(GroupName=name, PolicyName=f"inline-{i}", PolicyDocument=document)
    for arn in managed:
        root.iam.attach_group_policy(GroupName=name, PolicyArn=arn)
    return name


def make_policy(root, document, prefix="pol"):
    return root.iam.create_policy(PolicyName=uniq(prefix), PolicyDocument=document)["Policy"]["Arn"]


# --- outcomes -----------------------------------------------------------------------------------------------------

def is_access_denied(code, msg):
    # moto answers JSON APIs with an XML AccessDenied document, which botocore reports as code "403"
    return code in ("AccessDenied", "AccessDeniedException") or (not BERTH and "<Code>AccessDenied<" in msg)


def denied(who, fn, action, resource=None, explicit=False, **kw):
    """fn(**kw) must be refused for `action` (on `resource`, when given); returns the message."""
    with pytest.raises(ClientError) as ei:
        fn(**kw)
    code, msg, status = error_of(ei)
    assert is_access_denied(code, msg), f"{action}: expected an access denial, got {code}: {msg}"
    if not BERTH:
        return msg
    query_api = fn.__self__.meta.service_model.protocol == "query"
    assert (code, status) == (("AccessDenied", 403) if query_api else ("AccessDeniedException", 400)), (code, status)
    reason = ("with an explicit deny in an identity-based policy" if explicit
              else f"because no identity-based policy allows the {action} action")
    pattern = (rf"User: {re.escape(who.arn)} is not authorized to perform: {re.escape(action)} on resource: "
               rf"{re.escape(resource) if resource else '.+'} {re.escape(reason)}")
    assert re.fullmatch(pattern, msg), f"message {msg!r} does not match {pattern!r}"
    return msg


def allowed(fn, **kw):
    """fn(**kw) must get past authorization: it may still fail for other reasons (returned as the ClientError)."""
    try:
        return fn(**kw)
    except ClientError as e:
        code, msg, _ = error_of(e)
        assert not is_access_denied(code, msg), f"expected to be allowed, got {code}: {msg}"
        return e


def cluster_status(root, name):
    d = root.ecs.describe_clusters(clusters=[name])
    return d["clusters"][0]["status"] if d["clusters"] else "MISSING"


def group_exists(root, name):
    return any(g["logGroupName"] == name for g in root.logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"])


def log_group_arn(name):
    return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}"


# --- no policies --------------------------------------------------------------------------------------------------

def test_user_without_policies_can_only_ask_who_it_is(root):
    nobody = make_user(root, "nobody")
    me = nobody.sts.get_caller_identity()
    assert (me["Arn"], me["Account"]) == (nobody.arn, ACCOUNT)
    if BERTH:
        assert me["UserId"] == root.iam.get_user(UserName=nobody.name)["User"]["UserId"]

    name = uniq("never")
    denied(nobody, nobody.ecs.list_clusters, "ecs:ListClusters", "*")
    denied(nobody, nobody.ecs.create_cluster, "ecs:CreateCluster", clusterName=name)
    denied(nobody, nobody.ecs.describe_clusters, "ecs:DescribeClusters", cluster_arn("default"), clusters=["default"])
    denied(nobody, nobody.ecs.register_task_definition, "ecs:RegisterTaskDefinition", **simple_td(name))
    denied(nobody, nobody.logs.describe_log_groups, "logs:DescribeLogGroups")
    denied(nobody, nobody.logs.create_log_group, "logs:CreateLogGroup", logGroupName=f"/{name}")
    denied(nobody, nobody.iam.get_user, "iam:GetUser")
    denied(nobody, nobody.iam.list_users, "iam:ListUsers")
    denied(nobody, nobody.iam.list_access_keys, "iam:ListAccessKeys", UserName=nobody.name)
    denied(nobody, nobody.iam.create_access_key, "iam:CreateAccessKey", UserName=nobody.name)
    denied(nobody, nobody.iam.put_user_policy, "iam:PutUserPolicy", UserName=nobody.name, PolicyName="escalate",
           PolicyDocument=doc(allow("*")))

    assert cluster_status(root, name) in ("MISSING", "INACTIVE")
    assert not group_exists(root, f"/{name}")
    assert len(root.iam.list_access_keys(UserName=nobody.name)["AccessKeyMetadata"]) == 1
    assert root.iam.list_user_policies(UserName=nobody.name)["PolicyNames"] == []
    assert root.ecs.list_task_definition_families(familyPrefix=name)["families"] == []


# --- RunTask for one cluster only ---------------------------------------------------------------------------------

@pytest.mark.berth_only
def test_run_task_only_in_cluster_ml(root):
    root.ecs.create_cluster(clusterName="ml")
    root.ecs.create_cluster(clusterName="default")
    family = uniq("web")
    root.ecs.register_task_definition(**simple_td(family))
    td = td_arn(family, 1)
    alice = make_user(root, "alice", inline=[doc(allow(
        "ecs:RunTask", f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/*",
        condition={"ArnEquals": {"ecs:cluster": cluster_arn("ml")}}))])

    # In ml it passes authorization (and may then fail placement: ml has no instances).
    for cluster, definition in [("ml", f"{family}:1"), (cluster_arn("ml"), td), ("ml", family)]:
        allowed(alice.ecs.run_task, cluster=cluster, taskDefinition=definition)

    msg = denied(alice, alice.ecs.run_task, "ecs:RunTask", td, cluster="default", taskDefinition=f"{family}:1")
    assert msg == (f"User: {alice.arn} is not authorized to perform: ecs:RunTask on resource: {td} "
                   f"because no identity-based policy allows the ecs:RunTask action")
    denied(alice, alice.ecs.run_task, "ecs:RunTask", td, taskDefinition=f"{family}:1")  # no cluster: default
    denied(alice, alice.ecs.run_task, "ecs:RunTask", td, cluster=cluster_arn("default"), taskDefinition=td)
    assert root.ecs.list_tasks(cluster="default", family=family)["taskArns"] == []

    denied(alice, alice.ecs.list_clusters, "ecs:ListClusters", "*")
    name = uniq("nope")
    denied(alice, alice.ecs.create_cluster, "ecs:CreateCluster", clusterName=name)
    assert cluster_status(root, name) == "MISSING"
    denied(alice, alice.ecs.describe_services, "ecs:DescribeServices",
           f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/ml/web", cluster="ml", services=["web"])
    denied(alice, alice.iam.list_users, "iam:ListUsers")
    denied(alice, alice.iam.get_user, "iam:GetUser")
    assert alice.sts.get_caller_identity()["Arn"] == alice.arn


# --- actions ------------------------------------------------------------------------------------------------------

def test_describe_and_list_wildcards(root):
    cluster = uniq("wild")
    root.ecs.create_cluster(clusterName=cluster)
    reader = make_user(root, "reader", inline=[doc(allow(["ecs:Describe*", "ecs:List*"]))])
    assert cluster_arn(cluster) in all_clusters(reader.ecs)
    assert reader.ecs.describe_clusters(clusters=[cluster])["clusters"][0]["clusterName"] == cluster
    allowed(reader.ecs.list_task_definitions)
    allowed(reader.ecs.list_container_instances, cluster=cluster)
    denied(reader, reader.ecs.create_cluster, "ecs:CreateCluster", clusterName=uniq("no"))
    denied(reader, reader.ecs.delete_cluster, "ecs:DeleteCluster", cluster_arn(cluster), cluster=cluster)
    denied(reader, reader.ecs.register_task_definition, "ecs:RegisterTaskDefinition", **simple_td(uniq("no")))
    denied(reader, reader.logs.describe_log_groups, "logs:DescribeLogGroups")
    assert cluster_status(root, cluster) == "ACTIVE"

    # A wildcard in the middle of the action name.
    mid = make_user(root, "mid", inline=[doc(allow("ecs:*Clusters"))])
    allowed(mid.ecs.list_clusters)
    allowed(mid.ecs.describe_clusters, clusters=[cluster])
    denied(mid, mid.ecs.list_services, "ecs:ListServices", cluster=cluster)


@pytest.mark.berth_only
def test_action_names_are_case_insensitive(root):
    shouty = make_user(root, "shouty", inline=[doc(allow(["ECS:listclusters", "Logs:Describe*"]))])
    allowed(shouty.ecs.list_clusters)
    allowed(shouty.logs.describe_log_groups)
    denied(shouty, shouty.ecs.describe_clusters, "ecs:DescribeClusters", clusters=["default"])


def test_not_action(root):
    cluster = uniq("notaction")
    root.ecs.create_cluster(clusterName=cluster)
    most = make_user(root, "most", inline=[doc(allow(["iam:*", "ecs:Delete*"], not_action=True))])
    allowed(most.ecs.list_clusters)
    mine = uniq("mine")
    allowed(most.ecs.create_cluster, clusterName=mine)
    allowed(most.logs.describe_log_groups)
    denied(most, most.ecs.delete_cluster, "ecs:DeleteCluster", cluster_arn(cluster), cluster=cluster)
    denied(most, most.ecs.delete_cluster, "ecs:DeleteCluster", cluster_arn(mine), cluster=mine)
    denied(most, most.iam.list_users, "iam:ListUsers")
    denied(most, most.iam.create_access_key, "iam:CreateAccessKey", UserName=most.name)
    assert cluster_status(root, cluster) == "ACTIVE" and cluster_status(root, mine) == "ACTIVE"
    assert most.sts.get_caller_identity()["Arn"] == most.arn


def test_explicit_deny_beats_a_groups_allow(root):
    group = make_group(root, "ops", inline=[doc(allow(["ecs:*", "logs:*"]))])
    carol = make_user(root, "carol", groups=[group],
                      inline=[doc(deny("ecs:DeleteCluster"), deny("logs:DeleteLogGroup"))])
    cluster, log_group = uniq("keep"), f"/keep/{uniq('g')}"
    carol.ecs.create_cluster(clusterName=cluster)
    carol.logs.create_log_group(logGroupName=log_group)
    denied(carol, carol.ecs.delete_cluster, "ecs:DeleteCluster", cluster_arn(cluster), explicit=True,
           cluster=cluster)
    denied(carol, carol.logs.delete_log_group, "logs:DeleteLogGroup", explicit=True, logGroupName=log_group)
    assert cluster_status(root, cluster) == "ACTIVE"
    assert group_exists(root, log_group)
    allowed(carol.ecs.list_clusters)

    # A Deny in a managed policy attached to the group beats the user's own Allow too.
    no_create = make_policy(root, doc(deny("ecs:CreateCluster")))
    root.iam.attach_group_policy(GroupName=group, PolicyArn=no_create)
    dave = make_user(root, "dave", groups=[group], inline=[doc(allow("ecs:CreateCluster"))])
    name = uniq("blocked")
    denied(dave, dave.ecs.create_cluster, "ecs:CreateCluster", explicit=True, clusterName=name)
    assert cluster_status(root, name) == "MISSING"
    root.iam.detach_group_policy(GroupName=group, PolicyArn=no_create)
    allowed(dave.ecs.create_cluster, clusterName=name)
    assert cluster_status(root, name) == "ACTIVE"


def test_group_managed_policy_reaches_members(root):
    arn = make_policy(root, doc(allow(["ecs:ListClusters", "logs:DescribeLogGroups"])))
    group = make_group(root, "readers", managed=[arn])
    erin, frank = make_user(root, "erin", groups=[group]), make_user(root, "frank", groups=[group])
    outsider = make_user(root, "outsider")
    for who in (erin, frank):
        allowed(who.ecs.list_clusters)
        allowed(who.logs.describe_log_groups)
    denied(outsider, outsider.ecs.list_clusters, "ecs:ListClusters", "*")

    root.iam.detach_group_policy(GroupName=group, PolicyArn=arn)
    for who in (erin, frank):
        denied(who, who.ecs.list_clusters, "ecs:ListClusters", "*")
        denied(who, who.logs.describe_log_groups, "logs:DescribeLogGroups")

    root.iam.attach_group_policy(GroupName=group, PolicyArn=arn)
    allowed(frank.ecs.list_clusters)
    root.iam.remove_user_from_group(GroupName=group, UserName=frank.name)
    denied(frank, frank.ecs.list_clusters, "ecs:ListClusters", "*")
    allowed(erin.ecs.list_clusters)


def test_policy_changes_apply_at_once(root):
    """Inline policies added and removed, and a managed policy's default version switched."""
    gina = make_user(root, "gina")
    denied(gina, gina.ecs.list_clusters, "ecs:ListClusters", "*")
    root.iam.put_user_policy(UserName=gina.name, PolicyName="now", PolicyDocument=doc(allow("ecs:ListClusters")))
    allowed(gina.ecs.list_clusters)
    root.iam.delete_user_policy(UserName=gina.name, PolicyName="now")
    denied(gina, gina.ecs.list_clusters, "ecs:ListClusters", "*")

    arn = make_policy(root, doc(allow("ecs:ListClusters")))
    root.iam.attach_user_policy(UserName=gina.name, PolicyArn=arn)
    allowed(gina.ecs.list_clusters)
    root.iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc(allow("logs:DescribeLogGroups")),
                                   SetAsDefault=True)
    denied(gina, gina.ecs.list_clusters, "ecs:ListClusters", "*")
    allowed(gina.logs.describe_log_groups)
    root.iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc(allow("*")))  # not the default: no effect
    denied(gina, gina.ecs.list_clusters, "ecs:ListClusters", "*")


# --- policy variables ---------------------------------------------------------------------------------------------

@pytest.mark.berth_only
def test_username_variable_in_log_group_resources(root):
    team = doc(allow(["logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:DescribeLogStreams",
                      "logs:PutRetentionPolicy"],
                     f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/team/${{aws:username}}/*"))
    group = make_group(root, "team", inline=[team])
    alice, bob = make_user(root, "alice", groups=[group]), make_user(root, "bob", groups=[group])
    mine, theirs = f"/team/{alice.name}/app", f"/team/{bob.name}/app"

    alice.logs.create_log_group(logGroupName=mine)
    allowed(alice.logs.describe_log_streams, logGroupName=mine)
    alice.logs.put_retention_policy(logGroupName=mine, retentionInDays=7)
    denied(alice, alice.logs.create_log_group, "logs:CreateLogGroup", logGroupName=theirs)
    assert not group_exists(root, theirs)
    bob.logs.create_log_group(logGroupName=theirs)
    denied(alice, alice.logs.describe_log_streams, "logs:DescribeLogStreams", logGroupName=theirs)
    denied(alice, alice.logs.put_retention_policy, "logs:PutRetentionPolicy", logGroupName=theirs,
           retentionInDays=1)
    denied(alice, alice.logs.delete_log_group, "logs:DeleteLogGroup", logGroupName=theirs)
    [g] = root.logs.describe_log_groups(logGroupNamePrefix=theirs)["logGroups"]
    assert "retentionInDays" not in g
    alice.logs.delete_log_group(logGroupName=mine)


@pytest.mark.berth_only
def test_users_manage_their_own_access_keys(root):
    self_service = doc(allow(["iam:GetUser", "iam:ListAccessKeys", "iam:CreateAccessKey", "iam:UpdateAccessKey",
                              "iam:DeleteAccessKey"], f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}"))
    group = make_group(root, "self", inline=[self_service])
    hana, ivan = make_user(root, "hana", groups=[group]), make_user(root, "ivan", groups=[group])
    assert hana.iam.get_user()["User"]["UserName"] == hana.name
    assert [k["UserName"] for k in hana.iam.list_access_keys()["AccessKeyMetadata"]] == [hana.name]
    extra = hana.iam.create_access_key(UserName=hana.name)["AccessKey"]["AccessKeyId"]
    hana.iam.delete_access_key(UserName=hana.name, AccessKeyId=extra)

    denied(hana, hana.iam.get_user, "iam:GetUser", UserName=ivan.name)
    denied(hana, hana.iam.list_access_keys, "iam:ListAccessKeys", UserName=ivan.name)
    denied(hana, hana.iam.create_access_key, "iam:CreateAccessKey", UserName=ivan.name)
    ivans = root.iam.list_access_keys(UserName=ivan.name)["AccessKeyMetadata"]
    denied(hana, hana.iam.update_access_key, "iam:UpdateAccessKey", UserName=ivan.name,
           AccessKeyId=ivans[0]["AccessKeyId"], Status="Inactive")
    assert [(k["AccessKeyId"], k["Status"]) for k in root.iam.list_access_keys(UserName=ivan.name)
            ["AccessKeyMetadata"]] == [(ivans[0]["AccessKeyId"], "Active")]
    denied(hana, hana.iam.list_users, "iam:ListUsers")


# --- conditions ---------------------------------------------------------------------------------------------------

@pytest.mark.berth_only
def test_request_tags_on_create_cluster(root):
    tagged = make_user(root, "tagged", inline=[doc(allow(["ecs:CreateCluster", "ecs:TagResource"], condition={
        "StringEquals": {"aws:RequestTag/team": ["ml", "research"]},
        "ForAllValues:StringEquals": {"aws:TagKeys": ["team", "env"]}}))])

    def tags(**kv):
        return [{"key": k, "value": v} for k, v in kv.items()]

    ok = [uniq("ml"), uniq("research")]
    tagged.ecs.create_cluster(clusterName=ok[0], tags=tags(team="ml"))
    tagged.ecs.create_cluster(clusterName=ok[1], tags=tags(team="research", env="dev"))
    refused = {uniq("web"): tags(team="web"), uniq("untagged"): [], uniq("extra"): tags(team="ml", cost="1")}
    for name, t in refused.items():
        denied(tagged, tagged.ecs.create_cluster, "ecs:CreateCluster", clusterName=name, **({"tags": t} if t else {}))
    for name in ok:
        assert cluster_status(root, name) == "ACTIVE"
    for name in refused:
        assert cluster_status(root, name) == "MISSING", name


@pytest.mark.berth_only
def test_resource_tag_on_clusters(root):
    ml, web = uniq("ml"), uniq("web")
    root.ecs.create_cluster(clusterName=ml, tags=[{"key": "team", "value": "ml"}])
    root.ecs.create_cluster(clusterName=web, tags=[{"key": "team", "value": "web"}])
    member = make_user(root, "member", inline=[doc(allow(
        ["ecs:ListContainerInstances", "ecs:DeleteCluster", "ecs:UpdateClusterSettings"],
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/*", condition={"StringEquals": {"aws:ResourceTag/team": "ml"}}))])
    assert member.ecs.list_container_instances(cluster=ml)["containerInstanceArns"] == []
    denied(member, member.ecs.list_container_instances, "ecs:ListContainerInstances", cluster_arn(web), cluster=web)
    denied(member, member.ecs.update_cluster_settings, "ecs:UpdateClusterSettings", cluster_arn(web), cluster=web,
           settings=[{"name": "containerInsights", "value": "enabled"}])
    denied(member, member.ecs.delete_cluster, "ecs:DeleteCluster", cluster_arn(web), cluster=web)
    [c] = root.ecs.describe_clusters(clusters=[web], include=["SETTINGS"])["clusters"]
    assert c["status"] == "ACTIVE"
    assert {"name": "containerInsights", "value": "enabled"} not in c.get("settings", [])
    member.ecs.delete_cluster(cluster=ml)
    assert cluster_status(root, ml) in ("INACTIVE", "MISSING")
    # A cluster without the tag does not match either.
    bare = uniq("bare")
    root.ecs.create_cluster(clusterName=bare)
    denied(member, member.ecs.delete_cluster, "ecs:DeleteCluster", cluster_arn(bare), cluster=bare)


@pytest.mark.berth_only
def test_null_and_if_exists_conditions(root):
    # Null: deny creating a cluster without a team tag.
    needs_team = make_user(root, "needsteam", inline=[doc(
        allow(["ecs:CreateCluster", "ecs:TagResource"]),
        deny("ecs:CreateCluster", condition={"Null": {"aws:RequestTag/team": "true"}}))])
    untagged, tagged = uniq("untagged"), uniq("tagged")
    denied(needs_team, needs_team.ecs.create_cluster, "ecs:CreateCluster", explicit=True, clusterName=untagged)
    needs_team.ecs.create_cluster(clusterName=tagged, tags=[{"key": "team", "value": "any"}])
    assert (cluster_status(root, untagged), cluster_status(root, tagged)) == ("MISSING", "ACTIVE")

    # StringLikeIfExists: an env tag, when there is one, must look like dev*.
    dev_only = make_user(root, "devonly", inline=[doc(allow(["ecs:CreateCluster", "ecs:TagResource"], condition={
        "StringLikeIfExists": {"aws:RequestTag/env": "dev*"}}))])
    names = {uniq("noenv"): [], uniq("dev"): [{"key": "env", "value": "dev-1"}],
             uniq("other"): [{"key": "team", "value": "x"}]}
    for name, tags in names.items():
        dev_only.ecs.create_cluster(clusterName=name, **({"tags": tags} if tags else {}))
        assert cluster_status(root, name) == "ACTIVE"
    prod = uniq("prod")
    denied(dev_only, dev_only.ecs.create_cluster, "ecs:CreateCluster", clusterName=prod,
           tags=[{"key": "env", "value": "prod"}])
    assert cluster_status(root, prod) == "MISSING"


@pytest.mark.berth_only
def test_source_ip(root):
    local = make_user(root, "local", inline=[doc(allow("ecs:ListClusters", condition={
        "IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}))])
    remote = make_user(root, "remote", inline=[doc(allow("ecs:ListClusters", condition={
        "IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}}))])
    fenced = make_user(root, "fenced", inline=[doc(allow(["ecs:ListClusters", "logs:DescribeLogGroups"]),
                                                 deny("logs:*", condition={"NotIpAddress": {
                                                     "aws:SourceIp": "10.0.0.0/8"}}))])
    allowed(local.ecs.list_clusters)
    denied(remote, remote.ecs.list_clusters, "ecs:ListClusters", "*")
    allowed(fenced.ecs.list_clusters)
    denied(fenced, fenced.logs.describe_log_groups, "logs:DescribeLogGroups", explicit=True)


# --- mutations that are refused -----------------------------------------------------------------------------------

def test_denied_mutations_change_nothing(root):
    cluster, log_group = uniq("stay"), f"/stay/{uniq('g')}"
    root.ecs.create_cluster(clusterName=cluster, tags=[{"key": "a", "value": "1"}])
    root.logs.create_log_group(logGroupName=log_group)
    victim = make_user(root, "victim")
    viewer = make_user(root, "viewer", inline=[doc(allow(["ecs:List*", "ecs:Describe*", "logs:Describe*"]))])

    new_cluster, family, new_group, new_user = uniq("new"), uniq("fam"), f"/new/{uniq('g')}", uniq("new")
    denied(viewer, viewer.ecs.create_cluster, "ecs:CreateCluster", clusterName=new_cluster)
    denied(viewer, viewer.ecs.delete_cluster, "ecs:DeleteCluster", cluster_arn(cluster), cluster=cluster)
    denied(viewer, viewer.ecs.tag_resource, "ecs:TagResource", cluster_arn(cluster), resourceArn=cluster_arn(cluster),
           tags=[{"key": "a", "value": "2"}])
    denied(viewer, viewer.ecs.register_task_definition, "ecs:RegisterTaskDefinition", **simple_td(family))
    denied(viewer, viewer.logs.create_log_group, "logs:CreateLogGroup", logGroupName=new_group)
    denied(viewer, viewer.logs.delete_log_group, "logs:DeleteLogGroup", logGroupName=log_group)
    denied(viewer, viewer.logs.put_retention_policy, "logs:PutRetentionPolicy", logGroupName=log_group,
           retentionInDays=7)
    denied(viewer, viewer.iam.create_user, "iam:CreateUser", UserName=new_user)
    denied(viewer, viewer.iam.put_user_policy, "iam:PutUserPolicy", UserName=viewer.name, PolicyName="admin",
           PolicyDocument=doc(allow("*")))
    denied(viewer, viewer.iam.attach_user_policy, "iam:AttachUserPolicy", UserName=viewer.name,
           PolicyArn=make_policy(root, doc(allow("*"))))
    denied(viewer, viewer.iam.create_access_key, "iam:CreateAccessKey", UserName=victim.name)
    denied(viewer, viewer.iam.delete_user, "iam:DeleteUser", UserName=victim.name)

    assert cluster_status(root, new_cluster) == "MISSING"
    [c] = root.ecs.describe_clusters(clusters=[cluster], include=["TAGS"])["clusters"]
    assert c["status"] == "ACTIVE" and c["tags"] == [{"key": "a", "value": "1"}]
    assert root.ecs.list_task_definition_families(familyPrefix=family)["families"] == []
    assert not group_exists(root, new_group)
    [g] = root.logs.describe_log_groups(logGroupNamePrefix=log_group)["logGroups"]
    assert "retentionInDays" not in g
    with pytest.raises(ClientError) as ei:
        root.iam.get_user(UserName=new_user)
    assert error_of(ei)[0] == "NoSuchEntity"
    assert root.iam.list_user_policies(UserName=viewer.name)["PolicyNames"] == ["inline-0"]
    assert root.iam.list_attached_user_policies(UserName=viewer.name)["AttachedPolicies"] == []
    assert len(root.iam.list_access_keys(UserName=victim.name)["AccessKeyMetadata"]) == 1
    assert root.iam.get_user(UserName=victim.name)["User"]["UserName"] == victim.name


def test_logs_calls_are_enforced(root):
    log_group = f"/logs/{uniq('g')}"
    root.logs.create_log_group(logGroupName=log_group)
    lister = make_user(root, "lister", inline=[doc(allow("logs:DescribeLogGroups"))])
    names = [g["logGroupName"] for g in lister.logs.describe_log_groups(logGroupNamePrefix=log_group)["logGroups"]]
    assert names == [log_group]
    denied(lister, lister.logs.describe_log_streams, "logs:DescribeLogStreams", logGroupName=log_group)
    denied(lister, lister.logs.get_log_events, "logs:GetLogEvents", logGroupName=log_group, logStreamName="s")
    denied(lister, lister.logs.filter_log_events, "logs:FilterLogEvents", logGroupName=log_group)
    denied(lister, lister.logs.create_log_group, "logs:CreateLogGroup", logGroupName=log_group + "/x")
    denied(lister, lister.logs.list_tags_log_group, "logs:ListTagsLogGroup", logGroupName=log_group)
    denied(lister, lister.ecs.list_clusters, "ecs:ListClusters", "*")


# --- credentials --------------------------------------------------------------------------------------------------

def test_access_key_last_used(root):
    jo = make_user(root, "jo", inline=[doc(allow("ecs:ListClusters"))])
    key = jo.creds[0]
    before = root.iam.get_access_key_last_used(AccessKeyId=key)
    assert before["UserName"] == jo.name
    assert (before["AccessKeyLastUsed"]["ServiceName"], before["AccessKeyLastUsed"]["Region"]) == ("N/A", "N/A")
    jo.ecs.list_clusters()
    after = root.iam.get_access_key_last_used(AccessKeyId=key)["AccessKeyLastUsed"]
    assert (after["ServiceName"], after["Region"]) == ("ecs", REGION), after
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((now - after["LastUsedDate"]).total_seconds()) < 120, after
    jo.sts.get_caller_identity()
    assert root.iam.get_access_key_last_used(AccessKeyId=key)["AccessKeyLastUsed"]["ServiceName"] == "sts"


@pytest.mark.berth_only
def test_inactive_and_deleted_keys(root):
    """An inactive or deleted key is an invalid token: UnrecognizedClientException for the JSON APIs (like a key
    that never existed), InvalidClientTokenId (HTTP 403) for IAM and STS."""
    kim = make_user(root, "kim", inline=[doc(allow(["ecs:ListClusters", "logs:DescribeLogGroups", "iam:GetUser"]))])
    key = kim.creds[0]
    unknown = Principal(root.srv, "x", ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), "")
    unknown_status = error_of(pytest.raises(ClientError, unknown.ecs.list_clusters).value)[2]
    assert unknown_status in (400, 403)

    def works():
        kim.ecs.list_clusters()
        kim.logs.describe_log_groups()
        assert kim.iam.get_user()["User"]["UserName"] == kim.name
        assert kim.sts.get_caller_identity()["Arn"] == kim.arn

    def refused(what):
        for op in (kim.ecs.list_clusters, kim.logs.describe_log_groups):
            code, msg, status = error_of(pytest.raises(ClientError, op).value)
            assert (code, msg, status) == ("UnrecognizedClientException", INVALID_TOKEN, unknown_status), \
                (what, code, msg, status)
        for op in (kim.iam.get_user, kim.sts.get_caller_identity):
            code, msg, status = error_of(pytest.raises(ClientError, op).value)
            assert (code, msg, status) == ("InvalidClientTokenId", INVALID_TOKEN, 403), (what, code, msg, status)
        status, typ, code, _, _ = xml_error(query(root.srv, "GetCallerIdentity", service="sts", creds=kim.creds))
        assert (status, typ, code) == (403, "Sender", "InvalidClientTokenId")

    works()
    root.iam.update_access_key(UserName=kim.name, AccessKeyId=key, Status="Inactive")
    refused("inactive")
    root.iam.update_access_key(UserName=kim.name, AccessKeyId=key, Status="Active")
    works()
    root.iam.delete_access_key(UserName=kim.name, AccessKeyId=key)
    refused("deleted")
    # A deleted user's keys die with it.
    lee = make_user(root, "lee", inline=[doc(allow("ecs:ListClusters"))])
    lee.ecs.list_clusters()
    root.iam.delete_user_policy(UserName=lee.name, PolicyName="inline-0")
    root.iam.delete_access_key(UserName=lee.name, AccessKeyId=lee.creds[0])
    root.iam.delete_user(UserName=lee.name)
    code, msg, _ = error_of(pytest.raises(ClientError, lee.ecs.list_clusters).value)
    assert code == "UnrecognizedClientException"


# --- on the wire --------------------------------------------------------------------------------------------------

def json_request(srv, service, target, body, creds):
    data = json.dumps(body).encode()
    req = AWSRequest(method="POST", url=srv.endpoint + "/", data=data,
                     headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target})
    SigV4Auth(Credentials(*creds), service, REGION).add_auth(req)
    return requests.post(srv.endpoint + "/", data=data, headers=dict(req.prepare().headers), timeout=30)


@pytest.mark.berth_only
def test_denials_on_the_wire(root):
    mo = make_user(root, "mo")
    r = query(root.srv, "ListUsers", creds=mo.creds)
    status, typ, code, msg, rid = xml_error(r)
    assert (status, typ, code) == (403, "Sender", "AccessDenied") and rid, r.text
    assert r.headers["Content-Type"].startswith("text/xml")
    assert re.fullmatch(rf"User: {re.escape(mo.arn)} is not authorized to perform: iam:ListUsers on resource: .+ "
                        r"because no identity-based policy allows the iam:ListUsers action", msg), msg

    for service, target, action in [("ecs", "AmazonEC2ContainerServiceV20141113.ListClusters", "ecs:ListClusters"),
                                    ("logs", "Logs_20140328.DescribeLogGroups", "logs:DescribeLogGroups")]:
        r = json_request(root.srv, service, target, {}, mo.creds)
        assert r.status_code == 400, r.text
        assert r.headers["Content-Type"].startswith("application/x-amz-json-1.1")
        assert r.headers.get("x-amzn-RequestId")
        body = r.json()
        assert body["__type"].split("#")[-1] == "AccessDeniedException", body
        text = body.get("message", body.get("Message"))
        assert text.startswith(f"User: {mo.arn} is not authorized to perform: {action} on resource: "), text
        assert text.endswith(f"because no identity-based policy allows the {action} action"), text


def test_root_needs_no_policies(root):
    """The account root is allowed everything, with no policy anywhere."""
    name = uniq("rootmade")
    root.ecs.create_cluster(clusterName=name)
    root.ecs.delete_cluster(cluster=name)
    root.logs.describe_log_groups(limit=1)
    root.iam.list_users(MaxItems=1)
    me = root.sts.get_caller_identity()
    assert me["Arn"] == root.arn and me["Account"] == ACCOUNT
