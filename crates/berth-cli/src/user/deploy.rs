//! `berth deploy SERVICE (--image IMAGE | --task-definition FILE)`: registers the new revision, points the service
//! at it, and follows the rollout until it ends: COMPLETED (exit 0), or FAILED by the deployment circuit breaker
//! (and rolled back, when the service asks for it), which exits non-zero with the breaker's verdict.
//!
//! The progress is read with DescribeServices and the service's tasks, refreshed at once when the server's event
//! stream announces a change of the service or its tasks, and at least every second (so it works without the stream).

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use berth_client::Client;
use clap::Args;
use serde_json::{Map, Value, json};

use super::output::{self, OutputFormat, Style};
use super::{CommonArgs, describe_service, describe_tasks, ecs, list_tasks, short_taskdef};

#[derive(Args, Clone, Debug)]
pub struct DeployArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// The service to update.
    pub service: String,
    /// Register a revision of the service's task definition with this image.
    #[arg(long, required_unless_present = "task_definition", conflicts_with = "task_definition")]
    pub image: Option<String>,
    /// With --image: the container whose image changes (default: the only one, else the first essential one).
    #[arg(long, requires = "image")]
    pub container: Option<String>,
    /// Register this task definition (JSON as for register-task-definition, or a describe-task-definition answer).
    #[arg(long, value_name = "FILE")]
    pub task_definition: Option<PathBuf>,
    /// Return once the service is updated, without following the rollout.
    #[arg(long)]
    pub no_wait: bool,
    /// Give up following after this long (e.g. 10m); the rollout goes on on the server.
    #[arg(long, value_parser = super::parse_duration)]
    pub timeout: Option<Duration>,
    /// Follow by polling DescribeServices alone, without the server's event stream.
    #[arg(long)]
    pub poll: bool,
}

/// Fields of a stored task definition that RegisterTaskDefinition does not take.
const READ_ONLY_FIELDS: [&str; 9] = [
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
    "deleteRequestedAt",
];

pub async fn run(args: DeployArgs) -> anyhow::Result<()> {
    // Bad input is found before anything is changed on the server.
    let from_file = match &args.task_definition {
        Some(path) => Some(read_task_definition(path)?),
        None => None,
    };
    let client = args.common.client()?;
    let cluster = args.common.cluster.clone();
    let service = describe_service(&client, &cluster, &args.service).await?;
    let current = service["taskDefinition"].as_str().unwrap_or("").to_owned();
    let input = match (from_file, &args.image) {
        (Some(input), _) => input,
        (None, Some(image)) => with_image(&client, &current, image, args.container.as_deref()).await?,
        (None, None) => bail!("give --image IMAGE or --task-definition FILE"),
    };
    let registered = ecs(&client, "RegisterTaskDefinition", input).await?;
    let revision = registered["taskDefinition"]["taskDefinitionArn"]
        .as_str()
        .context("RegisterTaskDefinition answered no taskDefinitionArn")?
        .to_owned();
    let seen: HashSet<String> = service["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["id"].as_str())
        .map(str::to_owned)
        .collect();
    let updated =
        ecs(&client, "UpdateService", json!({"cluster": cluster, "service": args.service, "taskDefinition": revision}))
            .await?;
    let deployment = updated["service"]["deployments"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["status"] == "PRIMARY")
        .and_then(|d| d["id"].as_str())
        .context("UpdateService answered no PRIMARY deployment")?
        .to_owned();

    let style = Style::detect();
    let mut view = View::new(args.common.output, style, &args.service, &deployment);
    view.note(&format!(
        "registered {}; service {} moves from {} to it in deployment {deployment}",
        short_taskdef(&revision),
        args.service,
        short_taskdef(&current)
    ));
    if args.no_wait {
        view.result(&Outcome::Updated, &revision);
        return Ok(());
    }
    let follower =
        Follower { client, cluster, service: args.service.clone(), deployment, revision, seen, stream: !args.poll };
    let outcome = tokio::select! {
        o = follower.follow(&mut view, args.timeout) => o?,
        () = super::ctrl_c() => Outcome::Interrupted,
    };
    view.result(&outcome, &follower.revision);
    match outcome {
        Outcome::Completed | Outcome::Updated => Ok(()),
        other => bail!("{}", other.summary(&follower.deployment)),
    }
}

/// Reads and checks a task definition file.
fn read_task_definition(path: &PathBuf) -> anyhow::Result<Value> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let value: Value =
        serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{} is not JSON: {e}", path.display()))?;
    let mut value = match value {
        // A describe-task-definition answer is accepted too.
        Value::Object(mut o) if o.get("taskDefinition").is_some_and(Value::is_object) => {
            o.remove("taskDefinition").unwrap_or_default()
        }
        Value::Object(o) => Value::Object(o),
        _ => bail!("{} must hold a JSON object (a task definition), not {}", path.display(), kind(&value)),
    };
    if !value["family"].is_string() || !value["containerDefinitions"].is_array() {
        bail!("{}: a task definition needs \"family\" and \"containerDefinitions\"", path.display());
    }
    strip_read_only(&mut value);
    Ok(value)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn strip_read_only(v: &mut Value) {
    if let Some(o) = v.as_object_mut() {
        for f in READ_ONLY_FIELDS {
            o.remove(f);
        }
    }
}

/// The service's current task definition with one container's image replaced, as RegisterTaskDefinition input.
async fn with_image(client: &Client, current: &str, image: &str, container: Option<&str>) -> anyhow::Result<Value> {
    if image.trim().is_empty() {
        bail!("--image must not be empty");
    }
    let out = ecs(client, "DescribeTaskDefinition", json!({"taskDefinition": current, "include": ["TAGS"]})).await?;
    let mut def = out["taskDefinition"].clone();
    strip_read_only(&mut def);
    let containers = def["containerDefinitions"].as_array_mut().context("the task definition has no containers")?;
    let names: Vec<String> = containers.iter().filter_map(|c| c["name"].as_str()).map(str::to_owned).collect();
    let index = match container {
        Some(name) => names.iter().position(|n| n == name).with_context(|| {
            format!("{} has no container '{name}' (its containers: {})", short_taskdef(current), names.join(", "))
        })?,
        None if containers.len() == 1 => 0,
        // `essential` defaults to true.
        None => containers.iter().position(|c| c["essential"].as_bool() != Some(false)).unwrap_or(0),
    };
    containers[index]["image"] = json!(image);
    if let Some(tags) = out["tags"].as_array().filter(|t| !t.is_empty()) {
        def["tags"] = Value::Array(tags.clone());
    }
    Ok(def)
}

/// How following a deployment ended.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// `--no-wait`: the service was updated.
    Updated,
    Completed,
    /// The breaker failed the deployment and nothing was rolled back.
    Failed {
        reason: String,
    },
    /// The breaker failed it, and the rollback deployment took over (and completed, when `completed`).
    RolledBack {
        reason: String,
        rollback: String,
        completed: bool,
    },
    /// Another deployment replaced this one before it ended.
    Superseded {
        by: String,
    },
    TimedOut,
    Interrupted,
}

impl Outcome {
    fn status(&self) -> &'static str {
        match self {
            Outcome::Updated => "UPDATED",
            Outcome::Completed => "COMPLETED",
            Outcome::Failed { .. } => "FAILED",
            Outcome::RolledBack { .. } => "ROLLED_BACK",
            Outcome::Superseded { .. } => "SUPERSEDED",
            Outcome::TimedOut => "TIMED_OUT",
            Outcome::Interrupted => "INTERRUPTED",
        }
    }

    fn summary(&self, deployment: &str) -> String {
        match self {
            Outcome::Updated => format!("deployment {deployment} started"),
            Outcome::Completed => format!("deployment {deployment} completed"),
            Outcome::Failed { reason } => format!("deployment {deployment} failed: {reason}"),
            Outcome::RolledBack { reason, rollback, completed: true } => {
                format!("deployment {deployment} failed: {reason} Rolled back: deployment {rollback} completed.")
            }
            Outcome::RolledBack { reason, rollback, completed: false } => {
                format!("deployment {deployment} failed: {reason} Rolling back in deployment {rollback}.")
            }
            Outcome::Superseded { by } => format!("deployment {deployment} was replaced by deployment {by}"),
            Outcome::TimedOut => format!("deployment {deployment} did not end within --timeout (it goes on)"),
            Outcome::Interrupted => format!("stopped following deployment {deployment} (it goes on)"),
        }
    }
}

/// What it follows.
struct Follower {
    client: Client,
    cluster: String,
    service: String,
    deployment: String,
    revision: String,
    seen: HashSet<String>,
    /// Whether to follow the event stream (else poll alone).
    stream: bool,
}

/// The state of one refresh.
struct Snapshot {
    deployments: Vec<Value>,
    primary: Option<String>,
    rollback_enabled: bool,
}

impl Follower {
    async fn follow(&self, view: &mut View, timeout: Option<Duration>) -> anyhow::Result<Outcome> {
        let started = Instant::now();
        let service = self.service.clone();
        let group = format!("service:{service}");
        let watch = self.stream.then(|| {
            super::events::watch(self.client.clone(), self.cluster.clone(), move |e| match e.kind.as_str() {
                "service" => e.data["id"] == service.as_str(),
                "task" => e.data["value"]["group"] == group.as_str() || e.data["value"].is_null(),
                "hello" | "reset" => true,
                _ => false,
            })
        });
        let changed = watch.as_ref().map(|w| w.changed.clone());
        let mut seen = self.seen.clone();
        let mut failure: Option<String> = None;
        loop {
            match self.refresh(&mut seen, view).await {
                Ok(snapshot) => {
                    let live = watch.as_ref().is_some_and(|w| w.live.load(Ordering::Relaxed));
                    view.progress(&snapshot.deployments, started.elapsed(), live);
                    if let Some(outcome) = self.verdict(&snapshot, &mut failure).await? {
                        return Ok(outcome);
                    }
                }
                // A server that restarts or a lost connection: keep following.
                Err(e) if is_transient(&e) => tracing::debug!("refresh: {e:#}"),
                Err(e) => return Err(e),
            }
            if timeout.is_some_and(|t| started.elapsed() >= t) {
                return Ok(Outcome::TimedOut);
            }
            tokio::select! {
                () = notified(changed.as_deref()) => {
                    // Let a burst of changes settle into one read.
                    tokio::time::sleep(Duration::from_millis(150)).await;
                }
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// Reads the service and its tasks, prints new events, and returns the deployments as shown.
    async fn refresh(&self, seen: &mut HashSet<String>, view: &mut View) -> anyhow::Result<Snapshot> {
        let service = describe_service(&self.client, &self.cluster, &self.service).await?;
        let arns = list_tasks(&self.client, &self.cluster, Some(&self.service), "RUNNING").await?;
        let tasks = describe_tasks(&self.client, &self.cluster, &arns).await?;
        let mut events: Vec<&Value> = service["events"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["id"].as_str().is_some_and(|id| !seen.contains(id)))
            .collect();
        // The service lists its events newest first.
        events.reverse();
        for e in events {
            if let Some(id) = e["id"].as_str() {
                seen.insert(id.to_owned());
            }
            view.event(e);
        }
        let primary = service["deployments"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| d["status"] == "PRIMARY")
            .and_then(|d| d["id"].as_str())
            .map(str::to_owned);
        let deployments = service["deployments"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| {
                let id = d["id"].as_str().unwrap_or("");
                let mine = tasks.iter().filter(|t| t["startedBy"] == id);
                let count = |health: &str| mine.clone().filter(|t| t["healthStatus"] == health).count();
                let role = if id == self.deployment {
                    "new"
                } else if Some(id) == primary.as_deref() {
                    "rollback"
                } else {
                    "old"
                };
                json!({
                    "role": role,
                    "id": id,
                    "status": d["status"],
                    "taskDefinition": short_taskdef(d["taskDefinition"].as_str().unwrap_or("")),
                    "desiredCount": d["desiredCount"],
                    "runningCount": d["runningCount"],
                    "pendingCount": d["pendingCount"],
                    "failedTasks": d["failedTasks"],
                    "healthy": count("HEALTHY"),
                    "unhealthy": count("UNHEALTHY"),
                    "rolloutState": d["rolloutState"],
                    "rolloutStateReason": d["rolloutStateReason"],
                })
            })
            .collect();
        let rollback_enabled = service["deploymentConfiguration"]["deploymentCircuitBreaker"]["rollback"] == true;
        Ok(Snapshot { deployments, primary, rollback_enabled })
    }

    /// Whether the rollout has ended, and how.
    async fn verdict(&self, s: &Snapshot, failure: &mut Option<String>) -> anyhow::Result<Option<Outcome>> {
        let ours = s.deployments.iter().find(|d| d["id"] == self.deployment.as_str());
        if let Some(d) = ours {
            match d["rolloutState"].as_str() {
                Some("COMPLETED") => return Ok(Some(Outcome::Completed)),
                Some("FAILED") => {
                    let reason = d["rolloutStateReason"].as_str().unwrap_or("the deployment failed.");
                    // The reason's own note about the rollback is told by the outcome instead.
                    let reason = reason.trim_end_matches(" Rolling back to the last completed deployment.");
                    *failure = Some(reason.to_owned());
                }
                _ => {}
            }
        }
        let Some(primary) = s.primary.clone() else { return Ok(None) };
        if let Some(reason) = failure.clone() {
            if primary == self.deployment {
                // Still the primary after failing: no rollback will come.
                return Ok(if s.rollback_enabled { None } else { Some(Outcome::Failed { reason }) });
            }
            let completed =
                s.deployments.iter().any(|d| d["id"] == primary.as_str() && d["rolloutState"] == "COMPLETED");
            return Ok(completed.then_some(Outcome::RolledBack { reason, rollback: primary, completed: true }));
        }
        if ours.is_none() && primary != self.deployment {
            // Gone before a verdict was seen: the service's deployment history tells how it ended.
            return Ok(Some(self.ended_unseen(&primary).await));
        }
        Ok(None)
    }

    /// How the deployment ended when it left the service between two reads.
    async fn ended_unseen(&self, primary: &str) -> Outcome {
        let history = ecs(
            &self.client,
            "ListServiceDeployments",
            json!({"cluster": self.cluster, "service": self.service, "maxResults": 20}),
        )
        .await;
        let digits = self.deployment.trim_start_matches("ecs-svc/");
        let arn = history.ok().and_then(|h| {
            h["serviceDeployments"]
                .as_array()?
                .iter()
                .filter_map(|b| b["serviceDeploymentArn"].as_str())
                .find(|a| a.ends_with(&format!("/{digits}")))
                .map(str::to_owned)
        });
        let Some(arn) = arn else { return Outcome::Superseded { by: primary.to_owned() } };
        let described = ecs(&self.client, "DescribeServiceDeployments", json!({"serviceDeploymentArns": [arn]})).await;
        let d = described.ok().map(|d| d["serviceDeployments"][0].clone()).unwrap_or_default();
        let reason = d["statusReason"].as_str().unwrap_or("").to_owned();
        match d["status"].as_str() {
            Some("SUCCESSFUL") => Outcome::Completed,
            Some(s) if s.starts_with("ROLLBACK") => {
                Outcome::RolledBack { reason, rollback: primary.to_owned(), completed: s == "ROLLBACK_SUCCESSFUL" }
            }
            Some("STOPPED") if reason.contains("circuit breaker") => Outcome::Failed { reason },
            _ => Outcome::Superseded { by: primary.to_owned() },
        }
    }
}

/// Resolves when the event stream announces a change (never without a stream).
async fn notified(changed: Option<&tokio::sync::Notify>) {
    match changed {
        Some(n) => n.notified().await,
        None => std::future::pending().await,
    }
}

fn is_transient(e: &anyhow::Error) -> bool {
    let text = format!("{e:#}");
    text.contains("cannot reach the Berth server") || text.contains("ServerException")
}

/// Prints the progress: a block redrawn in place on a terminal, a line per change otherwise, or NDJSON records.
struct View {
    format: OutputFormat,
    style: Style,
    service: String,
    deployment: String,
    /// Lines of the block drawn last (terminal), to move back over.
    drawn: usize,
    /// The last deployments printed (lines and JSON modes print only changes).
    last: Vec<Value>,
}

impl View {
    fn new(format: OutputFormat, style: Style, service: &str, deployment: &str) -> View {
        View {
            format,
            style,
            service: service.to_owned(),
            deployment: deployment.to_owned(),
            drawn: 0,
            last: Vec::new(),
        }
    }

    fn redraw_mode(&self) -> bool {
        self.format == OutputFormat::Table && self.style.terminal
    }

    /// Writes lines above the progress block (which is drawn again by the next progress call).
    fn emit(&mut self, text: &str) {
        let mut out = std::io::stdout().lock();
        if self.redraw_mode() && self.drawn > 0 {
            let _ = write!(out, "\x1b[{}A\x1b[J", self.drawn);
            self.drawn = 0;
        }
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    fn note(&mut self, text: &str) {
        match self.format {
            OutputFormat::Json => self.emit(
                &json!({"type": "started", "service": self.service,
                "deployment": self.deployment, "message": text})
                .to_string(),
            ),
            OutputFormat::Table => {
                let line = self.style.bold(text);
                self.emit(&line);
            }
        }
    }

    fn event(&mut self, e: &Value) {
        let message = e["message"].as_str().unwrap_or("");
        match self.format {
            OutputFormat::Json => self.emit(
                &json!({"type": "event", "id": e["id"], "createdAt": e["createdAt"], "message": message}).to_string(),
            ),
            OutputFormat::Table => {
                let text = if message.contains("deployment failed") || message.contains("rolling back") {
                    self.style.red(message)
                } else if message.contains("deployment completed") || message.contains("steady state") {
                    self.style.green(message)
                } else {
                    message.to_owned()
                };
                let line = format!("{} {text}", self.style.dim("event:"));
                self.emit(&line);
            }
        }
    }

    fn progress(&mut self, deployments: &[Value], elapsed: Duration, live: bool) {
        let changed = deployments != self.last.as_slice();
        self.last = deployments.to_vec();
        match self.format {
            OutputFormat::Json => {
                if changed {
                    let record = json!({"type": "progress", "service": self.service,
                        "elapsedSeconds": elapsed.as_secs_f64().round(), "eventStream": live,
                        "deployments": deployments});
                    self.emit(&record.to_string());
                }
            }
            OutputFormat::Table if self.redraw_mode() => {
                let mut lines = vec![format!(
                    "{} {} {}",
                    self.style.bold(&format!("deploying {}", self.service)),
                    self.style.dim(&format!("{}s", elapsed.as_secs())),
                    self.style.dim(if live { "(live)" } else { "(polling)" })
                )];
                for d in deployments {
                    lines.push(format!("  {}", self.line(d, false)));
                    if d["rolloutState"] == "FAILED"
                        && let Some(reason) = d["rolloutStateReason"].as_str()
                    {
                        lines.push(format!("    {}", self.style.red(reason)));
                    }
                }
                let mut out = std::io::stdout().lock();
                if self.drawn > 0 {
                    let _ = write!(out, "\x1b[{}A\x1b[J", self.drawn);
                }
                for l in &lines {
                    let _ = writeln!(out, "{l}");
                }
                let _ = out.flush();
                // Long lines wrap: count the rows they take, so the next redraw moves back over all of them.
                self.drawn = output::screen_rows(&lines, output::terminal_width());
            }
            OutputFormat::Table => {
                if changed {
                    let text: Vec<String> = deployments.iter().map(|d| self.line(d, true)).collect();
                    let _ = writeln!(std::io::stdout().lock(), "{}", text.join("\n"));
                }
            }
        }
    }

    /// One deployment as a line (with the reason of a failure when `reason`).
    fn line(&self, d: &Value, reason: bool) -> String {
        let n = |k: &str| d[k].as_i64().unwrap_or(0);
        let role = d["role"].as_str().unwrap_or("");
        let rollout = d["rolloutState"].as_str().unwrap_or("-");
        let mut text = format!(
            "{:<8} {} {} {:<7} {} running {}/{} pending {} failed {} healthy {}",
            role,
            d["id"].as_str().unwrap_or(""),
            d["taskDefinition"].as_str().unwrap_or(""),
            d["status"].as_str().unwrap_or(""),
            self.style.status(rollout),
            n("runningCount"),
            n("desiredCount"),
            n("pendingCount"),
            n("failedTasks"),
            n("healthy"),
        );
        if n("unhealthy") > 0 {
            text.push_str(&format!(" unhealthy {}", self.style.red(&n("unhealthy").to_string())));
        }
        if reason
            && rollout == "FAILED"
            && let Some(reason) = d["rolloutStateReason"].as_str()
        {
            text.push_str(&format!(" ({})", self.style.red(reason)));
        }
        text
    }

    fn result(&mut self, outcome: &Outcome, revision: &str) {
        let summary = outcome.summary(&self.deployment);
        match self.format {
            OutputFormat::Json => {
                let mut record = Map::new();
                record.insert("type".into(), json!("result"));
                record.insert("service".into(), json!(self.service));
                record.insert("deployment".into(), json!(self.deployment));
                record.insert("taskDefinition".into(), json!(revision));
                record.insert("status".into(), json!(outcome.status()));
                record.insert("message".into(), json!(summary));
                match outcome {
                    Outcome::Failed { reason } => {
                        record.insert("reason".into(), json!(reason));
                    }
                    Outcome::RolledBack { reason, rollback, completed } => {
                        record.insert("reason".into(), json!(reason));
                        record.insert("rollbackDeployment".into(), json!(rollback));
                        record.insert("rollbackCompleted".into(), json!(completed));
                    }
                    Outcome::Superseded { by } => {
                        record.insert("replacedBy".into(), json!(by));
                    }
                    _ => {}
                }
                self.emit(&Value::Object(record).to_string());
            }
            OutputFormat::Table => {
                // The block stays on screen as the final state; the verdict goes below it.
                self.drawn = 0;
                let text = match outcome {
                    Outcome::Completed | Outcome::Updated => self.style.green(&summary),
                    _ => self.style.red(&summary),
                };
                self.emit(&text);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_definition_files_are_checked() {
        let dir = std::env::temp_dir().join(format!("berth-deploy-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.json");
        std::fs::write(&bad, "family: web").unwrap();
        let e = read_task_definition(&bad).unwrap_err().to_string();
        assert!(e.contains("is not JSON"), "{e}");
        let list = dir.join("list.json");
        std::fs::write(&list, "[1]").unwrap();
        assert!(read_task_definition(&list).unwrap_err().to_string().contains("not an array"));
        let described = dir.join("described.json");
        std::fs::write(
            &described,
            r#"{"taskDefinition": {"family": "web", "revision": 3, "status": "ACTIVE", "containerDefinitions": []}}"#,
        )
        .unwrap();
        assert_eq!(read_task_definition(&described).unwrap(), json!({"family": "web", "containerDefinitions": []}));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn summaries_name_the_breaker_and_the_rollback() {
        let o = Outcome::RolledBack {
            reason: "ECS deployment circuit breaker: tasks failed to start.".into(),
            rollback: "ecs-svc/2".into(),
            completed: true,
        };
        assert_eq!(
            o.summary("ecs-svc/1"),
            "deployment ecs-svc/1 failed: ECS deployment circuit breaker: tasks failed to start. Rolled back: \
             deployment ecs-svc/2 completed."
        );
    }
}
