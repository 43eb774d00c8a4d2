import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { contextTarget, requestTarget } from "./request-target.ts";

/** Refused targets: every way a path could mean one thing here and another upstream. */
const REFUSED = [
  "/api/../admin",
  "/api/./admin",
  "/api/..",
  "/api/.",
  "/..",
  "/api/%2e%2e/admin",
  "/api/%2E%2E/admin",
  "/api/.%2e/admin",
  "/api/%2e./admin",
  "/api/%2e/admin",
  "/api/..%2fadmin",
  "/api/..%2Fadmin",
  "/api/%2e%2e%2fadmin",
  "/api%2fadmin",
  "/api/..%5cadmin",
  "/api/..%5Cadmin",
  "/api/..;/admin",
  "/api;/admin",
  "/api/x;jsessionid=1",
  "/api/..\\admin",
  "/api\\..\\admin",
  "/api/%252e%252e/admin",
  "/api/%252e%252e%252fadmin",
  "/api/%252fadmin",
  "/api/%25%32%65",
  "/api/%00/x",
  "/api/%0a",
  "/api/%7f",
  "/api/%",
  "/api/%2",
  "/api/%zz",
  "/api/%c0%ae%c0%ae/admin", // overlong UTF-8 for "."
  "/api/%ff",
  "/api//admin",
  "//api/x",
  "/api/x#frag",
  "/api/x?y#frag",
  "/api/ x",
  "/api/é",
  "/api/<x>",
  "/api/{x}",
  "http://evil.example/api",
  "*",
  "api/x",
  "",
];

/** Accepted targets and their canonical form (what is matched and what is forwarded). */
const ACCEPTED: [string, string][] = [
  ["/", "/"],
  ["/api", "/api"],
  ["/api/", "/api/"],
  ["/api/x?a=1&b=%2F..", "/api/x?a=1&b=%2F.."],
  ["/%61pi/x", "/api/x"],
  ["/api/%7E~", "/api/~~"],
  ["/api/a%20b", "/api/a%20b"],
  ["/api/%3b", "/api/%3B"],
  ["/api/%3F", "/api/%3F"],
  ["/api/%23", "/api/%23"],
  ["/api/%25", "/api/%25"],
  ["/api/%25zz", "/api/%25zz"],
  ["/api/%c3%a9", "/api/%C3%A9"],
  ["/api/...", "/api/..."],
  ["/api/.well-known", "/api/.well-known"],
  ["/api/a.b", "/api/a.b"],
  ["/api/x:y@z!$&'()*+,=", "/api/x:y@z!$&'()*+,="],
  ["/api/%3D", "/api/="],
  ["/pkg.Service/Method", "/pkg.Service/Method"],
];

test("ambiguous targets are refused with a reason", () => {
  assert.ok(REFUSED.length >= 30);
  for (const target of REFUSED) {
    const verdict = requestTarget(target);
    assert.ok(
      "refused" in verdict,
      `${JSON.stringify(target)} should be refused, got ${JSON.stringify(verdict)}`,
    );
    assert.ok(verdict.refused.length > 0);
  }
});

test("accepted targets become one canonical string, which passes again unchanged", () => {
  for (const [target, expected] of ACCEPTED) {
    const verdict = requestTarget(target);
    assert.ok(!("refused" in verdict), `${target}: ${JSON.stringify(verdict)}`);
    assert.equal(verdict.url, expected, target);
    assert.equal(verdict.path, expected.split("?")[0], target);
    assert.deepEqual(requestTarget(verdict.url), verdict, `${target} is idempotent`);
  }
});

test("every canonical path keeps its segments: no accepted target climbs out of its prefix", () => {
  for (const [target] of ACCEPTED) {
    const verdict = requestTarget(target);
    assert.ok(!("refused" in verdict));
    for (const segment of verdict.path.split("/").slice(1))
      assert.ok(segment !== "." && segment !== "..", target);
  }
});

test("the context gets the raw path and the reason for a refused target", () => {
  assert.deepEqual(contextTarget("/api/../x?q=1"), {
    path: "/api/../x",
    url: "/api/../x?q=1",
    badPath: "the path has a . or .. segment",
  });
  assert.deepEqual(contextTarget("/%61pi?q"), { path: "/api", url: "/api?q" });
});

test("a path without escapes is judged as the same path with every letter and digit escaped", () => {
  // the escape-free fast path must agree with the decoding path on every input
  const raw = "abzAZ09-._~!$&'()*+,=:@/";
  const escapeAlnum = (p: string) =>
    p.replace(/[A-Za-z0-9]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom(...raw), maxLength: 24 }), (tail) => {
      const plain = requestTarget(`/${tail}`);
      const escaped = requestTarget(`/${escapeAlnum(tail)}`);
      if ("refused" in plain) assert.ok("refused" in escaped, tail);
      else assert.deepEqual(escaped, plain, tail);
    }),
    { numRuns: 2000 },
  );
});

test("dot and empty segments are found wherever they are (against a split-based reading)", () => {
  const reference = (path: string): string | undefined => {
    const segments = path.split("/");
    for (let i = 1; i < segments.length; i++) {
      if (segments[i] === "." || segments[i] === "..") return "the path has a . or .. segment";
      if (segments[i] === "" && i < segments.length - 1) return "the path has an empty segment (//)";
    }
    return undefined;
  };
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom("a", ".", "/"), maxLength: 16 }), (tail) => {
      const verdict = requestTarget(`/${tail}`);
      assert.equal("refused" in verdict ? verdict.refused : undefined, reference(`/${tail}`), tail);
    }),
    { numRuns: 3000 },
  );
});
