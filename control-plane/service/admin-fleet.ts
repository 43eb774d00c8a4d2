/**
 * The admin API's operations on the fleet and on operators: slots (declared by operators,
 * shown with the placement code's view), the nodes and versions, rollback, the payload bound,
 * and operator tokens. Changes return a `Change` the transport runs through AdminService.run.
 */
import type { Snapshot } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { CorralError } from "../errors.ts";
import type { PlacementService } from "../fleet/placement-service.ts";
import type { SlotView } from "../placement/fleet-slots.ts";
import { listVersions } from "../store/config-versions.ts";
import type { Pool, Queryable } from "../store/db.ts";
import { listFleet } from "../store/nodes.ts";
import {
  BOOTSTRAP_TOKEN_NAME,
  createOperatorToken,
  listOperatorTokens,
  type NewOperatorToken,
  revokeOperatorToken,
} from "../store/operator-tokens.ts";
import { declareSlot, type SlotDeclaration, undeclareSlot } from "../store/slots.ts";
import { totalConfigBytes } from "../store/tenant-config.ts";
import { lockVersionHistory } from "../store/version-retention.ts";
import type { Change } from "./config-changes.ts";
import type { GrowthBounds } from "./config-growth.ts";
import { invalid } from "./input-validation.ts";

export type { NewOperatorToken, SlotDeclaration };

const MAX_TOKEN_LIFETIME_MS = 10 * 365 * 24 * 3600 * 1000;

export interface AdminFleetDeps {
  pool: Pool;
  /** a node not seen for this long is shown as disconnected */
  fleetStaleMs: number;
  /** slots and shards, computed as the snapshot compiler does */
  placement: PlacementService;
  /** published versions' content, verified (rollback) */
  published: { loadPublished(q: Queryable, version: number): Promise<Snapshot> };
  /** the payload bound changes are checked against (GET /config/usage) */
  bounds: GrowthBounds;
}

export class AdminFleet {
  readonly #deps: AdminFleetDeps;

  constructor(deps: AdminFleetDeps) {
    this.#deps = deps;
  }

  // ---- slots ------------------------------------------------------------------------

  listSlots(): Promise<SlotView[]> {
    return this.#deps.placement.slotViews();
  }

  async getSlot(name: string, q: Queryable = this.#deps.pool): Promise<SlotView> {
    const found = (await this.#deps.placement.slotViews(q)).find((s) => s.name === name);
    return found ?? Promise.reject(new CorralError("CORRAL_ADMIN_NOT_FOUND", `slot ${name} not found`));
  }

  declareSlot(name: string, declaration: SlotDeclaration): Change {
    checkDeclaration(declaration);
    return async (tx) => {
      const { created } = await declareSlot(tx, name, declaration);
      return { status: created ? 201 : 200, body: await this.getSlot(name, tx) };
    };
  }

  undeclareSlot(name: string): Change {
    return async (tx) => {
      if (!(await undeclareSlot(tx, name))) {
        throw new CorralError("CORRAL_ADMIN_NOT_FOUND", `slot ${name} is not declared`);
      }
      return { status: 204, body: null };
    };
  }

  // ---- nodes, versions, payload -----------------------------------------------------

  listFleet() {
    return listFleet(this.#deps.pool, this.#deps.fleetStaleMs);
  }

  listVersions(limit: number) {
    return listVersions(this.#deps.pool, limit);
  }

  async configUsage() {
    return { tenantBytes: await totalConfigBytes(this.#deps.pool), ...this.#deps.bounds };
  }

  /**
   * Republishes an earlier version's content: checks it exists inside the retention window and
   * verifies, holding the version-history lock so its blob cannot expire before this commits.
   */
  rollback(rawVersion: string): Change {
    return async (tx) => {
      const version = Number(rawVersion);
      if (!Number.isSafeInteger(version))
        throw new CorralError("CORRAL_ADMIN_VALIDATION", `version ${rawVersion} is out of range`);
      await lockVersionHistory(tx);
      const snapshot = await this.#deps.published.loadPublished(tx, version);
      return {
        status: 202,
        body: { rollbackOf: version, tenants: snapshot.tenants.length, status: "accepted" },
        rollbackOf: version,
      };
    };
  }

  // ---- operator tokens --------------------------------------------------------------

  listOperatorTokens() {
    return listOperatorTokens(this.#deps.pool);
  }

  /** Publishes nothing (changed: false); the token is in the first response only, never stored. */
  createOperatorToken(input: NewOperatorToken, now: number): Change {
    checkNewToken(input, now);
    return async (tx) => {
      const created = await createOperatorToken(tx, input);
      const { token: _shownOnce, ...withoutToken } = created;
      return { status: 201, body: created, stored: { status: 201, body: withoutToken }, changed: false };
    };
  }

  revokeOperatorToken(id: string): Change {
    return async (tx) => {
      const result = await revokeOperatorToken(tx, id);
      if (result === "not-found")
        throw new CorralError("CORRAL_ADMIN_NOT_FOUND", `operator token ${id} not found`);
      return { status: 204, body: null, changed: false };
    };
  }
}

function checkDeclaration(d: SlotDeclaration): void {
  if (d.httpUrl !== undefined) {
    const port = URL.canParse(d.httpUrl) ? new URL(d.httpUrl).port : "x";
    if (port !== "" && !(Number(port) >= 1 && Number(port) <= 65535))
      throw invalid("body/httpUrl", "is not a valid http(s) URL with a port from 1 to 65535");
  }
  if (d.grpcAddress !== undefined) {
    const port = Number(d.grpcAddress.slice(d.grpcAddress.lastIndexOf(":") + 1));
    if (!(port >= 1 && port <= 65535)) throw invalid("body/grpcAddress", "has a port outside 1-65535");
  }
}

function checkNewToken({ name, expiresAt }: NewOperatorToken, now: number): void {
  if (name === BOOTSTRAP_TOKEN_NAME)
    throw invalid("body/name", `${name} is reserved for CORRAL_OPERATOR_TOKEN`);
  if (expiresAt === undefined) return;
  const at = Date.parse(expiresAt);
  if (!(at > now)) throw invalid("body/expiresAt", "must be in the future");
  if (at - now > MAX_TOKEN_LIFETIME_MS) throw invalid("body/expiresAt", "must be at most 10 years ahead");
}
