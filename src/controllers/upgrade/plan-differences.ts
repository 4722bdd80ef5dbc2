// What differs between the plan a person approved and the plan made again on approval. Pure.
// The commit the plan was made on (git.baseCommit) is left out: unrelated commits on the branch
// move it without changing what the upgrade does, and Commit redoes its change on the branch as
// it finds it. The impact's detail ConfigMap is named after the request, so it never differs.
import type { Plan } from "../../api/index.ts";

const GIT_FIELDS = [
  "branch",
  "path",
  "versionPath",
  "from",
  "to",
  "ociChartTag",
  "diff",
  "url",
] as const;

function named(item: { namespace?: string; name: string; kind?: string }): string {
  return `${item.kind ? `${item.kind} ` : ""}${item.namespace ? `${item.namespace}/` : ""}${item.name}`;
}

/** Added, removed and changed items of two lists of named objects, by name. */
function listDifference<T extends { namespace?: string; name: string; kind?: string }>(
  field: string,
  before: readonly T[],
  after: readonly T[],
): string[] {
  const key = (t: T) => named(t);
  const was = new Map(before.map((t) => [key(t), JSON.stringify(t)]));
  const now = new Map(after.map((t) => [key(t), JSON.stringify(t)]));
  const added = [...now.keys()].filter((k) => !was.has(k));
  const removed = [...was.keys()].filter((k) => !now.has(k));
  const changed = [...now.keys()].filter((k) => was.has(k) && was.get(k) !== now.get(k));
  const parts = [
    ...(added.length > 0 ? [`${added.join(", ")} added`] : []),
    ...(removed.length > 0 ? [`${removed.join(", ")} removed`] : []),
    ...(changed.length > 0 ? [`${changed.join(", ")} changed`] : []),
  ];
  // Same members in another order (the suspend order of flux, say) is a difference too.
  if (parts.length === 0 && [...was.keys()].join("\n") !== [...now.keys()].join("\n"))
    parts.push("reordered");
  return parts.length > 0 ? [`${field}: ${parts.join("; ")}`] : [];
}

function scalar(field: string, before: unknown, after: unknown): string[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  const show = (v: unknown) => (v === undefined ? "(none)" : JSON.stringify(v));
  return [`${field}: ${show(before)} → ${show(after)}`];
}

/** One line per difference, naming the field; empty when the plans do the same. */
export function planDifferences(approved: Plan, now: Plan): string[] {
  const out: string[] = [];
  for (const field of GIT_FIELDS)
    out.push(...scalar(`git.${field}`, approved.git[field], now.git[field]));
  out.push(
    ...listDifference("git.images", approved.git.images ?? [], now.git.images ?? []),
    ...scalar("git.revertOf", approved.git.revertOf, now.git.revertOf),
    ...listDifference("flux", approved.flux, now.flux),
    ...listDifference("volumes", approved.volumes, now.volumes),
    ...listDifference("workloads", approved.workloads, now.workloads),
    ...scalar("source", approved.source, now.source),
    ...scalar(
      "volumeSnapshotClassName",
      approved.volumeSnapshotClassName,
      now.volumeSnapshotClassName,
    ),
    ...scalar("gitOnly", approved.gitOnly, now.gitOnly),
    ...scalar("runWhileUploading", approved.runWhileUploading, now.runWhileUploading),
  );
  const impact = (p: Plan) =>
    p.impact
      ? {
          added: p.impact.added,
          changed: p.impact.changed,
          removed: p.impact.removed,
          unchanged: p.impact.unchanged,
        }
      : undefined;
  out.push(...scalar("impact", impact(approved), impact(now)));
  if (out.every((line) => !line.startsWith("impact:")))
    out.push(
      ...listDifference(
        "impact.objects",
        (approved.impact?.objects ?? []).map((o) => ({ ...o, kind: `${o.change} ${o.kind}` })),
        (now.impact?.objects ?? []).map((o) => ({ ...o, kind: `${o.change} ${o.kind}` })),
      ),
    );
  return out;
}
