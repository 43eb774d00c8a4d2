/**
 * Every citation of the design document in the project — "docs/design.md §3.3", also lists such
 * as "docs/design.md §4, §5" — names a section heading that exists in docs/design.md, and nothing
 * cites a design document by any other name (the old "DESIGN §N" pointed at a file outside the
 * repository). Applied migrations are the one exception: they are checksummed
 * (control-plane/store/migrate.ts), so their comments cannot change.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const SKIP_DIRS = new Set(["node_modules", ".git", ".corral", "gen", "reports"]);
const TEXT = /\.(ts|md|proto|ya?ml|tpl|txt|sql)$/;
const IMMUTABLE = /^control-plane\/store\/migrations\/.*\.sql$/;

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) yield* sourceFiles(join(dir, entry.name));
    } else if (TEXT.test(entry.name)) {
      yield join(dir, entry.name);
    }
  }
}

/** Section numbers of docs/design.md's headings: "### 3.3 Applying (DP)" gives "3.3". */
function designSections(): Set<string> {
  const md = readFileSync(join(root, "docs/design.md"), "utf8");
  return new Set([...md.matchAll(/^#{2,4} (\d+(?:\.\d+)*)\.? /gm)].map((m) => m[1]!));
}

/** Each citation in `text`: the file's line and the section numbers it names. */
export function citations(text: string): { line: number; sections: string[] }[] {
  const found: { line: number; sections: string[] }[] = [];
  for (const m of text.matchAll(/docs\/design\.md (§\d+(?:\.\d+)*(?:(?:, | and )§\d+(?:\.\d+)*)*)/g)) {
    const line = text.slice(0, m.index).split("\n").length;
    found.push({ line, sections: [...m[1]!.matchAll(/§(\d+(?:\.\d+)*)/g)].map((s) => s[1]!) });
  }
  return found;
}

test("citations parse single sections and lists", () => {
  assert.deepEqual(citations("a (docs/design.md §4, §5) b\nc docs/design.md §3.3: d"), [
    { line: 1, sections: ["4", "5"] },
    { line: 2, sections: ["3.3"] },
  ]);
});

test("every docs/design.md § citation names a section that exists", () => {
  const sections = designSections();
  assert.ok(sections.has("3.3") && sections.has("10"), "docs/design.md has numbered headings");
  const missing: string[] = [];
  let count = 0;
  for (const file of sourceFiles(root)) {
    const path = relative(root, file);
    if (path === "docs/design.md" || path === "test/docs/design-refs.test.ts") continue;
    for (const { line, sections: cited } of citations(readFileSync(file, "utf8"))) {
      for (const s of cited) {
        count++;
        if (!sections.has(s)) missing.push(`${path}:${line} cites §${s}`);
      }
    }
  }
  assert.deepEqual(missing, []);
  assert.ok(count > 50, `only ${count} citations found: is the scan looking in the right place?`);
});

test("no design reference points anywhere but docs/design.md", () => {
  const stray: string[] = [];
  for (const file of sourceFiles(root)) {
    const path = relative(root, file);
    if (path === "test/docs/design-refs.test.ts" || IMMUTABLE.test(path)) continue;
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/\S*design(?:\.md)? §/gi)) {
      if (m[0].endsWith("docs/design.md §")) continue;
      stray.push(`${path}:${text.slice(0, m.index).split("\n").length}: ${m[0]}`);
    }
  }
  assert.deepEqual(stray, []);
});
