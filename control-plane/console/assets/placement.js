/**
 * Placement and blast radius: the slot × tenant shard grid (tenants searchable), and "what if
 * these slots or this zone fail" from GET /admin/v1/placement/analysis: the tenants that lose
 * their whole shard (the API's answer, fleet-wide), the grid's tenants that lose part of it, and
 * the measured shard overlap next to the law (hypergeometric and zone-spread).
 */
import { api, q } from "./api.js";
import { h, table } from "./dom.js";

const GRID_TENANTS = 25;

const pct = (x) => `${(x * 100).toFixed(2)} %`;

function overlapTable(overlap) {
  const row = (label, r) =>
    h(
      "tr",
      {},
      h("th", { scope: "row" }, label),
      h("td", {}, r.pairs),
      h("td", {}, pct(r.fraction)),
      h("td", {}, pct(r.hypergeometric)),
      h("td", {}, pct(r.zoneSpread)),
    );
  return table(
    `Shard overlap of ${overlap.pairs} tenant pairs${overlap.sampled ? " (sampled)" : ""}, measured against the law`,
    ["Shared slots", "Pairs", "Measured", "Law: uniform k-subsets", "Law: zone spread"],
    [...overlap.distribution.map((r) => row(String(r.overlap), r)), row("whole shard", overlap.fullOverlap)],
    { id: "overlap-table" },
  );
}

function failureReport(analysis) {
  const f = analysis.failure;
  if (f.failedSlots.length === 0) return h("p", { class: "note" }, "Pick slots or a zone to fail.");
  return h(
    "div",
    { id: "failure" },
    h(
      "p",
      { id: "failure-summary" },
      `If ${f.failedSlots.join(", ")} fail: ${f.count} tenant${f.count === 1 ? "" : "s"} lose their whole shard` +
        (f.truncated ? " (list truncated)." : "."),
    ),
    h(
      "ul",
      { id: "losing-all" },
      f.tenantsLosingWholeShard.map((t) => h("li", { class: "loses-all" }, t)),
    ),
  );
}

function gridRows(slots, shards, failed) {
  return shards.map(({ tenant, shard }) => {
    const members = new Map(shard.map((m, i) => [m.slot, i + 1]));
    const lost = shard.filter((m) => failed.has(m.slot)).length;
    const effect = lost === 0 ? "" : lost === shard.length ? "loses all" : "loses part";
    return h(
      "tr",
      { "data-tenant": tenant, "data-effect": effect || "none" },
      h("th", { scope: "row" }, tenant),
      slots.map((s) => {
        const rank = members.get(s.slot);
        if (!rank) return h("td", {}, "");
        return h(
          "td",
          { class: failed.has(s.slot) ? "in-shard failed" : "in-shard" },
          h("span", { "aria-label": `${tenant} on ${s.slot}, preference ${rank}` }, `● ${rank}`),
        );
      }),
      h("td", { class: effect === "loses all" ? "loses-all" : effect ? "loses-part" : "" }, effect || "—"),
    );
  });
}

export function placementPage({ showProblem }) {
  const picks = h("fieldset", { id: "fail-picks" });
  const stats = h("div", { id: "placement-stats" });
  const result = h("div", { id: "analysis" });
  const grid = h("div", { id: "grid" });
  const search = h("input", { id: "grid-search", type: "search", maxlength: 64 });
  let slots = [];
  let shards = [];
  let failed = new Set();

  const renderGrid = () =>
    grid.replaceChildren(
      table(
        "Shard grid: tenants × slots (● n: n-th preference)",
        ["Tenant", ...slots.map((s) => `${s.slot} (${s.zone})`), "If the picked slots fail"],
        gridRows(slots, shards, failed),
        { id: "grid-table" },
      ),
    );

  async function loadGrid() {
    const text = search.value.trim();
    const page = await api("GET", `tenants?limit=${GRID_TENANTS}${text ? `&q=${q(text)}` : ""}`);
    shards = await Promise.all(
      page.items.map(async (t) => ({ tenant: t.id, ...(await api("GET", `tenants/${q(t.id)}/placement`)) })),
    );
    renderGrid();
  }

  function renderPicks() {
    const zones = [...new Set(slots.map((s) => s.zone))].sort();
    picks.replaceChildren(
      h("legend", {}, "Slots to fail"),
      h(
        "div",
        { class: "row" },
        slots.map((s) => {
          const id = `fail-${s.slot}`;
          return h(
            "span",
            {},
            h("input", { type: "checkbox", id, value: s.slot, "data-zone": s.zone, class: "fail-slot" }),
            h(
              "label",
              { for: id },
              `${s.slot} (${s.zone}, ${s.live ? "live" : "dead"}, ${s.tenants} tenants)`,
            ),
          );
        }),
      ),
      h(
        "div",
        { class: "row" },
        zones.map((z) =>
          h(
            "button",
            {
              type: "button",
              "data-fail-zone": z,
              onclick: () => {
                for (const box of picks.querySelectorAll(".fail-slot")) box.checked = box.dataset.zone === z;
              },
            },
            `Pick zone ${z}`,
          ),
        ),
        h("button", { type: "button", id: "analyse", class: "primary", onclick: () => analyse() }, "Analyse"),
      ),
    );
  }

  async function analyse() {
    try {
      const chosen = [...picks.querySelectorAll(".fail-slot:checked")].map((b) => b.value);
      const analysis = await api("GET", `placement/analysis?failed=${q(chosen.join(","))}`);
      failed = new Set(analysis.failure.failedSlots);
      result.replaceChildren(failureReport(analysis), overlapTable(analysis.overlap));
      renderGrid();
    } catch (err) {
      showProblem(err);
    }
  }

  const element = h(
    "div",
    {},
    h("h2", {}, "Blast radius"),
    stats,
    picks,
    result,
    h("h2", {}, "Shard grid"),
    h(
      "form",
      {
        class: "row",
        role: "search",
        onsubmit: (e) => {
          e.preventDefault();
          loadGrid().catch(showProblem);
        },
      },
      h("label", { for: "grid-search" }, "Search tenants"),
      search,
      h("button", { type: "submit" }, "Search"),
    ),
    grid,
  );

  async function refresh() {
    const analysis = await api("GET", "placement/analysis");
    slots = analysis.slots;
    stats.replaceChildren(
      h(
        "p",
        {},
        `${analysis.n} slots in ${analysis.zones.length} zones serve ${analysis.tenants} tenants; ` +
          `tenants per slot: min ${analysis.slotLoad.min}, mean ${analysis.slotLoad.mean.toFixed(1)}, max ${analysis.slotLoad.max}.`,
      ),
    );
    renderPicks();
    await loadGrid();
  }
  return { element, refresh, polls: false };
}
