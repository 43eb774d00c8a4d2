/**
 * Tenants: search and cursor paging over GET /admin/v1/tenants, create, and one tenant's status,
 * plan, limits, routes, upstreams and keys (ids and names only), suspend/resume, and its quota
 * usage when GET /tenants/{id}/usage answers (the panel is hidden when it answers 404).
 */
import { api, q } from "./api.js";
import { changeButton, h, table } from "./dom.js";

const PAGE = 20;

function usagePanel(usage) {
  const rows = [
    ["Routes", usage.usage.routes, usage.quotas.maxRoutes],
    ["Upstreams", usage.usage.upstreams, usage.quotas.maxUpstreams],
    ["Live keys", usage.usage.keys, usage.quotas.maxKeys],
    ["Targets", usage.usage.targets, usage.quotas.maxTargets],
    ["Config bytes", usage.usage.configBytes, usage.quotas.maxConfigBytes],
  ];
  return table(
    "Quota usage",
    ["Resource", "Used", "Quota"],
    rows.map(([name, used, max]) =>
      h("tr", {}, h("th", { scope: "row" }, name), h("td", {}, used), h("td", {}, max)),
    ),
    { id: "usage-table" },
  );
}

async function optionalUsage(id) {
  try {
    return await api("GET", `tenants/${q(id)}/usage`);
  } catch (err) {
    if (err.status === 404) return undefined;
    throw err;
  }
}

export function tenantsPage({ notice, showProblem }) {
  const search = h("input", { id: "tenant-search", type: "search", maxlength: 64 });
  const list = h("div", { id: "tenant-list" });
  const detail = h("section", { id: "tenant-detail", "aria-label": "Tenant" });
  const cursors = [null]; // cursor of each page shown so far
  let pageIndex = 0;
  let nextCursor = null;
  /** the latest list request: an answer to an older one (still in flight) is not shown */
  let listRequest = 0;

  async function showList() {
    const text = search.value.trim();
    const cursor = cursors[pageIndex];
    const request = ++listRequest;
    const page = await api(
      "GET",
      `tenants?limit=${PAGE}${text ? `&q=${q(text)}` : ""}${cursor ? `&cursor=${q(cursor)}` : ""}`,
    );
    if (request !== listRequest) return;
    nextCursor = page.nextCursor;
    list.replaceChildren(
      table(
        `Tenants${text ? ` matching "${text}"` : ""}, page ${pageIndex + 1}`,
        ["Id", "Name", "Status", "Plan", ""],
        page.items.map((t) =>
          h(
            "tr",
            { "data-tenant": t.id },
            h("th", { scope: "row" }, t.id),
            h("td", {}, t.name),
            h("td", {}, t.status),
            h("td", {}, t.plan),
            h(
              "td",
              {},
              h(
                "button",
                { type: "button", "data-open": t.id, onclick: () => showTenant(t.id).catch(showProblem) },
                `Open ${t.id}`,
              ),
            ),
          ),
        ),
        { id: "tenants-table" },
      ),
      h(
        "div",
        { class: "row" },
        h(
          "button",
          { type: "button", id: "prev-page", disabled: pageIndex === 0, onclick: () => turn(-1) },
          "Previous page",
        ),
        h(
          "button",
          { type: "button", id: "next-page", disabled: !nextCursor, onclick: () => turn(1) },
          "Next page",
        ),
      ),
    );
  }

  function turn(by) {
    if (by > 0) cursors[pageIndex + 1] = nextCursor;
    pageIndex += by;
    showList().catch(showProblem);
  }

  async function setStatus(id, status) {
    try {
      await api("PATCH", `tenants/${q(id)}`, { status });
      notice(`Tenant ${id} is ${status}.`);
      await Promise.all([showTenant(id), showList()]);
    } catch (err) {
      showProblem(err);
    }
  }

  async function showTenant(id) {
    const path = `tenants/${q(id)}`;
    const [t, routes, upstreams, keys, usage] = await Promise.all([
      api("GET", path),
      api("GET", `${path}/routes`),
      api("GET", `${path}/upstreams`),
      api("GET", `${path}/keys`),
      optionalUsage(id),
    ]);
    const limits = Object.entries(t.limits);
    detail.replaceChildren(
      h("h2", {}, `Tenant ${t.id}`),
      h(
        "p",
        { id: "tenant-status" },
        `${t.name} — status ${t.status}, plan ${t.plan}; limits: `,
        limits.length ? limits.map(([k, v]) => `${k} ${v}`).join(", ") : "the plan's",
      ),
      t.status === "active"
        ? changeButton("Suspend", () => setStatus(t.id, "suspended"), { id: "suspend", class: "danger" })
        : changeButton("Resume", () => setStatus(t.id, "active"), { id: "resume" }),
      usage ? usagePanel(usage) : null,
      table(
        "Routes",
        ["Id", "Hosts", "Path prefix", "Methods", "Upstream"],
        routes.items.map((r) =>
          h(
            "tr",
            {},
            h("th", { scope: "row" }, r.id),
            h("td", {}, (r.hosts ?? []).join(", ") || "any"),
            h("td", {}, r.pathPrefix),
            h("td", {}, (r.methods ?? []).join(", ") || "any"),
            h("td", {}, r.upstreamId ?? "—"),
          ),
        ),
      ),
      table(
        "Upstreams",
        ["Id", "Name", "Targets"],
        upstreams.items.map((u) =>
          h(
            "tr",
            {},
            h("th", { scope: "row" }, u.id),
            h("td", {}, u.name),
            h("td", {}, u.targets.join(", ")),
          ),
        ),
      ),
      table(
        "Keys (ids only)",
        ["Id", "Name", "Scopes", "State"],
        keys.items.map((k) =>
          h(
            "tr",
            {},
            h("th", { scope: "row" }, k.id),
            h("td", {}, k.name),
            h("td", {}, k.scopes.join(", ")),
            h("td", {}, k.revokedAt ? "revoked" : "live"),
          ),
        ),
        { id: "keys-table" },
      ),
    );
  }

  const newId = h("input", { id: "new-tenant-id", required: true, maxlength: 63 });
  const newName = h("input", { id: "new-tenant-name", required: true, maxlength: 200 });
  const create = h(
    "form",
    {
      id: "create-tenant",
      class: "row",
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          const t = await api("POST", "tenants", { id: newId.value.trim(), name: newName.value.trim() });
          notice(`Created tenant ${t.id}.`);
          newId.value = "";
          newName.value = "";
          await Promise.all([showList(), showTenant(t.id)]);
        } catch (err) {
          showProblem(err);
        }
      },
    },
    h("label", { for: "new-tenant-id" }, "New tenant id"),
    newId,
    h("label", { for: "new-tenant-name" }, "Name"),
    newName,
  );
  create.append(changeButton("Create tenant", null, { type: "submit", id: "create-tenant-submit" }));

  const element = h(
    "div",
    {},
    h("h2", {}, "Tenants"),
    create,
    h(
      "form",
      {
        class: "row",
        role: "search",
        onsubmit: (e) => {
          e.preventDefault();
          cursors.length = 1;
          pageIndex = 0;
          showList().catch(showProblem);
        },
      },
      h("label", { for: "tenant-search" }, "Search tenants"),
      search,
      h("button", { type: "submit" }, "Search"),
    ),
    list,
    detail,
  );
  return { element, refresh: showList, polls: false };
}
