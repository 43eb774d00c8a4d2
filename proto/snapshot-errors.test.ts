import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { readCatalogueRows } from "../test/support/catalogue-table.ts";

// SnapshotErrorCode is a type, so the codes are read from the module's text.
const codes = [
  ...readFileSync(new URL("./snapshot-errors.ts", import.meta.url), "utf8").matchAll(
    /"(CORRAL_SNAPSHOT_[A-Z_]+)"/g,
  ),
].map((m) => m[1]!);
const codec = readFileSync(new URL("./snapshot-codec.ts", import.meta.url), "utf8");
const rows = readCatalogueRows(new URL("./snapshot-errors.md", import.meta.url));

/** The text of a top-level function of snapshot-codec.ts, from its signature to its closing brace. */
function functionSource(name: string): string {
  const start = codec.search(new RegExp(`^(export )?function ${name}\\(`, "m"));
  assert.ok(start >= 0, `snapshot-codec.ts has no function ${name}`);
  const end = codec.indexOf("\n}\n", start);
  return codec.slice(start, end);
}

test("snapshot-errors.md documents exactly the SnapshotErrorCode union, one row each", () => {
  assert.ok(codes.length > 0);
  assert.equal(new Set(codes).size, codes.length);
  assert.deepEqual([...rows.keys()].sort(), [...codes].sort());
});

test("every documented code is raised by the function its row names, with a meaning", () => {
  for (const [code, [raisedBy, meaning]] of rows) {
    const fn = raisedBy!.replaceAll("`", "");
    assert.ok(functionSource(fn).includes(`"${code}"`), `${fn} raises ${code}`);
    assert.ok(meaning && meaning.length > 10, code);
  }
});
