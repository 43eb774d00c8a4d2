/** What `corral dev` tells its user, pure: the dev.json document (docs/design.md §9.3) and the ready banner. */
import { relative, isAbsolute } from "node:path";
import { fileURLToPath } from "node:url";

export interface DevJson {
  controlPlane: { url: string; grpc: string; pid: number; operatorToken: string };
  dataPlane: Array<{ slot: string; zone: string; url: string; grpc: string; ops: string; pid: number }>;
  upstreams: { http: string; grpc: string };
  demo: { tenant: string; apiKey: string; httpPath: string; grpcService: string };
  blobDir: string;
}

export interface ReportInput {
  cp: { url: string; grpc: string; pid: number | undefined };
  dps: ReadonlyArray<{
    slot: string;
    zone: string;
    url: string;
    grpc: string;
    ops: string;
    pid: number | undefined;
  }>;
  upstreams: { http: string; grpc: string };
  operatorToken: string;
  demo: { tenant: string; apiKey: string; httpPath: string; grpcService: string };
  blobUrl: string;
  cwd: string;
}

export function devJson(input: ReportInput): DevJson {
  return {
    controlPlane: {
      url: input.cp.url,
      grpc: input.cp.grpc,
      pid: input.cp.pid ?? 0,
      operatorToken: input.operatorToken,
    },
    dataPlane: input.dps.map((dp) => ({
      slot: dp.slot,
      zone: dp.zone,
      url: dp.url,
      grpc: dp.grpc,
      ops: dp.ops,
      pid: dp.pid ?? 0,
    })),
    upstreams: { http: input.upstreams.http, grpc: input.upstreams.grpc },
    demo: { ...input.demo },
    blobDir: blobDirOf(input.blobUrl, input.cwd),
  };
}

/** The blob directory relative to cwd when it lies inside it (".corral/blobs"), else absolute; an s3:// URL as is. */
export function blobDirOf(blobUrl: string, cwd: string): string {
  if (!blobUrl.startsWith("file://")) return blobUrl;
  const path = fileURLToPath(blobUrl);
  const rel = relative(cwd, path);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
}

/** Single quotes for a POSIX shell. */
export function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replaceAll("'", `'"'"'`)}'`;
}

export function curlCommands(dev: DevJson): string[] {
  const header = shellQuote(`x-api-key: ${dev.demo.apiKey}`);
  return dev.dataPlane.map((dp) => `curl -H ${header} ${dp.url}${dev.demo.httpPath}`);
}

export function grpcurlCommand(target: string, apiKey: string | undefined, service: string): string {
  const header = apiKey ? ` -H ${shellQuote(`x-api-key: ${apiKey}`)}` : "";
  const proto = "-import-path proto -proto corral/demo/v1/echo.proto";
  return `grpcurl -plaintext ${proto}${header} -d '{"message":"hi"}' ${target} ${service}/Echo`;
}

/**
 * The console's sign-in link: the operator token rides in the fragment, which browsers never send
 * (so no server or proxy logs it); the page moves it into session storage and out of the address bar.
 */
export function consoleSignInUrl(dev: DevJson): string {
  return `${dev.controlPlane.url}/console/#token=${encodeURIComponent(dev.controlPlane.operatorToken)}`;
}

export interface BannerInput {
  dev: DevJson;
  seconds: number;
  dir: string;
  /** the demo gRPC route answers through the data planes */
  grpcThroughGateway: boolean;
}

export function readyBanner(b: BannerInput): string {
  const { dev } = b;
  const dps = dev.dataPlane.map(
    (dp) =>
      `  ${dp.slot.padEnd(6)} ${dp.zone.padEnd(8)} ${dp.url}  grpc ${dp.grpc}  ops ${dp.ops}  pid ${dp.pid}`,
  );
  const grpcTarget = b.grpcThroughGateway ? dev.dataPlane[0]!.grpc : dev.upstreams.grpc;
  const grpcNote = b.grpcThroughGateway
    ? "# gRPC through dp-0"
    : "# the demo gRPC upstream directly (gRPC ingress on the data planes is not serving yet)";
  return [
    "",
    `corral dev is ready in ${b.seconds.toFixed(1)} s — state in ${b.dir}, logs in ${b.dir}/logs`,
    "",
    `control plane   ${dev.controlPlane.url}  grpc ${dev.controlPlane.grpc}  pid ${dev.controlPlane.pid}`,
    "data planes",
    ...dps,
    `demo upstreams  ${dev.upstreams.http}  grpc ${dev.upstreams.grpc}`,
    "",
    `Try the demo tenant "${dev.demo.tenant}" through each data plane:`,
    ...curlCommands(dev).map((c) => `  ${c}`),
    `  curl -i ${dev.dataPlane[0]!.url}${dev.demo.httpPath}    # no key: 401`,
    `  curl -N -H ${shellQuote(`x-api-key: ${dev.demo.apiKey}`)} ${dev.dataPlane[0]!.url}${dev.demo.httpPath}/events    # server-sent events`,
    `  npx corral ws ${dev.dataPlane[0]!.url.replace(/^http/, "ws")}/ws --key ${shellQuote(dev.demo.apiKey)} hello    # WebSocket echo`,
    `  ${grpcurlCommand(grpcTarget, b.grpcThroughGateway ? dev.demo.apiKey : undefined, dev.demo.grpcService)}`,
    `    ${grpcNote}`,
    "Operate it:",
    `  ${consoleSignInUrl(dev)}    # the console in a browser, signed in`,
    "  npx corral admin tenants list          # token and URL come from .corral/dev.json",
    "  npx corral admin fleet",
    `Static stability: kill ${dev.controlPlane.pid} (the control plane) and the data planes keep serving.`,
    "Ctrl-C stops everything.",
    "",
  ].join("\n");
}
