// Container instances: each host of the cluster with its agent's connection, status, task counts, and how much of
// its registered CPU and memory the placed tasks hold (registered minus remaining resources).

import { badge, bar, h, resource, shortArn, table, time } from "/ui/dom.js";

export async function listInstances(api, cluster) {
  const arns = await api.listAll("ListContainerInstances", { cluster }, "containerInstanceArns");
  const list = await api.describeChunked(
    "DescribeContainerInstances",
    { cluster },
    "containerInstances",
    arns,
    "containerInstances",
    100,
  );
  return list.sort((a, b) => String(a.ec2InstanceId || a.containerInstanceArn).localeCompare(
    String(b.ec2InstanceId || b.containerInstanceArn)));
}

export function instancesView(instances) {
  const rows = instances.map((ci) => {
    const cpuTotal = resource(ci.registeredResources, "CPU");
    const memTotal = resource(ci.registeredResources, "MEMORY");
    const cpuUsed = cpuTotal - resource(ci.remainingResources, "CPU");
    const memUsed = memTotal - resource(ci.remainingResources, "MEMORY");
    const id = shortArn(ci.containerInstanceArn);
    return {
      props: { testid: "instance-row", data: { id, status: ci.status || "", connected: String(!!ci.agentConnected) } },
      cells: [
        h(
          "div",
          {},
          h("div", { class: "mono" }, ci.ec2InstanceId || id),
          ci.ec2InstanceId && ci.ec2InstanceId !== id ? h("div", { class: "mono muted small" }, id) : null,
        ),
        badge(ci.status),
        badge(ci.agentConnected ? "CONNECTED" : "DISCONNECTED", "instance-connected"),
        `${ci.runningTasksCount ?? 0} running · ${ci.pendingTasksCount ?? 0} pending`,
        h(
          "div",
          { class: "bars" },
          bar("CPU", cpuUsed, cpuTotal, "units", "bar-cpu"),
          bar("Memory", memUsed, memTotal, "MiB", "bar-memory"),
        ),
        h("span", { class: "small" }, (ci.versionInfo && ci.versionInfo.agentVersion) || "—"),
        time(ci.registeredAt),
      ],
    };
  });
  return table(
    ["Instance", "Status", "Agent", "Tasks", "Reserved by tasks", "Agent version", "Registered"],
    rows,
    { class: "grid-table", testid: "instances-table" },
  );
}
