// The console's one way to the services: api/{service}/{path} with the signed-in token. Paths are
// relative to the page, so the console works at the root of its host or under a prefix (/console/).
// The token lives in sessionStorage (gone when the tab closes); the console's server keeps nothing.

const TOKEN_KEY = "meetdesk.token";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

let onUnauthorized = () => {};
export function whenUnauthorized(callback) {
  onUnauthorized = callback;
}

// { ok, status, data } — data is the JSON answer (or { error } when there was none)
export async function call(method, url, body) {
  const headers = { Authorization: "Bearer " + token(), Accept: "application/json" };
  const init = { method, headers, cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(url, init);
  } catch (err) {
    return { ok: false, status: 0, data: { error: String(err) } };
  }
  let data;
  try {
    data = await resp.json();
  } catch {
    data = { error: resp.statusText || String(resp.status) };
  }
  if (resp.status === 401) onUnauthorized();
  return { ok: resp.ok, status: resp.status, data };
}

export function get(service, path, params) {
  const query = params ? "?" + new URLSearchParams(clean(params)).toString() : "";
  return call("GET", `api/${service}${path}${query}`);
}

// a whole list ({items, next}), page after page, up to `most` items: the desk's queues are read whole, so
// the newest work is there however much older work waits before it
let pageSize = 200;
export function setPageSize(n) {
  pageSize = n || 200;
}

export async function getAll(service, path, params, most = 1000) {
  const items = [];
  let cursor;
  for (;;) {
    const r = await get(service, path, { ...params, limit: pageSize, cursor });
    if (!r.ok) return r;
    items.push(...r.data.items);
    cursor = r.data.next;
    if (!cursor || items.length >= most) return { ok: true, status: r.status, data: { items, next: cursor || null } };
  }
}

function clean(params) {
  const out = {};
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") out[k] = String(v);
  return out;
}

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID(); // secure contexts only (https, localhost)
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// POST /commands/{name} with a fresh command id; the actor is the signed-in principal
export function command(service, name, fields, actor) {
  return call("POST", `api/${service}/commands/${name}`, { command_id: uuid(), actor, ...fields });
}

export function whoAmI() {
  return call("GET", "api/me");
}
