/**
 * The environment the chart gives each pod is accepted by the real settings loaders of
 * the processes (control-plane/config.ts, data-plane/config.ts): the same variables,
 * valid values. Field references, Secret references and $(VAR) expansion are resolved
 * as the kubelet does.
 */
import { deriveNodeCredential } from "../../proto/node-credential.ts";
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadControlPlaneConfig, loadMigrateConfig } from "../../control-plane/config.ts";
import { loadDataPlaneSettings } from "../../data-plane/config.ts";
import { generateSigningKeyPair } from "../../proto/signing-keys.ts";
import { envOf, type Json, ofKind, podTemplates, render, withValuesFile } from "./chart-tools.ts";
import { roleOf } from "./contract-env.ts";

type SecretData = Record<string, Record<string, string>>;

/** Variables the image sets (deploy/docker/Dockerfile ENV). */
const IMAGE_ENV = { NODE_ENV: "production", CORRAL_HOST: "0.0.0.0" };

function podName(owner: Json): string {
  return owner.kind === "StatefulSet" ? `${owner.metadata.name}-0` : `${owner.metadata.name}-7d9f8-x2x4q`;
}

function fromSecret(ref: Json, secrets: SecretData): string | undefined {
  const value = secrets[ref.name]?.[ref.key];
  if (value === undefined && !ref.optional) throw new Error(`Secret ${ref.name} has no key ${ref.key}`);
  return value;
}

/** The environment of a pod's first container, resolved as the kubelet does. */
function resolveEnv(owner: Json, container: Json, secrets: SecretData): Record<string, string> {
  const env: Record<string, string> = { ...IMAGE_ENV };
  for (const e of envOf(container)) {
    let value: string | undefined;
    if (e.value !== undefined) value = String(e.value).replace(/\$\((\w+)\)/g, (m, v) => env[v] ?? m);
    else if (e.valueFrom?.fieldRef) {
      assert.equal(e.valueFrom.fieldRef.fieldPath, "metadata.name", `${e.name}: only the pod name is used`);
      value = podName(owner);
    } else if (e.valueFrom?.secretKeyRef) value = fromSecret(e.valueFrom.secretKeyRef, secrets);
    else throw new Error(`${e.name}: unsupported env source ${JSON.stringify(e)}`);
    if (value !== undefined) env[e.name] = value;
  }
  return env;
}

function decodeSecrets(docs: Json[]): SecretData {
  const out: SecretData = {};
  for (const s of ofKind(docs, "Secret")) {
    out[s.metadata.name] = Object.fromEntries(
      Object.entries(s.data as Record<string, string>).map(([k, v]) => [
        k,
        Buffer.from(v, "base64").toString(),
      ]),
    );
  }
  return out;
}

function loadFor(role: string, env: Record<string, string>): void {
  if (role === "control-plane") loadControlPlaneConfig(env, "/app");
  else if (role === "data-plane") loadDataPlaneSettings(env, "/app");
  else loadMigrateConfig(env);
}

function assertAccepted(docs: Json[], secrets: SecretData): number {
  let checked = 0;
  for (const { owner, spec } of podTemplates(docs)) {
    const container = spec.containers[0];
    const env = resolveEnv(owner, container, secrets);
    assert.doesNotThrow(() => loadFor(roleOf(container.args), env), `${owner.kind} ${owner.metadata.name}`);
    checked++;
  }
  return checked;
}

const NODE_SECRET = "fleet-node-secret-0123456789abcdef0123";

/** The per-slot Secrets an operator creates with `corral node-credential <slot>`. */
function slotCredentials(docs: Json[]): SecretData {
  return Object.fromEntries(
    ofKind(docs, "StatefulSet").map((s: Json) => [
      `${s.metadata.name}-node`,
      { "node-token": deriveNodeCredential(NODE_SECRET, `${s.metadata.name}-0`) },
    ]),
  );
}

describe("the rendered environment is accepted by the processes' settings loaders", () => {
  const keys = generateSigningKeyPair();

  test("chart-made Secrets: control plane, every data-plane slot with its own credential", () => {
    const values = { secrets: { values: { signingKey: keys.privateKey, verifyKey: keys.publicKey } } };
    const { docs } = withValuesFile(values, (file) => render(["values-chart-secrets.yaml", file]));
    assert.equal(assertAccepted(docs, decodeSecrets(docs)), 4); // the control plane and 3 slots
    const set = ofKind(docs, "StatefulSet")[0];
    const settings = loadDataPlaneSettings(
      resolveEnv(set, set.spec.template.spec.containers[0], decodeSecrets(docs)),
    );
    assert.equal(settings.slot, "t-corral-dp-zone-a-0-0");
    assert.equal(settings.zone, "zone-a");
    assert.equal(settings.dataDir, "/var/lib/corral");
    assert.equal(
      settings.advertiseUrl,
      "http://t-corral-dp-zone-a-0-0.t-corral-data-plane-headless.corral.svc.cluster.local:7500",
    );
  });

  test("existing Secrets, three zones, Redis, S3 endpoint: every workload including the migration Job", () => {
    const secrets: SecretData = {
      "corral-prod-secrets": {
        "pg-url": "postgres://corral:pw@pg.example.internal:5432/corral",
        "signing-key": keys.privateKey,
        "verify-key": keys.publicKey,
        "node-secret": NODE_SECRET,
      },
      ...slotCredentials(render(["values-3-zones.yaml"]).docs),
      "corral-s3-credentials": { AWS_ACCESS_KEY_ID: "AKIAEXAMPLE", AWS_SECRET_ACCESS_KEY: "example" },
      "corral-redis": { url: "redis://:pw@redis.example.internal:6379/0" },
    };
    const { docs } = render(["values-3-zones.yaml"]);
    assert.equal(assertAccepted(docs, secrets), 8);
    const set = ofKind(docs, "StatefulSet")[0];
    const { tracing } = loadDataPlaneSettings(resolveEnv(set, set.spec.template.spec.containers[0], secrets));
    assert.deepEqual(tracing, {
      endpoint: "http://otel-collector.observability:4318/v1/traces",
      sampleRatio: 0.05,
      queueSize: 2048,
    });
  });

  test("a variable the process does not know is refused, so the check above can fail", () => {
    const { docs } = render(["values-3-zones.yaml"]);
    const set = ofKind(docs, "StatefulSet")[0];
    const container = structuredClone(set.spec.template.spec.containers[0]);
    container.env.push({ name: "CORRAL_SLOTS", value: "3" });
    const secrets: SecretData = {
      "corral-prod-secrets": { "verify-key": keys.publicKey },
      ...slotCredentials(docs),
      "corral-s3-credentials": { AWS_ACCESS_KEY_ID: "a", AWS_SECRET_ACCESS_KEY: "b" },
      "corral-redis": { url: "redis://redis.example.internal:6379" },
    };
    assert.throws(() => loadDataPlaneSettings(resolveEnv(set, container, secrets)), /CORRAL_SLOTS/);
  });
});
