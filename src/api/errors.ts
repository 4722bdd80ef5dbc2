// Zod errors as one line a human can act on, each problem naming its field, in the style of the
// API server's messages: "spec.volumeSnapshots.retentionPolicy.maxCount: must be ≥ 0".
import type { z } from "zod";

type Issue = z.core.$ZodIssue;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** "spec.targetVersion.images[0].tag"; keys that are not identifiers go in brackets. */
export function fieldPath(path: readonly PropertyKey[], prefix = ""): string {
  let out = prefix;
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else {
      const key = String(segment);
      out += IDENTIFIER.test(key) ? (out === "" ? key : `.${key}`) : `[${key}]`;
    }
  }
  return out === "" ? "(root)" : out;
}

function isMissing(issue: Issue): boolean {
  // With { reportInput: true } the issue carries its input; without, zod's message says it.
  if ("input" in issue) return issue.input === undefined;
  return issue.message.endsWith("received undefined");
}

function bound(issue: { inclusive?: boolean | undefined }, strict: string, loose: string) {
  return issue.inclusive === false ? strict : loose;
}

const article = (word: string) => (/^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`);

/** What is wrong with the field, without the field's path. */
export function issueText(issue: Issue): string {
  switch (issue.code) {
    case "invalid_type":
      if (isMissing(issue)) return "required";
      return `must be ${article(issue.expected === "int" ? "integer" : issue.expected)}`;
    case "too_small": {
      const n = Number(issue.minimum);
      if (issue.origin === "string") {
        return n === 1 ? "must not be empty" : `must be at least ${n} characters long`;
      }
      if (issue.origin === "array" || issue.origin === "set") {
        return `must have at least ${n} item${n === 1 ? "" : "s"}`;
      }
      return `must be ${bound(issue, ">", "≥")} ${n}`;
    }
    case "too_big": {
      const n = Number(issue.maximum);
      if (issue.origin === "string") return `must be at most ${n} characters long`;
      if (issue.origin === "array" || issue.origin === "set") {
        return `must have at most ${n} item${n === 1 ? "" : "s"}`;
      }
      return `must be ${bound(issue, "<", "≤")} ${n}`;
    }
    case "invalid_value":
      return issue.values.length === 1
        ? `must be ${JSON.stringify(issue.values[0])}`
        : `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "invalid_format":
      // Cairn's patterns carry their own "must be …" messages.
      if (issue.format === "regex") return issue.message;
      if (issue.format === "datetime") return "must be an RFC 3339 timestamp";
      return `must be a valid ${issue.format}`;
    case "unrecognized_keys":
      return `unknown field${issue.keys.length === 1 ? "" : "s"} ${issue.keys.join(", ")}`;
    default:
      return issue.message;
  }
}

/** One "path: problem" per issue. The prefix names the root, e.g. "spec" for a parsed spec. */
export function describeIssues(error: z.ZodError, prefix = ""): string[] {
  return error.issues.map((issue) => `${fieldPath(issue.path, prefix)}: ${issueText(issue)}`);
}

/** All problems of a zod error on one line, for a condition message or a log. */
export function describeZodError(error: z.ZodError, prefix = ""): string {
  return describeIssues(error, prefix).join("; ");
}

export type Parsed<T> =
  | { readonly success: true; readonly data: T }
  | { readonly success: false; readonly message: string; readonly problems: readonly string[] };

/** safeParse with the problems described; the prefix names the root ("spec", or "" for objects). */
export function parseWithMessage<S extends z.ZodType>(
  schema: S,
  input: unknown,
  prefix = "",
): Parsed<z.output<S>> {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return { success: true, data: result.data };
  const problems = describeIssues(result.error, prefix);
  return { success: false, message: problems.join("; "), problems };
}
