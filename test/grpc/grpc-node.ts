/**
 * startGrpcNode(): a real data-plane node (runDataPlane) serving gRPC tenants from a signed
 * snapshot in a temp blob store, with no control plane, and an Echo client at its gRPC port.
 * The one way gRPC tests get an ingress, so the stages, the upstream observer and the proxy are
 * the ones the node wires, not a test's copy of them.
 */
import { credentials } from "@grpc/grpc-js";
import type { DataPlaneOptions, DataPlaneProcess } from "../../data-plane/main.ts";
import type { Tenant } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { EchoClient } from "../../proto/gen/corral/demo/v1/echo.ts";
import * as fx from "../data-plane/fixtures.ts";
import { startNode, type Workspace, workspace } from "../data-plane/support.ts";
import { poll } from "../support/poll.ts";
import { closedPort } from "../support/ports.ts";

/** A fixture tenant whose routes are gRPC routes (unless their id starts with http-). */
export function grpcTenant(spec: fx.TenantSpec, limits?: { rate: number; burst: number }): Tenant {
  const t = fx.tenant(spec);
  return {
    ...t,
    limits: limits && {
      ...limits,
      concurrency: 0,
      priority: "",
      shardSize: 1,
      shadow: false,
      disabled: false,
      quota: undefined,
    },
    routes: t.routes.map((r) => ({ ...r, protocol: r.id.startsWith("http-") ? "http" : "grpc" })),
  };
}

export interface GrpcNode {
  node: DataPlaneProcess;
  ws: Workspace;
  /** a grpc-js Echo client at the node's gRPC port */
  echo: EchoClient;
  close(): Promise<void>;
}

export async function startGrpcNode(
  tenants: Tenant[],
  spec: { env?: Record<string, string>; options?: DataPlaneOptions } = {},
): Promise<GrpcNode> {
  const ws = await workspace();
  const pair = fx.signingPair();
  await fx.publish(ws.store, fx.sign(fx.snapshot(1, tenants), pair));
  const node = await startNode({ ws, pair, cpUrl: `http://127.0.0.1:${await closedPort()}`, ...spec });
  await poll("the node to apply LATEST", () => node.state.ready);
  const echo = new EchoClient(node.grpcAddress, credentials.createInsecure());
  return {
    node,
    ws,
    echo,
    async close() {
      echo.close();
      await node.close();
      await ws.remove();
    },
  };
}
