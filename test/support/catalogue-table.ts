/**
 * Reads an error catalogue's table from Markdown, for the doc tests that keep each catalogue
 * (control-plane/errors.md, data-plane/README.md, proto/snapshot-errors.md, loadtest/errors.md)
 * in step with its errors.ts: every table row whose first cell is a `CORRAL_…` code, keyed by
 * the code, the other cells trimmed (formatters pad them). A code in two rows is an error.
 */
import { readFileSync } from "node:fs";

export function catalogueRows(markdown: string): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of markdown.split("\n")) {
    if (!line.startsWith("| `CORRAL_")) continue;
    const cells = line
      .split("|")
      .slice(1, -1)
      .map((c) => c.trim());
    const code = cells[0]!.replaceAll("`", "");
    if (rows.has(code)) throw new Error(`${code} has two rows`);
    rows.set(code, cells.slice(1));
  }
  return rows;
}

/** The catalogue rows of the Markdown file at `url` (e.g. `new URL("./errors.md", import.meta.url)`). */
export function readCatalogueRows(url: URL): Map<string, string[]> {
  return catalogueRows(readFileSync(url, "utf8"));
}
