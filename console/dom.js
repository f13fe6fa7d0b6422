// Small DOM helpers shared by the screens: element building, formatting, notes, resource bars.
//
// Everything is built with createElement and textContent, never innerHTML, so names and log lines coming from the
// API are shown as text, never interpreted. Styles are set through CSSOM (el.style), which the page's
// Content-Security-Policy (style-src 'self') allows, unlike style="" attributes.

/**
 * h("div", {class: "x", testid: "y", onclick: fn, data: {name: "a"}}, child, "text", [more])
 * Children may be nodes, strings, numbers, arrays, or null/false (skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "testid") el.setAttribute("data-testid", value);
    else if (key === "data") for (const [k, v] of Object.entries(value)) el.dataset[k] = v;
    else if (key === "style") Object.assign(el.style, value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** An SVG element (namespaced; attributes set verbatim). */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) el.setAttribute(k, v);
  append(el, children);
  return el;
}

/** A link to a hash route. */
export function link(route, text, props = {}) {
  return h("a", { href: "#" + route, ...props }, text);
}

/** A visible note, e.g. when an API answers an error: the screen goes on showing what it can. */
export function note(kind, text, testid) {
  return h("div", { class: `note ${kind}`, testid: testid || (kind === "error" ? "api-error" : "note") }, text);
}

/** Builds a table; `rows` are arrays of cells (nodes or text) or {cells, props} objects. */
export function table(headers, rows, props = {}) {
  return h(
    "table",
    props,
    h("thead", {}, h("tr", {}, headers.map((t) => h("th", {}, t)))),
    h(
      "tbody",
      {},
      rows.map((row) => {
        const { cells, props: rowProps } = Array.isArray(row) ? { cells: row, props: {} } : row;
        return h("tr", rowProps, cells.map((c) => h("td", {}, c)));
      }),
    ),
  );
}

/** A coloured pill for a status word (RUNNING, ACTIVE, HEALTHY, FAILED, ...). */
export function badge(text, testid) {
  if (!text) return h("span", { class: "muted" }, "—");
  const word = String(text).toUpperCase();
  let tone = "neutral";
  if (/^(RUNNING|ACTIVE|HEALTHY|COMPLETED|PRIMARY|CONNECTED|SUCCESSFUL)$/.test(word)) tone = "good";
  else if (/^(PENDING|PROVISIONING|ACTIVATING|IN_PROGRESS|DRAINING|DEACTIVATING|STOPPING|UNKNOWN)$/.test(word))
    tone = "busy";
  else if (/^(STOPPED|INACTIVE|DEPROVISIONING|DISCONNECTED)$/.test(word)) tone = "idle";
  else if (/FAIL|UNHEALTHY|ROLLBACK|ERROR/.test(word)) tone = "bad";
  return h("span", { class: `badge ${tone}`, testid }, word);
}

/** ECS timestamps are epoch seconds (fractions allowed). */
export function time(epochSeconds) {
  if (epochSeconds === undefined || epochSeconds === null) return "—";
  const d = new Date(Number(epochSeconds) * 1000);
  return h("time", { datetime: d.toISOString(), title: d.toISOString() }, d.toLocaleString());
}

export function ago(epochSeconds) {
  if (!epochSeconds) return "—";
  const s = Math.max(0, Date.now() / 1000 - Number(epochSeconds));
  if (s < 60) return `${Math.floor(s)}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/** The last part of an ARN: a task id, a task definition's family:revision, ... */
export function shortArn(arn) {
  if (!arn) return "—";
  return String(arn).split("/").pop();
}

export function taskIdOf(arn) {
  return String(arn || "").split("/").pop();
}

/** A horizontal bar: `used` of `total`, labelled. */
export function bar(label, used, total, unit, testid) {
  const pct = total > 0 ? Math.min(100, Math.max(0, (used / total) * 100)) : 0;
  const tone = pct >= 90 ? "bad" : pct >= 70 ? "busy" : "good";
  return h(
    "div",
    { class: "bar-row", testid, data: { used: String(used), total: String(total) } },
    h("span", { class: "bar-label" }, label),
    h("div", { class: "bar" }, h("div", { class: `bar-fill ${tone}`, style: { width: `${pct.toFixed(1)}%` } })),
    h("span", { class: "bar-value" }, `${fmtNumber(used)} / ${fmtNumber(total)} ${unit}`),
  );
}

export function fmtNumber(n) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return "—";
  const v = Number(n);
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

export function pct(n) {
  return n === null || n === undefined ? "—" : `${Number(n).toFixed(1)}%`;
}

/** Integer value of a named resource (CPU, MEMORY) in an ECS resources list. */
export function resource(list, name) {
  const r = (list || []).find((x) => x.name === name);
  return r ? Number(r.integerValue ?? r.longValue ?? r.doubleValue ?? 0) : 0;
}

/** A labelled key/value grid. */
export function facts(pairs, props = {}) {
  return h(
    "dl",
    { class: "facts", ...props },
    pairs
      .filter(Boolean)
      .map(([k, v, testid]) =>
        h("div", { class: "fact" }, h("dt", {}, k), h("dd", { testid }, v === undefined || v === null ? "—" : v)),
      ),
  );
}

/**
 * A part of a screen that is redrawn only when its data changed: refreshes come often (every change in the
 * cluster), and redrawing identical content would reset scroll positions, selections and hovered links.
 */
export class Section {
  constructor(props = {}) {
    this.el = h("section", props);
    this.key = null;
  }
  update(data, render) {
    const key = JSON.stringify(data);
    if (key === this.key) return;
    this.key = key;
    const out = render(data);
    this.el.replaceChildren(...[out].flat(Infinity).filter((x) => x !== null && x !== undefined && x !== false));
  }
}

/** Runs an API call and returns {value} or {error: "Code: message"}, so one failing part does not blank a screen. */
export async function attempt(promise) {
  try {
    return { value: await promise };
  } catch (e) {
    if (e && e.name === "AbortError") throw e;
    return { error: String(e && e.code ? e : e.message || e) };
  }
}
