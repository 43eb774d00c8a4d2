/**
 * The operator console: the static files of console/assets, served by every replica at
 * /console/. They are read once when the server is built, so a request only ever picks one
 * of that fixed set by name (nothing it sends reaches the filesystem). Every answer carries
 * Cache-Control: no-cache with a strong ETag (the page names its scripts without hashes, so a
 * browser revalidates and gets 304 until a new build), and a Content-Security-Policy that
 * allows only this origin's scripts, styles and API calls and no framing. The pages use
 * relative URLs only, so the console works behind a path prefix.
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { extname } from "node:path";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { CorralError } from "../errors.ts";

export const CONSOLE_PREFIX = "/console";

export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "object-src 'none'",
  "frame-ancestors 'none'",
].join("; ");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

export interface ConsoleAsset {
  body: Buffer;
  type: string;
  etag: string;
}

const ASSET_DIR = new URL("./assets/", import.meta.url);

/** Every file of console/assets by name, with its type and ETag. */
export async function loadConsoleAssets(dir: URL = ASSET_DIR): Promise<Map<string, ConsoleAsset>> {
  const assets = new Map<string, ConsoleAsset>();
  for (const name of await readdir(dir)) {
    const type = TYPES[extname(name)];
    if (!type) continue;
    const body = await readFile(new URL(name, dir));
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 27)}"`;
    assets.set(name, { body, type, etag });
  }
  return assets;
}

function send(req: FastifyRequest, reply: FastifyReply, asset: ConsoleAsset | undefined): FastifyReply {
  if (!asset) throw new CorralError("CORRAL_ADMIN_NOT_FOUND", `no console file ${req.url.split("?")[0]}`);
  reply
    .header("cache-control", "no-cache")
    .header("etag", asset.etag)
    .header("content-security-policy", CONSOLE_CSP)
    .header("x-content-type-options", "nosniff")
    .header("referrer-policy", "no-referrer")
    .header("cross-origin-opener-policy", "same-origin");
  if (req.headers["if-none-match"] === asset.etag) return reply.code(304).send();
  return reply.type(asset.type).send(asset.body);
}

/** GET /console (to /console/), /console/ (the page) and /console/<file>; no token needed. Mount without a prefix. */
export function consolePlugin(assets: ReadonlyMap<string, ConsoleAsset>) {
  return async function console(app: FastifyInstance): Promise<void> {
    const publicRoute = { config: { access: "public" as const } };
    // relative, so that a prefix in front of the CP stays in the address
    app.get(CONSOLE_PREFIX, publicRoute, (_req, reply) => reply.redirect("console/", 308));
    app.get(`${CONSOLE_PREFIX}/`, publicRoute, (req, reply) => send(req, reply, assets.get("index.html")));
    app.get<{ Params: { file: string } }>(`${CONSOLE_PREFIX}/:file`, publicRoute, (req, reply) =>
      send(req, reply, assets.get(req.params.file)),
    );
  };
}
