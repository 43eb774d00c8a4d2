/**
 * Static checks of deploy/docker/Dockerfile and the root .dockerignore (no Docker engine
 * here): Node 24 base, production dependencies only, non-root, the entry point, and that
 * every module the entry point can load is in the image and needs no devDependency.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { describe, test } from "node:test";
import { DATA_PLANE_V8_FLAGS } from "../../data-plane/node-flags.ts";
import { REPO_ROOT, readRepoFile } from "./chart-tools.ts";

interface Instruction {
  op: string;
  args: string;
  stage: number;
}

/** Dockerfile instructions with line continuations joined and comments dropped. */
function parseDockerfile(text: string): Instruction[] {
  const logical = text
    .split("\n")
    .filter((line) => !/^\s*#/.test(line))
    .join("\n")
    .replace(/\\\n/g, " ")
    .split("\n")
    .filter((line) => line.trim() !== "");
  let stage = -1;
  return logical.map((line) => {
    const [, op, args] = /^\s*(\w+)\s+(.*)$/.exec(line) ?? [];
    if (op.toUpperCase() === "FROM") stage++;
    return { op: op.toUpperCase(), args: args.trim(), stage };
  });
}

const instructions = parseDockerfile(readRepoFile("deploy/docker/Dockerfile"));
const finalStage = Math.max(...instructions.map((i) => i.stage));
const final = instructions.filter((i) => i.stage === finalStage);
const dockerignore = readRepoFile(".dockerignore")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"));
const pkg = JSON.parse(readRepoFile("package.json")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** Top-level directories and files the final stage copies from the build context. */
function copiedFromContext(): string[] {
  return final
    .filter((i) => i.op === "COPY" && !i.args.startsWith("--from"))
    .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
}

/** Relative and bare specifiers a module loads at run time: imports (type-only ones are erased),
 * dynamic imports, and files named by `new URL("./x.ts", import.meta.url)` (workers, children). */
function runtimeImports(source: string): string[] {
  const specs: string[] = [];
  const statement = /^\s*(import|export)\s+(type\s+)?(?:[^'"]*?\sfrom\s+)?["']([^"']+)["']/gm;
  for (const m of source.matchAll(statement)) if (!m[2]) specs.push(m[3]);
  for (const m of source.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) specs.push(m[1]);
  for (const m of source.matchAll(/\bnew URL\(\s*["'](\.{1,2}\/[^"']+)["']\s*,\s*import\.meta\.url\s*\)/g))
    specs.push(m[1]);
  return specs;
}

function packageName(spec: string): string {
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** Every repository file reachable from the entry point, and every npm package it loads. */
function moduleGraph(entry: string): { files: string[]; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const pending = [resolve(REPO_ROOT, entry)];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (files.has(file)) continue;
    assert.ok(existsSync(file), `${relative(REPO_ROOT, file)} is imported but does not exist`);
    files.add(file);
    if (!file.endsWith(".ts")) continue;
    for (const spec of runtimeImports(readFileSync(file, "utf8"))) {
      if (spec.startsWith(".")) pending.push(resolve(dirname(file), spec));
      else if (!spec.startsWith("node:") && !builtinModules.includes(spec)) packages.add(packageName(spec));
    }
  }
  return { files: [...files].map((f) => relative(REPO_ROOT, f)), packages };
}

describe("Dockerfile", () => {
  test("every stage builds on the Node 24 slim image", () => {
    const arg = instructions.find((i) => i.op === "ARG" && i.args.startsWith("NODE_IMAGE="));
    assert.ok(arg, "ARG NODE_IMAGE=...");
    assert.match(arg.args, /^NODE_IMAGE=node:24-bookworm-slim(@sha256:[0-9a-f]{64})?$/);
    const froms = instructions.filter((i) => i.op === "FROM");
    assert.ok(froms.length >= 2, "multi-stage");
    for (const from of froms) assert.match(from.args, /^\$\{NODE_IMAGE\}( AS \w+)?$/i);
  });

  test("installs production dependencies only, from the lockfile, without install scripts", () => {
    const runs = instructions.filter((i) => i.op === "RUN").map((i) => i.args);
    assert.ok(runs.some((r) => /\bnpm ci\b.*--omit=dev/.test(r) && /--ignore-scripts/.test(r)));
    assert.ok(!runs.some((r) => /\bnpm (install|i)\b/.test(r)), "npm install would ignore the lockfile");
    const deps = final.find((i) => i.op === "COPY" && i.args.startsWith("--from"));
    assert.match(deps?.args ?? "", /^--from=deps \/app\/node_modules \.\/node_modules$/);
    assert.ok(!copiedFromContext().includes("."), "never COPY the whole context");
    assert.ok(!copiedFromContext().includes("node_modules"), "node_modules come from the deps stage");
  });

  test("runs as a numeric non-root user with node and the corral entry point", () => {
    const user = final.filter((i) => i.op === "USER").at(-1);
    assert.match(
      user?.args ?? "",
      /^[1-9]\d*(:[1-9]\d*)?$/,
      "numeric, so Kubernetes can verify runAsNonRoot",
    );
    const entry = final.find((i) => i.op === "ENTRYPOINT");
    assert.deepEqual(JSON.parse(entry?.args ?? "null"), ["node", "bin/corral.ts"]);
    assert.equal(
      final.some((i) => i.op === "HEALTHCHECK"),
      false,
      "Kubernetes probes, not HEALTHCHECK",
    );
  });

  test("sets NODE_OPTIONS to the data plane's V8 flags, and the chart does not override them", () => {
    const env = final
      .filter((i) => i.op === "ENV")
      .map((i) => i.args)
      .join(" ");
    const value = /\bNODE_OPTIONS="([^"]*)"/.exec(env)?.[1];
    assert.equal(value, DATA_PLANE_V8_FLAGS.join(" "), "data-plane/node-flags.ts is the one place");
    const templates = join(REPO_ROOT, "deploy", "helm", "corral", "templates");
    for (const file of readdirSync(templates))
      assert.ok(
        !readFileSync(join(templates, file), "utf8").includes("NODE_OPTIONS"),
        `${file} sets NODE_OPTIONS`,
      );
  });

  test("exposes the contract's default ports of both roles", () => {
    const exposed = final.filter((i) => i.op === "EXPOSE").flatMap((i) => i.args.split(/\s+/));
    assert.deepEqual(exposed.sort(), ["7400", "7401", "7500", "7600", "7700"]);
  });
});

describe("image contents", () => {
  test(".dockerignore admits only the copied sources and drops tests", () => {
    assert.equal(dockerignore[0], "*", "exclude everything first");
    for (const path of copiedFromContext())
      assert.ok(dockerignore.includes(`!${path}`), `!${path} re-included`);
    assert.ok(dockerignore.includes("**/*.test.ts"));
  });

  test("every module bin/corral.ts can load is copied, and its packages are production dependencies", () => {
    const { files, packages } = moduleGraph("bin/corral.ts");
    const copied = copiedFromContext();
    for (const file of files) {
      assert.ok(
        copied.some((c) => file === c || file.startsWith(`${c}/`)),
        `${file} is loaded at run time but not copied`,
      );
      assert.ok(!file.endsWith(".test.ts"), `${file}: a test file is loaded at run time`);
    }
    assert.ok(
      files.includes(join("control-plane", "main.ts")) && files.includes(join("data-plane", "main.ts")),
    );
    for (const name of packages) {
      assert.ok(name in pkg.dependencies, `${name} is loaded at run time but is not in dependencies`);
    }
    assert.ok(!("node" in pkg.dependencies), "Node itself comes from the base image");
  });
});
