// Git credentials from a Secret in the formats Flux's GitRepository uses (domain notes, §1.5),
// and the environment that hands them to the git CLI. Credentials reach git only through its
// environment: never argv (anyone on the node can read it in ps), never a config file in the
// repository, never a log line.
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { hasControlChar } from "./text.ts";

export type GitCredentials =
  | { readonly kind: "none" }
  | { readonly kind: "basic"; readonly username: string; readonly password: string }
  | { readonly kind: "bearer"; readonly token: string }
  | { readonly kind: "ssh"; readonly identity: string; readonly knownHosts: string };

export type CredentialsError =
  | { readonly code: "missing-key"; readonly key: string; readonly message: string }
  | { readonly code: "invalid-key"; readonly key: string; readonly message: string }
  | { readonly code: "unsupported"; readonly key: string; readonly message: string };

export type CredentialsResult =
  | { readonly ok: true; readonly credentials: GitCredentials }
  | { readonly ok: false; readonly error: CredentialsError };

/** Which transport the credentials are for; Flux picks the keys by the URL's scheme. */
export type GitTransport = "http" | "ssh";

export function transportOf(url: string): GitTransport | undefined {
  if (/^https?:\/\//i.test(url)) return "http";
  if (/^ssh:\/\//i.test(url)) return "ssh";
  return undefined;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const missing = (key: string, message: string): CredentialsResult => ({
  ok: false,
  error: { code: "missing-key", key, message },
});
const invalid = (key: string, message: string): CredentialsResult => ({
  ok: false,
  error: { code: "invalid-key", key, message },
});

type Decoded = { ok: true; values: Map<string, string> } | { ok: false; result: CredentialsResult };

function decodeAll(data: Readonly<Record<string, string>>): Decoded {
  const values = new Map<string, string>();
  for (const [key, encoded] of Object.entries(data)) {
    const compact = encoded.replace(/\s+/g, "");
    if (!BASE64.test(compact)) {
      return { ok: false, result: invalid(key, `key ${key} is not valid base64`) };
    }
    values.set(key, Buffer.from(compact, "base64").toString("utf8"));
  }
  return { ok: true, values };
}

function sshCredentials(values: Map<string, string>): CredentialsResult {
  const identity = values.get("identity");
  const knownHosts = values.get("known_hosts");
  if (!identity) return missing("identity", "an SSH Git URL needs the key identity (private key)");
  if (!knownHosts) {
    return missing("known_hosts", "an SSH Git URL needs the key known_hosts to verify the server");
  }
  // ssh reads the passphrase only from a terminal or an askpass program, and Cairn allows
  // neither: a prompt could hang a reconcile, and an askpass would put the secret in a file.
  if (values.get("password")) {
    return {
      ok: false,
      error: {
        code: "unsupported",
        key: "password",
        message: "passphrase-protected SSH keys are not supported; use a key without passphrase",
      },
    };
  }
  return { ok: true, credentials: { kind: "ssh", identity, knownHosts } };
}

function httpCredentials(values: Map<string, string>): CredentialsResult {
  const token = values.get("bearerToken");
  const username = values.get("username");
  const password = values.get("password");
  // Flux gives the bearer token precedence over basic auth.
  if (token) {
    // A CR or LF in a header value would let a Secret inject further HTTP headers.
    if (hasControlChar(token)) {
      return invalid("bearerToken", "key bearerToken contains a line break or control character");
    }
    return { ok: true, credentials: { kind: "bearer", token } };
  }
  if (password && !username) return missing("username", "key password needs the key username");
  if (username) {
    if (username.includes(":") || hasControlChar(username)) {
      return invalid("username", "key username must not contain ':' or control characters");
    }
    const pass = password ?? "";
    if (hasControlChar(pass)) {
      return invalid("password", "key password contains a line break or control character");
    }
    return { ok: true, credentials: { kind: "basic", username, password: pass } };
  }
  // A named Secret that holds no credential is a mistake (a wrong Secret, a typo in a key), not
  // a wish to push anonymously: that is what naming no Secret means.
  return missing(
    "username",
    `has none of the keys Cairn pushes with over http(s): username (with password) or bearerToken; found ${[...values.keys()].sort().join(", ") || "no keys"}`,
  );
}

/**
 * Credentials from a Secret's data (base64 values, as the API returns them). With a transport
 * the keys are picked as Flux picks them for that URL scheme; without one, an identity key means
 * SSH. A Secret with none of the keys (say only ca.crt) is an error: it names no credential.
 */
export function credentialsFromSecretData(
  data: Readonly<Record<string, string>>,
  transport?: GitTransport,
): CredentialsResult {
  const decoded = decodeAll(data);
  if (!decoded.ok) return decoded.result;
  const { values } = decoded;
  const ssh = transport === "ssh" || (transport === undefined && values.has("identity"));
  return ssh ? sshCredentials(values) : httpCredentials(values);
}

/** The forms a credential can take in git's or curl's output, for masking. */
export function secretsOf(credentials: GitCredentials): string[] {
  switch (credentials.kind) {
    case "none":
      return [];
    case "basic":
      return [credentials.password, basicToken(credentials.username, credentials.password)];
    case "bearer":
      return [credentials.token];
    case "ssh":
      return [credentials.identity];
  }
}

function basicToken(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`, "utf8").toString("base64");
}

/** git's http.extraHeader through GIT_CONFIG_COUNT/KEY/VALUE: config from the environment only. */
export function httpAuthEnv(credentials: GitCredentials): Record<string, string> {
  let header: string;
  switch (credentials.kind) {
    case "basic":
      header = `Authorization: Basic ${basicToken(credentials.username, credentials.password)}`;
      break;
    case "bearer":
      header = `Authorization: Bearer ${credentials.token}`;
      break;
    default:
      return {};
  }
  return {
    GIT_CONFIG_COUNT: "1",
    GIT_CONFIG_KEY_0: "http.extraHeader",
    GIT_CONFIG_VALUE_0: header,
  };
}

/** Single-quotes a word for the POSIX shell that runs GIT_SSH_COMMAND. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The ssh command line git runs: our key and known hosts only, no prompts, no agent. */
export function sshCommand(identityFile: string, knownHostsFile: string): string {
  return [
    "ssh",
    "-F",
    "/dev/null",
    "-i",
    shellQuote(identityFile),
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "IdentityAgent=none",
    "-o",
    `UserKnownHostsFile=${shellQuote(knownHostsFile)}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "UpdateHostKeys=no",
    "-o",
    "BatchMode=yes",
  ].join(" ");
}

export interface CredentialEnv {
  readonly env: Readonly<Record<string, string>>;
  /** Removes any file written for the credentials; safe to call twice. */
  readonly dispose: () => Promise<void>;
}

/**
 * The environment for one network call. SSH keys are written, mode 0600, into a fresh 0700
 * folder under tmpRoot, and removed by dispose().
 */
export async function credentialEnv(
  credentials: GitCredentials,
  tmpRoot: string,
): Promise<CredentialEnv> {
  if (credentials.kind !== "ssh") {
    return { env: httpAuthEnv(credentials), dispose: () => Promise.resolve() };
  }
  const dir = await mkdtemp(join(tmpRoot, "ssh-"));
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    await chmod(dir, 0o700);
    const identity = join(dir, "identity");
    const knownHosts = join(dir, "known_hosts");
    // OpenSSH rejects a private key file without its final newline ("invalid format").
    const withNewline = (s: string) => (s.endsWith("\n") ? s : `${s}\n`);
    await writeFile(identity, withNewline(credentials.identity), { mode: 0o600 });
    await writeFile(knownHosts, withNewline(credentials.knownHosts), { mode: 0o600 });
    return {
      env: { GIT_SSH_COMMAND: sshCommand(identity, knownHosts), GIT_SSH_VARIANT: "ssh" },
      dispose,
    };
  } catch (err) {
    await dispose();
    throw err;
  }
}
