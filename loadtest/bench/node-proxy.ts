import replyFrom from "@fastify/reply-from";
import Fastify, { type FastifyInstance } from "fastify";
import { assertLoopbackUrl } from "../generator/loopback.ts";

/**
 * The bare Node reverse proxy the data plane is compared with: fastify +
 * @fastify/reply-from, no auth, no limits, no logging, keep-alive pool to the
 * upstream. Run as a script it is its own process (one event loop, one core):
 * `node node-proxy.ts --upstream=http://127.0.0.1:PORT` prints {"url":…,"pid":…}.
 */
export async function startNodeProxy(upstreamUrl: string, connections = 128): Promise<FastifyInstance> {
  assertLoopbackUrl(upstreamUrl);
  const app = Fastify({ logger: false });
  app.addContentTypeParser("*", (_req, payload, done) => done(null, payload));
  await app.register(replyFrom, {
    base: upstreamUrl,
    undici: { connections, pipelining: 1, keepAliveTimeout: 60_000 },
  });
  app.all("/*", (request, reply) => reply.from(request.url));
  await app.listen({ port: 0, host: "127.0.0.1" });
  return app;
}

function argValue(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

if (import.meta.main) {
  const upstream = argValue("upstream");
  if (!upstream) throw new Error("usage: node-proxy.ts --upstream=http://127.0.0.1:PORT [--connections=N]");
  const app = await startNodeProxy(upstream, Number(argValue("connections") ?? 128));
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}`, pid: process.pid })}\n`);
  process.on("SIGTERM", () => app.close().then(() => process.exit(0)));
}
