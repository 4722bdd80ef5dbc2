// The operations endpoints on node:http: /healthz and /readyz for the kubelet, /metrics for
// Prometheus. main.ts starts one server per configured address (health and metrics apart, as
// the Deployment's probes and Service expect) and closes them last on shutdown, so the probes
// keep answering while reconciles drain.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import { formatAddress, type Address } from "./config.ts";
import { silentLog, type LogFn } from "./runtime/log.ts";
import { toError } from "./runtime/outcome.ts";

export interface Readiness {
  readonly ready: boolean;
  /** Shown in the probe's answer, for whoever runs `kubectl describe pod`. */
  readonly reason: string;
}

export interface HealthEndpoints {
  /**
   * Ready means this replica does its job: the leader once its informers have synced, or a
   * replica standing by for the lease. main.ts decides; the server only asks.
   */
  readonly readiness: () => Readiness;
  /** Once aborted, both probes fail: the process is on its way out. */
  readonly shuttingDown?: AbortSignal;
}

export interface ServeOptions {
  readonly address: Address;
  /** Serves /healthz and /readyz when given. */
  readonly health?: HealthEndpoints;
  /** Serves /metrics from this registry when given. */
  readonly registry?: Registry;
  readonly log?: LogFn;
}

export interface OpsServer {
  /** Where the server listens; the real port when the configured one was 0. */
  readonly address: Address;
  /**
   * Stops accepting connections, lets requests in flight finish for up to `timeoutMs`, then
   * cuts whatever is left. Resolves once the server has closed.
   */
  close(timeoutMs?: number): Promise<void>;
}

type Route = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

/** Starts listening; rejects (naming the address) when the address cannot be bound. */
export async function serve(opts: ServeOptions): Promise<OpsServer> {
  const log = opts.log ?? silentLog;
  const routes = new Map<string, Route>();
  const { health, registry } = opts;
  if (health) {
    const stopping = () => health.shuttingDown?.aborted === true;
    routes.set("/healthz", (_req, res) => {
      // Alive is all the kubelet needs to know: answering at all proves the event loop runs.
      if (stopping()) send(res, 503, "shutting down\n");
      else send(res, 200, "ok\n");
    });
    routes.set("/readyz", (_req, res) => {
      if (stopping()) {
        send(res, 503, "shutting down\n");
        return;
      }
      const { ready, reason } = health.readiness();
      send(res, ready ? 200 : 503, `${reason}\n`);
    });
  }
  if (registry) {
    routes.set("/metrics", async (_req, res) => {
      const body = await registry.metrics();
      send(res, 200, body, registry.contentType);
    });
  }

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const route = routes.get(path);
    if (!route) {
      send(res, 404, "not found\n");
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      send(res, 405, "method not allowed\n");
      return;
    }
    Promise.resolve()
      .then(() => route(req, res))
      .catch((err: unknown) => {
        log("error", "ops endpoint failed", { path, err: toError(err) });
        if (!res.headersSent) send(res, 500, "internal error\n");
        else res.destroy();
      });
  });
  // Probes and scrapes are short; a client that trickles its request must not hold a socket.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    const failed = (err: Error) => {
      reject(new Error(`cannot listen on ${formatAddress(opts.address)}: ${err.message}`));
    };
    server.once("error", failed);
    // No host means every interface, dual-stack where the system has IPv6.
    const host = opts.address.host === "" ? undefined : opts.address.host;
    server.listen({ port: opts.address.port, ...(host === undefined ? {} : { host }) }, () => {
      server.off("error", failed);
      resolve();
    });
  });
  server.on("error", (err) => log("error", "ops server failed", { err }));

  const bound = server.address() as AddressInfo;
  const address: Address = { host: opts.address.host, port: bound.port };
  let closing: Promise<void> | undefined;
  return {
    address,
    close(timeoutMs = 5_000) {
      closing ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), timeoutMs);
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        // Keep-alive sockets with no request on them would otherwise hold close() open.
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

function send(res: ServerResponse, status: number, body: string, contentType?: string): void {
  res.statusCode = status;
  res.setHeader("Content-Type", contentType ?? "text/plain; charset=utf-8");
  res.setHeader("Cache-Control", "no-store");
  // Node leaves the body out of answers to HEAD by itself.
  res.end(body);
}
