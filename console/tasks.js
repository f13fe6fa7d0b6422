// Tasks: the tasks table (a cluster's or a service's), and one task's page with its containers and a live log view
// per container.

import { Section, attempt, badge, facts, fmtNumber, h, link, note, shortArn, table, taskIdOf, time } from "/ui/dom.js";

const LOG_POLL_MS = 1500;
const LOG_MAX_LINES = 5000;
const LOG_FIRST_PAGE = 500;
const LOG_PAGE = 1000;
const TASKS_SHOWN = 200;

// Task definitions never change once registered: fetched once per page load.
const taskDefinitions = new Map();

async function taskDefinition(api, arn) {
  if (!taskDefinitions.has(arn)) {
    const p = api.ecs("DescribeTaskDefinition", { taskDefinition: arn }).then((r) => r.taskDefinition);
    taskDefinitions.set(arn, p);
    p.catch(() => taskDefinitions.delete(arn)); // retry on the next refresh
  }
  return taskDefinitions.get(arn);
}

/** Running and recently stopped tasks, newest first; `filter` is a ListTasks filter ({serviceName}, ...). */
export async function listTasks(api, cluster, filter) {
  const [running, stopped] = await Promise.all(
    ["RUNNING", "STOPPED"].map((desiredStatus) =>
      api.listAll("ListTasks", { cluster, desiredStatus, ...filter }, "taskArns"),
    ),
  );
  const arns = [...new Set([...running, ...stopped])].slice(0, TASKS_SHOWN);
  const tasks = await api.describeChunked("DescribeTasks", { cluster }, "tasks", arns, "tasks", 100);
  // Still wanted first, then the newest.
  const rank = (t) => (t.desiredStatus === "STOPPED" ? 1 : 0);
  return tasks.sort((a, b) => rank(a) - rank(b) || Number(b.createdAt || 0) - Number(a.createdAt || 0));
}

/** `0.0.0.0:8080→80/tcp` for each network binding of a container. */
export function ports(container) {
  return (container.networkBindings || []).map(
    (b) => `${b.bindIP || "0.0.0.0"}:${b.hostPort ?? "?"}→${b.containerPort ?? "?"}/${b.protocol || "tcp"}`,
  );
}

function containerSummary(c) {
  const exit = c.exitCode !== undefined && c.exitCode !== null ? ` (exit ${c.exitCode})` : "";
  return h("div", { class: "container-line" }, h("span", { class: "mono" }, c.name), " ", badge(c.lastStatus),
    h("span", { class: c.exitCode ? "bad-text" : "muted" }, exit));
}

export function tasksTable(tasks, cluster, routeOf) {
  const rows = tasks.map((t) => {
    const id = taskIdOf(t.taskArn);
    return {
      props: { testid: "task-row", data: { taskId: id, lastStatus: t.lastStatus || "", desiredStatus: t.desiredStatus || "" } },
      cells: [
        link(routeOf("clusters", cluster, "tasks", id), id.slice(0, 12), { class: "mono", title: id,
          testid: `task-link-${id}` }),
        h("span", { class: "mono" }, shortArn(t.taskDefinitionArn)),
        badge(t.lastStatus),
        badge(t.desiredStatus),
        badge(t.healthStatus),
        (t.containers || []).map(containerSummary),
        h("span", { class: "mono" }, (t.containers || []).flatMap(ports).join(", ") || "—"),
        time(t.startedAt || t.createdAt),
        h("span", { class: "reason" }, t.stoppedReason || ""),
      ],
    };
  });
  return table(
    ["Task", "Task definition", "Last status", "Desired", "Health", "Containers", "Ports", "Started", "Stopped reason"],
    rows,
    { class: "grid-table", testid: "tasks-table" },
  );
}

/**
 * Where a container's output is kept: the awslogs naming, as crates/berth-model/src/logs.rs `destination` does it
 * (group from awslogs-group, default /ecs/<family>; stream <prefix>/<container>/<task-id>, default prefix ecs).
 * Returns null for log drivers Berth cannot read back.
 */
export function logDestination(family, containerDef, taskId) {
  const config = containerDef.logConfiguration;
  const driver = config ? config.logDriver : "awslogs";
  if (!["awslogs", "json-file", "local", "journald"].includes(driver)) return null;
  const option = (name) => (driver === "awslogs" && config && config.options && config.options[name]) || null;
  return {
    logGroupName: option("awslogs-group") || `/ecs/${family}`,
    logStreamName: `${option("awslogs-stream-prefix") || "ecs"}/${containerDef.name}/${taskId}`,
  };
}

/** A live view of one log stream: the latest lines, then every new one (GetLogEvents with nextForwardToken). */
class LogPane {
  constructor(api, containerName, destination) {
    this.api = api;
    this.destination = destination;
    this.token = null;
    this.stopped = false;
    this.abort = new AbortController();
    this.count = 0;
    this.ended = false;
    this.status = h("span", { class: "log-status muted", testid: "log-status" }, "loading…");
    this.lines = h("div", { class: "log-lines", testid: "log-lines", tabindex: "0" });
    this.el = h(
      "section",
      { class: "log-pane", testid: "log-view", data: { container: containerName } },
      h(
        "div",
        { class: "log-head" },
        h("h3", {}, "Logs · ", h("span", { class: "mono" }, containerName)),
        h("span", { class: "mono muted small" }, destination ? `${destination.logGroupName} › ${destination.logStreamName}` : ""),
        h("div", { class: "spacer" }),
        this.status,
      ),
      this.lines,
    );
    if (destination) this.loop();
    else this.setStatus("Logs are not kept for this container's log driver.", "warn");
  }

  setStatus(text, tone = "muted") {
    this.status.textContent = text;
    this.status.className = `log-status ${tone}`;
  }

  stop() {
    this.stopped = true;
    this.abort.abort();
  }

  sleep(ms) {
    return new Promise((r) => setTimeout(r, ms));
  }

  append(events) {
    if (!events.length) return;
    // Stay at the bottom only when the reader was there: scrolling up to read must not be interrupted.
    const atBottom = this.lines.scrollHeight - this.lines.scrollTop - this.lines.clientHeight < 40;
    const fragment = document.createDocumentFragment();
    for (const e of events) {
      const t = new Date(Number(e.timestamp));
      fragment.append(
        h("div", { class: "log-line", testid: "log-line" },
          h("span", { class: "log-time", title: t.toISOString() }, t.toLocaleTimeString()),
          h("span", { class: "log-msg" }, String(e.message ?? "").replace(/\n$/, ""))),
      );
    }
    this.lines.append(fragment);
    this.count += events.length;
    while (this.lines.childElementCount > LOG_MAX_LINES) this.lines.firstElementChild.remove();
    if (atBottom) this.lines.scrollTop = this.lines.scrollHeight;
  }

  async loop() {
    while (!this.stopped) {
      let full = false;
      try {
        const input = { ...this.destination, limit: this.token ? LOG_PAGE : LOG_FIRST_PAGE };
        // The first call (no token) answers the latest lines; then follow forward from there.
        if (this.token) Object.assign(input, { nextToken: this.token, startFromHead: true });
        const out = await this.api.logs("GetLogEvents", input, { signal: this.abort.signal });
        if (this.stopped) return;
        const events = out.events || [];
        this.append(events);
        full = events.length >= input.limit;
        if (out.nextForwardToken) this.token = out.nextForwardToken;
        // A stopped task prints no more; still polled, as the agent may ship its last lines a moment later.
        const state = this.ended ? "ended" : "following";
        this.setStatus(`${state} · ${this.count ? `${this.count} lines` : "no output yet"}`, this.ended ? "muted" : "good-text");
      } catch (e) {
        if (this.stopped || e.name === "AbortError") return;
        if (e.code === "ResourceNotFoundException") this.setStatus("waiting for the log stream…", "muted");
        else this.setStatus(`Logs unavailable: ${e}`, "bad-text");
        this.status.dataset.error = String(e);
      }
      // A full page means more is waiting: fetch it now rather than after the pause.
      if (!full) await this.sleep(LOG_POLL_MS);
    }
  }
}

function containersTable(task) {
  const rows = (task.containers || []).map((c) => ({
    props: { testid: "container-row", data: { name: c.name, lastStatus: c.lastStatus || "" } },
    cells: [
      h("span", { class: "mono" }, c.name),
      h("span", { class: "mono small" }, c.image || "—"),
      badge(c.lastStatus),
      h("span", { testid: "exit-code", class: c.exitCode ? "bad-text" : "" },
        c.exitCode === undefined || c.exitCode === null ? "—" : String(c.exitCode)),
      badge(c.healthStatus),
      h("span", { class: "mono", testid: "container-ports" }, ports(c).join(", ") || "—"),
      h("span", { class: "reason" }, c.reason || ""),
    ],
  }));
  return table(["Container", "Image", "Status", "Exit code", "Health", "Ports", "Reason"], rows, {
    class: "grid-table",
    testid: "containers-table",
  });
}

export function taskScreen({ api, routeOf }, cluster, taskId) {
  const head = new Section({ class: "summary", testid: "task-summary" });
  const containers = new Section({ testid: "task-containers" });
  const logs = h("div", { class: "logs", testid: "task-logs" });
  const panes = [];
  let panesFor = null;

  async function ensurePanes(task) {
    if (panesFor) return;
    const td = await attempt(taskDefinition(api, task.taskDefinitionArn));
    if (td.error) {
      logs.replaceChildren(note("error", `The task definition could not be read, so its log streams are unknown: ${td.error}`));
      return; // retried on the next refresh
    }
    panesFor = task.taskArn;
    const id = taskIdOf(task.taskArn);
    logs.replaceChildren(h("h2", {}, "Logs"));
    for (const def of td.value.containerDefinitions || []) {
      const pane = new LogPane(api, def.name, logDestination(td.value.family, def, id));
      panes.push(pane);
      logs.append(pane.el);
    }
  }

  return {
    title: `Task ${taskId.slice(0, 12)}`,
    periodMs: 5000,
    el: h(
      "div",
      { class: "screen", id: "task-detail", testid: "task-screen", data: { cluster, taskId } },
      h("h1", {}, h("span", { class: "muted" }, "Task "), h("span", { class: "mono" }, taskId)),
      head.el,
      containers.el,
      logs,
    ),
    async refresh() {
      const [r, u] = await Promise.all([
        attempt(api.ecs("DescribeTasks", { cluster, tasks: [taskId] })),
        attempt(api.berth("DescribeUtilization", { cluster, tasks: [taskId] })),
      ]);
      const task = r.value && (r.value.tasks || [])[0];
      const usage = u.value && (u.value.tasks || [])[0];
      head.update({ r, u: u.error || usage || null }, () => {
        if (r.error) return note("error", `The task could not be described: ${r.error}`);
        if (!task) return note("error", `No task ${taskId} in cluster ${cluster}.`);
        const group = task.group || "";
        const service = group.startsWith("service:") ? group.slice(8) : null;
        return facts([
          ["Last status", badge(task.lastStatus), "task-last-status"],
          ["Desired status", badge(task.desiredStatus), "task-desired-status"],
          ["Health", badge(task.healthStatus)],
          ["Task definition", h("span", { class: "mono" }, shortArn(task.taskDefinitionArn))],
          ["Group", service ? link(routeOf("clusters", cluster, "services", service), group) : group || "—"],
          ["Container instance", h("span", { class: "mono" }, shortArn(task.containerInstanceArn))],
          ["CPU / memory", `${task.cpu || "—"} units / ${task.memory || "—"} MiB`],
          ["Started", time(task.startedAt)],
          task.stoppedAt ? ["Stopped", time(task.stoppedAt)] : null,
          task.stopCode ? ["Stop code", task.stopCode] : null,
          task.stoppedReason ? ["Stopped reason", task.stoppedReason, "task-stopped-reason"] : null,
          [
            "Utilization",
            u.error
              ? h("span", { class: "muted", title: u.error }, "not available")
              : usage
                ? `CPU ${fmtNumber(usage.cpuUtilization)}% (${fmtNumber(usage.cpuUsed)} units) · memory ` +
                  `${fmtNumber(usage.memoryUtilization)}% (${fmtNumber(usage.memoryUsedMiB)} MiB)`
                : h("span", { class: "muted" }, "no recent sample"),
            "task-utilization",
          ],
        ]);
      });
      containers.update(task ? task.containers : null, () => (task ? [h("h2", {}, "Containers"), containersTable(task)] : null));
      if (task) await ensurePanes(task);
      for (const pane of panes) pane.ended = !!task && task.lastStatus === "STOPPED";
    },
    dispose() {
      for (const pane of panes) pane.stop();
    },
  };
}
