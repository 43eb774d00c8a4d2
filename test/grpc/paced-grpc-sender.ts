/**
 * The paced load's Sender for gRPC (test/isolation/paced-load.ts): one unary
 * corral.demo.v1.Echo/Echo call per scheduled request, on one channel per node address, the
 * target's headers as metadata. Outcome: "ok", else the call's corral-reason metadata, else
 * grpc_<code>.
 */
import { credentials, Metadata } from "@grpc/grpc-js";
import { EchoClient } from "../../proto/gen/corral/demo/v1/echo.ts";
import type { PacedTarget, Sender } from "../isolation/paced-load.ts";

export function grpcEchoSender(deadlineMs = 10_000): Sender {
  const clients = new Map<string, EchoClient>();
  const client = (address: string) => {
    let c = clients.get(address);
    if (!c) {
      c = new EchoClient(address, credentials.createInsecure());
      clients.set(address, c);
    }
    return c;
  };
  return {
    send(address: string, t: PacedTarget) {
      const md = new Metadata();
      for (const [name, value] of Object.entries(t.headers)) md.set(name, value);
      return new Promise((resolve) =>
        client(address).echo({ message: t.path }, md, { deadline: Date.now() + deadlineMs }, (err) => {
          if (!err) return resolve("ok");
          const reason = err.metadata?.get("corral-reason")[0];
          resolve(reason === undefined ? `grpc_${err.code}` : String(reason));
        }),
      );
    },
    async close() {
      for (const c of clients.values()) c.close();
    },
  };
}
