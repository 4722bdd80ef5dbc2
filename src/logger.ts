// pino, built once by main.ts and handed down: the runtime sees only a LogFn, and reconciles get
// a child logger that stamps every line with the controller, the key and the pass.
import { randomUUID } from "node:crypto";
import { pino, type DestinationStream, type Logger, type LoggerOptions } from "pino";
import type { Config } from "./config.ts";
import type { LogFn } from "./runtime/log.ts";

export type { Logger };

// Secrets are read only where needed and must never reach a log line, even when someone logs a
// whole object. Git credential Secrets carry `identity` (an SSH private key), `password`,
// `bearerToken` or `githubAppPrivateKey`; TLS Secrets `tls.key`; kubeconfigs `client-key-data`;
// HTTP errors may carry the request's headers. Keys match at the top level and two levels down,
// which covers `{secret: {data: {...}}}` and `{err: {headers: {...}}}`. Deeper ones are not
// searched: pino compiles each path, and a recursive walk on every line would cost too much.
const SECRET_KEYS = [
  "password",
  "token",
  "bearerToken",
  "identity",
  "privateKey",
  "githubAppPrivateKey",
  "ssh-privatekey",
  "tls.key",
  "client-key-data",
  "authorization",
  "Authorization",
  "cookie",
  "set-cookie",
] as const;

export const REDACTED = "[REDACTED]";

// Keys that name a secret only inside an object: at the top level of a line, `identity` is the
// pod's leader-election identity (its name), which every operator needs to tell replicas apart.
const NESTED_ONLY: ReadonlySet<string> = new Set(["identity"]);

export const REDACT_PATHS: readonly string[] = SECRET_KEYS.flatMap((key) => {
  const step = /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `["${key}"]`;
  const top = step.startsWith(".") ? key : step;
  const nested = [`*${step}`, `*.*${step}`];
  return NESTED_ONLY.has(key) ? nested : [top, ...nested];
});

/** The root logger: JSON lines, level names instead of numbers, secrets redacted. */
export function createLogger(
  config: Pick<Config, "logLevel">,
  destination?: DestinationStream,
): Logger {
  const options: LoggerOptions = {
    level: config.logLevel,
    // pid and hostname add nothing in a pod (the pod name is in every log pipeline's metadata).
    base: null,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}

export interface ReconcileLogFields {
  readonly controller: string;
  readonly key: string;
  /** Ties together every line of one pass; a fresh one is drawn when omitted. */
  readonly reconcileId?: string;
}

/** A child logger for one reconcile pass. */
export function reconcileLogger(root: Logger, fields: ReconcileLogFields): Logger {
  return root.child({
    controller: fields.controller,
    key: fields.key,
    reconcileId: fields.reconcileId ?? newReconcileId(),
  });
}

export function newReconcileId(): string {
  return randomUUID();
}

/**
 * Adapts a pino logger to the runtime's LogFn. pino serializes an Error only under `err` (any
 * other key would print `{}`), so the first Error field moves there and the others are
 * serialized in place.
 */
export function toLogFn(logger: Logger): LogFn {
  return (level, message, fields) => {
    if (fields === undefined) {
      logger[level](message);
      return;
    }
    logger[level](withErrorsSerialized(fields), message);
  };
}

function withErrorsSerialized(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let errTaken = fields["err"] !== undefined;
  for (const [key, value] of Object.entries(fields)) {
    if (!(value instanceof Error) || key === "err") {
      out[key] = value;
    } else if (!errTaken) {
      out["err"] = value;
      errTaken = true;
    } else {
      out[key] = pino.stdSerializers.err(value);
    }
  }
  return out;
}
