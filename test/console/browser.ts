/// <reference lib="dom" />
/**
 * The console's browser tests' tools: Debian's chromium driven by puppeteer-core (which downloads
 * no browser), axe-core injected into the page for accessibility checks, a screenshot of the
 * page when a step fails, and a small path-prefix proxy in front of the control plane.
 */
import { spawnSync } from "node:child_process";
import { request as httpRequest, createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import puppeteer, { type Browser, type Page } from "puppeteer-core";

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

export function chromiumPath(): string {
  const found = spawnSync("sh", ["-c", "command -v chromium || command -v chromium-browser"], {
    encoding: "utf8",
  }).stdout.trim();
  if (!found) throw new Error("chromium is not installed (.ci/install-deps installs it)");
  return found.split("\n")[0]!;
}

export function launchChromium(): Promise<Browser> {
  const args = ["--disable-dev-shm-usage", "--disable-gpu"];
  if (process.getuid?.() === 0) args.push("--no-sandbox"); // chromium refuses to sandbox as root
  return puppeteer.launch({ executablePath: chromiumPath(), headless: true, args });
}

export interface AxeViolation {
  id: string;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/**
 * axe-core's WCAG 2 A/AA rules (labels, names, contrast, landmarks…) over the page as it is;
 * injected through the DevTools protocol, which the page's CSP does not govern.
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    // biome-ignore lint/suspicious/noExplicitAny: axe is the global the injected source defines
    const axe = (globalThis as any).axe;
    const result = await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa"] } });
    return result.violations.map((v: AxeViolation) => ({
      id: v.id,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target })),
    }));
  });
}

/** Runs `fn`; when it throws, writes a full-page screenshot `<name>.png` into `dir` and names it. */
export async function withScreenshot<T>(
  page: Page,
  dir: string,
  name: string,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const path = join(dir, `${name}.png`);
    await page.screenshot({ path, fullPage: true }).catch(() => undefined);
    (err as Error).message += `\n(screenshot of the page: ${path})`;
    throw err;
  }
}

export interface PrefixProxy {
  url: string;
  /** paths the browser asked for, as received */
  paths: string[];
  close(): Promise<void>;
}

/**
 * http://127.0.0.1:port<prefix>/… to `target`/… (the prefix removed), as an ingress in front of the
 * CP would; paths matching `missing` get a problem+json 404, as from a CP without that endpoint.
 */
export async function startPrefixProxy(
  target: string,
  prefix: string,
  missing?: RegExp,
): Promise<PrefixProxy> {
  const paths: string[] = [];
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    paths.push(req.url ?? "");
    if (!req.url?.startsWith(`${prefix}/`)) {
      res.writeHead(404).end("outside the prefix");
      return;
    }
    if (missing?.test(req.url)) {
      res.writeHead(404, { "content-type": "application/problem+json" });
      res.end(JSON.stringify({ title: "Not found", status: 404, code: "CORRAL_ADMIN_NOT_FOUND" }));
      return;
    }
    const out = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url.slice(prefix.length),
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on("error", () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    paths,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
