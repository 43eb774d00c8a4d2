/**
 * Worker-thread entry of the generator: runs one lane of a plan. Protocol with
 * run-load.ts: worker → "ready"; main → {start: plan}; worker → {seconds} … {done};
 * main → "abort" stops scheduling early.
 */
import { parentPort } from "node:worker_threads";
import { runLane } from "./open-loop.ts";
import type { ResolvedPlan } from "./plan.ts";

const port = parentPort;
if (!port) throw new Error("load-worker.ts must run in a worker thread");
const abort = new AbortController();

port.on("message", (message: "abort" | { start: ResolvedPlan }) => {
  if (message === "abort") return abort.abort();
  runLane(message.start, {
    signal: abort.signal,
    onSeconds: (seconds) => {
      if (seconds.length > 0) port.postMessage({ seconds });
    },
  }).then(
    (partial) => port.postMessage({ done: partial }),
    (err: Error) => port.postMessage({ error: err.stack ?? err.message }),
  );
});
port.postMessage("ready");
