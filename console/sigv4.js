// AWS Signature Version 4 in the browser (WebCrypto's HMAC-SHA256 and SHA-256).
//
// The console calls the same API every client uses, so every request carries an Authorization header computed here
// from the access key the user signed in with. The browser decides some headers itself: it always sends `host`
// (the page's own, location.host) and we cannot set it, so we sign that value; everything else we sign
// (x-amz-date, x-amz-target, content-type) we also set explicitly on the request.

const encoder = new TextEncoder();

function toHex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function sha256Hex(text) {
  return toHex(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

async function hmac(key, message) {
  const raw = typeof key === "string" ? encoder.encode(key) : key;
  const cryptoKey = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(message));
}

// RFC 3986 encoding as SigV4 wants it: encodeURIComponent leaves !'()* alone, SigV4 does not.
function uriEncode(text) {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

// The canonical query string: pairs sorted by encoded key, then value.
export function canonicalQuery(params) {
  return Object.entries(params)
    .map(([k, v]) => [uriEncode(k), uriEncode(String(v))])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
}

// `20261206T154439Z` and `20261206` for a Date.
function amzDates(now) {
  const iso = now.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  return { amzDate: iso, day: iso.slice(0, 8) };
}

/**
 * Signs one request; returns the headers to send (the given ones plus x-amz-date and authorization, minus host,
 * which the browser adds itself).
 *
 * @param {object} r
 * @param {string} r.method     "GET" or "POST"
 * @param {string} r.path       absolute path, already plain ASCII ("/", "/events")
 * @param {object} r.query      query parameters (signed and to be sent in this order-independent form)
 * @param {object} r.headers    lower-case header names to sign and send (content-type, x-amz-target, ...)
 * @param {string} r.body       the exact body to send ("" for GET)
 * @param {string} r.service    signing name: "ecs" or "logs"
 * @param {object} r.credentials {accessKeyId, secretAccessKey, region}
 * @param {string} r.host       the Host the browser will send (location.host)
 */
export async function sign({ method, path, query = {}, headers = {}, body = "", service, credentials, host, now }) {
  const { amzDate, day } = amzDates(now || new Date());
  const all = { ...headers, host, "x-amz-date": amzDate };
  const names = Object.keys(all).map((n) => n.toLowerCase()).sort();
  const lower = Object.fromEntries(Object.entries(all).map(([k, v]) => [k.toLowerCase(), String(v).trim()]));
  const canonicalHeaders = names.map((n) => `${n}:${lower[n].replace(/\s+/g, " ")}\n`).join("");
  const signedHeaders = names.join(";");
  const canonicalRequest = [
    method,
    path,
    canonicalQuery(query),
    canonicalHeaders,
    signedHeaders,
    await sha256Hex(body),
  ].join("\n");
  const scope = `${day}/${credentials.region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, await sha256Hex(canonicalRequest)].join("\n");
  let key = await hmac("AWS4" + credentials.secretAccessKey, day);
  key = await hmac(key, credentials.region);
  key = await hmac(key, service);
  key = await hmac(key, "aws4_request");
  const signature = toHex(await hmac(key, stringToSign));
  const out = { ...headers, "x-amz-date": amzDate };
  out.authorization =
    `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, ` +
    `SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return out;
}
