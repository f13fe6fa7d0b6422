//! `berth ps`: the cluster's tasks with their status, health, host, ports, CPU and memory use and age.

use std::collections::BTreeMap;

use clap::Args;
use serde_json::{Value, json};

use super::output::{self, OutputFormat, Style};
use super::{CommonArgs, describe_tasks, describe_utilization, ecs, list_tasks, now_secs, short_id, short_taskdef};

#[derive(Args, Clone, Debug)]
pub struct PsArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Stopped tasks too (those the server still keeps).
    #[arg(long, short = 'a')]
    pub all: bool,
    /// Only the tasks of this service.
    #[arg(long)]
    pub service: Option<String>,
}

pub async fn run(args: PsArgs) -> anyhow::Result<()> {
    let client = args.common.client()?;
    let cluster = &args.common.cluster;
    if let Some(service) = &args.service {
        // An unknown service lists nothing in ECS; say so instead.
        super::describe_service(&client, cluster, service).await?;
    }
    let mut arns = list_tasks(&client, cluster, args.service.as_deref(), "RUNNING").await?;
    if args.all {
        arns.extend(list_tasks(&client, cluster, args.service.as_deref(), "STOPPED").await?);
    }
    let mut tasks = describe_tasks(&client, cluster, &arns).await?;
    tasks.sort_by(|a, b| {
        let key = |t: &Value| (t["group"].as_str().unwrap_or("").to_owned(), t["createdAt"].as_f64().unwrap_or(0.0));
        key(a).0.cmp(&key(b).0).then(key(a).1.total_cmp(&key(b).1))
    });
    let hosts = hosts(&client, cluster, &tasks).await?;
    let usage = usage(&client, cluster, &tasks).await;
    let now = now_secs();
    let rows: Vec<Value> = tasks.iter().map(|t| record(t, &hosts, &usage, now)).collect();
    match args.common.output {
        OutputFormat::Json => output::print_json(&Value::Array(rows)),
        OutputFormat::Table => print_table(&rows, &Style::detect()),
    }
    Ok(())
}

/// What is known about each container instance the tasks run on, by ARN.
async fn hosts(
    client: &berth_client::Client,
    cluster: &str,
    tasks: &[Value],
) -> anyhow::Result<BTreeMap<String, Value>> {
    let mut arns: Vec<String> =
        tasks.iter().filter_map(|t| t["containerInstanceArn"].as_str()).map(str::to_owned).collect();
    arns.sort();
    arns.dedup();
    let mut hosts = BTreeMap::new();
    for chunk in arns.chunks(100) {
        let out =
            ecs(client, "DescribeContainerInstances", json!({"cluster": cluster, "containerInstances": chunk})).await?;
        for i in out["containerInstances"].as_array().into_iter().flatten() {
            if let Some(arn) = i["containerInstanceArn"].as_str() {
                hosts.insert(arn.to_owned(), i.clone());
            }
        }
    }
    Ok(hosts)
}

/// The latest utilization sample of each task, by ARN (empty when the server has none).
async fn usage(client: &berth_client::Client, cluster: &str, tasks: &[Value]) -> BTreeMap<String, Value> {
    let running: Vec<&str> =
        tasks.iter().filter(|t| t["lastStatus"] == "RUNNING").filter_map(|t| t["taskArn"].as_str()).collect();
    if running.is_empty() {
        return BTreeMap::new();
    }
    let Some(out) = describe_utilization(client, json!({"cluster": cluster, "tasks": running})).await else {
        return BTreeMap::new();
    };
    out["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| Some((u["taskArn"].as_str()?.to_owned(), u.clone())))
        .collect()
}

fn attribute<'a>(instance: &'a Value, name: &str) -> Option<&'a str> {
    instance["attributes"].as_array()?.iter().find(|a| a["name"] == name)?["value"].as_str()
}

/// One task as `ps` shows it (the JSON record; the table is made from it).
fn record(task: &Value, hosts: &BTreeMap<String, Value>, usage: &BTreeMap<String, Value>, now: f64) -> Value {
    let arn = task["taskArn"].as_str().unwrap_or("");
    let instance_arn = task["containerInstanceArn"].as_str();
    let instance = instance_arn.and_then(|a| hosts.get(a));
    let zone =
        task["availabilityZone"].as_str().or_else(|| instance.and_then(|i| attribute(i, "ecs.availability-zone")));
    let mut ports = Vec::new();
    for c in task["containers"].as_array().into_iter().flatten() {
        for b in c["networkBindings"].as_array().into_iter().flatten() {
            ports.push(json!({
                "container": c["name"],
                "containerPort": b["containerPort"],
                "hostPort": b["hostPort"],
                "protocol": b["protocol"].as_str().unwrap_or("tcp"),
                "bindIP": b["bindIP"],
            }));
        }
    }
    let used = usage.get(arn);
    let created = task["createdAt"].as_f64();
    json!({
        "taskId": short_id(arn),
        "taskArn": arn,
        "taskDefinition": short_taskdef(task["taskDefinitionArn"].as_str().unwrap_or("")),
        "group": task["group"],
        "lastStatus": task["lastStatus"],
        "desiredStatus": task["desiredStatus"],
        "healthStatus": task["healthStatus"].as_str().unwrap_or("UNKNOWN"),
        "stoppedReason": task["stoppedReason"],
        "containerInstanceArn": instance_arn,
        "containerInstanceId": instance_arn.map(short_id),
        "ec2InstanceId": instance.and_then(|i| i["ec2InstanceId"].as_str()),
        "availabilityZone": zone,
        "ports": ports,
        "cpuUtilization": used.and_then(|u| u["cpuUtilization"].as_f64()),
        "memoryUtilization": used.and_then(|u| u["memoryUtilization"].as_f64()),
        "cpuUsed": used.and_then(|u| u["cpuUsed"].as_f64()),
        "memoryUsedMiB": used.and_then(|u| u["memoryUsedMiB"].as_f64()),
        "createdAt": created,
        "ageSeconds": created.map(|c| (now - c).max(0.0).round()),
    })
}

fn print_table(rows: &[Value], style: &Style) {
    if rows.is_empty() {
        println!("no tasks");
        return;
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or("").to_owned();
            let status = format!("{}/{}", style.status(&s("lastStatus")), s("desiredStatus"));
            let host = match (
                r["ec2InstanceId"].as_str().or(r["containerInstanceId"].as_str()),
                r["availabilityZone"].as_str(),
            ) {
                (Some(h), Some(z)) => format!("{h} ({z})"),
                (Some(h), None) => h.to_owned(),
                _ => "-".to_owned(),
            };
            let ports: Vec<String> = r["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| {
                    format!(
                        "{}->{}/{}",
                        p["hostPort"].as_i64().map(|h| h.to_string()).unwrap_or_default(),
                        p["containerPort"].as_i64().map(|h| h.to_string()).unwrap_or_default(),
                        p["protocol"].as_str().unwrap_or("tcp")
                    )
                })
                .collect();
            let mem = match (r["memoryUsedMiB"].as_f64(), r["memoryUtilization"].as_f64()) {
                (Some(m), Some(p)) => format!("{m:.0}MiB {p:.0}%"),
                (Some(m), None) => format!("{m:.0}MiB"),
                _ => String::new(),
            };
            vec![
                s("taskId"),
                s("taskDefinition"),
                status,
                style.status(&s("healthStatus")),
                host,
                ports.join(","),
                output::percent(r["cpuUtilization"].as_f64()),
                mem,
                r["ageSeconds"].as_f64().map(output::age).unwrap_or_default(),
            ]
        })
        .collect();
    print!(
        "{}",
        output::table(
            &["TASK", "DEFINITION", "STATUS", "HEALTH", "HOST", "PORTS", "CPU", "MEMORY", "AGE"],
            &cells,
            style
        )
    );
}
