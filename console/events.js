// Live updates: follows the server's event stream (GET /events, server-sent events) and tells the page when
// something it shows may have changed.
//
// EventSource cannot send signed headers, so the stream is read with fetch() and a ReadableStream reader, and
// parsed here. After a dropped connection it reconnects with since=<last id> so no change is missed; on `hello`
// (a fresh start) and `reset` (we were away longer than the server's history) the page relists everything.
// When the stream is not available (an older server, an error), the follower falls back to polling and keeps
// trying the stream now and then.

const POLL_MS = 3000;
const RETRY_STREAM_MS = 30000;
const MAX_BACKOFF_MS = 10000;

/**
 * @param {Api} api
 * @param {object} opts
 * @param {string|null} opts.cluster   only this cluster's changes (null: all)
 * @param {(event) => void} opts.onChange  a parsed change {revision, kind, op, cluster, id, value}
 * @param {() => void} opts.onRelist   relist everything (hello, reset, each poll when the stream is unavailable)
 * @param {(mode, detail) => void} opts.onMode  "connecting" | "live" | "polling" | "offline", with a reason
 */
export class EventFollower {
  constructor(api, { cluster, onChange, onRelist, onMode }) {
    this.api = api;
    this.cluster = cluster;
    this.onChange = onChange;
    this.onRelist = onRelist;
    this.onMode = onMode;
    this.lastId = null;
    this.abort = new AbortController();
    this.stopped = false;
    this.run();
  }

  stop() {
    this.stopped = true;
    this.abort.abort();
  }

  sleep(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.abort.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async run() {
    let backoff = 1000;
    while (!this.stopped) {
      this.onMode("connecting");
      try {
        const query = {};
        if (this.cluster) query.cluster = this.cluster;
        if (this.lastId !== null) query.since = this.lastId;
        const response = await this.api.get("/events", query, { signal: this.abort.signal });
        const type = response.headers.get("content-type") || "";
        if (!type.startsWith("text/event-stream")) throw new Error(`unexpected content type ${type}`);
        this.onMode("live");
        backoff = 1000;
        await this.read(response.body);
        // The server closed the stream (restart, shutdown): reconnect from where we were.
      } catch (e) {
        if (this.stopped) return;
        if (e.isAuth || (e.status >= 400 && e.status < 500 && e.status !== 429)) {
          // Not a transient failure: this server has no stream for us. Poll instead, retry the stream later.
          await this.poll(RETRY_STREAM_MS, String(e));
          continue;
        }
        this.onMode("offline", String(e.message || e));
        await this.sleep(backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        // Whatever happened while we were away is picked up by since=lastId; without one, relist on hello.
      }
    }
  }

  async poll(duration, reason) {
    this.onMode("polling", reason);
    const until = Date.now() + duration;
    while (!this.stopped && Date.now() < until) {
      this.onRelist();
      await this.sleep(POLL_MS);
    }
  }

  async read(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    const cancel = () => reader.cancel().catch(() => {});
    this.abort.signal.addEventListener("abort", cancel);
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value.replace(/\r\n?/g, "\n");
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          this.dispatch(block);
        }
      }
    } finally {
      this.abort.signal.removeEventListener("abort", cancel);
    }
  }

  // One SSE block: `id:`, `event:`, `data:` lines (data may span several), `:` comments (keepalives).
  dispatch(block) {
    let id = null;
    let event = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "id") id = value;
      else if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (!data.length && id === null) return; // a keepalive
    let payload = {};
    try {
      payload = data.length ? JSON.parse(data.join("\n")) : {};
    } catch {
      return; // not ours to understand; skip rather than stop following
    }
    if (id !== null) this.lastId = id;
    if (event === "hello" || event === "reset") {
      if (payload.revision !== undefined) this.lastId = String(payload.revision);
      this.onRelist();
    } else {
      if (payload.revision !== undefined) this.lastId = String(payload.revision);
      this.onChange(payload);
    }
  }
}
