/**
 * `corral ws <url> [--key KEY] [message...]`: a tiny WebSocket client for trying the gateway
 * (no extra tools). Connects, sends each message as text, prints every message it gets back,
 * and closes (1000) once every message has had its answer — or, with no messages, relays stdin
 * lines until stdin ends. A refused handshake prints the status and corral-reason.
 */
import { parseArgs } from "node:util";
import { WebSocket } from "ws";
import type { CliIo } from "./io.ts";
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "./run-role.ts";

export const WS_USAGE = `Usage: corral ws <ws://node/path> [--key KEY] [message...]

Opens a WebSocket (through a data plane: the key is the tenant's invoke key, sent as x-api-key),
sends each message as text and prints what comes back; without messages, sends stdin line by line.
`;

const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export async function runWsClient(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { key: { type: "string" }, help: { type: "boolean", short: "h" } },
    allowPositionals: true,
  });
  const [url, ...messages] = positionals;
  if (values.help || !url || !/^wss?:\/\//.test(url)) {
    io.err(WS_USAGE);
    return values.help ? EXIT_OK : EXIT_USAGE;
  }
  const key = values.key;
  const socket = new WebSocket(url, {
    headers: key ? { "x-api-key": key } : {},
    maxPayload: MAX_MESSAGE_BYTES,
  });
  return new Promise<number>((resolve) => {
    let waiting = messages.length;
    socket.on("unexpected-response", (_req, res) => {
      io.err(`corral ws: handshake refused: ${res.statusCode} ${res.headers["corral-reason"] ?? ""}\n`);
      res.resume();
      resolve(EXIT_FAILURE);
    });
    socket.on("error", (err) => {
      io.err(`corral ws: ${err.message}\n`);
      resolve(EXIT_FAILURE);
    });
    socket.on("open", () => {
      io.err(`connected to ${url}\n`);
      if (messages.length === 0) {
        process.stdin.setEncoding("utf8");
        let rest = "";
        process.stdin.on("data", (chunk: string) => {
          const lines = (rest + chunk).split("\n");
          rest = lines.pop() ?? "";
          for (const line of lines) socket.send(line);
        });
        process.stdin.on("end", () => socket.close(1000));
      } else for (const m of messages) socket.send(m);
    });
    socket.on("message", (data, isBinary) => {
      io.out(`${isBinary ? `<${(data as Buffer).length} bytes>` : data.toString()}\n`);
      if (messages.length > 0 && --waiting === 0) socket.close(1000);
    });
    socket.on("close", (code, reason) => {
      io.err(`closed ${code}${reason.length > 0 ? ` ${reason.toString()}` : ""}\n`);
      resolve(code === 1000 || code === 1005 ? EXIT_OK : EXIT_FAILURE);
    });
  });
}
