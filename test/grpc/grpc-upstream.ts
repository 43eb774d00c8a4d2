/**
 * A real grpc-js upstream for the gRPC ingress tests. It serves corral.demo.v1.Echo whose
 * behaviour the request message picks ("fail", "trailers", "slow:<ms>", "hang", anything else
 * echoes), and corral.test.v1.Streams (client streaming Collect, bidi Chat) defined with raw
 * Buffer serializers, so no proto is needed. It records what every call looked like upstream.
 */
import {
  type handleBidiStreamingCall,
  type handleClientStreamingCall,
  makeGenericClientConstructor,
  Metadata,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServiceDefinition,
  type sendUnaryData,
  type ServerWritableStream,
  status,
} from "@grpc/grpc-js";
import { type EchoRequest, type EchoResponse, EchoService } from "../../proto/gen/corral/demo/v1/echo.ts";

export interface SeenCall {
  path: string;
  metadata: Record<string, string>;
  /** ms left until the deadline the upstream got (Infinity: none) */
  deadlineMs: number;
}

const raw = (b: Buffer) => b;

function rawMethod(name: string, requestStream: boolean, responseStream: boolean) {
  return {
    path: `/corral.test.v1.Streams/${name}`,
    requestStream,
    responseStream,
    requestSerialize: raw,
    requestDeserialize: raw,
    responseSerialize: raw,
    responseDeserialize: raw,
  };
}

export const StreamsService = {
  collect: rawMethod("Collect", true, false),
  chat: rawMethod("Chat", true, true),
} satisfies ServiceDefinition;

export const StreamsClient = makeGenericClientConstructor(StreamsService, "Streams");

/** Custom trailers the streaming methods end with: x-ended-by names the method. */
function endTrailers(method: string): Metadata {
  const trailers = new Metadata();
  trailers.set("x-ended-by", method);
  return trailers;
}

export class GrpcUpstream {
  readonly seen: SeenCall[] = [];
  /** messages of the calls the upstream saw cancelled */
  readonly cancelled: string[] = [];
  readonly address: string;
  private readonly server: Server;

  private constructor(server: Server, address: string) {
    this.server = server;
    this.address = address;
  }

  static async start(): Promise<GrpcUpstream> {
    const server = new Server();
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    const upstream = new GrpcUpstream(server, `127.0.0.1:${port}`);
    server.addService(EchoService, {
      echo: (call: ServerUnaryCall<EchoRequest, EchoResponse>, cb: sendUnaryData<EchoResponse>) =>
        upstream.echo(call, cb),
      echoStream: (call: ServerWritableStream<EchoRequest, EchoResponse>) => upstream.echoStream(call),
    });
    server.addService(StreamsService, {
      collect: ((call, cb) => upstream.collect(call, cb)) as handleClientStreamingCall<Buffer, Buffer>,
      chat: ((call) => upstream.chat(call)) as handleBidiStreamingCall<Buffer, Buffer>,
    });
    return upstream;
  }

  private record(call: { getPath(): string; metadata: Metadata; getDeadline(): Date | number }): void {
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(call.metadata.getMap())) metadata[k] = String(v);
    const deadline = call.getDeadline();
    const at = deadline instanceof Date ? deadline.getTime() : deadline;
    this.seen.push({ path: call.getPath(), metadata, deadlineMs: at - Date.now() });
  }

  private echo(call: ServerUnaryCall<EchoRequest, EchoResponse>, cb: sendUnaryData<EchoResponse>): void {
    this.record(call);
    const message = call.request.message;
    call.on("cancelled", () => this.cancelled.push(message));
    if (message === "fail") {
      const trailers = new Metadata();
      trailers.set("x-why", "the upstream said no");
      cb({ code: status.INVALID_ARGUMENT, details: "message must not be fail", metadata: trailers });
      return;
    }
    if (message === "trailers") {
      const headers = new Metadata();
      headers.set("x-initial", "first");
      call.sendMetadata(headers);
      const trailers = new Metadata();
      trailers.set("x-trailer", "last");
      trailers.set("x-bin-bin", Buffer.from([0, 1, 2, 255]));
      cb(null, { message }, trailers);
      return;
    }
    if (message === "hang") return;
    const slow = /^slow:(\d+)$/.exec(message);
    const delay = slow ? Number(slow[1]) : 0;
    setTimeout(() => {
      if (!call.cancelled) cb(null, { message });
    }, delay);
  }

  private echoStream(call: ServerWritableStream<EchoRequest, EchoResponse>): void {
    this.record(call);
    for (let i = 0; i < 3; i++) call.write({ message: `${call.request.message} #${i}` });
    call.end(endTrailers("echoStream"));
  }

  private collect(
    call: Parameters<handleClientStreamingCall<Buffer, Buffer>>[0],
    cb: sendUnaryData<Buffer>,
  ): void {
    this.record(call);
    const parts: Buffer[] = [];
    call.on("data", (b: Buffer) => parts.push(b));
    call.on("end", () => cb(null, Buffer.from(`${parts.length}:${Buffer.concat(parts).toString()}`)));
  }

  private chat(call: Parameters<handleBidiStreamingCall<Buffer, Buffer>>[0]): void {
    this.record(call);
    call.on("data", (b: Buffer) => call.write(Buffer.from(b.toString().toUpperCase())));
    call.on("end", () => call.end(endTrailers("chat")));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.forceShutdown();
      resolve();
    });
  }
}
