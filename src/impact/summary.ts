// What of an impact goes where: a bounded summary for status.plan.impact (dangerous objects
// first, then removed, changed, added), one preflight check per danger check, and the full
// per-object diff as gzipped JSON for a ConfigMap the request owns (well under the 1 MiB an
// object may hold; a diff that would not fit is cut at whole objects and says so).
import { gzipSync } from "node:zlib";
import {
  IMPACT_OBJECTS_MAX,
  type ImpactObject,
  type PlanImpact,
  type PreflightCheck,
} from "../api/index.ts";
import { DANGER_CHECKS, type Finding } from "./dangers.ts";
import type { Impact } from "./diff.ts";
import { type ObjectId, describeId, objectKey } from "./objects.ts";

export const DETAIL_KEY = "impact.json.gz";
/** Bytes of gzipped detail; leaves room in the ConfigMap for metadata and base64 framing. */
export const DETAIL_MAX_BYTES = 700 * 1024;

export function summarizeImpact(
  impact: Impact,
  findings: readonly Finding[],
  detailConfigMap: string | undefined,
): PlanImpact {
  const dangerous = new Set(findings.map((f) => objectKey(f.object)));
  const entry = (change: ImpactObject["change"], id: ObjectId): ImpactObject => ({
    change,
    group: id.group,
    kind: id.kind,
    namespace: id.namespace,
    name: id.name,
  });
  const all = [
    ...impact.removed.map((id) => entry("Removed", id)),
    ...impact.changed.map((c) => entry("Changed", c.id)),
    ...impact.added.map((a) => entry("Added", a.id)),
  ];
  const ordered = [
    ...all.filter((o) => dangerous.has(objectKey(o))),
    ...all.filter((o) => !dangerous.has(objectKey(o))),
  ];
  return {
    added: impact.added.length,
    changed: impact.changed.length,
    removed: impact.removed.length,
    unchanged: impact.unchanged,
    objects: ordered.slice(0, IMPACT_OBJECTS_MAX),
    ...(ordered.length > IMPACT_OBJECTS_MAX ? { truncated: true } : {}),
    ...(detailConfigMap ? { detailConfigMap } : {}),
  };
}

const MESSAGE_MAX = 1024;

/**
 * One preflight check per danger check. An unacknowledged finding fails its check; an
 * acknowledged one passes it, and the message still names every object.
 */
export function dangerChecks(
  findings: readonly Finding[],
  acknowledged: readonly string[],
): PreflightCheck[] {
  return DANGER_CHECKS.map((check) => {
    const mine = findings.filter((f) => f.check === check);
    if (mine.length === 0) return { name: check, passed: true, message: "none found" };
    const acked = acknowledged.includes(check);
    const head = acked
      ? `acknowledged (spec.acknowledgeDangers): `
      : `refused unless spec.acknowledgeDangers lists ${check}: `;
    let message = head + mine.map((f) => f.message).join("; ");
    if (message.length > MESSAGE_MAX) {
      const names = mine.map((f) => describeId(f.object)).join(", ");
      message = `${head}${mine.length} object(s): ${names}`.slice(0, MESSAGE_MAX);
    }
    return { name: check, passed: acked, message };
  });
}

export interface ImpactDetail {
  readonly impact: Impact;
  readonly findings: readonly Finding[];
  /** Objects left out to stay under the size limit. */
  readonly omitted: number;
}

/** The detail as gzipped JSON, dropping whole added objects' bodies first, then changes. */
export function encodeDetail(impact: Impact, findings: readonly Finding[]): Buffer {
  let detail: ImpactDetail = { impact, findings, omitted: 0 };
  let bytes = gzipSync(JSON.stringify(detail));
  if (bytes.length <= DETAIL_MAX_BYTES) return bytes;
  // Added objects carry whole bodies: the first thing to go, keeping their identities.
  detail = {
    impact: { ...impact, added: impact.added.map((a) => ({ id: a.id, object: {} })) },
    findings,
    omitted: impact.added.length,
  };
  bytes = gzipSync(JSON.stringify(detail));
  let changed = [...impact.changed];
  while (bytes.length > DETAIL_MAX_BYTES && changed.length > 0) {
    changed = changed.slice(0, Math.floor(changed.length / 2));
    detail = {
      impact: { ...detail.impact, changed },
      findings,
      omitted: impact.added.length + impact.changed.length - changed.length,
    };
    bytes = gzipSync(JSON.stringify(detail));
  }
  return bytes;
}
