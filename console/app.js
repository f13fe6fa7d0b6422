// The console's shell: sign-in, hash routing, the page frame, and keeping the current screen up to date.
//
// Routes (location.hash):
//   #/signin
//   #/clusters
//   #/clusters/<cluster>[/services|/tasks|/instances]
//   #/clusters/<cluster>/services/<service>
//   #/clusters/<cluster>/tasks/<task-id>
//
// Each screen is an object {el, refresh(), dispose?(), periodMs?} built by a module per screen. The shell calls
// refresh() when the event stream reports a change in the screen's cluster (debounced, never two at once), every
// periodMs as a safety net (utilization is not part of the stream), and on hello/reset.

import { Api, ApiError, clearCredentials, loadCredentials, saveCredentials } from "/ui/api.js";
import { EventFollower } from "/ui/events.js";
import { h, link } from "/ui/dom.js";
import { clusterScreen, clustersScreen } from "/ui/clusters.js";
import { serviceScreen } from "/ui/services.js";
import { taskScreen } from "/ui/tasks.js";

const DEBOUNCE_MS = 250;
const DEFAULT_PERIOD_MS = 15000;
const NEXT_KEY = "berth.console.next";

const root = document.getElementById("app");

let api = null;
let current = null; // {screen, refresher, route}
let follower = null;
let followerCluster; // the cluster the stream is filtered on (null: all); undefined: no stream yet

// --- routing -----------------------------------------------------------------------------------------------------

function parseRoute() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "signin") return { name: "signin" };
  if (parts[0] !== "clusters" || parts.length === 1) return { name: "clusters" };
  const cluster = parts[1];
  if (parts.length >= 4 && parts[2] === "services") return { name: "service", cluster, service: parts[3] };
  if (parts.length >= 4 && parts[2] === "tasks") return { name: "task", cluster, task: parts[3] };
  const tab = ["services", "tasks", "instances"].includes(parts[2]) ? parts[2] : "services";
  return { name: "cluster", cluster, tab };
}

export function go(route) {
  // Setting the hash it already has fires no hashchange: show the screen anyway.
  if (location.hash === "#" + route) show();
  else location.hash = "#" + route;
}

/** Route path for a cluster and more parts, each encoded. */
export function routeOf(...parts) {
  return "/" + parts.map((p) => encodeURIComponent(p)).join("/");
}

// --- refreshing ---------------------------------------------------------------------------------------------------

/** Runs `fn` at most once at a time; requests during a run cause one more run afterwards. */
class Refresher {
  constructor(fn) {
    this.fn = fn;
    this.running = false;
    this.again = false;
    this.timer = null;
    this.disposed = false;
  }
  request(delay = DEBOUNCE_MS) {
    if (this.disposed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.run();
    }, delay);
  }
  async run() {
    if (this.disposed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      await this.fn();
    } catch (e) {
      console.error("refresh failed", e);
    } finally {
      this.running = false;
    }
    if (this.again) {
      this.again = false;
      this.request();
    }
  }
  dispose() {
    this.disposed = true;
    clearTimeout(this.timer);
  }
}

// --- live status --------------------------------------------------------------------------------------------------

let lastMode = ["connecting", ""];

function setLiveMode(mode, detail) {
  lastMode = [mode, detail];
  const el = document.getElementById("live-status");
  if (!el) return;
  const labels = {
    connecting: "connecting…",
    live: "live",
    polling: "polling",
    offline: "reconnecting…",
  };
  el.textContent = labels[mode] || mode;
  el.dataset.mode = mode;
  el.title =
    mode === "polling"
      ? `The event stream is not available (${detail || "unknown reason"}); refreshing every few seconds.`
      : mode === "offline"
        ? `The event stream dropped (${detail || ""}); reconnecting.`
        : mode === "live"
          ? "Following the server's event stream."
          : "";
}

function followCluster(cluster) {
  if (follower && followerCluster === cluster) return;
  if (follower) follower.stop();
  followerCluster = cluster;
  follower = new EventFollower(api, {
    cluster,
    onChange: (event) => {
      // A change in another cluster cannot alter this screen (the clusters list shows every cluster).
      if (!current || !current.screen) return;
      const screenCluster = current.route.cluster;
      if (screenCluster && event.cluster && event.cluster !== screenCluster) return;
      current.refresher.request();
    },
    onRelist: () => current && current.refresher && current.refresher.request(0),
    onMode: setLiveMode,
  });
}

// --- frame --------------------------------------------------------------------------------------------------------

function crumbs(route) {
  const out = [link("/clusters", "Clusters", { testid: "crumb-clusters" })];
  if (route.cluster) {
    out.push(h("span", { class: "sep" }, "/"));
    out.push(link(routeOf("clusters", route.cluster), route.cluster, { testid: "crumb-cluster" }));
  }
  if (route.service) {
    out.push(h("span", { class: "sep" }, "/"));
    out.push(h("span", {}, route.service));
  }
  if (route.task) {
    out.push(h("span", { class: "sep" }, "/"));
    out.push(h("span", { class: "mono" }, route.task.slice(0, 12)));
  }
  return out;
}

function frame(route, content) {
  return [
    h(
      "header",
      { class: "topbar" },
      h("a", { class: "brand", href: "#/clusters" }, h("span", { class: "logo" }, "⚓"), "Berth"),
      h("nav", { class: "crumbs", testid: "breadcrumbs" }, crumbs(route)),
      h("div", { class: "spacer" }),
      h("span", { id: "live-status", class: "live", testid: "live-status", data: { mode: "connecting" } }, "…"),
      h("span", { class: "who mono", testid: "signed-in-as", title: `region ${api.credentials.region}` },
        api.credentials.accessKeyId),
      h("button", { id: "signout", class: "ghost", type: "button", onclick: signOut }, "Sign out"),
    ),
    h("main", { id: "view" }, content),
  ];
}

function signOut() {
  clearCredentials();
  api = null;
  if (follower) follower.stop();
  follower = null;
  followerCluster = undefined;
  go("/signin");
}

// --- sign-in ------------------------------------------------------------------------------------------------------

function signInScreen() {
  const error = h("div", { id: "signin-error", class: "note error", testid: "signin-error", hidden: true });
  const keyId = h("input", { id: "access-key-id", name: "accessKeyId", autocomplete: "username", required: true,
    spellcheck: "false", placeholder: "AKIA…" });
  const secret = h("input", { id: "secret-access-key", name: "secretAccessKey", type: "password", required: true,
    autocomplete: "current-password" });
  const region = h("input", { id: "region", name: "region", value: localStorage.getItem("berth.console.region")
    || "us-east-1", spellcheck: "false" });
  const submit = h("button", { id: "signin-submit", type: "submit" }, "Sign in");
  const form = h(
    "form",
    { id: "signin-form", class: "signin", novalidate: true },
    h("h1", {}, h("span", { class: "logo" }, "⚓"), " Berth console"),
    h("p", { class: "muted" }, "Sign in with an access key, e.g. the admin key that ", h("code", {}, "berth up"),
      " wrote to ", h("code", {}, "~/.berth/credentials"), "."),
    h("label", { for: "access-key-id" }, "Access key ID"), keyId,
    h("label", { for: "secret-access-key" }, "Secret access key"), secret,
    h("label", { for: "region" }, "Region"), region,
    error,
    submit,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    const credentials = {
      accessKeyId: keyId.value.trim(),
      secretAccessKey: secret.value.trim(),
      region: region.value.trim() || "us-east-1",
    };
    if (!credentials.accessKeyId || !credentials.secretAccessKey) {
      error.textContent = "Enter an access key ID and its secret.";
      error.hidden = false;
      return;
    }
    submit.disabled = true;
    submit.textContent = "Signing in…";
    try {
      // Any signed call proves the key; ListClusters is cheap and every key may make it.
      const candidate = new Api(credentials);
      await candidate.ecs("ListClusters", { maxResults: 1 });
      saveCredentials(credentials);
      localStorage.setItem("berth.console.region", credentials.region);
      api = candidate;
      const next = sessionStorage.getItem(NEXT_KEY);
      sessionStorage.removeItem(NEXT_KEY);
      go(next && next.startsWith("/clusters") ? next : "/clusters");
    } catch (e) {
      error.textContent = e instanceof ApiError ? String(e) : `Sign-in failed: ${e.message || e}`;
      error.hidden = false;
    } finally {
      submit.disabled = false;
      submit.textContent = "Sign in";
    }
  });
  return h("div", { class: "signin-page", testid: "signin-page" }, form);
}

// --- screen switching ---------------------------------------------------------------------------------------------

function show() {
  const route = parseRoute();
  if (current) {
    current.refresher && current.refresher.dispose();
    clearInterval(current.timer);
    current.screen && current.screen.dispose && current.screen.dispose();
    current = null;
  }
  if (!api) {
    const credentials = loadCredentials();
    if (credentials) api = new Api(credentials);
  }
  if (route.name === "signin" || !api) {
    if (follower) follower.stop();
    follower = null;
    followerCluster = undefined;
    if (route.name !== "signin") {
      // A deep link opened without a key: sign in first, then go where the link pointed.
      sessionStorage.setItem(NEXT_KEY, location.hash.replace(/^#/, ""));
      history.replaceState(null, "", "#/signin");
    }
    root.replaceChildren(signInScreen());
    document.title = "Sign in · Berth";
    document.getElementById("access-key-id").focus();
    return;
  }
  const ctx = { api, go, routeOf };
  let screen;
  if (route.name === "clusters") screen = clustersScreen(ctx);
  else if (route.name === "cluster") screen = clusterScreen(ctx, route.cluster, route.tab);
  else if (route.name === "service") screen = serviceScreen(ctx, route.cluster, route.service);
  else screen = taskScreen(ctx, route.cluster, route.task);
  root.replaceChildren(...frame(route, screen.el));
  document.title = `${screen.title || "Berth"} · Berth`;
  const refresher = new Refresher(() => screen.refresh());
  current = { screen, refresher, route };
  current.timer = setInterval(() => refresher.request(0), screen.periodMs || DEFAULT_PERIOD_MS);
  refresher.request(0);
  // The stream follows the screen's cluster; the clusters list follows every cluster.
  // The indicator was drawn anew with the frame: show the follower's current mode again.
  setLiveMode(...lastMode);
  followCluster(route.cluster || null);
}

window.addEventListener("hashchange", show);
show();
