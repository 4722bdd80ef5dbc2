import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import {
  createLogger,
  newReconcileId,
  reconcileLogger,
  REDACTED,
  toLogFn,
} from "../../src/logger.ts";
import type { LogLevelName } from "../../src/config.ts";

/** A destination that keeps every line pino writes, parsed. */
function capture(logLevel: LogLevelName = "trace") {
  const lines: Record<string, unknown>[] = [];
  let partial = "";
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      partial += chunk.toString("utf8");
      const complete = partial.split("\n");
      partial = complete.pop() ?? "";
      for (const line of complete) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger({ logLevel }, destination), lines };
}

describe("createLogger", () => {
  it("writes one JSON object per line with a level name, an ISO time and the message", () => {
    const { logger, lines } = capture();
    logger.info({ answer: 42 }, "hello");
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(line).toMatchObject({ level: "info", msg: "hello", answer: 42 });
    expect(new Date(String(line?.["time"])).toISOString()).toBe(line?.["time"]);
  });

  it("keeps the base minimal: no pid or hostname", () => {
    const { logger, lines } = capture();
    logger.info("x");
    expect(Object.keys(lines[0] ?? {}).sort()).toEqual(["level", "msg", "time"]);
  });

  it("drops lines below the configured level", () => {
    const { logger, lines } = capture("warn");
    logger.debug("d");
    logger.info("i");
    logger.warn("w");
    logger.error("e");
    expect(lines.map((l) => l["msg"])).toEqual(["w", "e"]);
  });

  it("redacts secret-looking fields at the top level and in nested objects", () => {
    const { logger, lines } = capture();
    logger.info(
      {
        password: "hunter2",
        token: "t0k3n",
        user: { name: "alice", bearerToken: "abc" },
        secret: {
          metadata: { name: "git-credentials" },
          data: { identity: "LS0tLS1CRUdJTi", "ssh-privatekey": "k", password: "p", username: "u" },
          stringData: { "tls.key": "PEM" },
        },
        request: { headers: { Authorization: "Bearer x", authorization: "Bearer y", cookie: "c" } },
        kubeconfig: { user: { "client-key-data": "key" } },
      },
      "secrets everywhere",
    );
    expect(lines[0]).toMatchObject({
      password: REDACTED,
      token: REDACTED,
      user: { name: "alice", bearerToken: REDACTED },
      secret: {
        metadata: { name: "git-credentials" },
        data: { identity: REDACTED, "ssh-privatekey": REDACTED, password: REDACTED, username: "u" },
        stringData: { "tls.key": REDACTED },
      },
      request: { headers: { Authorization: REDACTED, authorization: REDACTED, cookie: REDACTED } },
      kubeconfig: { user: { "client-key-data": REDACTED } },
    });
    const text = JSON.stringify(lines[0]);
    for (const secret of ["hunter2", "t0k3n", "LS0tLS1CRUdJTi", "Bearer", "PEM"]) {
      expect(text).not.toContain(secret);
    }
  });

  it("keeps the pod identity at the top level while an SSH identity inside an object is redacted", () => {
    const { logger, lines } = capture();
    toLogFn(logger)("info", "cairn starting", { identity: "cairn-controller-7d9f-abcde" });
    toLogFn(logger)("warn", "lost the lease", {
      lease: "cairn-system/cairn-controller",
      identity: "cairn-controller-7d9f-abcde",
      credentials: { kind: "ssh", identity: "-----BEGIN OPENSSH PRIVATE KEY-----" },
    });
    expect(lines[0]).toMatchObject({ identity: "cairn-controller-7d9f-abcde" });
    expect(lines[1]).toMatchObject({
      identity: "cairn-controller-7d9f-abcde",
      credentials: { kind: "ssh", identity: REDACTED },
    });
    expect(JSON.stringify(lines)).not.toContain("PRIVATE KEY");
  });

  it("redacts through the runtime's LogFn and in child loggers too", () => {
    const { logger, lines } = capture();
    const log = toLogFn(reconcileLogger(logger, { controller: "upgrade", key: "shop/db" }));
    log("info", "pushing", { git: { password: "s3cret", url: "https://git.example/repo" } });
    expect(lines[0]).toMatchObject({
      git: { password: REDACTED, url: "https://git.example/repo" },
    });
  });
});

describe("reconcileLogger", () => {
  it("stamps every line with the controller, the key and one reconcile id", () => {
    const { logger, lines } = capture();
    const child = reconcileLogger(logger, {
      controller: "upgrade",
      key: "shop/db-15",
      reconcileId: "r-1",
    });
    child.info("first");
    child.warn({ step: "Snapshot" }, "second");
    expect(lines).toEqual([
      expect.objectContaining({ controller: "upgrade", key: "shop/db-15", reconcileId: "r-1" }),
      expect.objectContaining({
        controller: "upgrade",
        key: "shop/db-15",
        reconcileId: "r-1",
        step: "Snapshot",
        msg: "second",
      }),
    ]);
  });

  it("draws a fresh reconcile id per pass when none is given", () => {
    const { logger, lines } = capture();
    reconcileLogger(logger, { controller: "c", key: "a/b" }).info("one");
    reconcileLogger(logger, { controller: "c", key: "a/b" }).info("two");
    const [a, b] = lines.map((l) => l["reconcileId"]);
    expect(typeof a).toBe("string");
    expect(a).not.toBe(b);
    expect(newReconcileId()).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("toLogFn", () => {
  it("maps each runtime level to the same pino level, with fields merged in", () => {
    const { logger, lines } = capture();
    const log = toLogFn(logger);
    log("debug", "d", { n: 1 });
    log("info", "i");
    log("warn", "w", { key: "a/b" });
    log("error", "e");
    expect(lines.map((l) => [l["level"], l["msg"]])).toEqual([
      ["debug", "d"],
      ["info", "i"],
      ["warn", "w"],
      ["error", "e"],
    ]);
    expect(lines[0]).toMatchObject({ n: 1 });
    expect(lines[2]).toMatchObject({ key: "a/b" });
  });

  it("puts an error under err with its type, message and stack", () => {
    const { logger, lines } = capture();
    toLogFn(logger)("warn", "reconcile failed; retrying", { err: new TypeError("boom") });
    expect(lines[0]?.["err"]).toMatchObject({ type: "TypeError", message: "boom" });
    expect(String((lines[0]?.["err"] as { stack?: unknown }).stack)).toContain("TypeError: boom");
  });

  it("moves an error logged under another key to err, and serializes any further ones", () => {
    const { logger, lines } = capture();
    toLogFn(logger)("error", "two failures", {
      error: new Error("first"),
      cleanupError: new RangeError("second"),
    });
    expect(lines[0]).toMatchObject({
      err: { type: "Error", message: "first" },
      cleanupError: { type: "RangeError", message: "second" },
    });
    expect(lines[0]).not.toHaveProperty("error");
  });

  it("keeps an explicit err and serializes other errors in place", () => {
    const { logger, lines } = capture();
    toLogFn(logger)("error", "x", { err: new Error("main"), cause: new Error("other") });
    expect(lines[0]).toMatchObject({
      err: { message: "main" },
      cause: { type: "Error", message: "other" },
    });
  });
});
