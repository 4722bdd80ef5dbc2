import { request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { Gauge, Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { serve, type OpsServer, type Readiness } from "../../src/http.ts";
import type { LogLevel } from "../../src/runtime/log.ts";
import { deferred } from "../fakes/async.ts";

// Tests only ever bind the loopback address.
const LOOPBACK = { host: "127.0.0.1", port: 0 };

const servers: OpsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close(100)));
});

async function start(opts: Omit<Parameters<typeof serve>[0], "address">): Promise<OpsServer> {
  const server = await serve({ address: LOOPBACK, ...opts });
  servers.push(server);
  return server;
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function get(server: OpsServer, path: string, method = "GET"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: "127.0.0.1", port: server.address.port, path, method, agent: false },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}

const ready = (): Readiness => ({ ready: true, reason: "leading; informers synced" });

describe("serve", () => {
  it("binds the given loopback address and reports the real port", async () => {
    const server = await start({ health: { readiness: ready } });
    expect(server.address.host).toBe("127.0.0.1");
    expect(server.address.port).toBeGreaterThan(0);
  });

  it("answers /healthz with 200 while alive", async () => {
    const server = await start({ health: { readiness: ready } });
    const answer = await get(server, "/healthz");
    expect(answer.status).toBe(200);
    expect(answer.body).toBe("ok\n");
    expect(answer.headers["cache-control"]).toBe("no-store");
  });

  it("answers /readyz from the readiness function, with its reason, asked on every probe", async () => {
    let state: Readiness = { ready: false, reason: "waiting for informers to sync" };
    const server = await start({ health: { readiness: () => state } });
    let answer = await get(server, "/readyz");
    expect(answer).toMatchObject({ status: 503, body: "waiting for informers to sync\n" });

    state = { ready: true, reason: "standing by for the lease" };
    answer = await get(server, "/readyz?verbose");
    expect(answer).toMatchObject({ status: 200, body: "standing by for the lease\n" });
  });

  it("fails both probes once shutdown has begun", async () => {
    const shutdown = new AbortController();
    const server = await start({ health: { readiness: ready, shuttingDown: shutdown.signal } });
    expect((await get(server, "/readyz")).status).toBe(200);
    shutdown.abort();
    expect(await get(server, "/healthz")).toMatchObject({ status: 503, body: "shutting down\n" });
    expect(await get(server, "/readyz")).toMatchObject({ status: 503, body: "shutting down\n" });
  });

  it("serves /metrics in the registry's text format", async () => {
    const registry = new Registry();
    const gauge = new Gauge({
      name: "cairn_test_value",
      help: "A test gauge.",
      registers: [registry],
    });
    gauge.set(7);
    const server = await start({ registry });
    const answer = await get(server, "/metrics");
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toBe(registry.contentType);
    expect(answer.body).toContain("# TYPE cairn_test_value gauge\ncairn_test_value 7\n");
  });

  it("serves only the endpoints it was given", async () => {
    const metricsOnly = await start({ registry: new Registry() });
    expect((await get(metricsOnly, "/healthz")).status).toBe(404);
    const healthOnly = await start({ health: { readiness: ready } });
    expect((await get(healthOnly, "/metrics")).status).toBe(404);
    expect((await get(healthOnly, "/")).status).toBe(404);
  });

  it("answers HEAD without a body and refuses other methods", async () => {
    const server = await start({ health: { readiness: ready } });
    const head = await get(server, "/healthz", "HEAD");
    expect(head).toMatchObject({ status: 200, body: "" });
    const post = await get(server, "/healthz", "POST");
    expect(post.status).toBe(405);
    expect(post.headers["allow"]).toBe("GET, HEAD");
  });

  it("answers 500 and logs when collecting metrics fails", async () => {
    const registry = new Registry();
    new Gauge({
      name: "cairn_broken",
      help: "Fails to collect.",
      registers: [registry],
      collect() {
        throw new Error("collector broke");
      },
    });
    const logs: [LogLevel, string, Record<string, unknown> | undefined][] = [];
    const server = await start({
      registry,
      log: (level, message, fields) => logs.push([level, message, fields]),
    });
    expect((await get(server, "/metrics")).status).toBe(500);
    expect(logs).toHaveLength(1);
    expect(logs[0]?.[0]).toBe("error");
    expect(String(logs[0]?.[2]?.["err"])).toContain("collector broke");
  });

  it("rejects with the address when it cannot bind", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(
        serve({ address: { host: "127.0.0.1", port }, health: { readiness: ready } }),
      ).rejects.toThrow(`cannot listen on 127.0.0.1:${port}: listen EADDRINUSE`);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it("lets a request in flight finish on close, then stops accepting connections", async () => {
    const registry = new Registry();
    const gate = deferred();
    const collecting = deferred();
    new Gauge({
      name: "cairn_slow",
      help: "Collects slowly.",
      registers: [registry],
      async collect() {
        collecting.resolve();
        await gate.promise;
        this.set(1);
      },
    });
    const server = await serve({ address: LOOPBACK, registry });
    const inFlight = get(server, "/metrics");
    await collecting.promise;
    let closed = false;
    const closing = server.close(5_000).then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(closed).toBe(false);
    gate.resolve();
    const answer = await inFlight;
    expect(answer.status).toBe(200);
    expect(answer.body).toContain("cairn_slow 1");
    await closing;
    expect(closed).toBe(true);
    await expect(get(server, "/metrics")).rejects.toThrow(/ECONNREFUSED/);
  });

  it("cuts a request that outlives the close timeout", async () => {
    const registry = new Registry();
    const collecting = deferred();
    new Gauge({
      name: "cairn_stuck",
      help: "Never finishes collecting.",
      registers: [registry],
      async collect() {
        collecting.resolve();
        await new Promise(() => undefined);
      },
    });
    const server = await serve({ address: LOOPBACK, registry });
    const inFlight = get(server, "/metrics");
    await collecting.promise;
    const started = Date.now();
    await server.close(50);
    expect(Date.now() - started).toBeLessThan(2_000);
    await expect(inFlight).rejects.toThrow(/socket hang up|ECONNRESET/);
  });

  it("returns the same promise when closed twice", async () => {
    const server = await serve({ address: LOOPBACK, health: { readiness: ready } });
    const first = server.close();
    expect(server.close()).toBe(first);
    await first;
  });
});
