/**
 * Imports run one way. Reads every relative import (static, `export … from`, dynamic
 * `import()`, `new Worker(new URL(…))`) of the production tree and checks the edges between
 * folders against the tables below, in the spirit of the error-catalogue test: a new edge that
 * breaks a rule fails here, naming the file and the import.
 *
 * A "unit" is a folder one level under a top folder (`control-plane/publish`), or a file
 * directly in a top folder (`control-plane/main.ts`). Tests beside the code (*.test.ts) are
 * not production and are left out.
 *
 *  1. Top folders: proto imports only proto; runtime only proto; the planes never import each
 *     other, bin or the harnesses; only bin and the harnesses import both planes.
 *  2. Control plane: each unit imports only the units its row lists (transports → services →
 *     store → placement; nothing but main.ts imports admin/ or tenant-api/).
 *  3. No cycles between units of any top folder (proto, runtime, the planes, bin, loadtest):
 *     computed, not listed, so it holds whatever folders they have. In bin/, commands.ts
 *     dispatches to the commands (admin/, dev/), which share cli/; in loadtest/, process/ and
 *     faults/ are below report/, scenario/ and platform/, and the scenarios sit on top.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";

const ROOT = resolve(import.meta.dirname, "../..");
const TOPS = ["proto", "runtime", "control-plane", "data-plane", "bin", "loadtest"] as const;
/** Files outside the top folders that any code may read. */
const SHARED_FILES = ["package.json"];
/** Benchmarks and load harnesses: they may use the test fixtures and the load generator. */
const HARNESSES = ["loadtest", "data-plane/bench"];

/** Which top folders a top folder's production code may import (harnesses: see HARNESSES). */
const TOP_ALLOWED: Record<string, readonly string[]> = {
  proto: ["proto"],
  runtime: ["runtime", "proto"],
  "control-plane": ["control-plane", "runtime", "proto"],
  "data-plane": ["data-plane", "runtime", "proto"],
  bin: ["bin", "control-plane", "data-plane", "runtime", "proto"],
  loadtest: ["loadtest", "bin", "control-plane", "data-plane", "runtime", "proto", "test"],
};

/**
 * The control plane's units and the control-plane units each may import (proto and runtime
 * are ruled by TOP_ALLOWED). Transports (admin, tenant-api, sync, http) sit on services
 * (service, fleet's placement service, publish), which sit on the store; placement is pure and
 * at the bottom with the top-level files errors/config/logger/metrics. tenant-api keeps its
 * service (tenant-api/service.ts) beside its transports, so that folder reaches the store.
 */
const CP_ALLOWED: Record<string, readonly string[]> = {
  "control-plane/main.ts": ["*"],
  "control-plane/admin": ["http", "service", "placement", "errors.ts"],
  "control-plane/console": ["errors.ts"],
  "control-plane/tenant-api": ["http", "service", "fleet", "store", "errors.ts", "logger.ts"],
  "control-plane/sync": ["publish", "store", "errors.ts", "logger.ts", "metrics.ts"],
  "control-plane/http": ["service", "store", "errors.ts", "logger.ts", "metrics.ts"],
  "control-plane/service": ["fleet", "publish", "placement", "store", "errors.ts"],
  "control-plane/fleet": ["publish", "placement", "store", "config.ts", "errors.ts", "logger.ts"],
  "control-plane/publish": ["placement", "store", "config.ts", "errors.ts", "logger.ts", "metrics.ts"],
  "control-plane/store": ["placement", "errors.ts"],
  "control-plane/placement": ["errors.ts"],
  "control-plane/config.ts": [],
  "control-plane/errors.ts": [],
  "control-plane/logger.ts": [],
  "control-plane/metrics.ts": [],
};

/**
 * Cycles another change removes (the data plane's model types move to data-plane/model);
 * each entry must still be a cycle, so it is deleted the day it is fixed.
 */
const PENDING_CYCLES: readonly string[] = [];

const IMPORT_RE =
  /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+|new Worker\(\s*new URL\(\s*)["'](\.{1,2}\/[^"']+)["']/gm;

interface Edge {
  file: string;
  target: string;
}

function* sources(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) yield path;
  }
}

function importEdges(): Edge[] {
  const edges: Edge[] = [];
  for (const top of TOPS) {
    for (const path of sources(join(ROOT, top))) {
      const file = relative(ROOT, path);
      for (const m of readFileSync(path, "utf8").matchAll(IMPORT_RE)) {
        edges.push({ file, target: relative(ROOT, resolve(dirname(path), m[1]!)) });
      }
    }
  }
  return edges;
}

function unitOf(path: string): string {
  const parts = path.split("/");
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : path;
}

const topOf = (path: string) => path.split("/")[0]!;
const isHarness = (path: string) => HARNESSES.some((h) => path === h || path.startsWith(`${h}/`));
const show = (e: Edge) => `${e.file} imports ${e.target}`;

const EDGES = importEdges();

test("the reader sees the imports it must judge", () => {
  const has = (file: string, target: string) => EDGES.some((e) => e.file === file && e.target === target);
  assert.ok(EDGES.length > 500, `only ${EDGES.length} imports found`);
  assert.ok(has("control-plane/main.ts", "control-plane/admin/plugin.ts"));
  assert.ok(
    EDGES.some((e) => e.file === "bin/commands.ts" && e.target === "control-plane/main.ts"),
    "import()",
  );
});

test("top folders: proto and runtime sit at the bottom, the planes never import each other", () => {
  const bad = EDGES.filter((e) => {
    const from = topOf(e.file);
    const to = topOf(e.target);
    if (SHARED_FILES.includes(e.target)) return false;
    if (isHarness(e.file) && (to === "loadtest" || to === "test")) return false;
    return !TOP_ALLOWED[from]!.includes(to);
  });
  assert.deepEqual(bad.map(show), []);
});

test("control plane: every unit imports only what its row allows", () => {
  const bad: string[] = [];
  for (const e of EDGES) {
    if (topOf(e.file) !== "control-plane" || topOf(e.target) !== "control-plane") continue;
    const from = unitOf(e.file);
    const to = unitOf(e.target);
    if (from === to) continue;
    const row = CP_ALLOWED[from];
    if (!row) {
      bad.push(`${from} has no row in CP_ALLOWED (${show(e)})`);
      continue;
    }
    if (!row.includes("*") && !row.includes(to.slice("control-plane/".length))) bad.push(show(e));
  }
  assert.deepEqual(bad, []);
});

test("nothing but control-plane/main.ts imports the control plane's transports", () => {
  const transports = ["control-plane/admin", "control-plane/tenant-api", "control-plane/sync"];
  const bad = EDGES.filter(
    (e) =>
      transports.includes(unitOf(e.target)) &&
      unitOf(e.file) !== unitOf(e.target) &&
      e.file !== "control-plane/main.ts",
  );
  assert.deepEqual(bad.map(show), []);
});

/** Strongly connected components of more than one unit (Tarjan). */
function cycles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) found.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

test("cycles() finds every loop of units, and only loops", () => {
  const g = (pairs: string[]) => {
    const m = new Map<string, Set<string>>();
    for (const p of pairs) {
      const [a, b] = p.split(">") as [string, string];
      m.set(a, (m.get(a) ?? new Set()).add(b));
    }
    return m;
  };
  assert.deepEqual(cycles(g(["a>b", "b>c", "a>c"])), []);
  assert.deepEqual(cycles(g(["a>b", "b>a"])), [["a", "b"]]);
  assert.deepEqual(cycles(g(["a>b", "b>c", "c>a", "c>d"])), [["a", "b", "c"]]);
});

test("no folder imports a folder that imports it back", () => {
  const checked = new Set<string>(TOPS);
  const graph = new Map<string, Set<string>>();
  for (const e of EDGES) {
    const from = unitOf(e.file);
    const to = unitOf(e.target);
    if (from === to || !checked.has(topOf(from)) || !checked.has(topOf(to))) continue;
    graph.set(from, (graph.get(from) ?? new Set()).add(to));
  }
  const found = cycles(graph).map((c) => c.join(" "));
  assert.deepEqual(
    found.filter((c) => !PENDING_CYCLES.includes(c)),
    [],
  );
  for (const pending of PENDING_CYCLES) {
    assert.ok(found.includes(pending), `${pending} is no longer a cycle: delete it from PENDING_CYCLES`);
  }
});
