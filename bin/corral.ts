#!/usr/bin/env node
/**
 * The `corral` binary: one entry point for every role. Role modules are imported only by the
 * command that needs them, so `corral admin` and `corral keygen` start fast.
 */
import { enableCompileCache } from "node:module";
import { processIo } from "./cli/io.ts";
import { runCli } from "./commands.ts";

// Cache compiled (and type-stripped) modules on disk: a restarted node is ready sooner.
// Best effort: an unwritable cache directory only costs the speed-up.
enableCompileCache();

const code = await runCli(process.argv.slice(2), processIo());
if (code !== undefined) {
  // Let output flush and the loop drain; if a role left a handle open after failing to start, exit anyway.
  process.exitCode = code;
  setTimeout(() => process.exit(code), 1000).unref();
}
