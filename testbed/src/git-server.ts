// A smart-HTTP Git server on loopback (design note, section 10). GitRepository URLs must be
// http(s) and source-controller's go-git speaks only the smart protocol, so every request goes to
// `git http-backend` as a CGI program. This module decides who may do what (http-backend serves
// receive-pack only when REMOTE_USER is set, so REMOTE_USER is set after a successful check and
// never before) and, for failure tests, can lose a push's answer (DROP_PUSH_FILE).
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createHash, timingSafeEqual } from "node:crypto";
import { readFile, unlink } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { join } from "node:path";
import { promisify } from "node:util";
import { closeServer, listenOnLoopback } from "./loopback-http.ts";

const run = promisify(execFile);

export const GIT_REALM = "cairn-testbed";
/** REMOTE_USER for a push when no auth is configured; http-backend needs some user to accept it. */
export const ANONYMOUS_PUSHER = "anonymous";
/** REMOTE_USER for a bearer-token request: the token itself must never reach a log or a hook. */
export const TOKEN_USER = "bearer-token";

/**
 * Fault injection: a file of this name in a bare repository (`<root>/<name>.git/cairn-drop-push`)
 * holding a delay in milliseconds makes the next push's pack upload land (http-backend runs to the
 * end, the ref moves) and then get no answer: the server holds the response for the delay and
 * destroys the connection. The client sees an error for a push that reached the server. The file
 * is consumed by the push it affects.
 */
export const DROP_PUSH_FILE = "cairn-drop-push";

export interface BasicCredential {
  readonly username: string;
  readonly password: string;
}

export interface GitAuth {
  readonly basic?: readonly BasicCredential[];
  readonly bearerTokens?: readonly string[];
  /** Users that authenticate but may only read: their pushes get 403. */
  readonly readOnlyUsers?: readonly string[];
  /** Tokens that authenticate but may only read: their pushes get 403. */
  readonly readOnlyTokens?: readonly string[];
  /** Flux reads anonymously, so reads are open unless this is set. */
  readonly requireAuthForReads?: boolean;
}

export interface GitServerOptions {
  /** Folder holding the bare repositories (`<root>/<name>.git`). */
  readonly root: string;
  /** 0 or absent: a free port. */
  readonly port?: number;
  /** Without auth, reads and pushes are open to anyone (unless readOnly). */
  readonly auth?: GitAuth;
  /** Every push gets 403, whoever asks. */
  readonly readOnly?: boolean;
  /** Request lines and http-backend's stderr. Never sees credentials. */
  readonly log?: (line: string) => void;
}

export interface GitServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string;
  readonly port: number;
  /** `http://127.0.0.1:<port>/<name>.git` */
  repoUrl(name: string): string;
  close(): Promise<void>;
}

/** Who the request proved to be: nobody, a Basic user, a token, or a failed attempt. */
export type Identity =
  | { readonly kind: "anonymous" }
  | { readonly kind: "user"; readonly name: string; readonly readOnly: boolean }
  | { readonly kind: "token"; readonly readOnly: boolean }
  | { readonly kind: "invalid" };

export type Decision =
  | { readonly allow: true; readonly remoteUser: string | undefined }
  | { readonly allow: false; readonly status: 401 | 403; readonly reason: string };

/** Compares secrets in constant time; hashing first hides the length as well. */
function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();
  return timingSafeEqual(digest(a), digest(b));
}

export function identify(authorization: string | undefined, auth: GitAuth | undefined): Identity {
  if (!authorization) return { kind: "anonymous" };
  const match = /^(\S+)\s+(.*)$/.exec(authorization.trim());
  const scheme = match?.[1]?.toLowerCase();
  const value = match?.[2]?.trim() ?? "";
  if (scheme === "basic") {
    const decoded = Buffer.from(value, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) return { kind: "invalid" };
    const username = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    // Check every entry, so the time taken does not tell which usernames exist.
    let ok = false;
    for (const cred of auth?.basic ?? []) {
      if (sameSecret(cred.username, username) && sameSecret(cred.password, password)) ok = true;
    }
    if (!ok) return { kind: "invalid" };
    return {
      kind: "user",
      name: username,
      readOnly: (auth?.readOnlyUsers ?? []).includes(username),
    };
  }
  if (scheme === "bearer") {
    let ok = false;
    for (const token of auth?.bearerTokens ?? []) if (sameSecret(token, value)) ok = true;
    let readOnly = false;
    for (const token of auth?.readOnlyTokens ?? []) {
      if (sameSecret(token, value)) {
        ok = true;
        readOnly = true;
      }
    }
    return ok ? { kind: "token", readOnly } : { kind: "invalid" };
  }
  return { kind: "invalid" };
}

/** Pushes are receive-pack: its ref advertisement and the pack upload itself. */
export function isPush(pathInfo: string, query: URLSearchParams): boolean {
  return pathInfo.endsWith("/git-receive-pack") || query.get("service") === "git-receive-pack";
}

export function authConfigured(auth: GitAuth | undefined): boolean {
  return (
    (auth?.basic?.length ?? 0) > 0 ||
    (auth?.bearerTokens?.length ?? 0) > 0 ||
    (auth?.readOnlyTokens?.length ?? 0) > 0
  );
}

export function decide(
  identity: Identity,
  push: boolean,
  options: Pick<GitServerOptions, "auth" | "readOnly">,
): Decision {
  if (!authConfigured(options.auth)) {
    // No accounts: whatever credentials a client sends (go-git sends them unasked) are ignored.
    if (push && options.readOnly)
      return { allow: false, status: 403, reason: "server is read-only" };
    return { allow: true, remoteUser: push ? ANONYMOUS_PUSHER : undefined };
  }
  const unauthorized = (reason: string): Decision => ({ allow: false, status: 401, reason });
  if (identity.kind === "invalid") return unauthorized("bad credentials");
  const remoteUser =
    identity.kind === "user" ? identity.name : identity.kind === "token" ? TOKEN_USER : undefined;
  if (!push) {
    if (options.auth?.requireAuthForReads && identity.kind === "anonymous") {
      return unauthorized("reads need credentials");
    }
    return { allow: true, remoteUser };
  }
  if (options.readOnly) return { allow: false, status: 403, reason: "server is read-only" };
  if (identity.kind === "anonymous") return unauthorized("pushes need credentials");
  if (identity.readOnly) return { allow: false, status: 403, reason: "read-only credentials" };
  return { allow: true, remoteUser };
}

/**
 * Splits http-backend's output at the end of the CGI header block. Returns undefined until the
 * blank line has arrived. http-backend ends lines with CRLF; plain LF is accepted too.
 */
export function parseCgiHead(
  buffer: Buffer,
): { status: number; headers: [string, string][]; body: Buffer } | undefined {
  const crlf = buffer.indexOf("\r\n\r\n");
  const lf = buffer.indexOf("\n\n");
  let end: number;
  let sep: number;
  if (crlf >= 0 && (lf < 0 || crlf < lf)) [end, sep] = [crlf, 4];
  else if (lf >= 0) [end, sep] = [lf, 2];
  else return undefined;
  let status = 200;
  const headers: [string, string][] = [];
  for (const line of buffer.subarray(0, end).toString("latin1").split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === "status") status = Number.parseInt(value, 10) || 500;
    else headers.push([name, value]);
  }
  return { status, headers, body: buffer.subarray(end + sep) };
}

/** The bare repository a pack upload goes to: `/<name>.git/git-receive-pack` → `<name>.git`. */
export function receivePackRepo(method: string | undefined, pathInfo: string): string | undefined {
  if (method !== "POST") return undefined;
  const match = /^\/(.+\.git)\/git-receive-pack$/.exec(pathInfo);
  return match?.[1];
}

/**
 * Takes the repository's drop-push marker, if any: its delay in ms, or undefined. Whoever unlinks
 * the file owns it, so two pushes at once never both get dropped.
 */
export async function takeDropPush(repoDir: string): Promise<number | undefined> {
  const file = join(repoDir, DROP_PUSH_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
    await unlink(file);
  } catch {
    return undefined;
  }
  const ms = Number.parseInt(text.trim(), 10);
  return Number.isFinite(ms) && ms >= 0 ? ms : 0;
}

/** CGI wants PATH_INFO decoded; a path that decodes to a `..` segment or a NUL goes no further. */
function pathInfoOf(rawUrl: string): string | undefined {
  const rawPath = rawUrl.split("?", 1)[0] ?? "";
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return undefined;
  }
  if (!decoded.startsWith("/") || decoded.includes("\0") || decoded.includes("\\"))
    return undefined;
  if (decoded.split("/").some((segment) => segment === "..")) return undefined;
  return decoded;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function reply(
  res: ServerResponse,
  status: number,
  text: string,
  extra: Record<string, string> = {},
) {
  if (res.writableEnded) return;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", ...extra });
  res.end(`${text}\n`);
}

async function backendPath(): Promise<string> {
  const { stdout } = await run("git", ["--exec-path"], { env: isolatedGitEnv() });
  return join(stdout.trim(), "git-http-backend");
}

/** PATH and nothing else from our environment: no GIT_DIR from a hook, no user or system config. */
export function isolatedGitEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
  };
}

export async function startGitServer(options: GitServerOptions): Promise<GitServer> {
  const backend = await backendPath();
  const log = options.log ?? (() => undefined);
  const children = new Set<ChildProcess>();

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const repo = receivePackRepo(req.method, pathInfoOf(req.url ?? "/") ?? "");
    if (repo === undefined) {
      serve(req, res, undefined);
      return;
    }
    // The body waits in the request stream while the marker is looked at.
    takeDropPush(join(options.root, repo)).then(
      (dropAfterMs) => serve(req, res, dropAfterMs),
      () => serve(req, res, undefined),
    );
  };

  const serve = (req: IncomingMessage, res: ServerResponse, dropAfterMs: number | undefined) => {
    const rawUrl = req.url ?? "/";
    const pathInfo = pathInfoOf(rawUrl);
    if (pathInfo === undefined) {
      reply(res, 400, "bad path");
      return;
    }
    const queryString = rawUrl.includes("?") ? rawUrl.slice(rawUrl.indexOf("?") + 1) : "";
    const push = isPush(pathInfo, new URLSearchParams(queryString));
    const what = `${req.method ?? "?"} ${pathInfo}${push ? " (push)" : ""}`;
    const decision = decide(identify(header(req, "authorization"), options.auth), push, options);
    if (!decision.allow) {
      log(`git: ${what} -> ${decision.status} (${decision.reason})`);
      req.resume();
      if (decision.status === 401) {
        reply(res, 401, "authentication required", {
          "WWW-Authenticate": `Basic realm="${GIT_REALM}"`,
        });
      } else {
        reply(res, 403, "forbidden");
      }
      return;
    }

    const env: Record<string, string> = {
      ...isolatedGitEnv(),
      GIT_PROJECT_ROOT: options.root,
      GIT_HTTP_EXPORT_ALL: "1",
      GATEWAY_INTERFACE: "CGI/1.1",
      SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
      REQUEST_METHOD: req.method ?? "GET",
      PATH_INFO: pathInfo,
      QUERY_STRING: queryString,
      REMOTE_ADDR: req.socket.remoteAddress ?? "127.0.0.1",
    };
    const optional: [string, string | undefined][] = [
      ["CONTENT_TYPE", header(req, "content-type")],
      // Absent for chunked bodies: http-backend then reads until EOF.
      ["CONTENT_LENGTH", header(req, "content-length")],
      // Clients gzip large bodies; http-backend inflates them itself.
      ["HTTP_CONTENT_ENCODING", header(req, "content-encoding")],
      // The git CLI asks for protocol v2 here; go-git sends nothing and gets v0.
      ["GIT_PROTOCOL", header(req, "git-protocol")],
      ["REMOTE_USER", decision.remoteUser],
    ];
    for (const [name, value] of optional) if (value !== undefined) env[name] = value;

    const child = spawn(backend, [], { env, stdio: ["pipe", "pipe", "pipe"] });
    children.add(child);
    child.once("close", () => children.delete(child));
    child.once("error", (err) => {
      log(`git: http-backend failed to start: ${err.message}`);
      reply(res, 500, "backend failed");
    });
    // http-backend may answer (say 404) without reading the body: ignore the broken pipe.
    child.stdin.on("error", () => undefined);
    req.pipe(child.stdin);
    // A client that hangs up mid-request leaves nothing running. After a complete response the
    // backend may still be finishing (receive-pack runs `gc --auto`), so it is left alone then.
    res.once("close", () => {
      if (!res.writableFinished && child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
      }
    });

    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => (stderr += chunk));

    if (dropAfterMs !== undefined) {
      // The push lands (http-backend runs to the end) but its report never leaves: the head of
      // the response goes out, so the client cannot just send the push again on a fresh
      // connection (curl retries a request that got no byte back), then nothing more until the
      // connection is destroyed.
      let output = Buffer.alloc(0);
      child.stdout.on("data", (chunk: Buffer) => (output = Buffer.concat([output, chunk])));
      child.once("close", (code, signal) => {
        log(
          `git: ${what} -> dropped after ${dropAfterMs} ms (http-backend ${signal ?? `exit ${code ?? "?"}`})` +
            (stderr.trim() ? `: ${stderr.trim()}` : ""),
        );
        const parsed = parseCgiHead(output);
        if (parsed && !res.headersSent) {
          res.writeHead(parsed.status, parsed.headers.flat());
          res.flushHeaders();
        }
        const timer = setTimeout(() => res.destroy(), dropAfterMs);
        res.once("close", () => clearTimeout(timer));
      });
      return;
    }

    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const parsed = parseCgiHead(head);
      if (!parsed) {
        if (head.length > 64 * 1024) {
          child.kill("SIGKILL");
          reply(res, 502, "no CGI header from http-backend");
        }
        return;
      }
      child.stdout.off("data", onData);
      res.writeHead(parsed.status, parsed.headers.flat());
      if (parsed.body.length > 0) res.write(parsed.body);
      child.stdout.pipe(res);
    };
    child.stdout.on("data", onData);
    child.stdout.once("end", () => {
      if (!res.headersSent) reply(res, 502, "http-backend ended without a response");
    });
    child.once("close", (code, signal) => {
      log(
        `git: ${what} -> ${res.statusCode}` +
          (code === 0 ? "" : ` (http-backend ${signal ?? `exit ${code ?? "?"}`})`) +
          (stderr.trim() ? `: ${stderr.trim()}` : ""),
      );
    });
  };

  const server = createServer(handle);
  const port = await listenOnLoopback(server, options.port);
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    port,
    repoUrl: (name) => `${url}/${name}.git`,
    close: () => {
      for (const child of children) child.kill("SIGKILL");
      return closeServer(server);
    },
  };
}
