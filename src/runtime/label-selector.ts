// Label selectors as kubectl and Flux's --watch-label-selector take them: equality-based
// ("a=b,c!=d,e,!f") and set-based ("tier in (a,b)", "tier notin (c)"), the forms Flux's sharding
// guide uses. Parsed once from a flag; the API server does the filtering where it can, and
// `matches` answers the same question locally (requests are matched through their app's labels).

export type Requirement =
  | { readonly op: "=" | "!="; readonly key: string; readonly value: string }
  | { readonly op: "in" | "notin"; readonly key: string; readonly values: readonly string[] }
  | { readonly op: "exists" | "!exists"; readonly key: string };

const KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const FORMS = "key=value, key!=value, key in (v1,v2), key notin (v1,v2), key or !key";

const validValue = (value: string) => VALUE.test(value) && value.length <= 63;

/** Splits on the commas that separate requirements, not those inside a set's parentheses. */
function splitRequirements(text: string): string[] | undefined {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    if (depth < 0 || depth > 1) return undefined;
    if (c === "," && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0) return undefined;
  parts.push(text.slice(start));
  return parts;
}

export function parseLabelSelector(
  text: string,
): { ok: true; requirements: Requirement[] } | { ok: false; message: string } {
  const requirements: Requirement[] = [];
  const refuse = (part: string) => ({
    ok: false as const,
    message: `"${part}" is not a label requirement (${FORMS})`,
  });
  const parts = splitRequirements(text);
  if (!parts) return refuse(text);
  for (const raw of parts) {
    const part = raw.trim();
    const set = /^([^\s=!(),]+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(part);
    if (set) {
      const key = set[1] ?? "";
      const values = (set[3] ?? "").split(",").map((v) => v.trim());
      // kubectl refuses an empty set: "key in ()" selects nothing and is always a typo.
      if (!KEY.test(key) || values.some((v) => v === "" || !validValue(v))) return refuse(part);
      requirements.push({
        op: set[2] === "in" ? "in" : "notin",
        key,
        values: [...new Set(values)],
      });
      continue;
    }
    const m = /^(!?)([^=!()]+)(?:(==|=|!=)(.*))?$/.exec(part);
    const key = m?.[2]?.trim() ?? "";
    if (!m || !KEY.test(key)) return refuse(part);
    if (m[3] === undefined) {
      requirements.push({ op: m[1] === "!" ? "!exists" : "exists", key });
      continue;
    }
    const value = (m[4] ?? "").trim();
    if (m[1] === "!" || !validValue(value)) return refuse(part);
    requirements.push({ op: m[3] === "!=" ? "!=" : "=", key, value });
  }
  return { ok: true, requirements };
}

export function matches(
  requirements: readonly Requirement[],
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  const l = labels ?? {};
  return requirements.every((r) => {
    const has = Object.hasOwn(l, r.key);
    switch (r.op) {
      case "exists":
        return has;
      case "!exists":
        return !has;
      case "=":
        return l[r.key] === r.value;
      case "!=":
        return l[r.key] !== r.value;
      case "in":
        return has && r.values.includes(l[r.key] ?? "");
      case "notin":
        // As in Kubernetes: a missing label is "not in" any set.
        return !has || !r.values.includes(l[r.key] ?? "");
    }
  });
}
