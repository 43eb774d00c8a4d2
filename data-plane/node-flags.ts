/**
 * The V8 flags a data-plane process runs with, and the one place they are set: `corral dev`
 * (bin/dev/platform.ts) and the bench contender put them on the data plane's command line;
 * the image sets NODE_OPTIONS to them (deploy/docker/Dockerfile, kept in step by
 * test/deploy/node-flags.test.ts) and the chart runs the image as it is; a node started
 * without them says so in its log. Why each one, measured: data-plane/README.md, "V8 settings".
 */
export const DATA_PLANE_V8_FLAGS: readonly string[] = [
  // 32 MiB semi-spaces whatever the container's memory limit (Node 20+ derives them from it:
  // 8 MiB at the chart's 2 GiB, 1 MiB at 512 MiB): 3.5x fewer scavenges than 8 MiB under load
  "--max-semi-space-size=32",
  // ... from the start: V8 grows the young generation under load and shrinks it only when its
  // memory reducer runs, so a node's RSS wandered by up to ~60 MiB with it (what soaks read as
  // growth); pinned, it is the constant cost of the size chosen above
  "--min-semi-space-size=32",
];

/** The flags that are not in effect in a process started with these execArgv and NODE_OPTIONS. */
export function missingV8Flags(execArgv: readonly string[], nodeOptions = ""): string[] {
  const given = new Set([...execArgv, ...nodeOptions.split(/\s+/)].map((f) => f.replaceAll("_", "-")));
  return DATA_PLANE_V8_FLAGS.filter((flag) => !given.has(flag));
}
