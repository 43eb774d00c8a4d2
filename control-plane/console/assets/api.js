/**
 * The admin API from the browser: the operator token (session storage only, never a cookie), and
 * calls that turn problem+json answers into Problem errors. Every URL is relative to the page
 * (../admin/v1/), so the console works behind a path prefix.
 */
const TOKEN_KEY = "corral.operatorToken";
const API = new URL("../admin/v1/", document.baseURI);

/** The signed-in operator: { id, name, role } from GET whoami. */
export const session = { operator: null };

export const isAdmin = () => session.operator?.role === "admin";

export class Problem extends Error {
  constructor(status, body) {
    super(body?.title ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.code ?? "";
    this.detail = body?.detail ?? "";
  }
}

export const token = () => sessionStorage.getItem(TOKEN_KEY);
export const setToken = (value) => sessionStorage.setItem(TOKEN_KEY, value);
export const clearToken = () => sessionStorage.removeItem(TOKEN_KEY);

/** A sign-in link's #token=… goes into session storage and out of the address bar and history. */
export function takeTokenFromFragment() {
  const match = /^#token=([^&]{1,1536})$/.exec(location.hash);
  if (!match) return;
  setToken(decodeURIComponent(match[1]));
  history.replaceState(null, "", location.pathname + location.search);
}

/** One admin API call; resolves with the JSON body (undefined for 204), rejects with a Problem. */
export async function api(method, path, body) {
  const headers = { authorization: `Bearer ${token() ?? ""}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(new URL(path, API), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
    credentials: "omit",
  });
  if (res.status === 204) return undefined;
  const data = await res.json().catch(() => undefined);
  if (!res.ok) throw new Problem(res.status, data);
  return data;
}

export const q = encodeURIComponent;
