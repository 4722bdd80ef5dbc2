// The kubelet's container-config step, which kwok does not simulate: a scheduled pod whose Secrets
// or ConfigMaps are missing fails as on a real node (CreateContainerConfigError, FailedMount)
// instead of turning Ready. kwok's pod-ready stage in this bed only starts a pod that carries
// CONFIG_RESOLVED_ANNOTATION, which this controller sets once everything the pod reads exists.
// Decisions are the pure functions next to it; this file only acts.
import { z } from "zod";
import type { KubeClient, KubeObject } from "../../../src/kube/client.ts";
import { isKubeError } from "../../../src/kube/errors.ts";
import type { Clock } from "../../../src/runtime/clock.ts";
import { Controller } from "../../../src/runtime/controller.ts";
import { Informer } from "../../../src/runtime/informer.ts";
import type { LogFn } from "../../../src/runtime/log.ts";
import { done, requeueAfter, retry, type Outcome } from "../../../src/runtime/outcome.ts";
import { WorkQueue } from "../../../src/runtime/workqueue.ts";
import { decidePod, foundKey, heldSignature, type PodCondition, type PodEvent } from "./decide.ts";
import { objectsNeeded, PodSpec, podNeeds } from "./references.ts";

/** Set on a pod once its config resolves; kwok's gated pod-ready stage waits for it. */
export const CONFIG_RESOLVED_ANNOTATION = "kubelet-sim.testbed.cairn.dev/config-resolved";
const COMPONENT = "kubelet-sim";
/** How often a held pod is looked at again, as the kubelet retries a pod it cannot start. */
const RETRY_MS = 2_000;
/** A kubelet reads a container's config when it creates the container, after pulling its
 *  image; kwok pulls nothing, so a pod that reads config is looked at this long after it was
 *  created. Without it, a pod created a moment before its Secret is deleted (a Helm upgrade
 *  that drops the Secret) would start, where a real node would fail it. */
const PULL_MS = 1_500;
/** The conditions a held pod explains with a reason and a message. */
const HELD_TYPES = new Set(["Initialized", "Ready", "ContainersReady"]);

const Image = z.object({ name: z.string(), image: z.string().optional() });
const Pod = z.object({
  metadata: z.object({
    name: z.string(),
    namespace: z.string(),
    uid: z.string().optional(),
    deletionTimestamp: z.string().nullish(),
    creationTimestamp: z.string().nullish(),
    annotations: z.record(z.string(), z.string()).nullish(),
  }),
  spec: z.object({
    nodeName: z.string().nullish(),
    initContainers: z.array(Image).nullish(),
    containers: z.array(Image).default([]),
  }),
  status: z
    .object({
      phase: z.string().optional(),
      conditions: z
        .array(
          z.object({
            type: z.string(),
            status: z.string(),
            reason: z.string().optional(),
            message: z.string().optional(),
            lastTransitionTime: z.string().nullish(),
          }),
        )
        .nullish(),
      initContainerStatuses: z.array(z.object({ name: z.string(), state: z.unknown() })).nullish(),
      containerStatuses: z.array(z.object({ name: z.string(), state: z.unknown() })).nullish(),
    })
    .default({}),
});
type Pod = z.infer<typeof Pod>;

export interface KubeletSimOptions {
  readonly client: KubeClient;
  readonly clock: Clock;
  readonly log: LogFn;
}

export class KubeletSimulator {
  readonly #client: KubeClient;
  readonly #clock: Clock;
  readonly #log: LogFn;
  readonly #pods: Informer;
  readonly #controller: Controller;
  /** Events already recorded per pod uid, so a retry does not repeat them. */
  readonly #recorded = new Map<string, Set<string>>();

  constructor(opts: KubeletSimOptions) {
    this.#client = opts.client;
    this.#clock = opts.clock;
    this.#log = opts.log;
    this.#pods = new Informer({
      source: opts.client,
      apiVersion: "v1",
      kind: "Pod",
      clock: opts.clock,
      log: opts.log,
    });
    this.#controller = new Controller({
      name: COMPONENT,
      queue: new WorkQueue({ clock: opts.clock, workers: 4 }),
      reconcile: (key) => this.#reconcile(key),
      log: opts.log,
    });
    this.#pods.onChange((ev) => {
      if (ev.type === "deleted") {
        const uid = ev.object.metadata.uid;
        if (uid) this.#recorded.delete(uid);
        return;
      }
      this.#controller.enqueue(ev.key);
    });
  }

  async start(signal: AbortSignal): Promise<void> {
    void this.#pods.run(signal);
    await this.#pods.waitForSync(signal);
    this.#controller.start();
  }

  async stop(): Promise<void> {
    await this.#controller.shutdown(5_000);
  }

  async #reconcile(key: string): Promise<Outcome> {
    const raw = this.#pods.get(key);
    const parsed = raw ? Pod.safeParse(raw) : undefined;
    const spec = raw ? PodSpec.safeParse(raw["spec"]) : undefined;
    if (!parsed?.success || !spec?.success) return done();
    const pod = parsed.data;
    // Only a pod waiting on its node to be started is ours: one that runs, ran or goes is not.
    if (
      !pod.spec.nodeName ||
      pod.metadata.deletionTimestamp ||
      pod.metadata.annotations?.[CONFIG_RESOLVED_ANNOTATION] !== undefined ||
      (pod.status.phase !== undefined && pod.status.phase !== "Pending")
    )
      return done();

    const needs = podNeeds(spec.data);
    const objects = objectsNeeded(needs);
    const age = this.#clock.now().getTime() - Date.parse(pod.metadata.creationTimestamp ?? "");
    if (objects.length > 0 && age < PULL_MS) return requeueAfter(PULL_MS - age);
    const found = new Map<string, readonly string[] | undefined>();
    try {
      for (const { kind, name } of objects)
        found.set(foundKey(kind, name), await this.#keysOf(pod.metadata.namespace, kind, name));
    } catch (err) {
      return retry(err);
    }
    const images = new Map(
      [...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c) => [
        c.name,
        c.image ?? "",
      ]),
    );
    const decision = decidePod({
      namespace: pod.metadata.namespace,
      needs,
      found,
      images,
      conditions: (pod.status.conditions ?? []).map((c): PodCondition => ({
        type: c.type,
        status: c.status,
        ...(c.reason ? { reason: c.reason } : {}),
        ...(c.message ? { message: c.message } : {}),
        ...(c.lastTransitionTime ? { lastTransitionTime: c.lastTransitionTime } : {}),
      })),
      now: this.#clock.now().toISOString(),
    });
    const ref = {
      apiVersion: "v1",
      kind: "Pod",
      namespace: pod.metadata.namespace,
      name: pod.metadata.name,
    };
    try {
      if (decision.kind === "start") {
        // kwok merges its conditions into a held pod's by type, which would leave Ready=True with
        // our "ContainersNotReady" reason; a kubelet's Ready pod carries none.
        const conditions = pod.status.conditions ?? [];
        if (conditions.some((c) => HELD_TYPES.has(c.type) && (c.reason || c.message)))
          await this.#client.patchStatus(ref, {
            status: {
              conditions: conditions.map(({ reason, message, ...c }) =>
                HELD_TYPES.has(c.type) ? c : { ...c, reason, message },
              ),
            },
          });
        await this.#client.mergePatch(ref, {
          metadata: { annotations: { [CONFIG_RESOLVED_ANNOTATION]: "true" } },
        });
        return done();
      }
      if (heldSignature(pod.status) !== heldSignature(decision.status)) {
        await this.#client.patchStatus(ref, { status: decision.status });
        this.#log("info", "holding pod: its config does not resolve", {
          pod: key,
          reasons: decision.events.map((e) => e.message),
        });
      }
      for (const event of decision.events) await this.#event(pod, event);
    } catch (err) {
      if (isKubeError(err, "NotFound")) return done();
      return retry(err);
    }
    return requeueAfter(RETRY_MS);
  }

  /** The keys of a Secret or ConfigMap (values are never read into the log), or undefined. */
  async #keysOf(namespace: string, kind: "Secret" | "ConfigMap", name: string) {
    let obj: KubeObject;
    try {
      obj = await this.#client.get({ apiVersion: "v1", kind, namespace, name });
    } catch (err) {
      if (isKubeError(err, "NotFound")) return undefined;
      throw err;
    }
    const keysIn = (field: string) =>
      Object.keys((obj[field] as Record<string, unknown> | undefined) ?? {});
    return [...keysIn("data"), ...keysIn("binaryData")];
  }

  async #event(pod: Pod, event: PodEvent): Promise<void> {
    const uid = pod.metadata.uid ?? "";
    const seen = this.#recorded.get(uid) ?? new Set<string>();
    if (seen.has(event.message)) return;
    seen.add(event.message);
    this.#recorded.set(uid, seen);
    const now = this.#clock.now().toISOString();
    try {
      await this.#client.create({
        apiVersion: "v1",
        kind: "Event",
        metadata: { generateName: `${pod.metadata.name}.`, namespace: pod.metadata.namespace },
        involvedObject: {
          apiVersion: "v1",
          kind: "Pod",
          namespace: pod.metadata.namespace,
          name: pod.metadata.name,
          uid,
        },
        reason: event.reason,
        message: event.message,
        type: "Warning",
        source: { component: "kubelet", host: pod.spec.nodeName ?? "" },
        reportingComponent: "kubelet",
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      });
    } catch (err) {
      // An event is best effort; the pod's status is what matters.
      this.#log("warn", "could not record event", {
        pod: `${pod.metadata.namespace}/${pod.metadata.name}`,
        error: String(err),
      });
    }
  }
}
