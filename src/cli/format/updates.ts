// `kubectl cairn updates`: one row per app, from its status: the version it runs, the newest one
// its chart source (or image registry) offers under the app's versionPolicy, and where and when
// that was looked for (or why it could not be: the UpdateAvailable condition's reason and
// message), and what its automatic upgrades will do and when (the AutoUpdate condition).
import type { ManagedApp } from "../../api/managedapp.ts";
import { between, formatDuration } from "./duration.ts";
import { renderTable } from "./table.ts";

export interface UpdateSummary {
  readonly namespace: string;
  readonly name: string;
  readonly current: string | null;
  readonly available: string | null;
  /** The UpdateAvailable condition's reason (NewerVersion, UpToDate, or why not checked). */
  readonly state: string;
  readonly message: string | null;
  /**
   * The chart source, e.g. "HelmRepository flux-system/charts", or the image whose tags were
   * listed ("Image ghcr.io/org/app"), when one was read.
   */
  readonly source: string | null;
  readonly chart: string | null;
  readonly checkedAt: string | null;
  /** What the version policy allows: the constraint and whether pre-releases count. */
  readonly policy: string;
  readonly constraint: string | null;
  readonly prereleases: boolean;
  /** versionPolicy.autoUpdate: none, patch, minor or major. */
  readonly autoUpdate: string;
  /** The AutoUpdate condition: what the automatic upgrade does next, and why. */
  readonly autoState: string | null;
  readonly autoMessage: string | null;
}

export function summarizeUpdates(app: ManagedApp): UpdateSummary {
  const c = app.status?.conditions?.find((x) => x.type === "UpdateAvailable");
  const auto = app.status?.conditions?.find((x) => x.type === "AutoUpdate");
  const check = app.status?.updateCheck;
  const policy = app.spec.versionPolicy;
  return {
    namespace: app.metadata.namespace ?? "",
    name: app.metadata.name,
    current: app.status?.currentVersion ?? null,
    available: app.status?.availableUpdate ?? null,
    state: c?.reason ?? "NotReported",
    message: c?.message ?? null,
    source: check?.source
      ? `${check.source.kind} ${check.source.namespace}/${check.source.name}`
      : check?.image
        ? `Image ${check.image}`
        : null,
    chart: check?.chart ?? null,
    checkedAt: check?.checkedAt ?? null,
    policy: [
      policy.constraint ?? "any version",
      policy.prereleases ? "pre-releases included" : "no pre-releases",
    ].join(", "),
    constraint: policy.constraint ?? null,
    prereleases: policy.prereleases,
    autoUpdate: policy.autoUpdate,
    autoState: auto?.reason ?? null,
    autoMessage: auto?.message ?? null,
  };
}

export function renderUpdatesTable(
  apps: readonly UpdateSummary[],
  withNamespace: boolean,
  now: Date,
): string {
  // Cells hold no spaces (awk picks columns): the source as kind/namespace/name, the check's
  // age as kubectl prints ages, the policy as its constraint with "+pre" for pre-releases.
  const headers = ["name", "current", "available", "state", "source", "checked", "policy", "auto"];
  const rows = apps.map((a) => {
    const age = a.checkedAt ? between(a.checkedAt, now.toISOString()) : undefined;
    return [
      a.name,
      a.current ?? "-",
      a.available ?? "-",
      a.state,
      a.source?.replace(" ", "/") ?? "-",
      age !== undefined ? formatDuration(age) : "-",
      `${a.constraint ?? "any"}${a.prereleases ? "+pre" : ""}`,
      a.autoUpdate === "none" ? "none" : `${a.autoUpdate}/${a.autoState ?? "-"}`,
    ];
  });
  const table = withNamespace
    ? renderTable(
        ["namespace", ...headers],
        rows.map((row, i) => [apps[i]?.namespace ?? "", ...row]),
      )
    : renderTable(headers, rows);
  // Why an app is not checked matters more than a reason code: its message, one line per app.
  // So does what an automatic upgrade waits for, or which one runs.
  const who = (a: UpdateSummary) => `${withNamespace ? `${a.namespace}/` : ""}${a.name}`;
  const notes = apps.flatMap((a) => [
    ...(a.state !== "NewerVersion" && a.state !== "UpToDate" && a.message
      ? [`${who(a)}: ${a.message}`]
      : []),
    ...(a.autoUpdate !== "none" && a.autoMessage ? [`${who(a)}: auto: ${a.autoMessage}`] : []),
  ]);
  return notes.length > 0 ? `${table.trimEnd()}\n\n${notes.join("\n")}\n` : table;
}
