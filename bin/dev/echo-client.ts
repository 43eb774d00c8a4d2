/** Calls corral.demo.v1.Echo (directly on the demo upstream, or through a data plane with an API key). */
import { credentials, Metadata } from "@grpc/grpc-js";
import { EchoClient } from "../../proto/gen/corral/demo/v1/echo.ts";

export interface EchoCallOptions {
  apiKey?: string;
  timeoutMs?: number;
}

function metadataOf(opts: EchoCallOptions): Metadata {
  const metadata = new Metadata();
  if (opts.apiKey) metadata.set("x-api-key", opts.apiKey);
  return metadata;
}

function deadline(opts: EchoCallOptions): Date {
  return new Date(Date.now() + (opts.timeoutMs ?? 2000));
}

/** Unary Echo: resolves with the echoed message. */
export function echoOnce(address: string, message: string, opts: EchoCallOptions = {}): Promise<string> {
  const client = new EchoClient(address, credentials.createInsecure());
  return new Promise<string>((resolve, reject) => {
    client.echo({ message }, metadataOf(opts), { deadline: deadline(opts) }, (err, res) =>
      err ? reject(err) : resolve(res.message),
    );
  }).finally(() => client.close());
}

/** Server-streaming EchoStream: resolves with every message received. */
export function echoStream(address: string, message: string, opts: EchoCallOptions = {}): Promise<string[]> {
  const client = new EchoClient(address, credentials.createInsecure());
  return new Promise<string[]>((resolve, reject) => {
    const received: string[] = [];
    const call = client.echoStream({ message }, metadataOf(opts), { deadline: deadline(opts) });
    call.on("data", (res: { message: string }) => received.push(res.message));
    call.on("error", reject);
    call.on("end", () => resolve(received));
  }).finally(() => client.close());
}
