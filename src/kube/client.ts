// The only module (with its siblings in src/kube) that imports @kubernetes/client-node.
// Everything it returns is plain JSON typed as KubeObject; callers parse what they need with zod.
import {
  ApiException,
  HttpMethod,
  KubeConfig,
  type Cluster,
  type Context,
  type User,
  KubernetesObjectApi,
  setHeaderMiddleware,
  Watch,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { readFileSync } from "node:fs";
import { FencedWriteError, KubeError, kubeErrorFromStatus } from "./errors.ts";

export const FIELD_MANAGER = "cairn";

/**
 * "cairn/<version>" on every request and watch, so the API server's logs and audit events tell
 * Cairn's traffic apart from other clients'. package.json sits two folders up both in the
 * repository and in the image (/app/src/kube → /app).
 */
export const USER_AGENT = `cairn/${packageVersion()}`;

function packageVersion(): string {
  try {
    const pkg = JSON.parse(
      readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
    ) as { version?: unknown };
    return typeof pkg.version === "string" ? pkg.version : "unknown";
  } catch {
    return "unknown";
  }
}

// The client library sets its own User-Agent only through the middleware of its generated APIs,
// which the raw requests below and the watches bypass; both authenticate through the KubeConfig,
// so that is where the header goes for them.
class CairnKubeConfig extends KubeConfig {
  override async applySecurityAuthentication(
    context: Parameters<KubeConfig["applySecurityAuthentication"]>[0],
  ): Promise<void> {
    await super.applySecurityAuthentication(context);
    context.setHeaderParam("User-Agent", USER_AGENT);
  }
}

export interface ObjectMeta {
  readonly name?: string | undefined;
  readonly namespace?: string | undefined;
  readonly uid?: string | undefined;
  readonly resourceVersion?: string | undefined;
  readonly generation?: number | undefined;
  readonly labels?: Readonly<Record<string, string>> | undefined;
  readonly annotations?: Readonly<Record<string, string>> | undefined;
  readonly [key: string]: unknown;
}

/** A Kubernetes object as the API returns it; fields beyond the header are unknown until parsed. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ObjectMeta;
  readonly [key: string]: unknown;
}

export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string | undefined;
}

export interface ListOptions {
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

export interface ListResult {
  readonly items: readonly KubeObject[];
  readonly resourceVersion: string;
}

export type WatchEvent =
  | { readonly type: "ADDED" | "MODIFIED" | "DELETED"; readonly object: KubeObject }
  | { readonly type: "BOOKMARK"; readonly resourceVersion: string };

export interface WatchOptions extends ListOptions {
  readonly resourceVersion?: string;
  /** Server-side timeout; the server ends the watch cleanly after this many seconds. */
  readonly timeoutSeconds?: number;
  readonly allowBookmarks?: boolean;
  readonly signal?: AbortSignal;
}

export interface DeleteOptions {
  readonly propagationPolicy?: "Foreground" | "Background" | "Orphan";
  readonly gracePeriodSeconds?: number;
}

// KubernetesObjectApi maps apiVersion/kind to a URL through (cached) discovery, but keeps that
// helper protected, and its request methods run bodies and answers through the model
// serializer, which turns timestamps into Date objects and drops fields of known kinds it does
// not model (a merge patch's nulls among them). Cairn wants the API's JSON as it is, so this
// subclass borrows only the path resolution and the authenticated transport.
class RawObjectApi extends KubernetesObjectApi {
  /**
   * Makes the library's own requests (API discovery) carry Cairn's User-Agent as well: its
   * middleware runs after authentication and would put back the library's name.
   */
  useUserAgent(userAgent: string): void {
    this.configuration.middleware.push(setHeaderMiddleware("User-Agent", userAgent));
  }

  path(
    ref: {
      apiVersion: string;
      kind: string;
      name?: string | undefined;
      namespace?: string | undefined;
    },
    action: "list" | "read",
  ): Promise<string> {
    const spec: KubernetesObject = {
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      metadata: { name: ref.name ?? "", namespace: ref.namespace ?? "" },
    };
    return this.specUriPath(spec, action);
  }

  async send(
    method: HttpMethod,
    path: string,
    opts: { query?: Record<string, string | undefined>; body?: unknown; contentType?: string },
  ): Promise<{ status: number; text: string }> {
    const ctx = this.configuration.baseServer.makeRequestContext(path, method);
    ctx.setHeaderParam("Accept", "application/json");
    for (const [k, v] of Object.entries(opts.query ?? {}))
      if (v !== undefined) ctx.setQueryParam(k, v);
    if (opts.body !== undefined) {
      ctx.setHeaderParam("Content-Type", opts.contentType ?? "application/json");
      ctx.setBody(JSON.stringify(opts.body));
    }
    await this.configuration.authMethods.default?.applySecurityAuthentication(ctx);
    const response = await this.configuration.httpApi.send(ctx).toPromise();
    return { status: response.httpStatusCode, text: await response.body.text() };
  }
}

function describe(ref: {
  kind: string;
  name?: string | undefined;
  namespace?: string | undefined;
}) {
  const where = ref.namespace ? `${ref.namespace}/` : "";
  return `${ref.kind} ${where}${ref.name ?? ""}`.trim();
}

function toKubeError(err: unknown, context: string): KubeError {
  if (err instanceof KubeError) return err;
  if (err instanceof ApiException) {
    return kubeErrorFromStatus(err.code, err.body, context, err);
  }
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === "number") return kubeErrorFromStatus(status, undefined, context, err);
  const message = err instanceof Error ? err.message : String(err);
  // Anything without an HTTP status is a network-level failure: worth retrying.
  return new KubeError("Transient", `${context}: ${message}`, undefined, { cause: err });
}

/** The kubeconfig cannot give a cluster to talk to: unreadable file, unknown context. */
export class KubeconfigError extends Error {
  override readonly name = "KubeconfigError";
}

export interface KubeconfigOptions {
  /** Files in precedence order, as KUBECONFIG lists them; each must exist. */
  readonly files: readonly string[];
  /** Overrides the current-context. */
  readonly context?: string | undefined;
}

/** Adds the entries whose name is not taken yet: kubectl's merge keeps the first definition. */
function addNew<T extends { readonly name: string }>(into: T[], from: readonly T[]): void {
  for (const entry of from) if (!into.some((e) => e.name === entry.name)) into.push(entry);
}

export interface Preconditions {
  readonly uid?: string;
  readonly resourceVersion?: string;
}

export class KubeClient {
  readonly #config: KubeConfig;
  readonly #api: RawObjectApi;
  readonly #mayWrite: (() => boolean) | undefined;

  private constructor(config: KubeConfig, api?: RawObjectApi, mayWrite?: () => boolean) {
    this.#config = config;
    this.#api = api ?? config.makeApiClient(RawObjectApi);
    if (!api) this.#api.useUserAgent(USER_AGENT);
    this.#mayWrite = mayWrite;
  }

  /**
   * The same connection, fenced: every request but a GET first asks `mayWrite` and, on false,
   * throws FencedWriteError without sending anything. The leader's controllers write through
   * this, asking whether the Lease is still theirs, so a replica that was stopped past its
   * lease (and whose timers have not noticed yet) cannot act on what another replica now owns.
   */
  fenced(mayWrite: () => boolean): KubeClient {
    return new KubeClient(this.#config, this.#api, mayWrite);
  }

  static fromKubeconfigFile(path: string, context?: string): KubeClient {
    const config = new CairnKubeConfig();
    config.loadFromFile(path);
    if (context !== undefined) config.setCurrentContext(context);
    return new KubeClient(config);
  }

  /**
   * Merges kubeconfig files by kubectl's rules (client-node's own merge throws on a name two
   * files define and lets the last current-context win): the first file to define a cluster,
   * user or context wins, and so does the first current-context.
   */
  static fromKubeconfig({ files, context }: KubeconfigOptions): KubeClient {
    const clusters: Cluster[] = [];
    const users: User[] = [];
    const contexts: Context[] = [];
    let current = "";
    for (const file of files) {
      const one = new KubeConfig();
      try {
        one.loadFromFile(file);
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        throw new KubeconfigError(`kubeconfig ${file}: ${why}`, { cause: err });
      }
      addNew(clusters, one.getClusters());
      addNew(users, one.getUsers());
      addNew(contexts, one.getContexts());
      current ||= one.getCurrentContext();
    }
    const config = new KubeConfig();
    config.loadFromOptions({ clusters, users, contexts, currentContext: context ?? current });
    const selected = config.getContextObject(config.getCurrentContext());
    if (!selected) {
      throw new KubeconfigError(
        context !== undefined || current
          ? `context "${context ?? current}" not found in the kubeconfig`
          : "the kubeconfig sets no current-context",
      );
    }
    if (!config.getCurrentCluster()) {
      throw new KubeconfigError(
        `context "${selected.name}" names cluster "${selected.cluster}", which the kubeconfig does not define`,
      );
    }
    return new KubeClient(config);
  }

  /** A client that authenticates with a bearer token (a ServiceAccount's, say). */
  static fromToken(server: string, caFile: string, token: string): KubeClient {
    const config = new CairnKubeConfig();
    config.loadFromOptions({
      clusters: [{ name: "c", server, caFile, skipTLSVerify: false }],
      users: [{ name: "u", token }],
      contexts: [{ name: "c", cluster: "c", user: "u" }],
      currentContext: "c",
    });
    return new KubeClient(config);
  }

  /** In-cluster config, or $KUBECONFIG / ~/.kube/config, as kubectl does. */
  static fromDefault(): KubeClient {
    const config = new CairnKubeConfig();
    config.loadFromDefault();
    return new KubeClient(config);
  }

  get server(): string {
    return this.#config.getCurrentCluster()?.server ?? "";
  }

  /** The current context's namespace, if it sets one. */
  get namespace(): string | undefined {
    const context = this.#config.getContextObject(this.#config.getCurrentContext());
    return context?.namespace || undefined;
  }

  async #call(
    context: string,
    method: HttpMethod,
    resolvePath: () => Promise<string>,
    opts: { query?: Record<string, string | undefined>; body?: unknown; contentType?: string } = {},
  ): Promise<unknown> {
    let path: string;
    try {
      path = await resolvePath();
    } catch (err) {
      throw toKubeError(err, context);
    }
    // Asked after the last await before sending: the answer must hold when the request leaves.
    if (method !== HttpMethod.GET && this.#mayWrite?.() === false) {
      throw new FencedWriteError(
        `${context}: not sent, this replica no longer holds the leader lease`,
      );
    }
    let answer: { status: number; text: string };
    try {
      answer = await this.#api.send(method, path, opts);
    } catch (err) {
      throw toKubeError(err, context);
    }
    if (answer.status < 200 || answer.status > 299) {
      throw kubeErrorFromStatus(answer.status, answer.text, context);
    }
    try {
      return JSON.parse(answer.text) as unknown;
    } catch (err) {
      throw new KubeError(
        "Unknown",
        `${context}: the API answered with invalid JSON`,
        answer.status,
        {
          cause: err,
        },
      );
    }
  }

  /** The API server's version (GET /version, readable by every client), e.g. "v1.37.2". */
  async serverVersion(): Promise<string> {
    const answer = (await this.#call("get /version", HttpMethod.GET, () =>
      Promise.resolve("/version"),
    )) as { gitVersion?: unknown };
    if (typeof answer.gitVersion !== "string") {
      throw new KubeError("Unknown", "get /version: no gitVersion in the answer");
    }
    return answer.gitVersion;
  }

  async get(ref: ObjectRef): Promise<KubeObject> {
    return (await this.#call(`get ${describe(ref)}`, HttpMethod.GET, () =>
      this.#api.path(ref, "read"),
    )) as KubeObject;
  }

  /** Lists every page; the result's resourceVersion is where a watch should start. */
  async list(apiVersion: string, kind: string, opts: ListOptions = {}): Promise<ListResult> {
    const items: KubeObject[] = [];
    let continueToken: string | undefined;
    let resourceVersion = "";
    const context = `list ${kind}${opts.namespace ? ` in ${opts.namespace}` : ""}`;
    do {
      const page = (await this.#call(
        context,
        HttpMethod.GET,
        () => this.#api.path({ apiVersion, kind, namespace: opts.namespace }, "list"),
        {
          query: {
            limit: "500",
            continue: continueToken,
            labelSelector: opts.labelSelector,
            fieldSelector: opts.fieldSelector,
          },
        },
      )) as { items?: KubeObject[]; metadata?: { continue?: string; resourceVersion?: string } };
      for (const item of page.items ?? []) {
        // List items come without apiVersion/kind; restore them so every object is self-describing.
        items.push({ ...item, apiVersion, kind });
      }
      continueToken = page.metadata?.continue || undefined;
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
    } while (continueToken);
    return { items, resourceVersion };
  }

  async create(obj: KubeObject): Promise<KubeObject> {
    const ref = { apiVersion: obj.apiVersion, kind: obj.kind, namespace: obj.metadata.namespace };
    return (await this.#call(
      `create ${describe({ kind: obj.kind, name: obj.metadata.name, namespace: obj.metadata.namespace })}`,
      HttpMethod.POST,
      () => this.#api.path(ref, "list"),
      { body: obj, query: { fieldManager: FIELD_MANAGER } },
    )) as KubeObject;
  }

  /**
   * Server-side apply as field manager `cairn`. With dryRun the API server validates and
   * defaults the object (admission included) without storing it, as `kubectl apply
   * --server-side --dry-run=server` does.
   */
  async apply(
    obj: KubeObject,
    opts: { dryRun?: boolean; force?: boolean } = {},
  ): Promise<KubeObject> {
    const ref = {
      apiVersion: obj.apiVersion,
      kind: obj.kind,
      name: obj.metadata.name ?? "",
      namespace: obj.metadata.namespace,
    };
    return (await this.#call(
      `apply ${describe(ref)}`,
      HttpMethod.PATCH,
      () => this.#api.path(ref, "read"),
      {
        body: obj,
        contentType: "application/apply-patch+yaml",
        query: {
          fieldManager: FIELD_MANAGER,
          ...(opts.dryRun ? { dryRun: "All" } : {}),
          ...(opts.force ? { force: "true" } : {}),
        },
      },
    )) as KubeObject;
  }

  /** JSON merge patch; the content type is always explicit (CRDs reject strategic merge). */
  async mergePatch(ref: ObjectRef, patch: Record<string, unknown>): Promise<KubeObject> {
    return this.#patch(ref, "", patch, "application/merge-patch+json");
  }

  /** JSON merge patch of the status subresource. */
  async patchStatus(ref: ObjectRef, patch: Record<string, unknown>): Promise<KubeObject> {
    return this.#patch(ref, "/status", patch, "application/merge-patch+json");
  }

  /**
   * Sets spec.replicas through the scale subresource, touching nothing else in the spec. With a
   * resourceVersion, only if the object is still at that version (else Conflict).
   */
  async patchScale(
    ref: ObjectRef,
    replicas: number,
    options: { readonly resourceVersion?: string } = {},
  ): Promise<KubeObject> {
    const body =
      options.resourceVersion !== undefined
        ? { metadata: { resourceVersion: options.resourceVersion }, spec: { replicas } }
        : { spec: { replicas } };
    return this.#patch(ref, "/scale", body, "application/merge-patch+json");
  }

  /** RFC 6902 JSON patch; a failed "test" operation comes back as Invalid or Conflict. */
  async jsonPatch(ref: ObjectRef, ops: readonly Record<string, unknown>[]): Promise<KubeObject> {
    return this.#patch(ref, "", ops, "application/json-patch+json");
  }

  async #patch(
    ref: ObjectRef,
    sub: string,
    body: unknown,
    contentType: string,
  ): Promise<KubeObject> {
    return (await this.#call(
      `patch ${describe(ref)}${sub}`,
      HttpMethod.PATCH,
      async () => `${await this.#api.path(ref, "read")}${sub}`,
      { body, contentType, query: { fieldManager: FIELD_MANAGER } },
    )) as KubeObject;
  }

  async delete(
    ref: ObjectRef,
    opts: DeleteOptions & { preconditions?: Preconditions } = {},
  ): Promise<void> {
    await this.#call(
      `delete ${describe(ref)}`,
      HttpMethod.DELETE,
      () => this.#api.path(ref, "read"),
      {
        body: {
          apiVersion: "v1",
          kind: "DeleteOptions",
          ...(opts.propagationPolicy ? { propagationPolicy: opts.propagationPolicy } : {}),
          ...(opts.gracePeriodSeconds !== undefined
            ? { gracePeriodSeconds: opts.gracePeriodSeconds }
            : {}),
          ...(opts.preconditions ? { preconditions: opts.preconditions } : {}),
        },
      },
    );
  }

  /**
   * One watch request as an async iterable. It ends when the server closes the stream (after
   * timeoutSeconds) and throws a KubeError when the connection fails or the server sends an
   * ERROR event (code Gone when the resourceVersion is too old to resume from). Restarting, relisting
   * and backoff belong to the caller (the informer), which knows what it has seen.
   */
  async *watch(
    apiVersion: string,
    kind: string,
    opts: WatchOptions = {},
  ): AsyncGenerator<WatchEvent> {
    let path: string;
    try {
      path = await this.#api.path({ apiVersion, kind, namespace: opts.namespace }, "list");
    } catch (err) {
      throw toKubeError(err, `resolve ${apiVersion} ${kind}`);
    }
    const buffer: WatchEvent[] = [];
    // Written by the client's callbacks; an object so the compiler does not narrow it away.
    const stream: { finished: boolean; failure?: KubeError } = { finished: false };
    let wake: (() => void) | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    const watcher = new Watch(this.#config);
    // The client aborts a watch after 30 s without a byte, which kills quiet watches between
    // bookmarks; let the server-side timeout govern instead, with a margin.
    Object.assign(watcher, { requestTimeoutMs: ((opts.timeoutSeconds ?? 300) + 30) * 1000 });
    const controller = await watcher.watch(
      path,
      {
        resourceVersion: opts.resourceVersion,
        timeoutSeconds: opts.timeoutSeconds,
        allowWatchBookmarks: opts.allowBookmarks ?? true,
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
      },
      (type: string, obj: unknown) => {
        const object = obj as Record<string, unknown> | null;
        if (type === "BOOKMARK") {
          const meta = object?.["metadata"] as { resourceVersion?: string } | undefined;
          buffer.push({ type, resourceVersion: meta?.resourceVersion ?? "" });
        } else if (type === "ERROR") {
          // The server ends the stream after an ERROR event; surface it as the watch's failure
          // (410 Gone here means: relist).
          const code = typeof object?.["code"] === "number" ? object["code"] : 500;
          stream.failure ??= kubeErrorFromStatus(code, object, `watch ${kind}`);
        } else if (type === "ADDED" || type === "MODIFIED" || type === "DELETED") {
          buffer.push({ type, object: { apiVersion, kind, ...object } as KubeObject });
        }
        notify();
      },
      (err: unknown) => {
        if (err && !opts.signal?.aborted) stream.failure ??= toKubeError(err, `watch ${kind}`);
        stream.finished = true;
        notify();
      },
    );
    const onAbort = () => controller.abort();
    // An abort that came while the request was connecting has no listener to hear it yet.
    if (opts.signal?.aborted) controller.abort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      for (;;) {
        const next = buffer.shift();
        if (next) {
          yield next;
          continue;
        }
        if (stream.finished) break;
        await new Promise<void>((resolve) => (wake = resolve));
      }
      if (stream.failure) throw stream.failure;
    } finally {
      opts.signal?.removeEventListener("abort", onAbort);
      controller.abort();
    }
  }
}

/**
 * The request/response half of KubeClient that most callers need: a type every helper can take,
 * which KubeClient satisfies as it is and a small in-memory fake can satisfy in unit tests.
 */
export type KubeApi = Pick<
  KubeClient,
  | "get"
  | "list"
  | "create"
  | "mergePatch"
  | "patchStatus"
  | "patchScale"
  | "delete"
  | "serverVersion"
>;
