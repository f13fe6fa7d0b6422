//! `berth top`: CPU and memory utilization by service (as ECS's CPUUtilization and MemoryUtilization: used over
//! reserved) with running/desired counts; refreshed in place on a terminal, printed once otherwise.

use std::io::Write;
use std::time::Duration;

use clap::Args;
use serde_json::{Value, json};

use super::output::{self, OutputFormat, Style};
use super::{CommonArgs, describe_utilization, ecs};

#[derive(Args, Clone, Debug)]
pub struct TopArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Seconds between refreshes on a terminal.
    #[arg(long, default_value_t = 2.0)]
    pub interval: f64,
    /// Print once and exit, even on a terminal.
    #[arg(long)]
    pub once: bool,
}

pub async fn run(args: TopArgs) -> anyhow::Result<()> {
    if !(args.interval.is_finite() && args.interval >= 0.2) {
        anyhow::bail!("--interval must be at least 0.2 seconds");
    }
    let client = args.common.client()?;
    let style = Style::detect();
    let refresh = style.terminal && !args.once && args.common.output == OutputFormat::Table;
    loop {
        let report = read(&client, &args.common.cluster).await?;
        match args.common.output {
            OutputFormat::Json => output::print_json(&report),
            OutputFormat::Table => {
                let text = render(&report, &style);
                let mut out = std::io::stdout().lock();
                if refresh {
                    // Home and clear, then the table: one screen that changes in place.
                    let _ = write!(out, "\x1b[H\x1b[2J");
                }
                let _ = write!(out, "{text}");
                let _ = out.flush();
            }
        }
        if !refresh {
            return Ok(());
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs_f64(args.interval)) => {}
            () = super::ctrl_c() => return Ok(()),
        }
    }
}

/// Every service of the cluster with its counts and utilization, and the cluster's totals.
async fn read(client: &berth_client::Client, cluster: &str) -> anyhow::Result<Value> {
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut input = json!({"cluster": cluster, "maxResults": 100});
        if let Some(t) = &token {
            input["nextToken"] = json!(t);
        }
        let out = ecs(client, "ListServices", input).await?;
        names.extend(super::strings(&out["serviceArns"]));
        token = out["nextToken"].as_str().filter(|t| !t.is_empty()).map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    let mut services = Vec::new();
    for chunk in names.chunks(10) {
        let out = ecs(client, "DescribeServices", json!({"cluster": cluster, "services": chunk})).await?;
        services.extend(out["services"].as_array().cloned().unwrap_or_default());
    }
    let usage = describe_utilization(client, json!({"cluster": cluster})).await;
    let by_name = |name: &str| {
        usage.as_ref().and_then(|u| u["services"].as_array()?.iter().find(|s| s["serviceName"] == name).cloned())
    };
    let mut rows: Vec<Value> = services
        .iter()
        .map(|s| {
            let name = s["serviceName"].as_str().unwrap_or("");
            let u = by_name(name).unwrap_or_default();
            json!({
                "serviceName": name,
                "status": s["status"],
                "runningCount": s["runningCount"],
                "desiredCount": s["desiredCount"],
                "pendingCount": s["pendingCount"],
                "taskDefinition": super::short_taskdef(s["taskDefinition"].as_str().unwrap_or("")),
                "cpuUtilization": u["cpuUtilization"].as_f64(),
                "memoryUtilization": u["memoryUtilization"].as_f64(),
            })
        })
        .collect();
    rows.sort_by(|a, b| a["serviceName"].as_str().cmp(&b["serviceName"].as_str()));
    let c = usage.as_ref().map(|u| u["cluster"].clone()).unwrap_or_default();
    Ok(json!({
        "cluster": {"clusterName": cluster, "cpuUtilization": c["cpuUtilization"].as_f64(),
                    "memoryUtilization": c["memoryUtilization"].as_f64()},
        "utilizationAvailable": usage.is_some(),
        "services": rows,
    }))
}

fn render(report: &Value, style: &Style) -> String {
    let c = &report["cluster"];
    let mut text = format!(
        "{}  CPU {}  memory {}\n\n",
        style.bold(&format!("cluster {}", c["clusterName"].as_str().unwrap_or(""))),
        blank_dash(output::percent(c["cpuUtilization"].as_f64())),
        blank_dash(output::percent(c["memoryUtilization"].as_f64())),
    );
    let services = report["services"].as_array().cloned().unwrap_or_default();
    if services.is_empty() {
        text.push_str("no services\n");
    } else {
        let rows: Vec<Vec<String>> = services
            .iter()
            .map(|s| {
                let (running, desired) =
                    (s["runningCount"].as_i64().unwrap_or(0), s["desiredCount"].as_i64().unwrap_or(0));
                let counts = format!("{running}/{desired}");
                vec![
                    s["serviceName"].as_str().unwrap_or("").to_owned(),
                    output::percent(s["cpuUtilization"].as_f64()),
                    output::percent(s["memoryUtilization"].as_f64()),
                    if running == desired { style.green(&counts) } else { style.yellow(&counts) },
                    s["taskDefinition"].as_str().unwrap_or("").to_owned(),
                ]
            })
            .collect();
        text.push_str(&output::table(&["SERVICE", "CPU", "MEMORY", "RUNNING", "TASK DEFINITION"], &rows, style));
    }
    if report["utilizationAvailable"] == false {
        text.push_str(&style.dim("\n(the server reports no utilization)\n"));
    }
    text
}

fn blank_dash(s: String) -> String {
    if s.is_empty() { "-".to_owned() } else { s }
}
