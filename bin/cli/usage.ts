/** Help texts of the `corral` binary. */

export const USAGE = `corral — multi-tenant API gateway platform

Usage: corral <command> [options]

Commands:
  dev             the whole platform on this machine (PGlite, 1 control plane, 3 data planes,
                  demo upstreams, a demo tenant); same as \`npm start\`. See \`corral dev --help\`.
  control-plane   run a control-plane replica (runs pending migrations first unless CORRAL_MIGRATE=false)
  data-plane      run a data-plane node
  migrate         run the control plane's database migrations, then exit
  admin           operator CLI over the admin REST API. See \`corral admin --help\`.
  ws <url> [--key KEY] [message...]
                  a tiny WebSocket client: sends each message, prints the answers (try it on corral dev)
  keygen          print a fresh Ed25519 key pair as CORRAL_SIGNING_KEY= / CORRAL_VERIFY_KEY= lines
  node-credential <slot>
                  print the slot's node credential as a CORRAL_NODE_TOKEN= line, derived from the
                  fleet secret in CORRAL_NODE_SECRET (the control plane's); give each node only its own
  help            this text (also --help, -h)

Settings come from CORRAL_* environment variables, validated at start; every bad or unknown
variable is named. \`corral control-plane --help\` and \`corral data-plane --help\` list them.

Exit codes: 0 ok (and after a clean SIGTERM/SIGINT drain), 1 failure, 2 bad usage or configuration.
`;

export const DEV_USAGE = `Usage: corral dev [options]        (npm start)

Runs the whole platform on this machine: Postgres (PGlite behind a local socket), a control
plane, data planes dp-0..dp-N-1 (zones zone-a, zone-b, zone-c), a demo HTTP and a demo gRPC
upstream, each a child process; creates the demo tenant, routes and key; prints curl commands
and writes <dir>/dev.json. Ctrl-C stops everything. State (secrets, database, blobs, logs)
persists in <dir>, so a restart keeps tenants and keys.

Options (each also an environment variable; flags win). Ports: 0 = any free port.
  --dir DIR                    CORRAL_DEV_DIR                   state directory (default .corral)
  --host ADDR                  CORRAL_DEV_HOST                  bind address (default 127.0.0.1)
  --cp-http-port N             CORRAL_DEV_CP_HTTP_PORT          control plane HTTP (default 7400)
  --cp-grpc-port N             CORRAL_DEV_CP_GRPC_PORT          control plane gRPC (default 7401)
  --dp-http-port N             CORRAL_DEV_DP_HTTP_PORT          first data plane's ingress (default 7500, then 7501, ...)
  --dp-grpc-port N             CORRAL_DEV_DP_GRPC_PORT          first data plane's gRPC ingress (default 7600, ...)
  --dp-ops-port N              CORRAL_DEV_DP_OPS_PORT           first data plane's ops port (default 7700, ...)
  --upstream-http-port N       CORRAL_DEV_UPSTREAM_HTTP_PORT    demo HTTP upstream (default 7800)
  --upstream-grpc-port N       CORRAL_DEV_UPSTREAM_GRPC_PORT    demo gRPC upstream (default 7801)
  --pg-port N                  CORRAL_DEV_PG_PORT               PGlite socket (default 7432)
  --free-ports                 CORRAL_DEV_FREE_PORTS=true       every port above = any free port
  --data-planes N              CORRAL_DEV_DATA_PLANES           number of data planes (default 3)
  --pg-url URL                 CORRAL_DEV_PG_URL                use this Postgres instead of PGlite
  --blob-url URL               CORRAL_DEV_BLOB_URL              blob store (default file://<dir>/blobs)
  --log-level LEVEL            CORRAL_DEV_LOG_LEVEL             log level of the platform processes (default info)
  --verbose                    CORRAL_DEV_VERBOSE=true          stream every child log line, prefixed with its name
  --ready-timeout-ms N         CORRAL_DEV_READY_TIMEOUT_MS      per-step start-up limit (default 60000)

Logs: <dir>/logs/<process>.log (full pino output). The terminal shows warnings, errors and exits only,
unless --verbose.
`;

export const ADMIN_USAGE = `Usage: corral admin [--url URL] [--token TOKEN] <resource> <action> [args] [options]

Connection (flags win over environment, environment over .corral/dev.json of \`corral dev\`):
  --url URL        CORRAL_ADMIN_URL     a control plane, e.g. http://127.0.0.1:7400
  --token TOKEN    CORRAL_ADMIN_TOKEN   operator token

Commands (output is JSON; errors print the problem and exit 1):
  tenants list [--limit N] [--cursor C] [--all] [--q TEXT]   --q: only ids or names containing TEXT
  tenants get <tenant>
  tenants usage <tenant> [--from ISO-8601] [--to ISO-8601] [--granularity hour|day]
                                    requests: quota period (used, remaining, resets-at) and history;
                                    routes, upstreams, keys, targets, config bytes vs quotas
  tenants quota <tenant> --quota LIMIT/PERIOD[@OFFSET]|none|plan     the tenant's period quota
  tenants create <tenant> [--name NAME] [--plan PLAN] [--status active|suspended]
  tenants update <tenant> [--name NAME] [--plan PLAN] [--status active|suspended]
  tenants suspend|resume <tenant>
  tenants delete <tenant>
  tenants egress <tenant> [--allow ENTRY]...     replace the tenant's own egress exceptions
  admission get                         the fleet's admission settings (every node applies them)
  admission set [--max-inflight N] [--max-event-loop-delay-ms N]     changes only what is given
                [--[no-]shed-shadow] [--[no-]shed-disabled] [--[no-]rate-shadow]
                [--[no-]rate-disabled] [--[no-]quota-shadow] [--[no-]quota-disabled]
                                        shadow: the limiter counts but does not refuse;
                                        disabled: its kill switch; thresholds 0 = the node's default
  egress get                            the fleet's egress exceptions (every tenant's)
  egress set [--allow ENTRY]...         replace them; ENTRY: CIDR 10.1.0.0/16, host api.internal
                                        or host:port 127.0.0.1:3000
  egress allow --allow ENTRY...         add to them
  keys list <tenant>
  keys create <tenant> [--name NAME] [--scope invoke|manage]...       prints the key (shown once)
  keys revoke <tenant> <keyId>
  keys quota <tenant> <keyId> --quota LIMIT/PERIOD[@OFFSET]|none      a key's own period quota
  plans list
  plans get <plan>
  plans set <plan> [--rate N] [--burst N] [--concurrency N] [--priority batch|standard|critical]
                [--shard-size N] [--quota LIMIT/PERIOD[@OFFSET]|none]
                                    e.g. --quota 1000/month@PT2H: PERIOD minute|hour|day|week|month
                                    (UTC), OFFSET an ISO 8601 duration shifting the period's start
  usage top [--period hour|day|week|month] [--limit N]   heaviest tenants this period
  upstreams list <tenant>
  upstreams create <tenant> --name NAME --target URL [--target URL]... [--connect-timeout-ms N]
      [--weight N]...                  one per --target, in order (1-100; default all equal)
      [--health-check http|grpc|none] [--health-path P] [--health-service S] [--health-interval-ms N]
      [--health-timeout-ms N] [--healthy-threshold N] [--unhealthy-threshold N]
      [--eject-after N] [--base-ejection-ms N] [--max-ejection-ms N] [--max-ejected-percent N]
      [--slow-start-ms N]
      [--budget-percent N] [--budget-min-per-second N] [--budget-window-ms N]
                                        retry budget: retries <= N % of requests over the window
                                        + a floor per second (default 10 %, 3/s, 10000 ms)
  upstreams update <tenant> <upstreamId> [any option of create]   changes only what is given;
                                        --health-check none turns the active checks off
  upstreams delete <tenant> <upstreamId>
  routes list <tenant>
  routes create <tenant> --path PREFIX --upstream ID [--host H]... [--method M]... [--timeout-ms N]
                [--protocol http|grpc] [--strip-prefix] [--idempotency] [--stream-idle-timeout-ms N]
                [--websocket [--ws-idle-timeout-ms N] [--ws-max-connections N] [--ws-max-message-bytes N]]
                [--public --host H... [--client-rate R --client-burst B]]
                [--retries N [--retry-status S]...]
                                        retries after a failed attempt (0-10) on statuses S (HTTP;
                                        gRPC codes on grpc routes; default 502 503 504 | 14)
  routes update <tenant> <routeId> [any option of create]         changes only what is given;
                                        --no-strip-prefix, --no-idempotency, --no-websocket,
                                        --no-public (with --no-client-limits if it has them)
                                        switch an option off
  routes delete <tenant> <routeId>
  tokens list                           operator tokens (role admin only; never their secrets)
  tokens create <name> --role admin|viewer [--expires-at ISO-8601]   prints the token (shown once)
  tokens revoke <tokenId>               refused for the last active admin token
  fleet                                 data-plane nodes and their applied versions
  versions                              published config versions
  openapi                               the admin API's OpenAPI document
Mutating commands accept --idempotency-key KEY.
`;
