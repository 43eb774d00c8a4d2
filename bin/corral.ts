#!/usr/bin/env node
/**
 * The `corral` binary: one entry point for every role. Role modules are imported only by the
 * command that needs them, so `corral admin` and `corral keygen` start fast.
 */
import { processIo } from "./cli/io.ts";
import { runCli } from "./cli/main.ts";

const code = await runCli(process.argv.slice(2), processIo());
if (code !== undefined) process.exitCode = code;
