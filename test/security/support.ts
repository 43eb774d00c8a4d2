/**
 * Shared pieces of the attack tests: a raw HTTP/1.1 exchange over a TCP socket (fetch and undici
 * normalise paths and headers; an attacker does not).
 */
import { connect } from "node:net";

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
 */
export function rawRequest(port: number, head: string, timeoutMs = 15_000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
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
