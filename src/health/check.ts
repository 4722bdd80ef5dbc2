// CheckHealth: one pure evaluation over objects the informers already hold, shared by the
// ManagedApp, UpgradeRequest and RollbackRequest controllers. Checks run in a fixed order and the
// first failure wins, so the message always names one object: the Kustomization, the HelmRelease,
// the Helm release storage, each workload (existence, replicas, rollout), the workloads' pods, the
// PVCs. Cairn is stricter than kstatus about replicas: a workload must run the
// replica count recorded before Cairn scaled it, and 0 is healthy only for an app meant to be
// stopped (FluxUp counted workloads at 0 or missing as healthy).
import { z } from "zod";
import { byUid, podBelongsTo, podController } from "../discovery/owners.ts";
import type { WorkloadKind } from "../discovery/refs.ts";
import type { ReleaseSelection } from "../helm/select.ts";
import { HelmRelease, helmReleaseStatus, Kustomization, kustomizationStatus } from "./flux.ts";
import { describePod, isPodLive, isPodReady, Pod } from "./pods.ts";
import { releaseStateStatus } from "./release.ts";
import type { KindStatus, Status } from "./status.ts";
import { PersistentVolumeClaim, pvcStatus } from "./storage.ts";
import { desiredReplicas, Workload, WorkloadMeta, workloadStatus } from "./workloads.ts";

/** An object looked up by name: found, or known to be absent. */
export type Fetched =
  | { readonly found: true; readonly object: unknown }
  | { readonly found: false; readonly namespace: string; readonly name: string };

export interface ExpectedWorkload {
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
  /** The recorded original spec.replicas. */
  readonly replicas: number;
}

export interface HealthInput {
  readonly kustomization: Fetched;
  /** Absent for an app without a HelmRelease. */
  readonly helmRelease?: Fetched | undefined;
  readonly helmReleaseState?: ReleaseSelection | undefined;
  /** The app's Deployments and StatefulSets, with apiVersion/kind as list and watch give them. */
  readonly workloads: readonly unknown[];
  /** The namespaces' ReplicaSets: the link from a Deployment to its pods (never guessed). */
  readonly replicaSets: readonly unknown[];
  /** Pods of the namespaces; only those a workload above controls are judged. */
  readonly pods: readonly unknown[];
  readonly pvcs: readonly unknown[];
  readonly expected: {
    /** Every planned workload must exist and run exactly this many replicas. */
    readonly replicasByWorkload: readonly ExpectedWorkload[];
    readonly chartVersion?: string | undefined;
    /** The app is meant to be stopped: workloads at 0 replicas are healthy once their pods are gone. */
    readonly stopped?: boolean | undefined;
    /** Every planned PVC must exist (and, like every PVC given, be Bound). */
    readonly pvcs?: readonly { readonly namespace: string; readonly name: string }[] | undefined;
  };
}

export interface HealthObject {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

export type HealthResult =
  | {
      readonly healthy: true;
      readonly status: "Current";
      readonly reason: "Healthy";
      readonly message: string;
    }
  | {
      readonly healthy: false;
      readonly status: Exclude<Status, "Current">;
      readonly reason: string;
      readonly message: string;
      /** The first failing object. */
      readonly object: HealthObject | undefined;
    };

class Unhealthy {
  readonly result: HealthResult;
  constructor(
    status: Exclude<Status, "Current">,
    reason: string,
    message: string,
    object?: HealthObject,
  ) {
    this.result = { healthy: false, status, reason, message, object };
  }
}

function refOf(kind: string, meta: { namespace: string; name: string }): HealthObject {
  return { kind, namespace: meta.namespace, name: meta.name };
}

function named(o: HealthObject): string {
  return `${o.kind} ${o.namespace ? `${o.namespace}/` : ""}${o.name}`;
}

function fromKind(
  object: HealthObject,
  s: KindStatus,
  prefix: string,
  detail?: string,
): Unhealthy | undefined {
  if (s.status === "Current") return undefined;
  const extra = detail ? `; ${detail}` : "";
  return new Unhealthy(
    s.status,
    `${prefix}${s.reason}`,
    `${named(object)}: ${s.message}${extra}`,
    object,
  );
}

function parse<T>(schema: z.ZodType<T>, value: unknown, object: HealthObject): T | Unhealthy {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const why = issue ? `${issue.path.join(".")}: ${issue.message}` : "unexpected shape";
  return new Unhealthy(
    "Failed",
    "InvalidObject",
    `${named(object)} cannot be read: ${why}`,
    object,
  );
}

function nameOf(value: unknown): { namespace: string; name: string; kind: string } {
  const v = value as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } } | null;
  const str = (x: unknown) => (typeof x === "string" ? x : "");
  return {
    kind: str(v?.kind) || "object",
    namespace: str(v?.metadata?.namespace),
    name: str(v?.metadata?.name),
  };
}

function checkFlux(input: HealthInput): Unhealthy | undefined {
  const k = input.kustomization;
  if (!k.found) {
    const object = refOf("Kustomization", k);
    return new Unhealthy("Failed", "KustomizationMissing", `${named(object)} not found`, object);
  }
  const ks = parse(Kustomization, k.object, { ...nameOf(k.object), kind: "Kustomization" });
  if (ks instanceof Unhealthy) return ks;
  const ksRef = refOf("Kustomization", ks.metadata);
  const ksFailure = fromKind(ksRef, kustomizationStatus(ks), "Kustomization");
  if (ksFailure) return ksFailure;

  const h = input.helmRelease;
  if (h && !h.found) {
    const object = refOf("HelmRelease", h);
    return new Unhealthy("Failed", "HelmReleaseMissing", `${named(object)} not found`, object);
  }
  if (h) {
    const hr = parse(HelmRelease, h.object, { ...nameOf(h.object), kind: "HelmRelease" });
    if (hr instanceof Unhealthy) return hr;
    const hrRef = refOf("HelmRelease", hr.metadata);
    const hrFailure = fromKind(
      hrRef,
      helmReleaseStatus(hr, input.expected.chartVersion),
      "HelmRelease",
    );
    if (hrFailure) return hrFailure;
  }
  if (input.helmReleaseState) {
    // The storage Secrets may live in another namespace than the release, so no object is named;
    // the message carries the release and revision.
    const s = releaseStateStatus(input.helmReleaseState);
    if (s.status !== "Current") {
      return new Unhealthy(s.status, s.reason, `Helm release: ${s.message}`);
    }
  }
  return undefined;
}

/** A ReplicaSet only as the link between a Deployment and its pods. */
const ReplicaSetOwner = z.object({ metadata: WorkloadMeta });
type ReplicaSetOwner = z.infer<typeof ReplicaSetOwner>;

const key = (kind: string, namespace: string, name: string) => `${kind}/${namespace}/${name}`;

function checkWorkloads(
  input: HealthInput,
  workloads: readonly Workload[],
  pods: readonly Pod[],
  replicaSets: ReadonlyMap<string, ReplicaSetOwner>,
): Unhealthy | undefined {
  const stopped = input.expected.stopped === true;
  const byKey = new Map(
    workloads.map((w) => [key(w.kind, w.metadata.namespace, w.metadata.name), w]),
  );
  const expected = new Map(
    input.expected.replicasByWorkload.map((e) => [key(e.kind, e.namespace, e.name), e]),
  );
  for (const e of expected.values()) {
    if (!byKey.has(key(e.kind, e.namespace, e.name))) {
      const object = refOf(e.kind, e);
      return new Unhealthy("Failed", "WorkloadMissing", `${named(object)} not found`, object);
    }
  }
  // Planned workloads first, in plan order; then any other workload of the app.
  const ordered = [
    ...[...expected.keys()].flatMap((k) => byKey.get(k) ?? []),
    ...workloads.filter((w) => !expected.has(key(w.kind, w.metadata.namespace, w.metadata.name))),
  ];
  for (const w of ordered) {
    const object = refOf(w.kind, w.metadata);
    const desired = desiredReplicas(w);
    if (desired === 0 && stopped) {
      const left = w.status.replicas ?? 0;
      if (left === 0) continue;
      const message = `${named(object)}: ${left} pods still exist`;
      return new Unhealthy("InProgress", "PodsRemaining", message, object);
    }
    if (desired === 0) {
      return new Unhealthy(
        "InProgress",
        "ScaledToZero",
        `${named(object)} is scaled to 0 replicas`,
        object,
      );
    }
    const want = expected.get(key(w.kind, object.namespace, object.name))?.replicas;
    if (want !== undefined && desired !== want) {
      return new Unhealthy(
        "InProgress",
        "ReplicasMismatch",
        `${named(object)} wants ${desired} replicas, ${want} were recorded`,
        object,
      );
    }
    const status = workloadStatus(w);
    if (status.status === "Current") continue;
    const ownPods = pods.filter((p) => podBelongsTo(p, podController(p, replicaSets), w));
    const sick = ownPods.find((p) => isPodLive(p) && !isPodReady(p));
    return fromKind(object, status, "Workload", sick ? describePod(sick) : undefined);
  }
  // A pod can turn unready before its workload's status says so.
  for (const w of ordered) {
    for (const p of pods) {
      if (!isPodLive(p) || isPodReady(p)) continue;
      if (!podBelongsTo(p, podController(p, replicaSets), w)) continue;
      const object = refOf("Pod", p.metadata);
      return new Unhealthy(
        "InProgress",
        "PodNotReady",
        `${named(refOf(w.kind, w.metadata))}: ${describePod(p)}`,
        object,
      );
    }
  }
  return undefined;
}

function checkPvcs(
  input: HealthInput,
  pvcs: readonly PersistentVolumeClaim[],
): Unhealthy | undefined {
  const have = new Set(pvcs.map((p) => `${p.metadata.namespace}/${p.metadata.name}`));
  for (const p of input.expected.pvcs ?? []) {
    if (!have.has(`${p.namespace}/${p.name}`)) {
      const object = refOf("PersistentVolumeClaim", p);
      return new Unhealthy("Failed", "PvcMissing", `${named(object)} not found`, object);
    }
  }
  for (const p of pvcs) {
    const failure = fromKind(refOf("PersistentVolumeClaim", p.metadata), pvcStatus(p), "");
    if (failure) return failure;
  }
  return undefined;
}

function parseEach<T>(
  schema: z.ZodType<T>,
  values: readonly unknown[],
  kind: string,
): T[] | Unhealthy {
  const out: T[] = [];
  for (const v of values) {
    const name = nameOf(v);
    const parsed = parse(schema, v, { ...name, kind: name.kind === "object" ? kind : name.kind });
    if (parsed instanceof Unhealthy) return parsed;
    out.push(parsed);
  }
  return out;
}

export function checkHealth(input: HealthInput): HealthResult {
  const flux = checkFlux(input);
  if (flux) return flux.result;
  const workloads = parseEach(Workload, input.workloads, "workload");
  if (workloads instanceof Unhealthy) return workloads.result;
  const replicaSets = parseEach(ReplicaSetOwner, input.replicaSets, "ReplicaSet");
  if (replicaSets instanceof Unhealthy) return replicaSets.result;
  const pods = parseEach(Pod, input.pods, "Pod");
  if (pods instanceof Unhealthy) return pods.result;
  const pvcs = parseEach(PersistentVolumeClaim, input.pvcs, "PersistentVolumeClaim");
  if (pvcs instanceof Unhealthy) return pvcs.result;
  const failure =
    checkWorkloads(input, workloads, pods, byUid(replicaSets)) ?? checkPvcs(input, pvcs);
  if (failure) return failure.result;
  const parts = [
    input.helmRelease ? "the HelmRelease" : undefined,
    `${workloads.length} workloads`,
    `${pvcs.length} PVCs`,
  ].filter((p) => p !== undefined);
  return {
    healthy: true,
    status: "Current",
    reason: "Healthy",
    message: `the Kustomization, ${parts.join(", ")} are healthy`,
  };
}
