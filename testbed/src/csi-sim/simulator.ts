// The CSI simulator's shell: informers over the storage objects, one controller for claims
// (provisioning), one for volumes (deletion on release) and one for snapshot contents (the
// csi-snapshotter's part). Decisions are the pure functions next to it; this file only acts.
import type { KubeClient, KubeObject } from "../../../src/kube/client.ts";
import { isKubeError } from "../../../src/kube/errors.ts";
import type { Clock } from "../../../src/runtime/clock.ts";
import { Controller } from "../../../src/runtime/controller.ts";
import { Informer } from "../../../src/runtime/informer.ts";
import { objectKey, splitKey } from "../../../src/runtime/keys.ts";
import type { LogFn } from "../../../src/runtime/log.ts";
import { done, requeueAfter, retry, type Outcome } from "../../../src/runtime/outcome.ts";
import { WorkQueue } from "../../../src/runtime/workqueue.ts";
import { CONTENT_FINALIZER, DRIVER } from "./constants.ts";
import {
  dataSourceOf,
  decideProvision,
  shouldDeleteVolume,
  type DataSource,
} from "./provisioner.ts";
import { Pv, Pvc, StorageClass, VolumeSnapshot, VolumeSnapshotContent } from "./schemas.ts";
import { decideContent } from "./snapshotter.ts";
import { VolumeStore } from "./volume-store.ts";

const SNAPSHOT_API = "snapshot.storage.k8s.io/v1";
/** How often a failed provisioning or snapshot is retried, as the real sidecars do with backoff. */
const RETRY_MS = 2_000;
const SOURCE_INDEX = "dataSource";
const HANDLE_INDEX = "volumeHandle";

export interface SimulatorOptions {
  readonly client: KubeClient;
  readonly root: string;
  readonly clock: Clock;
  readonly log: LogFn;
}

export class CsiSimulator {
  readonly #client: KubeClient;
  readonly #store: VolumeStore;
  readonly #clock: Clock;
  readonly #log: LogFn;
  readonly #informers: Record<"pvc" | "pv" | "sc" | "vs" | "vsc", Informer>;
  readonly #claims: Controller;
  readonly #volumes: Controller;
  readonly #contents: Controller;
  /** When a content was first seen, for the snapshot-delay fault. In memory: a restart of the
   *  simulator restarts the delay, which is what a real slow driver would look like too. */
  readonly #firstSeen = new Map<string, number>();
  /** Last warning per claim, so a retry loop does not flood Events with repeats. */
  readonly #lastWarning = new Map<string, string>();

  constructor(opts: SimulatorOptions) {
    this.#client = opts.client;
    this.#store = new VolumeStore(opts.root);
    this.#clock = opts.clock;
    this.#log = opts.log;
    const informer = (apiVersion: string, kind: string) =>
      new Informer({ source: opts.client, apiVersion, kind, clock: opts.clock, log: opts.log });
    this.#informers = {
      pvc: informer("v1", "PersistentVolumeClaim"),
      pv: informer("v1", "PersistentVolume"),
      sc: informer("storage.k8s.io/v1", "StorageClass"),
      vs: informer(SNAPSHOT_API, "VolumeSnapshot"),
      vsc: informer(SNAPSHOT_API, "VolumeSnapshotContent"),
    };
    // Claims waiting for a snapshot or a source claim, by "namespace/name" of that source.
    this.#informers.pvc.addIndex(SOURCE_INDEX, (obj) => {
      const parsed = Pvc.safeParse(obj);
      const source = parsed.success ? dataSourceOf(parsed.data) : undefined;
      return source
        ? [`${source.kind}:${parsed.data?.metadata.namespace ?? ""}/${source.name}`]
        : [];
    });
    this.#informers.pv.addIndex(HANDLE_INDEX, (obj) => {
      const parsed = Pv.safeParse(obj);
      const handle = parsed.success ? parsed.data.spec.csi?.volumeHandle : undefined;
      return handle ? [handle] : [];
    });
    const controller = (name: string, reconcile: (key: string) => Promise<Outcome>) =>
      new Controller({
        name,
        queue: new WorkQueue({ clock: opts.clock, workers: 2 }),
        reconcile,
        log: opts.log,
      });
    this.#claims = controller("csi-sim-provisioner", (key) => this.#reconcileClaim(key));
    this.#volumes = controller("csi-sim-deleter", (key) => this.#reconcileVolume(key));
    this.#contents = controller("csi-sim-snapshotter", (key) => this.#reconcileContent(key));

    this.#informers.pvc.onChange((ev) => this.#claims.enqueue(ev.key));
    this.#informers.sc.onChange(() => this.#enqueueAll(this.#informers.pvc, this.#claims));
    this.#informers.pv.onChange((ev) => this.#volumes.enqueue(ev.key));
    this.#informers.vsc.onChange((ev) => this.#contents.enqueue(ev.key));
    // A snapshot turning ready wakes the claims that restore from it.
    this.#informers.vs.onChange((ev) => {
      const key = `VolumeSnapshot:${objectKey(ev.object.metadata)}`;
      for (const pvc of this.#informers.pvc.byIndex(SOURCE_INDEX, key)) {
        this.#claims.enqueue(objectKey(pvc.metadata));
      }
    });
  }

  /** Starts everything and resolves once every informer has synced. */
  async start(signal: AbortSignal): Promise<void> {
    for (const informer of Object.values(this.#informers)) void informer.run(signal);
    for (const informer of Object.values(this.#informers)) await informer.waitForSync(signal);
    for (const c of [this.#claims, this.#volumes, this.#contents]) c.start();
  }

  async stop(): Promise<void> {
    await Promise.all([this.#claims, this.#volumes, this.#contents].map((c) => c.shutdown(5_000)));
  }

  #enqueueAll(informer: Informer, controller: Controller): void {
    for (const key of informer.keys()) controller.enqueue(key);
  }

  #parsed<T>(
    schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } },
    obj: KubeObject | undefined,
  ): T | undefined {
    if (!obj) return undefined;
    const result = schema.safeParse(obj);
    return result.success ? result.data : undefined;
  }

  #sourceOf(pvc: Pvc): DataSource {
    const ref = dataSourceOf(pvc);
    if (!ref) return { kind: "none" };
    const ns = pvc.metadata.namespace ?? "";
    if (
      ref.kind === "VolumeSnapshot" &&
      ref.apiGroup === "snapshot.storage.k8s.io" &&
      !ref.namespace
    ) {
      const snapshot = this.#parsed(VolumeSnapshot, this.#informers.vs.get(`${ns}/${ref.name}`));
      const contentName = snapshot?.status?.boundVolumeSnapshotContentName;
      const content = contentName
        ? this.#parsed(VolumeSnapshotContent, this.#informers.vsc.get(contentName))
        : undefined;
      return {
        kind: "snapshot",
        name: ref.name,
        ...(snapshot ? { snapshot } : {}),
        ...(content ? { content } : {}),
      };
    }
    if (ref.kind === "PersistentVolumeClaim" && !ref.apiGroup && !ref.namespace) {
      const source = this.#parsed(Pvc, this.#informers.pvc.get(`${ns}/${ref.name}`));
      const pv = source?.spec.volumeName
        ? this.#parsed(Pv, this.#informers.pv.get(source.spec.volumeName))
        : undefined;
      return {
        kind: "pvc",
        name: ref.name,
        ...(source ? { pvc: source } : {}),
        ...(pv ? { pv } : {}),
      };
    }
    return { kind: "unsupported", description: `${ref.apiGroup ?? ""}/${ref.kind} ${ref.name}` };
  }

  async #reconcileClaim(key: string): Promise<Outcome> {
    const pvc = this.#parsed(Pvc, this.#informers.pvc.get(key));
    if (!pvc) return done();
    const className = pvc.spec.storageClassName;
    const storageClass = className
      ? this.#parsed(StorageClass, this.#informers.sc.get(className))
      : undefined;
    const decision = decideProvision({
      pvc,
      storageClass,
      source: this.#sourceOf(pvc),
      volumesDir: this.#store.volumesDir,
    });
    switch (decision.kind) {
      case "ignore":
      case "wait":
        return done(); // the next change of the claim (an annotation) wakes it
      case "fail":
        await this.#warn(pvc, "ProvisioningFailed", decision.message);
        return requeueAfter(RETRY_MS);
      case "create": {
        // Data first, then the PV: a crash in between leaves a folder the retry reuses.
        await this.#store.createVolume(decision.volumeHandle, decision.copyFrom);
        try {
          await this.#client.create(decision.pv);
        } catch (err) {
          if (!isKubeError(err, "AlreadyExists")) return retry(err);
        }
        this.#lastWarning.delete(key);
        this.#log("info", "provisioned volume", { claim: key, pv: decision.pv.metadata.name });
        await this.#event(
          pvc,
          "Normal",
          "ProvisioningSucceeded",
          `Successfully provisioned volume ${decision.pv.metadata.name ?? ""}`,
        );
        return done();
      }
    }
  }

  async #reconcileVolume(key: string): Promise<Outcome> {
    const pv = this.#parsed(Pv, this.#informers.pv.get(key));
    if (!pv || !shouldDeleteVolume(pv)) return done();
    const handle = pv.spec.csi?.volumeHandle;
    if (handle) await this.#store.deleteVolume(handle);
    try {
      await this.#client.delete(
        { apiVersion: "v1", kind: "PersistentVolume", name: pv.metadata.name },
        { preconditions: { uid: pv.metadata.uid } },
      );
    } catch (err) {
      if (!isKubeError(err, "NotFound") && !isKubeError(err, "Conflict")) return retry(err);
    }
    this.#log("info", "deleted released volume", { pv: key });
    return done();
  }

  async #reconcileContent(key: string): Promise<Outcome> {
    const content = this.#parsed(VolumeSnapshotContent, this.#informers.vsc.get(key));
    if (!content) {
      this.#firstSeen.delete(key);
      return done();
    }
    if (!this.#firstSeen.has(key)) this.#firstSeen.set(key, this.#clock.now().getTime());
    const volumeHandle = content.spec.source.volumeHandle;
    const sourcePv = volumeHandle
      ? this.#parsed(Pv, this.#informers.pv.byIndex(HANDLE_INDEX, volumeHandle)[0])
      : undefined;
    const claimRef = sourcePv?.spec.claimRef;
    const sourcePvc =
      claimRef?.namespace && claimRef.name
        ? this.#parsed(Pvc, this.#informers.pvc.get(`${claimRef.namespace}/${claimRef.name}`))
        : undefined;
    const decision = decideContent({
      content,
      sourcePv,
      sourcePvc,
      firstSeenMs: this.#firstSeen.get(key) ?? 0,
      nowMs: this.#clock.now().getTime(),
    });
    const ref = {
      apiVersion: SNAPSHOT_API,
      kind: "VolumeSnapshotContent",
      name: content.metadata.name,
    };
    switch (decision.kind) {
      case "ignore":
        return done();
      case "delay":
        return requeueAfter(decision.remainingMs);
      case "error":
        await this.#client.patchStatus(ref, {
          status: {
            readyToUse: false,
            error: { message: decision.message, time: this.#clock.now().toISOString() },
          },
        });
        return requeueAfter(RETRY_MS);
      case "cut":
        await this.#store.snapshotVolume(decision.volumeHandle, decision.snapshotHandle);
        await this.#client.patchStatus(ref, {
          status: {
            snapshotHandle: decision.snapshotHandle,
            // The sidecar reports int64 nanoseconds since the epoch.
            creationTime: this.#clock.now().getTime() * 1_000_000,
            restoreSize: decision.restoreSize,
            readyToUse: decision.uploadMs === 0,
            error: null,
          },
        });
        this.#log("info", "cut snapshot", { content: key, handle: decision.snapshotHandle });
        return decision.uploadMs === 0 ? done() : requeueAfter(decision.uploadMs);
      case "uploaded":
        await this.#client.patchStatus(ref, { status: { readyToUse: true } });
        this.#log("info", "uploaded snapshot", { content: key });
        return done();
      case "adopt":
        await this.#client.patchStatus(ref, {
          status: { snapshotHandle: decision.snapshotHandle, readyToUse: true, restoreSize: 0 },
        });
        return done();
      case "release": {
        if (decision.deleteData && decision.snapshotHandle) {
          await this.#store.deleteSnapshot(decision.snapshotHandle);
        }
        const finalizers = content.metadata.finalizers ?? [];
        // A test op makes the removal conditional on the list we read (no lost finalizers).
        await this.#client.jsonPatch(ref, [
          { op: "test", path: "/metadata/finalizers", value: finalizers },
          {
            op: "replace",
            path: "/metadata/finalizers",
            value: finalizers.filter((f) => f !== CONTENT_FINALIZER),
          },
        ]);
        this.#firstSeen.delete(key);
        return done();
      }
    }
  }

  async #warn(pvc: Pvc, reason: string, message: string): Promise<void> {
    const key = objectKey(pvc.metadata);
    if (this.#lastWarning.get(key) === message) return;
    this.#lastWarning.set(key, message);
    this.#log("warn", message, { claim: key, reason });
    await this.#event(pvc, "Warning", reason, message);
  }

  async #event(
    pvc: Pvc,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ): Promise<void> {
    const now = this.#clock.now().toISOString();
    const { namespace, name } = splitKey(objectKey(pvc.metadata));
    try {
      await this.#client.create({
        apiVersion: "v1",
        kind: "Event",
        metadata: { generateName: `${name}.`, namespace: namespace ?? "default" },
        involvedObject: {
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          namespace,
          name,
          uid: pvc.metadata.uid,
        },
        reason,
        message,
        type,
        source: { component: DRIVER },
        reportingComponent: DRIVER,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      });
    } catch (err) {
      // An event is best effort; the claim's state is what matters.
      this.#log("warn", "could not record event", {
        claim: `${namespace ?? ""}/${name}`,
        error: String(err),
      });
    }
  }
}
