// Services: the cluster's services table, and one service's page (counts, deployments and their rollout, CPU and
// memory charts, its tasks, its events).

import { Section, attempt, badge, facts, h, link, note, pct, shortArn, table, time } from "/ui/dom.js";
import { utilizationChart } from "/ui/charts.js";
import { listTasks, tasksTable } from "/ui/tasks.js";

/** The services of a cluster, with current utilization when known (`utilization[name]`). */
export function servicesTable(services, cluster, routeOf, utilization = {}) {
  const rows = services
    .sort((a, b) => a.serviceName.localeCompare(b.serviceName))
    .map((s) => {
      const primary = (s.deployments || []).find((d) => d.status === "PRIMARY");
      const u = utilization[s.serviceName] || {};
      return {
        props: { testid: "service-row", data: { name: s.serviceName } },
        cells: [
          link(routeOf("clusters", cluster, "services", s.serviceName), s.serviceName, {
            testid: `service-link-${s.serviceName}`,
          }),
          badge(s.status),
          h("span", { class: "counts" }, `${s.runningCount ?? 0} / ${s.desiredCount ?? 0}`),
          String(s.pendingCount ?? 0),
          primary ? badge(primary.rolloutState) : "—",
          h("span", { class: "mono" }, shortArn(s.taskDefinition)),
          pct(u.cpuUtilization),
          pct(u.memoryUtilization),
        ],
      };
    });
  return table(
    ["Service", "Status", "Running / desired", "Pending", "Rollout", "Task definition", "CPU", "Memory"],
    rows,
    { class: "grid-table", testid: "services-table" },
  );
}

function deploymentsTable(deployments) {
  const rows = (deployments || []).map((d) => ({
    props: { testid: "deployment-row", data: { id: d.id, status: d.status, rollout: d.rolloutState || "" } },
    cells: [
      h("span", { class: "mono" }, d.id),
      badge(d.status),
      h("span", {}, badge(d.rolloutState), d.rolloutStateReason
        ? h("div", { class: "reason" }, d.rolloutStateReason) : null),
      String(d.desiredCount ?? 0),
      String(d.runningCount ?? 0),
      String(d.pendingCount ?? 0),
      h("span", { class: d.failedTasks ? "bad-text" : "" }, String(d.failedTasks ?? 0)),
      h("span", { class: "mono" }, shortArn(d.taskDefinition)),
      time(d.updatedAt || d.createdAt),
    ],
  }));
  return table(
    ["Deployment", "Status", "Rollout", "Desired", "Running", "Pending", "Failed tasks", "Task definition", "Updated"],
    rows,
    { class: "grid-table", testid: "deployments-table" },
  );
}

function eventsList(events) {
  // ECS answers newest first already; sort anyway, so the order does not depend on the server.
  const sorted = [...(events || [])].sort((a, b) => Number(b.createdAt) - Number(a.createdAt)).slice(0, 100);
  if (!sorted.length) return note("info", "No events yet.");
  return h(
    "ol",
    { class: "events", testid: "service-events" },
    sorted.map((e) => h("li", { testid: "service-event" }, time(e.createdAt), h("span", {}, e.message))),
  );
}

export function serviceScreen({ api, routeOf }, cluster, name) {
  const head = new Section({ class: "summary", testid: "service-summary" });
  const charts = new Section({ class: "charts", testid: "service-charts" });
  const deployments = new Section({ testid: "service-deployments" });
  const tasks = new Section({ testid: "service-tasks" });
  const events = new Section({ testid: "service-events-section" });

  async function refreshService() {
    const r = await attempt(api.ecs("DescribeServices", { cluster, services: [name] }));
    const service = r.value && (r.value.services || [])[0];
    const missing = r.value && !service ? ((r.value.failures || [])[0] || {}).reason || "MISSING" : null;
    head.update({ r, missing }, () => {
      if (r.error) return note("error", `The service could not be described: ${r.error}`);
      if (missing) return note("error", `No service ${name} in cluster ${cluster} (${missing}).`);
      return facts([
        ["Status", badge(service.status), "service-status"],
        ["Desired", String(service.desiredCount ?? 0), "service-desired"],
        ["Running", String(service.runningCount ?? 0), "service-running"],
        ["Pending", String(service.pendingCount ?? 0), "service-pending"],
        ["Task definition", h("span", { class: "mono" }, shortArn(service.taskDefinition))],
        ["Launch type", service.launchType || "—"],
        ["Created", time(service.createdAt)],
      ]);
    });
    deployments.update(service ? service.deployments : null, (list) =>
      list ? [h("h2", {}, "Deployments"), deploymentsTable(list)] : null,
    );
    events.update(service ? service.events : null, (list) => (list ? [h("h2", {}, "Events"), eventsList(list)] : null));
  }

  async function refreshCharts() {
    const r = await attempt(api.berth("DescribeUtilization", { cluster, services: [name] }));
    charts.update(r, ({ value, error }) => {
      if (error) return note("warn", `Utilization is not available: ${error}`, "utilization-error");
      const s = (value.services || []).find((x) => x.serviceName === name) || {};
      return [
        utilizationChart("CPU", s.datapoints, "cpuUtilization", s.cpuUtilization, "chart-cpu"),
        utilizationChart("Memory", s.datapoints, "memoryUtilization", s.memoryUtilization, "chart-memory"),
      ];
    });
  }

  async function refreshTasks() {
    const r = await attempt(listTasks(api, cluster, { serviceName: name }));
    tasks.update(r, ({ value, error }) => [
      h("h2", {}, "Tasks"),
      error
        ? note("error", `Tasks could not be listed: ${error}`)
        : value.length
          ? tasksTable(value, cluster, routeOf)
          : note("info", "No tasks yet.", "no-tasks"),
    ]);
  }

  return {
    title: name,
    periodMs: 10000,
    el: h(
      "div",
      { class: "screen", id: "service-detail", testid: "service-screen", data: { cluster, service: name } },
      h("h1", {}, h("span", { class: "muted" }, "Service "), name),
      head.el,
      charts.el,
      deployments.el,
      tasks.el,
      events.el,
    ),
    async refresh() {
      await Promise.all([refreshService(), refreshCharts(), refreshTasks()]);
    },
  };
}
