// Equality-based label selectors ("a=b,c!=d,e,!f"), the subset Flux's --watch-label-selector
// users write. Parsed once from a flag; the API server does the filtering where it can, and
// `matches` answers the same question locally.

export type Requirement =
  | { readonly op: "=" | "!="; readonly key: string; readonly value: string }
  | { readonly op: "exists" | "!exists"; readonly key: string };

const KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export function parseLabelSelector(
  text: string,
): { ok: true; requirements: Requirement[] } | { ok: false; message: string } {
  const requirements: Requirement[] = [];
  for (const raw of text.split(",")) {
    const part = raw.trim();
    const m = /^(!?)([^=!]+)(?:(==|=|!=)(.*))?$/.exec(part);
    const key = m?.[2]?.trim() ?? "";
    if (!m || !KEY.test(key))
      return {
        ok: false,
        message: `"${part}" is not a label requirement (key=value, key!=value, key or !key)`,
      };
    if (m[3] === undefined) {
      requirements.push({ op: m[1] === "!" ? "!exists" : "exists", key });
      continue;
    }
    const value = (m[4] ?? "").trim();
    if (m[1] === "!" || !VALUE.test(value) || value.length > 63)
      return {
        ok: false,
        message: `"${part}" is not a label requirement (key=value, key!=value, key or !key)`,
      };
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
    }
  });
}
