// The clusters list and one cluster's page (tabs: services, tasks, container instances).

import { Section, attempt, badge, facts, h, link, note, table } from "/ui/dom.js";
import { utilizationChart } from "/ui/charts.js";
import { servicesTable } from "/ui/services.js";
import { listTasks, tasksTable } from "/ui/tasks.js";
import { instancesView, listInstances } from "/ui/instances.js";

/** Every cluster with its counts (DescribeClusters answers at most 100 per call). */
async function describeAllClusters(api) {
  const arns = await api.listAll("ListClusters", {}, "clusterArns");
  return api.describeChunked("DescribeClusters", {}, "clusters", arns, "clusters", 100);
}

export function clustersScreen({ api, routeOf }) {
  const list = new Section({ id: "clusters", testid: "clusters" });
  return {
    title: "Clusters",
    el: h("div", { class: "screen" }, h("h1", {}, "Clusters"), list.el),
    async refresh() {
      const r = await attempt(describeAllClusters(api));
      list.update(r, ({ value, error }) => {
        if (error) return note("error", `Clusters could not be listed: ${error}`);
        if (!value.length) return note("info", "No clusters yet. Create one with `aws ecs create-cluster`.");
        const rows = value
          .sort((a, b) => a.clusterName.localeCompare(b.clusterName))
          .map((c) => ({
            props: { testid: "cluster-row", data: { name: c.clusterName } },
            cells: [
              link(routeOf("clusters", c.clusterName), c.clusterName, { testid: `cluster-link-${c.clusterName}` }),
              badge(c.status),
              String(c.activeServicesCount ?? 0),
              String(c.runningTasksCount ?? 0),
              String(c.pendingTasksCount ?? 0),
              String(c.registeredContainerInstancesCount ?? 0),
            ],
          }));
        return table(["Cluster", "Status", "Services", "Running tasks", "Pending tasks", "Instances"], rows, {
          class: "grid-table",
        });
      });
    },
  };
}

/** One cluster: its counts and utilization, then a tab of services, tasks or container instances. */
export function clusterScreen({ api, routeOf }, cluster, tab) {
  const summary = new Section({ class: "summary", testid: "cluster-summary" });
  const charts = new Section({ class: "charts", testid: "cluster-charts" });
  const body = new Section({ id: `tab-${tab}`, testid: `tab-${tab}` });
  const tabs = h(
    "nav",
    { class: "tabs", testid: "cluster-tabs" },
    [
      ["services", "Services"],
      ["tasks", "Tasks"],
      ["instances", "Container instances"],
    ].map(([id, label]) =>
      link(routeOf("clusters", cluster, id), label, { class: id === tab ? "tab active" : "tab", testid: `tab-link-${id}` }),
    ),
  );

  async function refreshSummary(utilization) {
    const r = await attempt(api.ecs("DescribeClusters", { clusters: [cluster] }));
    summary.update(r, ({ value, error }) => {
      if (error) return note("error", `The cluster could not be described: ${error}`);
      const c = (value.clusters || [])[0];
      if (!c) return note("error", `No cluster named ${cluster}.`);
      return facts([
        ["Status", badge(c.status)],
        ["Services", String(c.activeServicesCount ?? 0)],
        ["Running tasks", String(c.runningTasksCount ?? 0), "cluster-running"],
        ["Pending tasks", String(c.pendingTasksCount ?? 0)],
        ["Container instances", String(c.registeredContainerInstancesCount ?? 0)],
      ]);
    });
    charts.update(utilization, ({ value, error }) => {
      if (error) return note("warn", `Utilization is not available: ${error}`, "utilization-error");
      const c = value.cluster || {};
      return [
        utilizationChart("Cluster CPU", c.datapoints, "cpuUtilization", c.cpuUtilization, "chart-cpu"),
        utilizationChart("Cluster memory", c.datapoints, "memoryUtilization", c.memoryUtilization, "chart-memory"),
      ];
    });
  }

  async function refreshTab(utilization) {
    if (tab === "services") {
      const r = await attempt(
        (async () => {
          const arns = await api.listAll("ListServices", { cluster }, "serviceArns");
          return api.describeChunked("DescribeServices", { cluster }, "services", arns, "services", 10);
        })(),
      );
      const byName = {};
      for (const s of (utilization.value && utilization.value.services) || []) byName[s.serviceName] = s;
      body.update({ r, byName }, () => {
        if (r.error) return note("error", `Services could not be listed: ${r.error}`);
        if (!r.value.length) return note("info", "No services in this cluster.");
        return servicesTable(r.value, cluster, routeOf, byName);
      });
    } else if (tab === "tasks") {
      const r = await attempt(listTasks(api, cluster, {}));
      body.update(r, ({ value, error }) => {
        if (error) return note("error", `Tasks could not be listed: ${error}`);
        if (!value.length) return note("info", "No tasks in this cluster.");
        return tasksTable(value, cluster, routeOf);
      });
    } else {
      const r = await attempt(listInstances(api, cluster));
      body.update(r, ({ value, error }) => {
        if (error) return note("error", `Container instances could not be listed: ${error}`);
        if (!value.length) return note("info", "No container instances in this cluster.");
        return instancesView(value);
      });
    }
  }

  return {
    title: cluster,
    periodMs: 10000,
    el: h(
      "div",
      { class: "screen", testid: "cluster-screen", data: { cluster } },
      h("h1", {}, h("span", { class: "muted" }, "Cluster "), cluster),
      summary.el,
      charts.el,
      tabs,
      body.el,
    ),
    async refresh() {
      // One utilization call feeds the cluster charts and the services table's columns.
      const utilization = await attempt(api.berth("DescribeUtilization", { cluster }));
      await Promise.all([refreshSummary(utilization), refreshTab(utilization)]);
    },
  };
}
