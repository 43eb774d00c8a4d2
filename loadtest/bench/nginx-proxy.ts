import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { LoadtestError } from "../errors.ts";
import { assertLoopbackUrl } from "../generator/loopback.ts";
import { findBinary } from "../net/find-binary.ts";
import { freePort, waitUntil } from "../net/free-port.ts";
import { stopChild } from "../process/child-process.ts";

/**
 * nginx as the peer reverse proxy: a private instance from a generated config in a
 * temp dir (`nginx -p <dir> -c <dir>/nginx.conf -e <dir>/error.log`), in the
 * foreground, one worker process, keep-alive to the upstream, no access log.
 * Binary: $NGINX_BIN, PATH, or /usr/sbin (Debian).
 */
export type NginxProxy = { url: string; pids: number[]; dir: string; stop(): Promise<void> };

export function nginxConfig(o: { dir: string; port: number; upstream: URL; runAsRoot: boolean }): string {
  return `${o.runAsRoot ? "user root root;\n" : ""}daemon off;
master_process on;
worker_processes 1;
pid ${o.dir}/nginx.pid;
error_log ${o.dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${o.dir}/client_body;
  proxy_temp_path ${o.dir}/proxy;
  fastcgi_temp_path ${o.dir}/fastcgi;
  uwsgi_temp_path ${o.dir}/uwsgi;
  scgi_temp_path ${o.dir}/scgi;
  keepalive_requests 100000;
  upstream corral_bench_upstream {
    server ${o.upstream.host};
    keepalive 128;
    keepalive_requests 100000;
  }
  server {
    listen 127.0.0.1:${o.port};
    location / {
      proxy_pass http://corral_bench_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

/** The worker pids of an nginx master (Linux /proc children list). */
async function childPids(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, "utf8").catch(() => "");
  return text.split(/\s+/).filter(Boolean).map(Number);
}

export async function startNginxProxy(upstreamUrl: string): Promise<NginxProxy> {
  const upstream = assertLoopbackUrl(upstreamUrl);
  const binary = await findBinary("nginx", { envVar: "NGINX_BIN", extraDirs: ["/usr/sbin"] });
  if (!binary) throw new LoadtestError("CORRAL_LOADTEST_PROCESS_START", "nginx not found (set NGINX_BIN)");
  const dir = await mkdtemp(join(tmpdir(), "corral-nginx-"));
  const port = await freePort();
  const conf = join(dir, "nginx.conf");
  await writeFile(conf, nginxConfig({ dir, port, upstream, runAsRoot: process.getuid?.() === 0 }));
  const child = spawn(binary, ["-p", dir, "-c", conf, "-e", join(dir, "error.log")], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  const up = await waitUntil(async () => {
    if (child.exitCode !== null) throw new Error("exited");
    const res = await request(url);
    await res.body.dump();
    return res.statusCode < 500;
  }, 5000);
  const stop = async () => {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  };
  if (!up) {
    const log = await readFile(join(dir, "error.log"), "utf8").catch(() => "");
    await stop();
    throw new LoadtestError("CORRAL_LOADTEST_PROCESS_START", `nginx on port ${port} did not answer\n${log}`);
  }
  return { url, pids: [child.pid!, ...(await childPids(child.pid!))], dir, stop };
}
