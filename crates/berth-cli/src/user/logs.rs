//! `berth logs [-f] <task>`: a task's container output, read through the CloudWatch Logs API from the streams the
//! `awslogs` naming gives each container (`berth_model::logs::destination`), and followed with forward tokens.

use std::time::Duration;

use anyhow::{Context, bail};
use berth_client::{Client, ClientError};
use berth_model::logs::{LogDestination, destination};
use berth_model::taskdef::ContainerDefinition;
use clap::Args;
use serde_json::{Value, json};

use super::output::{OutputFormat, Style};
use super::{CommonArgs, api_error, ecs, short_id};

#[derive(Args, Clone, Debug)]
pub struct LogsArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Keep printing new lines until the task has stopped and its output is read (or Ctrl-C).
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Only lines newer than this (e.g. 30s, 10m, 2h).
    #[arg(long, value_parser = super::parse_duration)]
    pub since: Option<Duration>,
    /// Only the last N lines of each container.
    #[arg(long, short = 'n', value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub tail: Option<u32>,
    /// Only this container.
    #[arg(long, short = 'c')]
    pub container: Option<String>,
    /// Show each line's time.
    #[arg(long, short = 't')]
    pub timestamps: bool,
    /// The task: its id or ARN.
    pub task: String,
}

/// One container's stream and how far it has been read.
struct Stream {
    container: String,
    dest: LogDestination,
    /// The forward token to continue from; `None` until the first read found the stream.
    token: Option<String>,
}

/// A line read from a stream.
struct Line {
    container: String,
    timestamp: i64,
    message: String,
}

pub async fn run(args: LogsArgs) -> anyhow::Result<()> {
    let client = args.common.client()?;
    let cluster = &args.common.cluster;
    let task = find_task(&client, cluster, &args.task).await?;
    let task_id = short_id(task["taskArn"].as_str().unwrap_or(&args.task)).to_owned();
    let mut streams = streams(&client, &task, &task_id, args.container.as_deref()).await?;
    let style = Style::detect();
    let prefixed = streams.len() > 1;
    let printer =
        Printer { json: args.common.output == OutputFormat::Json, prefixed, timestamps: args.timestamps, style };

    // The first read: the last N lines, the lines since a time, or everything.
    let start_time = args.since.map(|d| (super::now_secs() * 1000.0) as i64 - d.as_millis() as i64);
    let mut first = Vec::new();
    // One stream needs no interleaving: its pages are printed as they arrive instead of all at the end.
    let sink = (!prefixed).then_some(&printer);
    for s in &mut streams {
        match read_first(&client, s, args.tail, start_time, sink).await {
            Ok(lines) => first.extend(lines),
            Err(e) if is_missing(&e) => {
                if !args.follow {
                    eprintln!("{}: no output yet ({} {})", s.container, s.dest.log_group_name, s.dest.log_stream_name);
                }
            }
            Err(e) => return Err(api_error(&format!("reading the logs of container {}", s.container), e)),
        }
    }
    printer.print(first);
    if !args.follow {
        return Ok(());
    }
    tokio::select! {
        r = follow(&client, cluster, &task, &mut streams, &printer, start_time) => r,
        () = super::ctrl_c() => Ok(()),
    }
}

/// Polls every stream's forward token about once a second; ends once the task is STOPPED and a poll after that
/// found nothing new.
async fn follow(
    client: &Client,
    cluster: &str,
    task: &Value,
    streams: &mut [Stream],
    printer: &Printer,
    start_time: Option<i64>,
) -> anyhow::Result<()> {
    let arn = task["taskArn"].as_str().unwrap_or("").to_owned();
    let mut stopped = task["lastStatus"] == "STOPPED";
    // Quiet polls since the task was seen STOPPED: the agent may still be moving the container's last output into
    // the stream when the task stops, so two quiet polls (about two seconds) count as drained.
    let mut quiet_since_stop = 0;
    loop {
        // Read the status before the poll: only polls that began after the task was seen STOPPED count.
        let was_stopped = stopped;
        let mut lines = Vec::new();
        for s in streams.iter_mut() {
            let result = match s.token.clone() {
                Some(token) => read_page(client, s, Some(token), true, None, start_time).await,
                None => read_first(client, s, None, start_time, None).await,
            };
            match result {
                Ok(l) => lines.extend(l),
                Err(e) if is_missing(&e) => {}
                Err(e) if e.is_retryable() => tracing::debug!("reading {}: {e}", s.container),
                Err(e) => return Err(api_error(&format!("reading the logs of container {}", s.container), e)),
            }
        }
        let quiet = lines.is_empty();
        printer.print(lines);
        if was_stopped {
            quiet_since_stop = if quiet { quiet_since_stop + 1 } else { 0 };
            if quiet_since_stop >= 2 {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        if !stopped {
            let out = ecs(client, "DescribeTasks", json!({"cluster": cluster, "tasks": [arn]})).await?;
            // A task the server no longer knows has long stopped.
            stopped = out["tasks"][0]["lastStatus"].as_str().is_none_or(|s| s == "STOPPED");
        }
    }
}

/// The task named by id or ARN, or a clear error.
async fn find_task(client: &Client, cluster: &str, reference: &str) -> anyhow::Result<Value> {
    if reference.trim().is_empty() {
        bail!("give a task id or ARN");
    }
    let out = ecs(client, "DescribeTasks", json!({"cluster": cluster, "tasks": [reference]})).await?;
    match out["tasks"].as_array().and_then(|t| t.first()) {
        Some(t) => Ok(t.clone()),
        None => bail!(
            "task '{reference}' not found in cluster '{cluster}' (stopped tasks are kept only for a while; `berth ps \
             --all` lists the known ones)"
        ),
    }
}

/// The log stream of each container of the task (or of the one asked for).
async fn streams(client: &Client, task: &Value, task_id: &str, only: Option<&str>) -> anyhow::Result<Vec<Stream>> {
    let taskdef_arn = task["taskDefinitionArn"].as_str().context("the task names no task definition")?;
    let out = ecs(client, "DescribeTaskDefinition", json!({"taskDefinition": taskdef_arn})).await?;
    let family = out["taskDefinition"]["family"].as_str().unwrap_or("").to_owned();
    let containers = out["taskDefinition"]["containerDefinitions"].as_array().cloned().unwrap_or_default();
    let names: Vec<String> = containers.iter().filter_map(|c| c["name"].as_str()).map(str::to_owned).collect();
    if let Some(name) = only
        && !names.iter().any(|n| n == name)
    {
        bail!("task {task_id} has no container '{name}' (its containers: {})", names.join(", "));
    }
    let mut streams = Vec::new();
    for c in &containers {
        let Some(name) = c["name"].as_str() else { continue };
        if only.is_some_and(|o| o != name) {
            continue;
        }
        let definition: ContainerDefinition = match serde_json::from_value(c.clone()) {
            Ok(d) => d,
            Err(e) => bail!("container '{name}' of {taskdef_arn}: unexpected definition: {e}"),
        };
        match destination(&family, &definition, task_id) {
            Some(dest) => streams.push(Stream { container: name.to_owned(), dest, token: None }),
            None => eprintln!("{name}: its log driver sends the output where Berth cannot read it"),
        }
    }
    if streams.is_empty() {
        bail!("no container of task {task_id} has output Berth keeps");
    }
    Ok(streams)
}

/// Whether the stream (or group) does not exist (yet).
fn is_missing(e: &ClientError) -> bool {
    matches!(e, ClientError::Api { code, .. } if code == "ResourceNotFoundException")
}

/// The first read of a stream: its last `tail` lines, or every line from `start_time` (or the start) on. With a
/// `sink`, pages are printed there as they come and not returned.
async fn read_first(
    client: &Client,
    stream: &mut Stream,
    tail: Option<u32>,
    start_time: Option<i64>,
    sink: Option<&Printer>,
) -> Result<Vec<Line>, ClientError> {
    if let Some(n) = tail {
        return read_page(client, stream, None, false, Some(n), start_time).await;
    }
    let mut lines = Vec::new();
    let mut token = None;
    loop {
        let before = stream.token.clone();
        let page = read_page(client, stream, token, true, None, start_time).await?;
        let done = page.is_empty() || stream.token == before;
        match sink {
            Some(printer) => printer.print(page),
            None => lines.extend(page),
        }
        if done {
            return Ok(lines);
        }
        token = stream.token.clone();
    }
}

/// One GetLogEvents call; keeps the forward token in the stream.
async fn read_page(
    client: &Client,
    stream: &mut Stream,
    token: Option<String>,
    from_head: bool,
    limit: Option<u32>,
    start_time: Option<i64>,
) -> Result<Vec<Line>, ClientError> {
    let mut input = json!({
        "logGroupName": stream.dest.log_group_name,
        "logStreamName": stream.dest.log_stream_name,
        "startFromHead": from_head,
        "limit": limit.unwrap_or(10_000),
    });
    match &token {
        Some(t) => input["nextToken"] = json!(t),
        None => {
            if let Some(t) = start_time {
                input["startTime"] = json!(t);
            }
        }
    }
    let out: Value = client.logs("GetLogEvents", &input).await?;
    if let Some(t) = out["nextForwardToken"].as_str() {
        stream.token = Some(t.to_owned());
    }
    Ok(out["events"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| Line {
            container: stream.container.clone(),
            timestamp: e["timestamp"].as_i64().unwrap_or(0),
            message: e["message"].as_str().unwrap_or("").to_owned(),
        })
        .collect())
}

/// Prints lines in time order, prefixed with their container when there are several.
struct Printer {
    json: bool,
    prefixed: bool,
    timestamps: bool,
    style: Style,
}

impl Printer {
    fn print(&self, mut lines: Vec<Line>) {
        // A stable sort: lines of one stream with the same timestamp keep their order.
        lines.sort_by_key(|l| l.timestamp);
        let mut out = String::new();
        for l in lines {
            if self.json {
                let record = json!({"container": l.container, "timestamp": l.timestamp, "message": l.message});
                out.push_str(&record.to_string());
                out.push('\n');
                continue;
            }
            if self.timestamps {
                out.push_str(&self.style.dim(&format_time(l.timestamp)));
                out.push(' ');
            }
            if self.prefixed {
                out.push_str(&self.style.bold(&format!("{} |", l.container)));
                out.push(' ');
            }
            out.push_str(l.message.trim_end_matches('\n'));
            out.push('\n');
        }
        if !out.is_empty() {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`berth logs x | head`) ends the output quietly.
            if stdout.write_all(out.as_bytes()).and_then(|()| stdout.flush()).is_err() {
                std::process::exit(0);
            }
        }
    }
}

/// Milliseconds since the epoch as an RFC 3339 UTC time.
fn format_time(millis: i64) -> String {
    let secs = millis.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        millis.rem_euclid(1000)
    )
}

/// Days since 1970-01-01 to a (year, month, day) in the proleptic Gregorian calendar (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(format_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_time(1_764_950_400_123), "2025-12-05T16:00:00.123Z");
    }
}
