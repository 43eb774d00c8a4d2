import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import { createLogger } from "./logger.ts";

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, logger: createLogger({ level: "info", cpId: "cp-x", destination }) };
}

test("credentials are redacted wherever they usually appear", () => {
  const { lines, logger } = capture();
  logger.info(
    {
      req: { headers: { authorization: "Bearer op-secret", "x-api-key": "crl_key_secret" } },
      headers: { authorization: "Bearer h-secret" },
      key: "crl_top_secret",
      token: "tok-secret",
      issued: { key: "crl_nested_secret", id: "abc" },
      config: { nodeToken: "node-secret", signingKey: "sign-secret", operatorToken: "boot-secret" },
    },
    "something happened",
  );
  const line = lines.join("");
  for (const secret of [
    "op-secret",
    "crl_key_secret",
    "h-secret",
    "crl_top_secret",
    "tok-secret",
    "crl_nested_secret",
    "node-secret",
    "sign-secret",
    "boot-secret",
  ]) {
    assert.ok(!line.includes(secret), secret);
  }
  const parsed = JSON.parse(line);
  assert.equal(parsed.issued.id, "abc");
  assert.equal(parsed.issued.key, "[redacted]");
  assert.equal(parsed.cp, "cp-x");
});
