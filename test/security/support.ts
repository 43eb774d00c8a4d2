/**
 * Shared pieces of the attack tests: a raw HTTP/1.1 exchange over a TCP socket (fetch and undici
 * normalise paths and headers; an attacker does not).
 */
import { connect as h2connect } from "node:http2";
import { connect, type Socket } from "node:net";

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Parses one HTTP/1.1 answer (head and the rest as body); header names lower case. */
function parseAnswer(text: string): RawAnswer {
  const end = text.indexOf("\r\n\r\n");
  const head = end === -1 ? text : text.slice(0, end);
  const [statusLine = "", ...lines] = head.split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine.split(" ")[1]), headers, body: end === -1 ? "" : text.slice(end + 4) };
}

/**
 * Sends `head` (request line and headers, without the blank line) byte for byte, then
 * `Connection: close`, and reads the answer until the node closes the connection.
 * `from`: the loopback address to connect from (e.g. 127.0.0.2, to tell a client from the nodes).
 */
export function rawRequest(port: number, head: string, from = "127.0.0.1"): Promise<RawAnswer> {
  const timeoutMs = 15_000;
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: "127.0.0.1", localAddress: from });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to ${JSON.stringify(head.split("\r\n")[0])}`));
    }, timeoutMs);
    socket.on("data", (c) => chunks.push(c));
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(parseAnswer(Buffer.concat(chunks).toString("latin1")));
    });
    socket.write(Buffer.from(`${head}\r\nconnection: close\r\n\r\n`, "latin1"));
  });
}

export interface SlowSocket {
  openedAt: number;
  closedAt: number | undefined;
  /** what the server wrote before closing (its first bytes) */
  answer: string;
}

/**
 * Opens `count` connections from `from` (default 127.0.0.1; in batches, so the backlog never
 * overflows) that each send `head` announcing a body of `bodyBytes` and then trickle the body one
 * byte per 500 ms until the server closes them; without `head` they send nothing at all.
 * stop() closes those still open.
 */
export async function slowSockets(
  port: number,
  count: number,
  o: { head?: string; bodyBytes?: number; from?: string },
) {
  const everyMs = 500;
  const sockets: { socket: Socket; state: SlowSocket }[] = [];
  for (let i = 0; i < count; i += 200) {
    const batch = Array.from({ length: Math.min(200, count - i) }, () => {
      const socket = connect({ port, host: "127.0.0.1", localAddress: o.from ?? "127.0.0.1" });
      const state: SlowSocket = { openedAt: 0, closedAt: undefined, answer: "" };
      socket.on("error", () => {});
      socket.on("data", (c) => {
        if (state.answer.length < 64) state.answer += c.toString("latin1");
      });
      socket.on("close", () => {
        state.closedAt = performance.now();
      });
      sockets.push({ socket, state });
      return new Promise<void>((resolve) =>
        socket.once("connect", () => {
          if (o.head) socket.write(`${o.head}\r\ncontent-length: ${o.bodyBytes ?? 0}\r\n\r\n`);
          state.openedAt = performance.now();
          resolve();
        }),
      );
    });
    await Promise.all(batch);
  }
  const trickle = setInterval(() => {
    if (o.head) for (const { socket } of sockets) if (!socket.destroyed) socket.write("x");
  }, everyMs);
  return {
    states: sockets.map((s) => s.state),
    open: () => sockets.filter((s) => s.state.closedAt === undefined).length,
    stop() {
      clearInterval(trickle);
      for (const { socket } of sockets) socket.destroy();
    },
  };
}

/** One gRPC call with an empty message over a fresh h2c connection: its headers and trailers. */
export function unaryCall(
  address: string,
  path: string,
  metadata: Record<string, string>,
): Promise<Record<string, string | string[] | undefined>> {
  return new Promise((resolve, reject) => {
    const session = h2connect(`http://${address}`);
    session.on("error", reject);
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
      ...metadata,
    });
    let head: Record<string, string | string[] | undefined> = {};
    stream.on("response", (h) => {
      head = { ...h };
    });
    stream.on("trailers", (t) => {
      head = { ...head, ...t };
    });
    stream.on("error", reject);
    stream.resume();
    stream.on("close", () => {
      session.close();
      resolve(head);
    });
    stream.end(Buffer.from([0, 0, 0, 0, 0]));
  });
}
