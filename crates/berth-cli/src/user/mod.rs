//! The commands for people: `berth ps`, `berth logs`, `berth deploy` and `berth top`. Each is a thin client of the
//! server's ECS, CloudWatch Logs and utilization APIs; this module owns the options they share (where the server is,
//! which cluster, table or JSON output) and the calls every one of them makes.

pub mod deploy;
pub mod events;
pub mod logs;
pub mod output;
pub mod profile;
pub mod ps;
pub mod top;

use berth_model::utilization::BERTH_TARGET_PREFIX;
use std::time::Duration;

use anyhow::Context;
use berth_client::{Client, ClientError};
use clap::Args;
use serde_json::{Value, json};

pub use output::OutputFormat;

/// Options every user command takes.
#[derive(Args, Clone, Debug)]
pub struct CommonArgs {
    /// The server (default: AWS_ENDPOINT_URL, else the aws profile's endpoint_url, else https://127.0.0.1:8700).
    #[arg(long)]
    pub endpoint: Option<String>,
    /// The aws profile to read the endpoint, region and credentials from (default `berth`, written by `berth up`).
    #[arg(long)]
    pub profile: Option<String>,
    /// Region to sign for (default: AWS_REGION, else the profile's, else us-east-1).
    #[arg(long)]
    pub region: Option<String>,
    /// The cluster.
    #[arg(long, default_value = "default")]
    pub cluster: String,
    /// `table` for people, `json` for scripts.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

impl CommonArgs {
    /// A client for the server these options name.
    pub fn client(&self) -> anyhow::Result<Client> {
        let conn = profile::resolve(self)?;
        Client::trusting(&conn.endpoint, &conn.region, &conn.key, 4, conn.ca_bundle.as_deref())
            .context("creating the API client")
    }
}

/// Ends a user command: an error is printed as one line (its causes after colons, no backtrace even with
/// RUST_BACKTRACE set: these messages are for people) and the process exits 1.
pub fn finish(result: anyhow::Result<()>) -> anyhow::Result<()> {
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
    Ok(())
}

/// An API error as a person reads it: the server's code and message, or why the server was not reached.
pub fn api_error(what: &str, e: ClientError) -> anyhow::Error {
    match e {
        ClientError::Transport { endpoint, message } => {
            anyhow::anyhow!("{what}: cannot reach the Berth server at {endpoint} ({message}); is `berth up` running?")
        }
        ClientError::Api { code, message, .. } => anyhow::anyhow!("{what}: {code}: {message}"),
        other => anyhow::anyhow!("{what}: {other}"),
    }
}

/// Calls an ECS operation; errors name the operation.
pub async fn ecs(client: &Client, op: &str, input: Value) -> anyhow::Result<Value> {
    client.ecs::<Value, Value>(op, &input).await.map_err(|e| match (&e, input["cluster"].as_str()) {
        (ClientError::Api { code, .. }, Some(cluster)) if code == "ClusterNotFoundException" => {
            anyhow::anyhow!("cluster '{cluster}' not found (give --cluster NAME, or create it)")
        }
        _ => api_error(op, e),
    })
}

/// The last segment of an ARN (`.../cluster/id` gives `id`); an id stays as it is.
pub fn short_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// `family:revision` of a task definition ARN.
pub fn short_taskdef(arn: &str) -> &str {
    arn.rsplit_once(":task-definition/").map(|(_, r)| r).unwrap_or(arn)
}

/// Every task ARN of the cluster with the given desired status (and service), following the pages.
pub async fn list_tasks(
    client: &Client,
    cluster: &str,
    service: Option<&str>,
    desired: &str,
) -> anyhow::Result<Vec<String>> {
    let mut arns = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut input = json!({"cluster": cluster, "desiredStatus": desired, "maxResults": 100});
        if let Some(s) = service {
            input["serviceName"] = json!(s);
        }
        if let Some(t) = &token {
            input["nextToken"] = json!(t);
        }
        let out = ecs(client, "ListTasks", input).await?;
        arns.extend(strings(&out["taskArns"]));
        token = out["nextToken"].as_str().filter(|t| !t.is_empty()).map(str::to_owned);
        if token.is_none() {
            return Ok(arns);
        }
    }
}

/// DescribeTasks of any number of tasks (100 per call); tasks the server does not know are left out.
pub async fn describe_tasks(client: &Client, cluster: &str, arns: &[String]) -> anyhow::Result<Vec<Value>> {
    let mut tasks = Vec::new();
    for chunk in arns.chunks(100) {
        let out = ecs(client, "DescribeTasks", json!({"cluster": cluster, "tasks": chunk})).await?;
        tasks.extend(out["tasks"].as_array().cloned().unwrap_or_default());
    }
    Ok(tasks)
}

/// One service by name, or a clear error when the cluster has no such (active) service.
pub async fn describe_service(client: &Client, cluster: &str, name: &str) -> anyhow::Result<Value> {
    let out = ecs(client, "DescribeServices", json!({"cluster": cluster, "services": [name]})).await?;
    match out["services"].as_array().and_then(|s| s.first()) {
        Some(s) if s["status"].as_str() != Some("INACTIVE") => Ok(s.clone()),
        Some(_) => anyhow::bail!("service '{name}' in cluster '{cluster}' is deleted (INACTIVE)"),
        None => {
            let reason = out["failures"][0]["reason"].as_str().unwrap_or("MISSING");
            anyhow::bail!("service '{name}' not found in cluster '{cluster}' ({reason})")
        }
    }
}

/// `DescribeUtilization`; `None` when the server cannot answer it (an older server, or no samples service), so the
/// commands show blanks rather than fail.
pub async fn describe_utilization(client: &Client, input: Value) -> Option<Value> {
    let target = format!("{BERTH_TARGET_PREFIX}DescribeUtilization");
    match client.call::<Value, Value>(&target, &input, Some(Duration::from_secs(10))).await {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::debug!("DescribeUtilization: {e}");
            None
        }
    }
}

/// The strings of a JSON array (others left out).
pub fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect()).unwrap_or_default()
}

/// Seconds since the epoch, now.
pub fn now_secs() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// Parses a duration such as `90s`, `10m`, `2h`, `1d` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: f64 = number.parse().map_err(|_| format!("'{text}' is not a duration such as 30s, 10m, 2h or 1d"))?;
    let scale = match unit {
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        _ => return Err(format!("'{text}': unknown unit '{unit}' (use s, m, h or d)")),
    };
    let secs = n * scale;
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("'{text}' is not a duration"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Resolves on Ctrl-C (never, when the signal cannot be watched).
pub async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5y").is_err());
    }

    #[test]
    fn short_names() {
        assert_eq!(short_id("arn:aws:ecs:us-east-1:000000000000:task/default/abc"), "abc");
        assert_eq!(short_taskdef("arn:aws:ecs:us-east-1:000000000000:task-definition/web:3"), "web:3");
    }
}
