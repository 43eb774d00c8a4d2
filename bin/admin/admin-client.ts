/** A small client of the control plane's admin REST API (`/admin/v1`), used by `corral admin` and `corral dev`. */

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
}

export class AdminApiError extends Error {
  readonly status: number;
  readonly problem: Problem;
  readonly code: string;

  constructor(method: string, path: string, status: number, problem: Problem) {
    const what = problem.detail ?? problem.title ?? "request failed";
    super(`${method} ${path}: ${status} ${problem.code ?? ""} ${what}`.replace(/\s+/g, " ").trim());
    this.name = "AdminApiError";
    this.status = status;
    this.problem = problem;
    this.code = problem.code ?? `HTTP_${status}`;
  }
}

export interface AdminClientOptions {
  /** base URL of a control plane, e.g. http://127.0.0.1:7400 */
  url: string;
  /** operator token */
  token: string;
  timeoutMs?: number;
  /** sent as Idempotency-Key on every mutating request of this client (one command = one key) */
  idempotencyKey?: string;
}

export interface RequestOptions {
  body?: unknown;
  idempotencyKey?: string;
}

const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export class AdminClient {
  readonly #base: string;
  readonly #token: string;
  readonly #timeoutMs: number;
  readonly #idempotencyKey: string | undefined;

  constructor(opts: AdminClientOptions) {
    this.#base = opts.url.replace(/\/+$/, "");
    this.#token = opts.token;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#idempotencyKey = opts.idempotencyKey;
  }

  /** Sends one request; resolves with the parsed JSON body (undefined for 204), throws AdminApiError otherwise. */
  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#token}`,
      accept: "application/json",
    };
    if (opts.body !== undefined) headers["content-type"] = "application/json";
    const idempotencyKey = opts.idempotencyKey ?? (method === "GET" ? undefined : this.#idempotencyKey);
    if (idempotencyKey) headers["idempotency-key"] = idempotencyKey;
    const res = await fetch(`${this.#base}${path}`, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
    const text = await res.text();
    if (text.length > MAX_RESPONSE_BYTES)
      throw new Error(`${method} ${path}: response over ${MAX_RESPONSE_BYTES} bytes`);
    const body = text.length > 0 ? parseJson(text) : undefined;
    if (!res.ok) throw new AdminApiError(method, path, res.status, problemOf(body, text));
    return body as T;
  }

  get<T = unknown>(path: string): Promise<T> {
    return this.request<T>("GET", path);
  }

  post<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.request<T>("POST", path, { body });
  }

  put<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.request<T>("PUT", path, { body });
  }

  patch<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.request<T>("PATCH", path, { body });
  }

  delete(path: string): Promise<unknown> {
    return this.request("DELETE", path);
  }

  /** Every item of a keyset-paginated list (`{items, nextCursor}`), following cursors up to maxItems. */
  async listAll<T>(path: string, maxItems = 100_000): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | null | undefined;
    do {
      const sep = path.includes("?") ? "&" : "?";
      const page = await this.get<{ items: T[]; nextCursor?: string | null }>(
        cursor ? `${path}${sep}cursor=${encodeURIComponent(cursor)}` : path,
      );
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor && items.length < maxItems);
    return items;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function problemOf(body: unknown, text: string): Problem {
  if (typeof body === "object" && body !== null) return body as Problem;
  return { detail: text.slice(0, 500) || undefined };
}

/** Path segment, escaped. */
export function seg(value: string): string {
  return encodeURIComponent(value);
}
