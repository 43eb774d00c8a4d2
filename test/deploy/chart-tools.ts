/**
 * Runs the chart tools the deploy tests need (installed by .ci/install-chart-tools):
 * helm, kubeconform with offline Kubernetes schemas, and corral-manifests-json.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const INSTALL_HINT = "run .ci/install-chart-tools";
export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const CHART_DIR = join(REPO_ROOT, "deploy", "helm", "corral");
export const VALUES_DIR = fileURLToPath(new URL(".", import.meta.url));
/** The lowest Kubernetes version the chart supports (Chart.yaml kubeVersion is >=1.30). */
const KUBE_VERSION = "1.30.0";

/** A rendered manifest or part of one: walked field by field and checked by the tests. */
// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped JSON, asserted field by field
export type Json = Record<string, any>;

function goBinDir(): string | undefined {
  try {
    const [gobin, gopath] = execFileSync("go", ["env", "GOBIN", "GOPATH"], { encoding: "utf8" }).split("\n");
    return gobin || (gopath ? join(gopath, "bin") : undefined);
  } catch {
    return undefined;
  }
}

/** Absolute path of a chart tool on PATH or in the Go bin directory; throws naming the install script. */
export function chartTool(name: string): string {
  const dirs = [...(process.env.PATH ?? "").split(":"), goBinDir()];
  for (const dir of dirs) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  throw new Error(`${name} not found on PATH or in the Go bin directory: ${INSTALL_HINT}`);
}

/** The directory of generated Kubernetes JSON schemas; throws naming the install script. */
export function schemaDir(): string {
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  const dir = process.env.CORRAL_K8S_SCHEMA_DIR || join(cache, "corral", "k8s-schemas");
  if (!existsSync(join(dir, "SOURCE")))
    throw new Error(`no Kubernetes JSON schemas in ${dir}: ${INSTALL_HINT}`);
  return dir;
}

export interface ToolResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], input?: string): ToolResult {
  const res = spawnSync(cmd, args, { encoding: "utf8", input, timeout: 20_000, maxBuffer: 64 * 1024 * 1024 });
  if (res.error) throw res.error;
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

function valuesArgs(valuesFiles: string[], set: string[]): string[] {
  return [...valuesFiles.flatMap((f) => ["-f", resolve(VALUES_DIR, f)]), ...set.flatMap((s) => ["--set", s])];
}

export function helmLint(valuesFiles: string[] = []): ToolResult {
  return run(chartTool("helm"), ["lint", "--strict", CHART_DIR, ...valuesArgs(valuesFiles, [])]);
}

/** `helm template` as release `t` in namespace `corral`; the raw YAML and its exit status. */
export function helmTemplate(valuesFiles: string[] = [], set: string[] = []): ToolResult {
  const args = ["template", "t", CHART_DIR, "--namespace", "corral", "--kube-version", KUBE_VERSION];
  return run(chartTool("helm"), [...args, ...valuesArgs(valuesFiles, set)]);
}

/** Runs `fn` with a temporary values file holding `values` (JSON is YAML); returns its result. */
export function withValuesFile<T>(values: Json, fn: (path: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "corral-values-"));
  try {
    const file = join(dir, "values.json");
    writeFileSync(file, JSON.stringify(values));
    return fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Converts a YAML stream to its documents, as kubectl reads them. */
export function toDocuments(yaml: string): Json[] {
  const res = run(chartTool("corral-manifests-json"), [], yaml);
  if (res.status !== 0) throw new Error(`corral-manifests-json failed: ${res.stderr}`);
  return JSON.parse(res.stdout) as Json[];
}

/** Renders the chart and returns the YAML and its documents; throws if helm fails. */
export function render(valuesFiles: string[] = [], set: string[] = []): { yaml: string; docs: Json[] } {
  const res = helmTemplate(valuesFiles, set);
  if (res.status !== 0) throw new Error(`helm template failed: ${res.stderr}`);
  return { yaml: res.stdout, docs: toDocuments(res.stdout) };
}

export interface KubeconformReport {
  status: number | null;
  resources: { filename: string; kind: string; name: string; status: string; msg: string }[];
}

/** Validates manifests (YAML or JSON text) strictly against the offline schemas. */
export function kubeconform(manifests: string): KubeconformReport {
  const dir = mkdtempSync(join(tmpdir(), "corral-kubeconform-"));
  try {
    const file = join(dir, "manifests.yaml");
    writeFileSync(file, manifests);
    const location = join(schemaDir(), "{{ .ResourceKind }}{{ .KindSuffix }}.json");
    const args = ["-strict", "-output", "json", "-verbose", "-schema-location", location, file];
    const res = run(chartTool("kubeconform"), args);
    const parsed = JSON.parse(res.stdout || "{}") as Partial<KubeconformReport>;
    return { status: res.status, resources: parsed.resources ?? [] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function readRepoFile(path: string): string {
  return readFileSync(join(REPO_ROOT, path), "utf8");
}

// ---- Accessors over rendered manifests --------------------------------------------

export function ofKind(docs: Json[], kind: string): Json[] {
  return docs.filter((d) => d.kind === kind);
}

export function one(docs: Json[], kind: string, name: string): Json {
  const found = docs.find((d) => d.kind === kind && d.metadata?.name === name);
  if (!found) throw new Error(`no ${kind} ${name} among ${docs.map((d) => `${d.kind}/${d.metadata?.name}`)}`);
  return found;
}

/** The pod templates of every workload, with the workload they belong to. */
export function podTemplates(docs: Json[]): { owner: Json; spec: Json; labels: Json }[] {
  return docs
    .filter((d) => ["Deployment", "StatefulSet", "Job"].includes(d.kind))
    .map((d) => ({ owner: d, spec: d.spec.template.spec, labels: d.spec.template.metadata?.labels ?? {} }));
}

export function envOf(container: Json): Json[] {
  return container.env ?? [];
}

export function envValue(container: Json, name: string): Json | undefined {
  return envOf(container).find((e) => e.name === name);
}

export function selectorMatches(selector: Json, labels: Json): boolean {
  return Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
}
