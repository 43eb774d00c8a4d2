import { Metadata, Server, ServerCredentials, type ServiceError, type status } from "@grpc/grpc-js";
import { type EchoServer, EchoService } from "../../proto/gen/corral/demo/v1/echo.ts";

/**
 * A corral.demo.v1.Echo server with a fixed delay, for gRPC generator tests and as
 * the direct gRPC contender. `fail(n)` may turn the n-th call into an error carrying
 * a `corral-reason` trailer, like the data plane's rejections.
 */
export type EchoFailure = { code: status; reason: string };

export type EchoGrpcServer = { address: string; calls(): number; close(): Promise<void> };

export async function startEchoGrpcServer(options: {
  delayMs: number;
  fail?: (n: number) => EchoFailure | undefined;
}): Promise<EchoGrpcServer> {
  let calls = 0;
  const implementation: EchoServer = {
    echo: (call, callback) => {
      const failure = options.fail?.(calls++);
      setTimeout(() => {
        if (!failure) return callback(null, { message: call.request.message });
        const metadata = new Metadata();
        metadata.set("corral-reason", failure.reason);
        const error: Partial<ServiceError> = { code: failure.code, details: failure.reason, metadata };
        callback(error);
      }, options.delayMs);
    },
    echoStream: (call) => {
      for (let i = 0; i < 3; i++) call.write({ message: call.request.message });
      call.end();
    },
  };
  const server = new Server();
  server.addService(EchoService, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    calls: () => calls,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}
