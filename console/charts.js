// Utilization charts drawn as inline SVG from DescribeUtilization's datapoints (no chart library: nothing is
// fetched from elsewhere, and a line over the last hour is all we need).

import { h, svg } from "/ui/dom.js";

const WIDTH = 520;
const HEIGHT = 150;
const PAD = { left: 36, right: 10, top: 10, bottom: 22 };
const WINDOW_S = 3600;
const MIN_WINDOW_S = 600;

/** The smallest of 1, 2, 5, 10, 20, 50, 100, 200, ... (percent) at or above `v`. */
function niceCeil(v) {
  if (!(v > 1) || !Number.isFinite(v)) return 1;
  let base = 1;
  for (;;) {
    for (const m of [1, 2, 5]) if (v <= base * m) return base * m;
    base *= 10;
  }
}

/**
 * A chart of one metric ("cpuUtilization" or "memoryUtilization") over the last hour.
 * @param {string} title   heading, e.g. "CPU"
 * @param {Array} points   datapoints, oldest first: {timestamp, cpuUtilization, memoryUtilization}
 * @param {string} field   which value to draw
 * @param {number|null} current  the latest value, shown next to the title
 */
export function utilizationChart(title, points, field, current, testid) {
  const values = (points || []).filter((p) => p[field] !== null && p[field] !== undefined);
  const head = h(
    "div",
    { class: "chart-head" },
    h("span", { class: "chart-title" }, title),
    h("span", { class: "chart-value", testid: `${testid}-value` }, current === null || current === undefined
      ? "—" : `${Number(current).toFixed(1)}%`),
  );
  if (!values.length) {
    return h("figure", { class: "chart", testid, data: { points: "0" } }, head,
      h("div", { class: "chart-empty" }, "no data yet"));
  }
  const now = Math.max(Date.now() / 1000, values[values.length - 1].timestamp);
  // The last hour at most; a young series gets a window of 10 minutes or its own age, so it is not a speck at "now".
  const span = Math.min(WINDOW_S, Math.max(MIN_WINDOW_S, now - values[0].timestamp));
  const start = now - span;
  // Scale to the data (idle services use a fraction of a percent), on a round top value.
  const top = niceCeil(Math.max(...values.map((p) => Number(p[field]))) * 1.15);
  const x = (t) => PAD.left + ((t - start) / span) * (WIDTH - PAD.left - PAD.right);
  const y = (v) => PAD.top + (1 - v / top) * (HEIGHT - PAD.top - PAD.bottom);
  const grid = [0, 0.5, 1].map((f) => {
    const v = top * f;
    return [
      svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(v), y2: y(v), class: "grid" }),
      svg("text", { x: PAD.left - 4, y: y(v) + 4, class: "axis", "text-anchor": "end" }, `${v < 10 ? v.toFixed(1).replace(/\.0$/, "") : Math.round(v)}%`),
    ];
  });
  const ticks = [4, 3, 2, 1, 0].map((i) => {
    const ago = (span * i) / 4;
    const label = i === 0 ? "now" : ago >= 120 ? `-${+(ago / 60).toFixed(1)}m` : `-${Math.round(ago)}s`;
    return svg("text", { x: x(now - ago), y: HEIGHT - 6, class: "axis", "text-anchor": "middle" }, label);
  });
  const visible = values.filter((p) => p.timestamp >= start);
  const line = visible.map((p, i) => `${i ? "L" : "M"}${x(p.timestamp).toFixed(1)},${y(Number(p[field])).toFixed(1)}`);
  const area = visible.length
    ? `${line.join(" ")} L${x(visible[visible.length - 1].timestamp).toFixed(1)},${y(0)} ` +
      `L${x(visible[0].timestamp).toFixed(1)},${y(0)} Z`
    : "";
  const chart = svg(
    "svg",
    { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: "chart-svg", role: "img", "aria-label": `${title} utilization` },
    grid,
    ticks,
    area ? svg("path", { d: area, class: "area" }) : null,
    svg("path", { d: line.join(" "), class: "line" }),
    visible.length === 1
      ? svg("circle", { cx: x(visible[0].timestamp), cy: y(Number(visible[0][field])), r: 3, class: "dot" })
      : null,
  );
  return h("figure", { class: "chart", testid, data: { points: String(visible.length) } }, head, chart);
}
