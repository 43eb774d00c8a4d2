/**
 * Fleet and rollout: every slot by zone (live or dead, applied version, config age, last Nack),
 * the newest versions with Ack/Nack counts, progress across the fleet's nodes and the time to the
 * last Ack, and rollback behind a confirmation. Refreshed by the console's poll.
 */
import { api } from "./api.js";
import { changeButton, duration, h, renderIfChanged, since, table } from "./dom.js";

const VERSIONS_SHOWN = 8;

function slotRows(nodes) {
  const zones = [...new Set(nodes.map((n) => n.zone))].sort();
  return zones.map((zone) =>
    h(
      "tbody",
      { "data-zone": zone },
      h("tr", {}, h("th", { scope: "rowgroup", colspan: 7 }, `Zone ${zone}`)),
      nodes
        .filter((n) => n.zone === zone)
        .map((n) =>
          h(
            "tr",
            { "data-slot": n.slot, "data-state": n.connected ? "live" : "dead" },
            h("th", { scope: "row" }, n.slot),
            h("td", {}, n.node),
            h("td", { class: n.connected ? "live" : "dead" }, n.connected ? "live" : "dead"),
            h("td", { "data-applied": n.appliedVersion }, n.appliedVersion),
            h("td", {}, duration(n.status?.configAgeMs)),
            h("td", {}, since(n.lastSeen)),
            h("td", {}, n.lastError ?? "—"),
          ),
        ),
    ),
  );
}

/** Progress of a version: the nodes that acknowledged it out of every slot in the fleet, live or dead. */
function versionRow(v, slots, newest, confirmRollback) {
  const toLastAck = v.lastAckAt ? Date.parse(v.lastAckAt) - Date.parse(v.createdAt) : null;
  return h(
    "tr",
    { "data-version": v.version },
    h("th", { scope: "row" }, v.version),
    h("td", {}, v.source ?? "—"),
    h("td", {}, since(v.createdAt)),
    h("td", { "data-acks": v.acks }, v.acks),
    h("td", {}, v.nacks),
    h(
      "td",
      {},
      h("progress", {
        max: Math.max(slots, 1),
        value: Math.min(v.acks, Math.max(slots, 1)),
        "aria-label": `version ${v.version}: ${v.acks} of ${slots} nodes acknowledged`,
      }),
      ` ${v.acks}/${slots}`,
    ),
    h("td", {}, duration(toLastAck)),
    h(
      "td",
      {},
      v.version === newest
        ? "current"
        : changeButton(`Roll back to ${v.version}`, () => confirmRollback(v.version), {
            "data-rollback": v.version,
          }),
    ),
  );
}

export function fleetPage({ notice, showProblem }) {
  const slots = h("div", { id: "slots" });
  const rollout = h("div", { id: "rollout" });
  const summary = h("p", { id: "rollout-summary" });
  const dialogText = h("p", {});
  let pending = null;
  const dialog = h(
    "dialog",
    { id: "confirm-rollback", "aria-labelledby": "confirm-title" },
    h("h3", { id: "confirm-title" }, "Roll back?"),
    dialogText,
    h(
      "div",
      { class: "row" },
      changeButton(
        "Confirm rollback",
        async () => {
          dialog.close();
          try {
            const res = await api("POST", `config/versions/${pending}/rollback`);
            notice(`Rollback of version ${res.rollbackOf} accepted; the new version is being published.`);
          } catch (err) {
            showProblem(err);
          }
        },
        { class: "danger", id: "confirm-rollback-yes" },
      ),
      h("button", { type: "button", onclick: () => dialog.close() }, "Cancel"),
    ),
  );
  const confirmRollback = (version) => {
    pending = version;
    dialogText.textContent =
      `Republish version ${version}'s content as a new version. Every node moves to it; ` +
      "tenants' configuration in the database is not changed, and the next change compiles from it again.";
    dialog.showModal();
  };
  const element = h("div", {}, h("h2", {}, "Fleet"), slots, h("h2", {}, "Rollout"), summary, rollout, dialog);

  async function refresh() {
    const [fleet, versions] = await Promise.all([
      api("GET", "fleet"),
      api("GET", `config/versions?limit=${VERSIONS_SHOWN}`),
    ]);
    const nodes = fleet.items;
    const live = nodes.filter((n) => n.connected).length;
    const newest = versions.items[0]?.version;
    const onNewest = nodes.filter((n) => n.connected && n.appliedVersion === newest).length;
    summary.textContent =
      newest === undefined
        ? "Nothing published yet."
        : `Newest version ${newest}: ${onNewest} of ${live} live nodes apply it (${nodes.length - live} dead).`;
    renderIfChanged(slots, JSON.stringify(nodes.map((n) => [n, since(n.lastSeen)])), () =>
      table(
        "Slots by zone",
        ["Slot", "Node", "State", "Applied version", "Config age", "Last seen", "Last Nack or error"],
        slotRows(nodes),
        { id: "slots-table" },
      ),
    );
    renderIfChanged(rollout, JSON.stringify([versions.items, nodes.length]), () =>
      table(
        "Newest versions",
        ["Version", "Source", "Published", "Acks", "Nacks", "Progress", "Time to last Ack", "Action"],
        versions.items.map((v) => versionRow(v, nodes.length, newest, confirmRollback)),
        { id: "versions-table" },
      ),
    );
  }
  return { element, refresh, polls: true };
}
