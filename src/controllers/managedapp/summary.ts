// The discovery summary in the ManagedApp's status (pure): the app's PVCs, and every workload an
// upgrade would stop, each with why: the app's own workloads, and workloads outside the app's
// objects that mount one of its PVCs (an upgrade must stop those too: a
// snapshot is consistent only if no writer runs).
import type { DiscoverySummary } from "../../api/index.ts";
import type { DiscoveredPvc } from "../../discovery/pvcs.ts";
import type { WorkloadRef } from "../../discovery/refs.ts";
import { workloadKey } from "../../discovery/refs.ts";
import type { StopReason, WorkloadToStop } from "../../discovery/workloads.ts";
import type { AppSource } from "./sources.ts";

// The CRD's bounds (crds/cairn.dev_managedapps.yaml): a longer list or reason would make the
// status patch fail validation, so they are cut here.
const MAX_PVCS = 256;
const MAX_WORKLOADS = 128;
const MAX_REASON = 512;

type Present<T> = Exclude<T, undefined>;

/** The summary as the evaluation writes it: every field set. */
export interface Summary {
  readonly pvcs: Present<DiscoverySummary["pvcs"]>;
  readonly workloads: Present<DiscoverySummary["workloads"]>;
  readonly source: Present<DiscoverySummary["source"]>;
  readonly via: Present<DiscoverySummary["via"]>;
}

function clip(text: string): string {
  return text.length <= MAX_REASON ? text : `${text.slice(0, MAX_REASON - 1)}…`;
}

export function describeStopReason(r: StopReason): string {
  switch (r.source) {
    case "PodTemplate":
      return `its pod template mounts PVC ${r.pvc} (volume ${r.volume})`;
    case "ClaimTemplate":
      return `its claim template ${r.template} makes PVC ${r.pvc} (ordinal ${r.ordinal})`;
    case "Pod":
      return `pod ${r.pod} mounts PVC ${r.pvc} (volume ${r.volume})`;
  }
}

/**
 * A workload's reasons as the summary shows them. A pod's mount of a PVC its template already
 * mounts adds nothing, and would make the summary (and a status write) change with every pod that
 * comes or goes; only a pod mounting what the template no longer does (mid-rollout) is named.
 */
function reasonText(reasons: readonly StopReason[]): string {
  const byTemplate = new Set(reasons.filter((r) => r.source !== "Pod").map((r) => r.pvc));
  const shown = reasons.filter((r) => r.source !== "Pod" || !byTemplate.has(r.pvc));
  return [...new Set(shown.map(describeStopReason))].join("; ");
}

export function discoverySummary(input: {
  readonly source: AppSource;
  readonly workloads: readonly WorkloadRef[];
  readonly pvcs: readonly DiscoveredPvc[];
  /** Every Deployment and StatefulSet mounting one of the PVCs (workloadsToStop). */
  readonly mounting: readonly WorkloadToStop[];
}): Summary {
  const own = new Set(input.workloads.map((w) => workloadKey(w.kind, w.namespace, w.name)));
  const outsider = `outside the ${input.source.source.kind}'s objects`;
  const workloads = [
    ...input.workloads.map((w) => ({
      kind: w.kind,
      namespace: w.namespace,
      name: w.name,
      reason: input.source.origin,
    })),
    ...input.mounting
      .filter((w) => !own.has(workloadKey(w.kind, w.namespace, w.name)))
      .map((w) => ({
        kind: w.kind,
        namespace: w.namespace,
        name: w.name,
        reason: clip(`${outsider}; ${reasonText(w.reasons)}`),
      })),
  ];
  return {
    pvcs: input.pvcs.slice(0, MAX_PVCS).map((p) => ({ namespace: p.namespace, name: p.name })),
    workloads: workloads.slice(0, MAX_WORKLOADS),
    source: input.source.source,
    via: input.source.via,
  };
}
