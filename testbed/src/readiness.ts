// Readiness probes for components. The harness (not Cairn) polls: it is a test fixture waiting
// for processes it started, and a failed start must name the component and show its log.
import { request as httpsRequest } from "node:https";
import { request as httpRequest } from "node:http";
import { setTimeout as delay } from "node:timers/promises";
import { ComponentError, type ManagedProcess } from "./process.ts";

export interface HttpProbe {
  readonly url: string;
  /** Client TLS material, when the endpoint wants it. */
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** Self-signed component certificates: the probe only wants to know the server answers. */
  readonly insecure?: boolean;
  readonly accept: (status: number, body: string) => boolean;
}

export function httpGet(
  probe: HttpProbe,
  timeoutMs = 2_000,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(probe.url);
    const options = {
      method: "GET",
      timeout: timeoutMs,
      ...(url.protocol === "https:"
        ? {
            ca: probe.ca,
            cert: probe.cert,
            key: probe.key,
            rejectUnauthorized: !probe.insecure,
          }
        : {}),
    };
    const req = (url.protocol === "https:" ? httpsRequest : httpRequest)(url, options, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

export async function probeOnce(probe: HttpProbe): Promise<{ ok: boolean; detail: string }> {
  try {
    const { status, body } = await httpGet(probe);
    return { ok: probe.accept(status, body), detail: `HTTP ${status}: ${body.slice(0, 200)}` };
  } catch (err) {
    return { ok: false, detail: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Polls check() until it returns true. Fails at once, naming the component and showing its log,
 * if the process exits; fails with the last detail when timeoutMs runs out.
 */
export async function waitUntilReady(
  proc: ManagedProcess,
  check: () => Promise<{ ok: boolean; detail: string }>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  let intervalMs = 50;
  while (Date.now() < deadline) {
    if (!proc.running) {
      throw new ComponentError(
        proc.name,
        `${proc.describeExit()} before becoming ready`,
        proc.logTail(),
      );
    }
    const result = await check();
    if (result.ok) return;
    last = result.detail;
    await Promise.race([delay(intervalMs), proc.exited]);
    intervalMs = Math.min(intervalMs * 2, 500);
  }
  throw new ComponentError(
    proc.name,
    `not ready after ${timeoutMs} ms (last: ${last})`,
    proc.logTail(),
  );
}
