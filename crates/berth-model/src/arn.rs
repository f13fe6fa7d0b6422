//! Amazon Resource Names for ECS resources, and resolving the short names users may pass instead.

/// Region and account that every ARN this server issues carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArnScope {
    pub region: String,
    pub account_id: String,
}

impl ArnScope {
    fn prefix(&self) -> String {
        format!("arn:aws:ecs:{}:{}:", self.region, self.account_id)
    }

    pub fn cluster(&self, name: &str) -> String {
        format!("{}cluster/{name}", self.prefix())
    }

    pub fn task_definition(&self, family: &str, revision: i64) -> String {
        format!("{}task-definition/{family}:{revision}", self.prefix())
    }

    pub fn container_instance(&self, cluster: &str, id: &str) -> String {
        format!("{}container-instance/{cluster}/{id}", self.prefix())
    }

    pub fn task(&self, cluster: &str, id: &str) -> String {
        format!("{}task/{cluster}/{id}", self.prefix())
    }

    pub fn container(&self, cluster: &str, task_id: &str, id: &str) -> String {
        format!("{}container/{cluster}/{task_id}/{id}", self.prefix())
    }

    pub fn service(&self, cluster: &str, name: &str) -> String {
        format!("{}service/{cluster}/{name}", self.prefix())
    }

    /// A task's ARN in `format`: `task/<cluster>/<id>`, or `task/<id>` (ECS's `taskLongArnFormat` disabled).
    pub fn task_as(&self, format: ArnFormat, cluster: &str, id: &str) -> String {
        match format {
            ArnFormat::Long => self.task(cluster, id),
            ArnFormat::Short => format!("{}task/{id}", self.prefix()),
        }
    }

    /// A container's ARN in its task's `format`: `container/<cluster>/<task>/<id>`, or `container/<id>`.
    pub fn container_as(&self, format: ArnFormat, cluster: &str, task_id: &str, id: &str) -> String {
        match format {
            ArnFormat::Long => self.container(cluster, task_id, id),
            ArnFormat::Short => format!("{}container/{id}", self.prefix()),
        }
    }

    /// A service's ARN in `format`: `service/<cluster>/<name>`, or `service/<name>` (`serviceLongArnFormat`).
    pub fn service_as(&self, format: ArnFormat, cluster: &str, name: &str) -> String {
        match format {
            ArnFormat::Long => self.service(cluster, name),
            ArnFormat::Short => format!("{}service/{name}", self.prefix()),
        }
    }

    /// A container instance's ARN in `format`: `container-instance/<cluster>/<id>`, or `container-instance/<id>`
    /// (`containerInstanceLongArnFormat`).
    pub fn container_instance_as(&self, format: ArnFormat, cluster: &str, id: &str) -> String {
        match format {
            ArnFormat::Long => self.container_instance(cluster, id),
            ArnFormat::Short => format!("{}container-instance/{id}", self.prefix()),
        }
    }

    /// A service deployment (`ServiceDeployment`); `id` is the digits of the deployment's `ecs-svc/<id>`.
    pub fn service_deployment(&self, cluster: &str, service: &str, id: &str) -> String {
        format!("{}service-deployment/{cluster}/{service}/{id}", self.prefix())
    }

    /// The service revision a deployment rolls out; one per deployment, sharing its id.
    pub fn service_revision(&self, cluster: &str, service: &str, id: &str) -> String {
        format!("{}service-revision/{cluster}/{service}/{id}", self.prefix())
    }
}

/// The two ARN formats of tasks, services and container instances (ECS's `serviceLongArnFormat`,
/// `taskLongArnFormat` and `containerInstanceLongArnFormat` account settings): the long one names the cluster
/// (`task/<cluster>/<id>`), the short one, older, does not (`task/<id>`). Every lookup by ARN takes both: a short
/// ARN's resource is looked for in the cluster the request names ([`scoped_id`] answers no cluster for it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ArnFormat {
    #[default]
    Long,
    Short,
}

/// Whether `s` is an ECS ARN of `kind` (`task`, `service`, `container-instance`) in the short format, without the
/// cluster.
pub fn is_short(s: &str, kind: &str) -> bool {
    resource_part(s)
        .and_then(|r| r.strip_prefix(kind))
        .and_then(|r| r.strip_prefix('/'))
        .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
}

/// The resource part of an ECS ARN (`cluster/ml`, `task-definition/web:3`, ...), or `None` when `s` is not an
/// ECS ARN.
pub fn resource_part(s: &str) -> Option<&str> {
    let rest = s.strip_prefix("arn:")?;
    // arn:<partition>:ecs:<region>:<account>:<resource>
    let mut parts = rest.splitn(5, ':');
    let _partition = parts.next()?;
    if parts.next()? != "ecs" {
        return None;
    }
    let _region = parts.next()?;
    let _account = parts.next()?;
    parts.next()
}

/// A cluster name from a name or a cluster ARN.
pub fn cluster_name(s: &str) -> &str {
    match resource_part(s).and_then(|r| r.strip_prefix("cluster/")) {
        Some(name) => name,
        None => s,
    }
}

/// `(family, revision)` from `family`, `family:rev` or a task definition ARN. The revision is `None` for a bare
/// family. A revision that is not a number is an error naming the input.
pub fn task_definition_ref(s: &str) -> Result<(&str, Option<i64>), String> {
    let body = match resource_part(s) {
        Some(r) => r.strip_prefix("task-definition/").ok_or_else(|| format!("Invalid task definition ARN: {s}"))?,
        None => s,
    };
    match body.rsplit_once(':') {
        Some((family, rev)) => {
            let rev: i64 = rev.parse().map_err(|_| format!("Invalid revision number. Number: {rev}"))?;
            Ok((family, Some(rev)))
        }
        None => Ok((body, None)),
    }
}

/// The id of a resource scoped to a cluster (`container-instance/<cluster>/<id>`, `task/<cluster>/<id>`,
/// `service/<cluster>/<name>`), with the cluster the ARN names if it names one. A bare id passes through.
pub fn scoped_id<'a>(s: &'a str, kind: &str) -> (Option<&'a str>, &'a str) {
    let Some(rest) = resource_part(s).and_then(|r| r.strip_prefix(kind)).and_then(|r| r.strip_prefix('/')) else {
        return (None, s);
    };
    match rest.split_once('/') {
        Some((cluster, id)) => (Some(cluster), id),
        // Old-style ARN without the cluster part.
        None => (None, rest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_names_from_names_and_arns() {
        assert_eq!(cluster_name("ml"), "ml");
        assert_eq!(cluster_name("arn:aws:ecs:us-east-1:123456789012:cluster/ml"), "ml");
    }

    #[test]
    fn task_definition_refs() {
        assert_eq!(task_definition_ref("web"), Ok(("web", None)));
        assert_eq!(task_definition_ref("web:3"), Ok(("web", Some(3))));
        assert_eq!(
            task_definition_ref("arn:aws:ecs:us-east-1:123456789012:task-definition/web:7"),
            Ok(("web", Some(7)))
        );
        assert!(task_definition_ref("web:x").is_err());
    }

    #[test]
    fn scoped_ids() {
        let arn = "arn:aws:ecs:us-east-1:123456789012:container-instance/ml/abc";
        assert_eq!(scoped_id(arn, "container-instance"), (Some("ml"), "abc"));
        assert_eq!(scoped_id("abc", "container-instance"), (None, "abc"));
        let old = "arn:aws:ecs:us-east-1:123456789012:container-instance/abc";
        assert_eq!(scoped_id(old, "container-instance"), (None, "abc"));
    }

    #[test]
    fn short_and_long_formats() {
        let scope = ArnScope { region: "us-east-1".into(), account_id: "123456789012".into() };
        let short = scope.task_as(ArnFormat::Short, "ml", "t1");
        assert_eq!(short, "arn:aws:ecs:us-east-1:123456789012:task/t1");
        assert_eq!(scope.task_as(ArnFormat::Long, "ml", "t1"), scope.task("ml", "t1"));
        assert_eq!(scoped_id(&short, "task"), (None, "t1"));
        assert!(is_short(&short, "task"));
        assert!(!is_short(&scope.task("ml", "t1"), "task"));
        let service = scope.service_as(ArnFormat::Short, "ml", "web");
        assert_eq!(service, "arn:aws:ecs:us-east-1:123456789012:service/web");
        assert!(is_short(&service, "service") && !is_short(&service, "task"));
        let instance = scope.container_instance_as(ArnFormat::Short, "ml", "i1");
        assert_eq!(scoped_id(&instance, "container-instance"), (None, "i1"));
        assert_eq!(
            scope.container_as(ArnFormat::Short, "ml", "t1", "c1"),
            "arn:aws:ecs:us-east-1:123456789012:container/c1"
        );
        assert!(!is_short("web", "service"));
    }
}
