// Typed Git failures. Raw stderr from the git CLI (and from the ssh or curl under it) is turned
// into a GitError here, once, with every credential masked, before any caller, log or status
// message can see it.

export type GitErrorCode =
  | "auth"
  | "forbidden"
  | "not-found"
  | "network"
  | "non-fast-forward"
  | "conflict"
  | "timeout"
  | "invalid"
  | "failed";

export class GitError extends Error {
  readonly code: GitErrorCode;
  constructor(code: GitErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "GitError";
    this.code = code;
  }
}

export function isGitError(err: unknown, code?: GitErrorCode): err is GitError {
  return err instanceof GitError && (code === undefined || err.code === code);
}

// Order matters: a refused push also prints "failed to push", an SSH auth failure also prints
// "Could not read from remote repository", and a 403 may come with "Authentication failed".
const RULES: readonly (readonly [GitErrorCode, RegExp])[] = [
  ["non-fast-forward", /\[rejected\][^\n]*\((?:non-fast-forward|fetch first|stale info)\)/],
  ["non-fast-forward", /Updates were rejected because the (?:tip|remote|pushed branch tip)/],
  ["forbidden", /The requested URL returned error: 403/],
  ["forbidden", /\[remote rejected\][^\n]*(?:hook declined|protected branch|permission|denied)/i],
  ["forbidden", /Permission to \S+ denied/],
  ["forbidden", /Write access to repository not granted/],
  ["forbidden", /marked as read only|You are not allowed to push/],
  ["auth", /The requested URL returned error: 401/],
  ["auth", /could not read (?:Username|Password) for/],
  ["auth", /Authentication failed for/],
  ["auth", /Permission denied \((?:publickey|password|keyboard-interactive)[^)]*\)/],
  ["auth", /Host key verification failed/],
  ["auth", /Load key "[^"]*": /],
  ["not-found", /repository '[^']*' not found/i],
  ["not-found", /Repository not found/i],
  ["not-found", /The requested URL returned error: 404/],
  ["not-found", /does not appear to be a git repository/],
  ["not-found", /couldn't find remote ref/],
  ["not-found", /Not a valid (?:object|commit) name|bad object|unknown revision|not a tree object/],
  ["network", /Could not resolve host(?:name)?/],
  ["network", /Failed to connect to|Couldn't connect to server|Connection refused/],
  ["network", /Connection timed out|Operation timed out|Connection reset|Connection closed by/],
  ["network", /Network is unreachable|No route to host/],
  ["network", /The requested URL returned error: (?:429|5\d\d)/],
  ["network", /RPC failed|early EOF|unexpected disconnect|transfer closed/],
  ["network", /the remote end hung up unexpectedly/],
  ["conflict", /CONFLICT \(|Merge conflict in/],
  [
    "invalid",
    /not something we can merge|ambiguous argument|is not a valid|transport '[^']*' not allowed/,
  ],
];

/** The kind of failure git's stderr describes; "failed" when nothing more specific matches. */
export function classifyGitStderr(stderr: string): GitErrorCode {
  return decisive(stderr).code;
}

/** The failure's kind and the line that tells it (undefined when no rule matched). */
function decisive(stderr: string): { code: GitErrorCode; line: string | undefined } {
  for (const [code, pattern] of RULES) {
    const match = pattern.exec(stderr);
    if (match) {
      const start = stderr.lastIndexOf("\n", match.index) + 1;
      const end = stderr.indexOf("\n", match.index);
      return { code, line: stderr.slice(start, end < 0 ? undefined : end).trim() };
    }
  }
  return { code: "failed", line: undefined };
}

const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi;
const AUTH_HEADER = /(authorization:\s*)(?:(basic|bearer|token)\s+)?\S+/gi;

/**
 * Masks every credential in text: the given secrets wherever they appear, any userinfo in a URL
 * (a token often travels as the user name) and any Authorization header value.
 */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  // Longest first, so a secret that contains another is masked as a whole.
  const sorted = [...new Set(secrets.filter((s) => s !== ""))].sort((a, b) => b.length - a.length);
  for (const secret of sorted) out = out.split(secret).join("***");
  out = out.replace(URL_USERINFO, "$1***@");
  out = out.replace(AUTH_HEADER, (_m, prefix: string, scheme: string | undefined) =>
    scheme ? `${prefix}${scheme} ***` : `${prefix}***`,
  );
  return out;
}

const MAX_MESSAGE_LINES = 12;
const MAX_MESSAGE_CHARS = 1500;

/**
 * The lines of stderr worth showing a user: hints and ssh's warning banners are dropped, blank
 * lines squeezed, and the result bounded so a chatty failure cannot flood a status field.
 */
export function summarizeStderr(stderr: string): string {
  const lines = stderr
    .split(/\r?\n|\r/)
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== "" && !l.startsWith("hint:") && !/^@+$/.test(l));
  const kept = lines.slice(0, MAX_MESSAGE_LINES);
  if (lines.length > kept.length) kept.push(`… (${lines.length - kept.length} more lines)`);
  const text = kept.join("\n");
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}…` : text;
}

export interface GitFailure {
  /** What was attempted, e.g. "fetch main from https://host/repo.git". */
  readonly operation: string;
  readonly stderr: string;
  readonly exitCode: number;
  /** Credentials to mask, whatever shape they have in the text. */
  readonly secrets: readonly string[];
}

/**
 * A typed error from a failed git run; pure. The message leads with the line that decided the
 * kind (ssh's warning banners would otherwise push it out of view) and carries no credential.
 */
export function gitErrorFrom(failure: GitFailure, options?: ErrorOptions): GitError {
  const { code, line } = decisive(failure.stderr);
  const rest = summarizeStderr(
    line === undefined ? failure.stderr : failure.stderr.split(line).join(""),
  );
  const detail =
    [line, rest].filter((s) => s !== undefined && s !== "").join("\n") ||
    `exit code ${failure.exitCode}`;
  return new GitError(
    code,
    maskSecrets(`git ${failure.operation} failed: ${detail}`, failure.secrets),
    options,
  );
}
