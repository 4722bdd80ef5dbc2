// The only module (with its siblings in src/kube) that imports @kubernetes/client-node.
// Everything it returns is plain JSON typed as KubeObject; callers parse what they need with zod.
import {
  ApiException,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  Watch,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { KubeError, kubeErrorFromStatus } from "./errors.ts";

export const FIELD_MANAGER = "cairn";

export interface ObjectMeta {
  readonly name?: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly generation?: number;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
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

// KubernetesObjectApi knows how to map apiVersion/kind to a URL through discovery; it keeps that
// helper protected, and watches need the same path.
class PathResolvingObjectApi extends KubernetesObjectApi {
  collectionPath(apiVersion: string, kind: string, namespace?: string): Promise<string> {
    const spec: KubernetesObject = { apiVersion, kind, metadata: { namespace: namespace ?? "" } };
    return this.specUriPath(spec, "list");
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

function asKubeObject(value: unknown): KubeObject {
  return value as KubeObject;
}

export class KubeClient {
  readonly #config: KubeConfig;
  readonly #objects: PathResolvingObjectApi;

  private constructor(config: KubeConfig) {
    this.#config = config;
    this.#objects = config.makeApiClient(PathResolvingObjectApi);
  }

  static fromKubeconfigFile(path: string, context?: string): KubeClient {
    const config = new KubeConfig();
    config.loadFromFile(path);
    if (context !== undefined) config.setCurrentContext(context);
    return new KubeClient(config);
  }

  /** In-cluster config, or $KUBECONFIG / ~/.kube/config, as kubectl does. */
  static fromDefault(): KubeClient {
    const config = new KubeConfig();
    config.loadFromDefault();
    return new KubeClient(config);
  }

  get server(): string {
    return this.#config.getCurrentCluster()?.server ?? "";
  }

  async get(ref: ObjectRef): Promise<KubeObject> {
    try {
      return asKubeObject(
        await this.#objects.read({
          apiVersion: ref.apiVersion,
          kind: ref.kind,
          metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) },
        }),
      );
    } catch (err) {
      throw toKubeError(err, `get ${describe(ref)}`);
    }
  }

  /** Lists every page; the result's resourceVersion is where a watch should start. */
  async list(apiVersion: string, kind: string, opts: ListOptions = {}): Promise<ListResult> {
    const items: KubeObject[] = [];
    let continueToken: string | undefined;
    let resourceVersion = "";
    try {
      do {
        const page = await this.#objects.list(
          apiVersion,
          kind,
          opts.namespace,
          undefined,
          undefined,
          undefined,
          opts.fieldSelector,
          opts.labelSelector,
          500,
          continueToken,
        );
        for (const item of page.items) {
          // List items come without apiVersion/kind; restore them so every object is self-describing.
          items.push(asKubeObject({ ...item, apiVersion, kind }));
        }
        continueToken = page.metadata?._continue || undefined;
        resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      } while (continueToken);
    } catch (err) {
      throw toKubeError(err, `list ${kind}${opts.namespace ? ` in ${opts.namespace}` : ""}`);
    }
    return { items, resourceVersion };
  }

  async create(obj: KubeObject): Promise<KubeObject> {
    try {
      return asKubeObject(await this.#objects.create(obj, undefined, undefined, FIELD_MANAGER));
    } catch (err) {
      throw toKubeError(err, `create ${describe({ kind: obj.kind, ...obj.metadata })}`);
    }
  }

  /** JSON merge patch; the content type is always explicit (CRDs reject strategic merge). */
  async mergePatch(ref: ObjectRef, patch: Record<string, unknown>): Promise<KubeObject> {
    const body = {
      ...patch,
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      metadata: {
        ...((patch["metadata"] as Record<string, unknown> | undefined) ?? {}),
        name: ref.name,
        ...(ref.namespace ? { namespace: ref.namespace } : {}),
      },
    };
    try {
      return asKubeObject(
        await this.#objects.patch(
          body,
          undefined,
          undefined,
          FIELD_MANAGER,
          undefined,
          PatchStrategy.MergePatch,
        ),
      );
    } catch (err) {
      throw toKubeError(err, `patch ${describe(ref)}`);
    }
  }

  async delete(ref: ObjectRef, opts: DeleteOptions = {}): Promise<void> {
    try {
      await this.#objects.delete(
        {
          apiVersion: ref.apiVersion,
          kind: ref.kind,
          metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) },
        },
        undefined,
        undefined,
        opts.gracePeriodSeconds,
        undefined,
        opts.propagationPolicy,
      );
    } catch (err) {
      throw toKubeError(err, `delete ${describe(ref)}`);
    }
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
    const path = await this.#collectionPath(apiVersion, kind, opts.namespace);
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
          buffer.push({ type, object: asKubeObject({ apiVersion, kind, ...object }) });
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

  async #collectionPath(apiVersion: string, kind: string, namespace?: string): Promise<string> {
    try {
      return await this.#objects.collectionPath(apiVersion, kind, namespace);
    } catch (err) {
      throw toKubeError(err, `resolve ${apiVersion} ${kind}`);
    }
  }
}
