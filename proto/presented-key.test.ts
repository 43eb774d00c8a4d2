import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_KEY_LENGTH } from "./api-key.ts";
import { bearerCredential, type HeaderValues, presentedKey } from "./presented-key.ts";

const KEY = `crl_0123456789ab_${"A".repeat(43)}`;
const LONGEST = "k".repeat(MAX_KEY_LENGTH);
const TOO_LONG = "k".repeat(MAX_KEY_LENGTH + 1);

const CASES: ReadonlyArray<[string, HeaderValues, string | undefined]> = [
  ["x-api-key alone", { "x-api-key": KEY }, KEY],
  ["x-api-key wins over Bearer", { "x-api-key": KEY, authorization: "Bearer other" }, KEY],
  ["x-api-key trimmed", { "x-api-key": `  ${KEY}\t` }, KEY],
  ["empty x-api-key falls back to Bearer", { "x-api-key": "", authorization: `Bearer ${KEY}` }, KEY],
  ["blank x-api-key falls back to Bearer", { "x-api-key": "  ", authorization: `Bearer ${KEY}` }, KEY],
  [
    "repeated x-api-key falls back to Bearer",
    { "x-api-key": ["a", "b"], authorization: `Bearer ${KEY}` },
    KEY,
  ],
  ["Bearer alone", { authorization: `Bearer ${KEY}` }, KEY],
  ["scheme in any case, several spaces, trailing space", { authorization: `bEARER   ${KEY} ` }, KEY],
  ["another scheme", { authorization: `Basic ${KEY}` }, undefined],
  ["Bearer without a credential", { authorization: "Bearer " }, undefined],
  ["Bearer glued to the credential", { authorization: `Bearer${KEY}` }, undefined],
  ["Bearer with two words", { authorization: "Bearer a b" }, undefined],
  ["a tab is not the separator", { authorization: `Bearer\t${KEY}` }, undefined],
  ["nothing", {}, undefined],
  ["longest x-api-key", { "x-api-key": LONGEST }, LONGEST],
  ["longest Bearer", { authorization: `Bearer ${LONGEST}` }, LONGEST],
  [
    "oversized x-api-key presents nothing, no fallback",
    { "x-api-key": TOO_LONG, authorization: `Bearer ${KEY}` },
    undefined,
  ],
  ["oversized Bearer", { authorization: `Bearer ${TOO_LONG}` }, undefined],
];

for (const [name, headers, expected] of CASES) {
  test(`presentedKey: ${name}`, () => {
    assert.equal(presentedKey(headers), expected);
  });
}

test("bearerCredential takes its own bound (operator tokens are longer than API keys)", () => {
  assert.equal(bearerCredential(`Bearer ${"t".repeat(512)}`, 512), "t".repeat(512));
  assert.equal(bearerCredential(`Bearer ${"t".repeat(513)}`, 512), undefined);
  assert.equal(bearerCredential(["Bearer a"], 512), undefined);
  assert.equal(bearerCredential(undefined, 512), undefined);
});
