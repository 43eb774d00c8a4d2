/**
 * The Helm chart under deploy/helm/corral: lint, render with default, production-like
 * (3 zones, 6 slots, existing Secrets) and trial (chart-made Secret) values, validate
 * every manifest against the Kubernetes schemas (offline), and check the properties
 * the platform depends on. Needs the tools from .ci/install-chart-tools.
 */
import { deriveNodeCredential } from "../../proto/node-credential.ts";
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  envOf,
  envValue,
  helmLint,
  helmTemplate,
  type Json,
  kubeconform,
  ofKind,
  one,
  podTemplates,
  render,
  selectorMatches,
  withValuesFile,
} from "./chart-tools.ts";
import { CONTRACT_ENV, REQUIRED_ENV, roleOf, SECRET_ENV } from "./contract-env.ts";

const PROD = "values-3-zones.yaml";
const TRIAL = "values-chart-secrets.yaml";
const RENDERS = { default: [] as string[], prod: [PROD], trial: [TRIAL] };

type Rendered = ReturnType<typeof render>;
const cache = new Map<string, Rendered>();
/** Renders once per values set, on first use: a missing tool fails each test naming the install script. */
function rendered(which: keyof typeof RENDERS): Rendered {
  if (!cache.has(which)) cache.set(which, render(RENDERS[which]));
  return cache.get(which)!;
}

function containerOf(workload: Json): Json {
  return workload.spec.template.spec.containers[0];
}

function portNumber(container: Json, port: string | number): number {
  if (typeof port === "number") return port;
  const named = (container.ports ?? []).find((p: Json) => p.name === port);
  assert.ok(named, `container ${container.name} has no port named ${port}`);
  return named.containerPort;
}

describe("helm lint --strict", () => {
  for (const [name, files] of Object.entries(RENDERS)) {
    test(`passes with ${name} values`, () => {
      const res = helmLint(files);
      assert.equal(res.status, 0, res.stdout + res.stderr);
    });
  }
});

describe("every rendered manifest is valid against the Kubernetes schemas", () => {
  for (const name of Object.keys(RENDERS) as (keyof typeof RENDERS)[]) {
    test(`${name} values: kubeconform -strict`, () => {
      const { yaml, docs } = rendered(name);
      const report = kubeconform(yaml);
      const bad = report.resources.filter((r) => r.status !== "statusValid");
      assert.deepEqual(bad, [], JSON.stringify(bad, null, 2));
      assert.equal(report.status, 0);
      assert.equal(report.resources.length, docs.length, "every document was validated, none skipped");
    });
  }

  test("the validation can fail: an unknown field and a wrong type are reported", () => {
    const docs = structuredClone(rendered("prod").docs);
    const container = containerOf(ofKind(docs, "StatefulSet")[0]);
    container.readinessProbe.httpGet.pth = "/readyz";
    container.ports[0].containerPort = "7500";
    const report = kubeconform(docs.map((d) => JSON.stringify(d)).join("\n---\n"));
    const invalid = report.resources.filter((r) => r.status === "statusInvalid");
    assert.equal(invalid.length, 1, JSON.stringify(report.resources));
    assert.match(invalid[0].msg, /pth/);
    assert.match(invalid[0].msg, /containerPort/);
  });
});

describe("data plane: stable slots per zone", () => {
  const prodSets = () => ofKind(rendered("prod").docs, "StatefulSet");

  test("one StatefulSet of one pod per slot, 6 slots with stable, unique pod names", () => {
    const sets = prodSets();
    const headless = one(rendered("prod").docs, "Service", "t-corral-data-plane-headless");
    assert.deepEqual(
      sets.map((s) => s.metadata.name),
      ["a-0", "a-1", "b-0", "b-1", "c-0", "c-1"].map((s) => `t-corral-dp-${s}`),
    );
    const slots = sets.flatMap((s) =>
      Array.from({ length: s.spec.replicas }, (_, i) => `${s.metadata.name}-${i}`),
    );
    for (const set of sets) assert.equal(set.spec.replicas, 1);
    assert.equal(new Set(slots).size, 6);
    for (const set of sets) {
      assert.equal(
        set.spec.serviceName,
        headless.metadata.name,
        "pods get DNS names from the headless Service",
      );
      assert.equal(set.spec.podManagementPolicy, "Parallel");
    }
    assert.equal(headless.spec.clusterIP, "None");
    assert.equal(headless.spec.publishNotReadyAddresses, true);
  });

  test("CORRAL_SLOT is the pod name (downward API), CORRAL_ZONE matches the zone the pods are pinned to", () => {
    const nodeZones = { a: "eu-west-1a", b: "eu-west-1b", c: "eu-west-1c" } as Record<string, string>;
    for (const set of prodSets()) {
      const c = containerOf(set);
      assert.deepEqual(envValue(c, "CORRAL_SLOT"), {
        name: "CORRAL_SLOT",
        valueFrom: { fieldRef: { fieldPath: "metadata.name" } },
      });
      const zone = envValue(c, "CORRAL_ZONE")?.value;
      assert.match(set.metadata.name, new RegExp(`^t-corral-dp-${zone}-\\d+$`));
      const selector = set.spec.template.spec.nodeSelector;
      assert.equal(selector["topology.kubernetes.io/zone"], nodeZones[zone]);
      assert.equal(selector["node-role.example.com/gateway"], "true", "user nodeSelector kept");
    }
  });

  test("the advertised URL is the slot's stable DNS name, expanded from CORRAL_SLOT defined before it", () => {
    const c = containerOf(prodSets()[0]);
    const names = envOf(c).map((e) => e.name);
    assert.ok(names.indexOf("CORRAL_SLOT") < names.indexOf("CORRAL_ADVERTISE_URL"));
    assert.equal(
      envValue(c, "CORRAL_ADVERTISE_URL")?.value,
      "http://$(CORRAL_SLOT).t-corral-data-plane-headless.corral.svc.cluster.local:7500",
    );
    assert.equal(
      envValue(c, "CORRAL_CP_URL")?.value,
      "http://t-corral-control-plane.corral.svc.cluster.local:7400",
    );
  });

  test("the disk cache is a per-slot PersistentVolumeClaim mounted at CORRAL_DATA_DIR (emptyDir when disabled)", () => {
    for (const set of prodSets()) {
      const c = containerOf(set);
      const dataDir = envValue(c, "CORRAL_DATA_DIR")?.value;
      const mount = c.volumeMounts.find((m: Json) => m.mountPath === dataDir);
      assert.ok(mount, `CORRAL_DATA_DIR ${dataDir} is mounted`);
      assert.deepEqual(
        set.spec.volumeClaimTemplates.map((t: Json) => t.metadata.name),
        [mount.name],
      );
    }
    const trialSet = ofKind(rendered("trial").docs, "StatefulSet")[0];
    assert.equal(trialSet.spec.volumeClaimTemplates, undefined);
    assert.ok(trialSet.spec.template.spec.volumes.some((v: Json) => v.name === "data" && v.emptyDir));
  });

  test("the client Service exposes ingress HTTP 7500 and gRPC 7600 of ready nodes", () => {
    const svc = one(rendered("prod").docs, "Service", "t-corral-data-plane");
    assert.deepEqual(
      svc.spec.ports.map((p: Json) => [p.name, p.port]),
      [
        ["http", 7500],
        ["grpc", 7600],
      ],
    );
    assert.equal(svc.spec.type, "LoadBalancer");
    assert.equal(svc.spec.publishNotReadyAddresses, undefined);
    for (const set of prodSets()) {
      assert.ok(selectorMatches({ matchLabels: svc.spec.selector }, set.spec.template.metadata.labels));
    }
  });
});

describe("environment follows the contract", () => {
  for (const name of Object.keys(RENDERS) as (keyof typeof RENDERS)[]) {
    test(`${name} values: every CORRAL_* variable belongs to the role, required ones are set, none twice`, () => {
      for (const { owner, spec } of podTemplates(rendered(name).docs)) {
        const role = roleOf(spec.containers[0].args);
        const names = envOf(spec.containers[0]).map((e) => e.name);
        assert.equal(new Set(names).size, names.length, `${owner.metadata.name}: duplicate env`);
        for (const n of names.filter((x) => x.startsWith("CORRAL_"))) {
          assert.ok(CONTRACT_ENV[role].includes(n), `${owner.metadata.name}: ${n} is not a ${role} variable`);
        }
        for (const n of REQUIRED_ENV[role])
          assert.ok(names.includes(n), `${owner.metadata.name}: ${n} missing`);
        assert.equal(spec.enableServiceLinks, false, "no injected CORRAL_<SERVICE>_PORT variables");
      }
    });
  }

  test("migrations run in a pre-install/pre-upgrade hook Job, so replicas start with CORRAL_MIGRATE=false", () => {
    const job = one(rendered("default").docs, "Job", "t-corral-migrate");
    assert.equal(job.metadata.annotations["helm.sh/hook"], "pre-install,pre-upgrade");
    assert.deepEqual(containerOf(job).args, ["migrate"]);
    const cp = one(rendered("default").docs, "Deployment", "t-corral-control-plane");
    assert.equal(envValue(containerOf(cp), "CORRAL_MIGRATE")?.value, "false");
    const trialCp = one(rendered("trial").docs, "Deployment", "t-corral-control-plane");
    assert.equal(ofKind(rendered("trial").docs, "Job").length, 0);
    assert.equal(envValue(containerOf(trialCp), "CORRAL_MIGRATE")?.value, "true");
  });
});

describe("probes and ports", () => {
  const cases = [
    { kind: "Deployment", name: "t-corral-control-plane", portEnv: "CORRAL_HTTP_PORT", port: 7400 },
    { kind: "StatefulSet", name: "t-corral-dp-zone-a-0", portEnv: "CORRAL_OPS_PORT", port: 7700 },
  ];
  for (const { kind, name, portEnv, port } of cases) {
    test(`${name}: readiness /readyz and liveness /healthz on port ${port} (${portEnv})`, () => {
      const c = containerOf(one(rendered("default").docs, kind, name));
      assert.equal(envValue(c, portEnv)?.value, String(port));
      assert.equal(c.readinessProbe.httpGet.path, "/readyz");
      assert.equal(c.livenessProbe.httpGet.path, "/healthz");
      for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
        assert.equal(portNumber(c, probe.httpGet.port), port);
      }
    });
  }

  test("control plane: 2 replicas by default, HTTP 7400 and gRPC 7401 on its Service, spread across zones", () => {
    const { docs } = rendered("default");
    const cp = one(docs, "Deployment", "t-corral-control-plane");
    assert.equal(cp.spec.replicas, 2);
    const svc = one(docs, "Service", "t-corral-control-plane");
    assert.deepEqual(
      svc.spec.ports.map((p: Json) => [p.name, p.port]),
      [
        ["http", 7400],
        ["grpc", 7401],
      ],
    );
    const keys = cp.spec.template.spec.topologySpreadConstraints.map((t: Json) => t.topologyKey);
    assert.ok(keys.includes("topology.kubernetes.io/zone"));
  });
});

describe("secrets", () => {
  test("with existingSecret: no Secret rendered, every secret variable read with secretKeyRef", () => {
    const { docs } = rendered("prod");
    assert.equal(ofKind(docs, "Secret").length, 0);
    const expectedSecret: Record<string, string> = {
      AWS_ACCESS_KEY_ID: "corral-s3-credentials",
      AWS_SECRET_ACCESS_KEY: "corral-s3-credentials",
      CORRAL_REDIS_URL: "corral-redis",
    };
    let checked = 0;
    for (const { owner, spec } of podTemplates(docs)) {
      for (const e of envOf(spec.containers[0]).filter((x) =>
        [...SECRET_ENV, "CORRAL_REDIS_URL"].includes(x.name),
      )) {
        assert.equal(e.value, undefined, `${e.name} is a plain value`);
        const nodeSecret = e.name === "CORRAL_NODE_TOKEN" ? `${owner.metadata.name}-node` : undefined;
        assert.equal(
          e.valueFrom.secretKeyRef.name,
          nodeSecret ?? expectedSecret[e.name] ?? "corral-prod-secrets",
        );
        checked++;
      }
    }
    assert.ok(checked >= 10, `checked ${checked} secret variables`);
  });

  test("with chart-made secrets: only the hook Secret holds them, base64, and pods restart on change", () => {
    const { yaml, docs } = rendered("trial");
    for (const sentinel of ["SENTINEL-PG-PASSWORD", "SENTINEL-SIGNING-KEY", "SENTINEL-NODE-SECRET"]) {
      assert.ok(!yaml.includes(sentinel), `${sentinel} appears in plain text`);
    }
    const secret = one(docs, "Secret", "t-corral-secrets");
    assert.equal(secret.metadata.annotations["helm.sh/hook"], "pre-install,pre-upgrade");
    const nodeSecret = Buffer.from(secret.data["node-secret"], "base64").toString();
    assert.match(nodeSecret, /^SENTINEL-NODE-SECRET/);
    for (const { owner, spec } of podTemplates(docs)) {
      for (const e of envOf(spec.containers[0]).filter(
        (x) => x.name.startsWith("CORRAL_") && SECRET_ENV.includes(x.name),
      )) {
        const expected = e.name === "CORRAL_NODE_TOKEN" ? `${owner.metadata.name}-node` : "t-corral-secrets";
        assert.equal(e.valueFrom?.secretKeyRef?.name, expected, `${owner.metadata.name} ${e.name}`);
      }
      assert.match(owner.spec.template.metadata.annotations["checksum/secrets"], /^[0-9a-f]{64}$/);
    }
  });
});

describe("node credentials", () => {
  test("each slot's Secret holds exactly the credential the code derives for that pod, and only its pod mounts it", () => {
    const { docs } = rendered("trial");
    const nodeSecret = Buffer.from(
      one(docs, "Secret", "t-corral-secrets").data["node-secret"],
      "base64",
    ).toString();
    for (const set of ofKind(docs, "StatefulSet")) {
      const slot = `${set.metadata.name}-0`;
      const secret = one(docs, "Secret", `${set.metadata.name}-node`);
      const credential = Buffer.from(secret.data["node-token"], "base64").toString();
      assert.equal(credential, deriveNodeCredential(nodeSecret, slot));
      const refs = envOf(containerOf(set)).filter((e) => e.valueFrom?.secretKeyRef?.name?.endsWith("-node"));
      assert.deepEqual(
        refs.map((e) => e.valueFrom.secretKeyRef.name),
        [`${set.metadata.name}-node`],
      );
    }
    const cp = containerOf(one(docs, "Deployment", "t-corral-control-plane"));
    assert.equal(envValue(cp, "CORRAL_NODE_TOKEN"), undefined);
    assert.equal(envValue(cp, "CORRAL_NODE_SECRET")?.valueFrom.secretKeyRef.key, "node-secret");
  });

  test("with controlPlane.tls: the CP serves https from the Secret, nodes dial https trusting its CA", () => {
    const { docs } = withValuesFile({ controlPlane: { tls: { existingSecret: "cp-tls" } } }, (file) =>
      render([file]),
    );
    const cp = containerOf(one(docs, "Deployment", "t-corral-control-plane"));
    assert.equal(envValue(cp, "CORRAL_TLS_CERT_FILE")?.value, "/etc/corral/tls/tls.crt");
    assert.equal(cp.readinessProbe.httpGet.scheme, "HTTPS");
    const dp = containerOf(ofKind(docs, "StatefulSet")[0]);
    assert.match(envValue(dp, "CORRAL_CP_URL")?.value, /^https:\/\//);
    assert.equal(envValue(dp, "CORRAL_CP_CA_FILE")?.value, "/etc/corral/cp-ca/ca.crt");
    assert.ok(dp.volumeMounts.some((m: Json) => m.mountPath === "/etc/corral/cp-ca"));
  });
});

describe("disruption budgets, security, monitoring", () => {
  test("PDBs cover the control plane and the whole data-plane fleet across zones", () => {
    const { docs } = rendered("prod");
    const cpPdb = one(docs, "PodDisruptionBudget", "t-corral-control-plane");
    const dpPdb = one(docs, "PodDisruptionBudget", "t-corral-data-plane");
    assert.ok(
      selectorMatches(
        cpPdb.spec.selector,
        one(docs, "Deployment", "t-corral-control-plane").spec.template.metadata.labels,
      ),
    );
    const sets = ofKind(docs, "StatefulSet");
    assert.equal(sets.length, 6);
    for (const set of sets)
      assert.ok(selectorMatches(dpPdb.spec.selector, set.spec.template.metadata.labels));
    assert.equal(dpPdb.spec.maxUnavailable, 1);
  });

  test("every pod runs as non-root with a read-only root filesystem and writable /tmp", () => {
    for (const { owner, spec } of podTemplates(rendered("default").docs)) {
      assert.equal(spec.securityContext.runAsNonRoot, true, owner.metadata.name);
      assert.equal(spec.automountServiceAccountToken, false);
      for (const c of spec.containers) {
        assert.equal(c.securityContext.readOnlyRootFilesystem, true);
        assert.equal(c.securityContext.allowPrivilegeEscalation, false);
        assert.deepEqual(c.securityContext.capabilities.drop, ["ALL"]);
        assert.ok(c.volumeMounts.some((m: Json) => m.mountPath === "/tmp"));
        assert.ok(c.resources.requests.memory && c.resources.limits.memory, "memory requests and limits");
      }
    }
  });

  test("ServiceMonitors only when enabled, each pointing at a Service port serving /metrics", () => {
    assert.equal(ofKind(rendered("default").docs, "ServiceMonitor").length, 0);
    const { docs } = rendered("prod");
    const monitors = ofKind(docs, "ServiceMonitor");
    assert.equal(monitors.length, 2);
    for (const m of monitors) {
      const services = ofKind(docs, "Service").filter((s) =>
        selectorMatches(m.spec.selector, s.metadata.labels),
      );
      assert.equal(services.length, 1, `${m.metadata.name} selects one Service`);
      const portNames = services[0].spec.ports.map((p: Json) => p.name);
      assert.ok(portNames.includes(m.spec.endpoints[0].port));
      assert.equal(m.metadata.labels.release, "prometheus");
    }
  });
});

describe("bad values are refused with a clear message", () => {
  const cases: [string, string[], string[], RegExp][] = [
    ["a file:// blob store", [], ["blobStore.url=file:///data"], /must be s3:\/\//],
    ["a zone name that is not a DNS label", [], ["dataPlane.zones[0].name=Zone_A"], /must be a DNS label/],
    ["chart-made secrets without values", [], ["secrets.create=true"], /secrets\.values\.pgUrl is required/],
    ["both chart-made and existing secrets", [TRIAL], ["secrets.existingSecret=x"], /exclude each other/],
  ];
  for (const [what, files, set, message] of cases) {
    test(what, () => {
      const res = helmTemplate(files, set);
      assert.notEqual(res.status, 0);
      assert.match(res.stderr, message);
    });
  }
});
