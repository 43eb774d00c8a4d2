/** The `corral` binary as a user runs it: help, exit codes, keygen, configuration errors. */
import { deriveNodeCredential } from "../../proto/node-credential.ts";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createPublicKey } from "node:crypto";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { freePort } from "../support/ports.ts";
import { parsePrivateKey, parsePublicKey } from "../../proto/signing-keys.ts";

const BIN = fileURLToPath(new URL("../../bin/corral.ts", import.meta.url));

function corral(args: string[], env: Record<string, string> = {}) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("CORRAL_")));
  const res = spawnSync(process.execPath, [BIN, ...args], {
    env: { ...base, ...env },
    encoding: "utf8",
    timeout: 20_000,
  });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

describe("corral binary", () => {
  it("prints usage for --help and exits 0", () => {
    const res = corral(["--help"]);
    assert.equal(res.code, 0);
    for (const command of ["dev", "control-plane", "data-plane", "migrate", "admin", "keygen"])
      assert.match(res.stdout, new RegExp(`\\b${command}\\b`));
  });

  it("exits 2 with usage for an unknown command or none", () => {
    const unknown = corral(["frobnicate"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"/);
    assert.match(unknown.stderr, /Usage: corral/);
    assert.equal(corral([]).code, 2);
  });

  it("keygen prints a matching Ed25519 pair the role settings accept", () => {
    const res = corral(["keygen"]);
    assert.equal(res.code, 0);
    const lines = Object.fromEntries(
      res.stdout
        .trim()
        .split("\n")
        .map((l) => l.split(/=(.*)/s).slice(0, 2)),
    );
    const privateKey = parsePrivateKey(lines.CORRAL_SIGNING_KEY!);
    const publicKey = parsePublicKey(lines.CORRAL_VERIFY_KEY!);
    const spki = { format: "der", type: "spki" } as const;
    assert.deepEqual(createPublicKey(privateKey).export(spki), publicKey.export(spki));
    assert.notEqual(corral(["keygen"]).stdout, res.stdout);
  });

  it("node-credential prints the slot's credential from CORRAL_NODE_SECRET, and refuses without it", () => {
    const secret = "fleet-secret-0123456789abcdef0123456789";
    const res = corral(["node-credential", "dp-0"], { CORRAL_NODE_SECRET: secret });
    assert.equal(res.code, 0);
    assert.equal(res.stdout, `CORRAL_NODE_TOKEN=${deriveNodeCredential(secret, "dp-0")}\n`);
    assert.equal(corral(["node-credential", "dp-0"]).code, 2);
    assert.equal(corral(["node-credential", "Bad.Slot"], { CORRAL_NODE_SECRET: secret }).code, 2);
  });

  it("data-plane with a bad setting exits 2 naming the variable", () => {
    const res = corral(["data-plane"], {
      CORRAL_CP_URL: "not a url",
      CORRAL_NODE_TOKEN: "crn_dp-0.0123456789abcdef",
      CORRAL_VERIFY_KEY: "garbage",
      CORRAL_SLOT: "dp-0",
      CORRAL_OPS_PORT: "70000",
      CORRAL_BOGUS: "1",
    });
    assert.equal(res.code, 2);
    for (const name of [
      "CORRAL_CP_URL",
      "CORRAL_NODE_TOKEN",
      "CORRAL_VERIFY_KEY",
      "CORRAL_OPS_PORT",
      "CORRAL_BOGUS",
    ])
      assert.match(res.stderr, new RegExp(name));
  });

  it("control-plane without its required settings exits 2 naming them", () => {
    const res = corral(["control-plane"]);
    assert.equal(res.code, 2);
    for (const name of ["CORRAL_PG_URL", "CORRAL_NODE_SECRET", "CORRAL_SIGNING_KEY"])
      assert.match(res.stderr, new RegExp(`${name} is required`));
  });

  it("dev with a bad CORRAL_DEV_* variable or flag exits 2 before starting anything", () => {
    const bad = corral(["dev"], { CORRAL_DEV_DATA_PLANES: "0" });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /CORRAL_DEV_DATA_PLANES/);
    const flag = corral(["dev", "--no-such-flag"]);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /unknown option --no-such-flag/);
  });

  it("lists a role's settings with --help", () => {
    const res = corral(["data-plane", "--help"]);
    assert.equal(res.code, 0);
    assert.match(res.stdout, /CORRAL_SLOT/);
  });

  it("admin refuses unknown commands and options with exit 2", () => {
    const env = { CORRAL_ADMIN_URL: "http://127.0.0.1:9", CORRAL_ADMIN_TOKEN: "t" };
    assert.equal(corral(["admin", "tenants", "explode"], env).code, 2);
    const stray = corral(["admin", "tenants", "get", "demo", "--target", "x"], env);
    assert.equal(stray.code, 2);
    assert.match(stray.stderr, /does not take --target/);
    const badUrl = corral(["admin", "fleet"], { CORRAL_ADMIN_URL: "ftp://x", CORRAL_ADMIN_TOKEN: "t" });
    assert.equal(badUrl.code, 2);
    assert.match(badUrl.stderr, /CORRAL_ADMIN_URL/);
  });

  it("admin reports an unreachable control plane with exit 1", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const res = corral(["admin", "fleet"], { CORRAL_ADMIN_URL: url, CORRAL_ADMIN_TOKEN: "t" });
    assert.equal(res.code, 1);
    assert.match(res.stderr, /cannot reach the control plane .*ECONNREFUSED/);
  });
});
