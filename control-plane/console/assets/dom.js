/** Building the page from data: elements with text only (never HTML from the API), and formats. */
import { isAdmin } from "./api.js";

/** An element with attributes (on* are listeners; true/false toggle) and children (text or nodes). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** A button that changes something: disabled unless the operator is an admin. */
export function changeButton(label, onclick, attrs = {}) {
  return h(
    "button",
    { type: "button", "data-changes": true, disabled: !isAdmin(), onclick, ...attrs },
    label,
  );
}

/** A table with a caption, header cells and its rows (or its row groups: tbody elements). */
export function table(caption, headers, rows, attrs = {}) {
  return h(
    "table",
    attrs,
    h("caption", {}, caption),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        headers.map((t) => h("th", { scope: "col" }, t)),
      ),
    ),
    rows.every((r) => r.tagName === "TBODY") && rows.length ? rows : h("tbody", {}, rows),
  );
}

export function duration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.round(ms / 3_600_000)} h`;
}

export const since = (iso) => (iso ? `${duration(Date.now() - Date.parse(iso))} ago` : "—");

/** The problem+json title and code of a failed call, as the console shows it. */
export function problemText(err) {
  if (!err?.code) return String(err?.message ?? err);
  return `${err.message} (${err.code})${err.detail ? `: ${err.detail}` : ""}`;
}

/** Replaces the children of `el` only when `key` changed (polling keeps focus and clicks stable). */
export function renderIfChanged(el, key, build) {
  if (el.dataset.key === key) return;
  el.dataset.key = key;
  el.replaceChildren(...[build()].flat());
}
