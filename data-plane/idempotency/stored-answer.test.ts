import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeAnswer, encodeHeaders } from "./stored-answer.ts";

test("an answer round-trips through its stored form", () => {
  const headers = { "content-type": "text/plain", "set-cookie": ["a=1", "b=2"] };
  const body = Buffer.from([0, 1, 2, 255]);
  assert.deepEqual(decodeAnswer("201", encodeHeaders(headers), body), { status: 201, headers, body });
});

test("anything malformed read back from Redis is no answer", () => {
  const body = Buffer.alloc(0);
  for (const status of ["", "99", "600", "2e2x", "abc"])
    assert.equal(decodeAnswer(status, "{}", body), undefined, status);
  for (const headers of ["", "[]", "null", "{", '{"a":1}', '{"Bad Name":"x"}', '{"a":["x",1]}'])
    assert.equal(decodeAnswer("200", headers, body), undefined, headers);
  const many = Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`h${i}`, "x"]));
  assert.equal(decodeAnswer("200", JSON.stringify(many), body), undefined);
});
