// Signed calls to Berth's APIs: ECS (JSON 1.1 over POST /), CloudWatch Logs, and Berth's own extension operations.
// The credentials live in sessionStorage only: they are gone when the tab closes and never reach the disk.

import { sign } from "/ui/sigv4.js";

const STORAGE_KEY = "berth.console.credentials";

export const ECS_PREFIX = "AmazonEC2ContainerServiceV20141113.";
export const LOGS_PREFIX = "Logs_20140328.";
export const BERTH_PREFIX = "BerthV20261206.";

/** An error the server answered with ({"__type", "message"}), or a network failure (code "NetworkError"). */
export class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
  toString() {
    return this.message ? `${this.code}: ${this.message}` : this.code;
  }
  /** True when the key itself is refused (signing in again is the only fix). */
  get isAuth() {
    return [
      "UnrecognizedClientException",
      "InvalidSignatureException",
      "IncompleteSignatureException",
      "MissingAuthenticationTokenException",
      "AccessDeniedException",
    ].includes(this.code);
  }
}

export function loadCredentials() {
  try {
    const c = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "null");
    return c && c.accessKeyId && c.secretAccessKey ? c : null;
  } catch {
    return null;
  }
}

export function saveCredentials(c) {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(c));
}

export function clearCredentials() {
  sessionStorage.removeItem(STORAGE_KEY);
}

// AWS error types may come qualified ("com.amazonaws.ecs#ClusterNotFoundException"); show the short name.
function errorFrom(status, text) {
  let doc = null;
  try {
    doc = JSON.parse(text);
  } catch {
    // not JSON: a proxy or a route that is not an API; show the start of the body
  }
  const type = (doc && (doc.__type || doc.code)) || `HTTP ${status}`;
  const message = (doc && (doc.message || doc.Message)) || (doc ? "" : text.slice(0, 200));
  return new ApiError(String(type).split("#").pop(), message, status);
}

export class Api {
  constructor(credentials) {
    this.credentials = credentials;
  }

  /** POSTs one JSON 1.1 operation; resolves to the parsed answer, rejects with an ApiError. */
  async call(service, target, input = {}, { signal } = {}) {
    const body = JSON.stringify(input);
    const headers = await sign({
      method: "POST",
      path: "/",
      headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": target },
      body,
      service,
      credentials: this.credentials,
      host: location.host,
    });
    let response;
    try {
      response = await fetch("/", { method: "POST", headers, body, signal, cache: "no-store" });
    } catch (e) {
      if (e.name === "AbortError") throw e;
      throw new ApiError("NetworkError", `the server cannot be reached (${e.message})`, 0);
    }
    const text = await response.text();
    if (!response.ok) throw errorFrom(response.status, text);
    return text ? JSON.parse(text) : {};
  }

  ecs(operation, input, options) {
    return this.call("ecs", ECS_PREFIX + operation, input, options);
  }

  logs(operation, input, options) {
    return this.call("logs", LOGS_PREFIX + operation, input, options);
  }

  berth(operation, input, options) {
    return this.call("ecs", BERTH_PREFIX + operation, input, options);
  }

  /** Opens a signed GET (the event stream); resolves to the Response once headers arrived, rejects with ApiError. */
  async get(path, query, { signal, headers: extra = {} } = {}) {
    const headers = await sign({
      method: "GET",
      path,
      query,
      headers: extra,
      service: "ecs",
      credentials: this.credentials,
      host: location.host,
    });
    const qs = new URLSearchParams(query).toString();
    let response;
    try {
      response = await fetch(path + (qs ? "?" + qs : ""), { headers, signal, cache: "no-store" });
    } catch (e) {
      if (e.name === "AbortError") throw e;
      throw new ApiError("NetworkError", `the server cannot be reached (${e.message})`, 0);
    }
    if (!response.ok) throw errorFrom(response.status, await response.text());
    return response;
  }

  // --- helpers over paginated ECS list calls -------------------------------------------------------------------

  /** Every ARN of a List* operation, following nextToken. */
  async listAll(operation, input, field) {
    const out = [];
    let nextToken;
    do {
      const page = await this.ecs(operation, { ...input, ...(nextToken ? { nextToken } : {}) });
      out.push(...(page[field] || []));
      nextToken = page.nextToken;
    } while (nextToken && out.length < 5000);
    return out;
  }

  /** Describe* in chunks of `size` (ECS caps how many a call may name). */
  async describeChunked(operation, input, key, arns, field, size = 100) {
    const out = [];
    for (let i = 0; i < arns.length; i += size) {
      const page = await this.ecs(operation, { ...input, [key]: arns.slice(i, i + size) });
      out.push(...(page[field] || []));
    }
    return out;
  }
}
