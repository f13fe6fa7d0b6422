//! aws-sdk-ecs against a real berth process: clusters, task definitions, container instances, attributes, tags,
//! paginators, typed errors and persistence across a restart.

use aws_sdk_ecs::types::{
    Attribute, ContainerDefinition, ContainerInstanceStatus, PortMapping, Resource, SortOrder, Tag,
    TaskDefinitionStatus,
};
use berth_e2e::Berth;

fn resources(cpu: i32, memory: i32) -> Vec<Resource> {
    vec![
        Resource::builder().name("CPU").r#type("INTEGER").integer_value(cpu).build(),
        Resource::builder().name("MEMORY").r#type("INTEGER").integer_value(memory).build(),
        Resource::builder().name("PORTS").r#type("STRINGSET").string_set_value("22").build(),
    ]
}

async fn register_instance(ecs: &aws_sdk_ecs::Client, cluster: &str, id: &str, az: &str, itype: &str) -> String {
    let doc =
        format!(r#"{{"instanceId":"{id}","availabilityZone":"{az}","instanceType":"{itype}","region":"us-east-1"}}"#);
    let out = ecs
        .register_container_instance()
        .cluster(cluster)
        .instance_identity_document(doc)
        .set_total_resources(Some(resources(4096, 8000)))
        .attributes(Attribute::builder().name("ecs.os-type").value("linux").build().expect("attribute"))
        .send()
        .await
        .expect("register instance");
    out.container_instance.and_then(|c| c.container_instance_arn).expect("instance arn")
}

#[tokio::test(flavor = "multi_thread")]
async fn clusters_lifecycle_and_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let berth = Berth::api_only(dir.path());
    let ecs = berth.ecs();

    let created = ecs
        .create_cluster()
        .cluster_name("ml")
        .tags(Tag::builder().key("team").value("ml").build())
        .send()
        .await
        .expect("create");
    let cluster = created.cluster.expect("cluster");
    assert_eq!(cluster.cluster_name(), Some("ml"));
    assert_eq!(cluster.status(), Some("ACTIVE"));
    assert!(cluster.cluster_arn().is_some_and(|a| a.ends_with(":cluster/ml")));

    // Idempotent create.
    ecs.create_cluster().cluster_name("ml").send().await.expect("create again");
    for i in 0..5 {
        ecs.create_cluster().cluster_name(format!("c{i}")).send().await.expect("create c");
    }

    let described = ecs
        .describe_clusters()
        .clusters("ml")
        .clusters("arn:aws:ecs:us-east-1:000000000000:cluster/nope")
        .include(aws_sdk_ecs::types::ClusterField::Tags)
        .include(aws_sdk_ecs::types::ClusterField::Statistics)
        .include(aws_sdk_ecs::types::ClusterField::Settings)
        .send()
        .await
        .expect("describe");
    assert_eq!(described.clusters().len(), 1);
    assert_eq!(described.clusters()[0].tags().len(), 1);
    assert!(!described.clusters()[0].statistics().is_empty());
    assert_eq!(described.clusters()[0].settings()[0].value(), Some("disabled"));
    assert_eq!(described.failures().len(), 1);
    assert_eq!(described.failures()[0].reason(), Some("MISSING"));

    // The paginator walks pages of 2 and sees every cluster once.
    let mut pages = ecs.list_clusters().max_results(2).into_paginator().send();
    let mut arns = Vec::new();
    let mut page_count = 0;
    while let Some(page) = pages.next().await {
        let page = page.expect("page");
        page_count += 1;
        arns.extend(page.cluster_arns().iter().cloned());
    }
    assert_eq!(arns.len(), 6);
    assert_eq!(page_count, 3);

    let updated = ecs
        .update_cluster_settings()
        .cluster("ml")
        .settings(
            aws_sdk_ecs::types::ClusterSetting::builder().name("containerInsights".into()).value("enabled").build(),
        )
        .send()
        .await
        .expect("update settings");
    assert_eq!(updated.cluster().map(|c| c.settings()[0].value()), Some(Some("enabled")));

    let deleted = ecs.delete_cluster().cluster("c0").send().await.expect("delete");
    assert_eq!(deleted.cluster().and_then(|c| c.status()), Some("INACTIVE"));

    let err = ecs.delete_cluster().cluster("c0").send().await.expect_err("deleted twice");
    assert!(err.into_service_error().is_cluster_not_found_exception());
    let err = ecs.list_container_instances().cluster("missing").send().await.expect_err("unknown cluster");
    assert!(err.into_service_error().is_cluster_not_found_exception());
    let err = ecs.create_cluster().cluster_name("bad name!").send().await.expect_err("bad name");
    assert!(err.into_service_error().is_invalid_parameter_exception());
    let err = ecs.create_task_set().service("s").task_definition("x").send().await.expect_err("not supported yet");
    let message = format!("{:?}", err.into_service_error());
    assert!(message.contains("UnsupportedFeatureException") && message.contains("CreateTaskSet"), "{message}");
}

fn web_container(name: &str) -> ContainerDefinition {
    ContainerDefinition::builder()
        .name(name)
        .image("berth-test/busybox:latest")
        .memory(128)
        .cpu(256)
        .essential(true)
        .command("httpd")
        .port_mappings(PortMapping::builder().container_port(80).host_port(0).build())
        .build()
}

#[tokio::test(flavor = "multi_thread")]
async fn task_definitions_revisions_paging_and_deletion() {
    let dir = tempfile::tempdir().expect("tempdir");
    let berth = Berth::api_only(dir.path());
    let ecs = berth.ecs();

    for _ in 0..3 {
        ecs.register_task_definition()
            .family("web")
            .container_definitions(web_container("web"))
            .tags(Tag::builder().key("app").value("web").build())
            .send()
            .await
            .expect("register");
    }
    let latest = ecs.describe_task_definition().task_definition("web").send().await.expect("describe");
    let td = latest.task_definition().expect("td");
    assert_eq!(td.revision(), 3);
    assert_eq!(td.container_definitions()[0].port_mappings()[0].container_port(), Some(80));
    assert!(td.registered_at().is_some());

    let with_tags = ecs
        .describe_task_definition()
        .task_definition("web:2")
        .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
        .send()
        .await
        .expect("describe with tags");
    assert_eq!(with_tags.tags().len(), 1);

    let mut pages = ecs
        .list_task_definitions()
        .family_prefix("web")
        .sort(SortOrder::Desc)
        .max_results(1)
        .into_paginator()
        .items()
        .send();
    let mut seen = Vec::new();
    while let Some(arn) = pages.next().await {
        seen.push(arn.expect("arn"));
    }
    assert_eq!(seen.len(), 3);
    assert!(seen[0].ends_with("web:3") && seen[2].ends_with("web:1"));

    ecs.deregister_task_definition().task_definition("web:3").send().await.expect("deregister");
    let latest = ecs.describe_task_definition().task_definition("web").send().await.expect("describe");
    assert_eq!(latest.task_definition().map(|t| t.revision()), Some(2));

    let inactive = ecs.list_task_definitions().status(TaskDefinitionStatus::Inactive).send().await.expect("list");
    assert_eq!(inactive.task_definition_arns().len(), 1);

    let del =
        ecs.delete_task_definitions().task_definitions("web:3").task_definitions("web:1").send().await.expect("delete");
    assert_eq!(del.task_definitions().len(), 1);
    assert_eq!(del.failures().len(), 1, "web:1 is still ACTIVE");

    // Revisions are never reused.
    let again = ecs
        .register_task_definition()
        .family("web")
        .container_definitions(web_container("web"))
        .send()
        .await
        .expect("register");
    assert_eq!(again.task_definition().map(|t| t.revision()), Some(4));

    let err = ecs.describe_task_definition().task_definition("nope").send().await.expect_err("unknown");
    let err = err.into_service_error();
    assert!(err.is_client_exception());
    assert_eq!(err.meta().message(), Some("Unable to describe task definition."));

    let err = ecs
        .register_task_definition()
        .family("bad")
        .container_definitions(
            ContainerDefinition::builder().name("x").image("busybox").memory(64).essential(false).build(),
        )
        .send()
        .await
        .expect_err("no essential container");
    let err = err.into_service_error();
    assert!(err.is_client_exception() || err.is_invalid_parameter_exception(), "{err:?}");

    let families = ecs.list_task_definition_families().send().await.expect("families");
    assert_eq!(families.families(), ["web"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn container_instances_filters_attributes_and_draining() {
    let dir = tempfile::tempdir().expect("tempdir");
    let berth = Berth::api_only(dir.path());
    let ecs = berth.ecs();
    ecs.create_cluster().cluster_name("ml").send().await.expect("create");

    let a = register_instance(&ecs, "ml", "i-aaa", "us-east-1a", "g5.xlarge").await;
    let b = register_instance(&ecs, "ml", "i-bbb", "us-east-1b", "m5.large").await;

    let list = |filter: &'static str| {
        let ecs = ecs.clone();
        async move {
            let out = ecs.list_container_instances().cluster("ml").filter(filter).send().await.expect("list");
            out.container_instance_arns().to_vec()
        }
    };
    assert_eq!(list("attribute:ecs.os-type == linux").await.len(), 2);
    assert_eq!(list("attribute:ecs.instance-type =~ g5.*").await, vec![a.clone()]);
    assert_eq!(list("ec2InstanceId in ['i-bbb', 'i-zzz']").await, vec![b.clone()]);
    assert_eq!(list("not(attribute:ecs.availability-zone == us-east-1a)").await, vec![b.clone()]);

    let err = ecs.list_container_instances().cluster("ml").filter("nonsense ==").send().await.expect_err("bad filter");
    assert!(err.into_service_error().is_invalid_parameter_exception());

    ecs.put_attributes()
        .cluster("ml")
        .attributes(Attribute::builder().name("stack").value("prod").target_id(&a).build().expect("attribute"))
        .send()
        .await
        .expect("put attributes");
    assert_eq!(list("attribute:stack == prod").await, vec![a.clone()]);
    let attrs = ecs
        .list_attributes()
        .cluster("ml")
        .target_type(aws_sdk_ecs::types::TargetType::ContainerInstance)
        .attribute_name("stack")
        .send()
        .await
        .expect("list attributes");
    assert_eq!(attrs.attributes().len(), 1);
    ecs.delete_attributes()
        .cluster("ml")
        .attributes(Attribute::builder().name("stack").target_id(&a).build().expect("attribute"))
        .send()
        .await
        .expect("delete attributes");
    assert!(list("attribute:stack exists").await.is_empty());

    let drained = ecs
        .update_container_instances_state()
        .cluster("ml")
        .container_instances(&b)
        .status(ContainerInstanceStatus::Draining)
        .send()
        .await
        .expect("drain");
    assert_eq!(drained.container_instances()[0].status(), Some("DRAINING"));
    let draining = ecs
        .list_container_instances()
        .cluster("ml")
        .status(ContainerInstanceStatus::Draining)
        .send()
        .await
        .expect("list");
    assert_eq!(draining.container_instance_arns(), std::slice::from_ref(&b));

    let described = ecs
        .describe_container_instances()
        .cluster("ml")
        .container_instances(&a)
        .container_instances("missing")
        .send()
        .await
        .expect("describe");
    let inst = &described.container_instances()[0];
    assert_eq!(inst.ec2_instance_id(), Some("i-aaa"));
    assert_eq!(
        inst.registered_resources().iter().find(|r| r.name() == Some("CPU")).map(|r| r.integer_value()),
        Some(4096)
    );
    assert_eq!(described.failures()[0].reason(), Some("MISSING"));

    ecs.tag_resource().resource_arn(&a).tags(Tag::builder().key("gpu").value("yes").build()).send().await.expect("tag");
    let tags = ecs.list_tags_for_resource().resource_arn(&a).send().await.expect("tags");
    assert_eq!(tags.tags().len(), 1);
    ecs.untag_resource().resource_arn(&a).tag_keys("gpu").send().await.expect("untag");
    assert!(ecs.list_tags_for_resource().resource_arn(&a).send().await.expect("tags").tags().is_empty());

    let err = ecs.delete_cluster().cluster("ml").send().await.expect_err("has instances");
    assert!(err.into_service_error().is_cluster_contains_container_instances_exception());
    for arn in [&a, &b] {
        ecs.deregister_container_instance()
            .cluster("ml")
            .container_instance(arn)
            .force(true)
            .send()
            .await
            .expect("deregister");
    }
    ecs.delete_cluster().cluster("ml").send().await.expect("delete now");
}

#[tokio::test(flavor = "multi_thread")]
async fn signatures_are_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let berth = Berth::api_only(dir.path());
    let wrong_secret = berth.ecs_with(&berth.access_key_id, "not-the-secret");
    let err = wrong_secret.list_clusters().send().await.expect_err("bad signature");
    let err = err.into_service_error();
    assert_eq!(err.meta().code(), Some("InvalidSignatureException"), "{:?}", err.meta().message());
    let unknown = berth.ecs_with("AKIAUNKNOWNUNKNOWN00", "whatever");
    let err = unknown.list_clusters().send().await.expect_err("unknown key");
    assert_eq!(err.into_service_error().meta().code(), Some("UnrecognizedClientException"));
}

#[tokio::test(flavor = "multi_thread")]
async fn state_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut berth = Berth::api_only(dir.path());
    let key = berth.access_key_id.clone();
    {
        let ecs = berth.ecs();
        ecs.create_cluster().cluster_name("keep").send().await.expect("create");
        ecs.register_task_definition()
            .family("svc")
            .container_definitions(web_container("svc"))
            .send()
            .await
            .expect("register");
        register_instance(&ecs, "keep", "i-keep", "us-east-1a", "m5.large").await;
    }
    berth.restart();
    assert_eq!(berth.access_key_id, key, "the admin key is kept");
    let ecs = berth.ecs();
    let clusters = ecs.list_clusters().send().await.expect("list");
    assert!(clusters.cluster_arns().iter().any(|a| a.ends_with("/keep")));
    let instances = ecs.list_container_instances().cluster("keep").send().await.expect("instances");
    assert_eq!(instances.container_instance_arns().len(), 1);
    let next = ecs
        .register_task_definition()
        .family("svc")
        .container_definitions(web_container("svc"))
        .send()
        .await
        .expect("register");
    assert_eq!(next.task_definition().map(|t| t.revision()), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_registrations_get_distinct_revisions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let berth = Berth::api_only(dir.path());
    let ecs = berth.ecs();
    let calls = (0..24).map(|_| {
        let ecs = ecs.clone();
        tokio::spawn(async move {
            let out = ecs
                .register_task_definition()
                .family("race")
                .container_definitions(web_container("race"))
                .send()
                .await
                .expect("register");
            out.task_definition().map(|t| t.revision()).expect("revision")
        })
    });
    let mut revisions = Vec::new();
    for call in calls {
        revisions.push(call.await.expect("task"));
    }
    revisions.sort_unstable();
    assert_eq!(revisions, (1..=24).collect::<Vec<i32>>(), "every registration gets its own revision, none lost");
    let listed = ecs.list_task_definitions().family_prefix("race").send().await.expect("list");
    assert_eq!(listed.task_definition_arns().len(), 24);
}
