import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  credentialEnv,
  credentialsFromSecretData,
  httpAuthEnv,
  secretsOf,
  shellQuote,
  sshCommand,
  transportOf,
} from "../../../src/git/credentials.ts";

/** Secret.data as the API returns it: every value base64. */
function data(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values).map(([k, v]) => [k, Buffer.from(v).toString("base64")]),
  );
}

const KEY =
  "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n-----END OPENSSH PRIVATE KEY-----";
const KNOWN_HOSTS = "git.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEMiUOw7fGuMYhH";

describe("credentialsFromSecretData", () => {
  it("reads basic auth", () => {
    expect(credentialsFromSecretData(data({ username: "cairn", password: "pw" }))).toEqual({
      ok: true,
      credentials: { kind: "basic", username: "cairn", password: "pw" },
    });
  });

  it("gives the bearer token precedence, as Flux does", () => {
    expect(
      credentialsFromSecretData(data({ bearerToken: "tok", username: "u", password: "p" })),
    ).toEqual({ ok: true, credentials: { kind: "bearer", token: "tok" } });
  });

  it("accepts a username without password (token-as-username hosts)", () => {
    expect(credentialsFromSecretData(data({ username: "ghp_token" }))).toEqual({
      ok: true,
      credentials: { kind: "basic", username: "ghp_token", password: "" },
    });
  });

  it("names the missing key", () => {
    expect(credentialsFromSecretData(data({ password: "p" }))).toEqual({
      ok: false,
      error: { code: "missing-key", key: "username", message: expect.any(String) as string },
    });
    expect(credentialsFromSecretData(data({ identity: KEY }))).toMatchObject({
      ok: false,
      error: { code: "missing-key", key: "known_hosts" },
    });
    expect(credentialsFromSecretData(data({ known_hosts: KNOWN_HOSTS }), "ssh")).toMatchObject({
      ok: false,
      error: { code: "missing-key", key: "identity" },
    });
  });

  it("reads SSH keys, picked by the identity key or by the transport", () => {
    const secret = data({
      identity: KEY,
      "identity.pub": "ssh-ed25519 AAAA",
      known_hosts: KNOWN_HOSTS,
    });
    const expected = {
      ok: true,
      credentials: { kind: "ssh", identity: KEY, knownHosts: KNOWN_HOSTS },
    };
    expect(credentialsFromSecretData(secret)).toEqual(expected);
    expect(credentialsFromSecretData(secret, "ssh")).toEqual(expected);
  });

  it("uses the keys of the URL's transport when a Secret holds both kinds", () => {
    const both = data({ identity: KEY, known_hosts: KNOWN_HOSTS, username: "u", password: "p" });
    expect(credentialsFromSecretData(both, "http")).toMatchObject({
      credentials: { kind: "basic" },
    });
  });

  it("refuses passphrase-protected keys", () => {
    expect(
      credentialsFromSecretData(data({ identity: KEY, known_hosts: KNOWN_HOSTS, password: "x" })),
    ).toMatchObject({ ok: false, error: { code: "unsupported", key: "password" } });
  });

  it("refuses a Secret without any credential key (a CA only, or a typo), naming what it has", () => {
    expect(credentialsFromSecretData(data({ "ca.crt": "-----BEGIN CERTIFICATE-----" }))).toEqual({
      ok: false,
      error: {
        code: "missing-key",
        key: "username",
        message:
          "has none of the keys Cairn pushes with over http(s): username (with password) or bearerToken; found ca.crt",
      },
    });
    expect(credentialsFromSecretData(data({ usrename: "cairn", password: "pw" }))).toMatchObject({
      ok: false,
      error: { code: "missing-key", key: "username" },
    });
    expect(credentialsFromSecretData({})).toMatchObject({ ok: false });
  });

  it("refuses values that would break the header or are not base64", () => {
    expect(credentialsFromSecretData(data({ bearerToken: "tok\r\nX-Evil: 1" }))).toMatchObject({
      error: { code: "invalid-key", key: "bearerToken" },
    });
    expect(credentialsFromSecretData(data({ username: "a:b", password: "p" }))).toMatchObject({
      error: { code: "invalid-key", key: "username" },
    });
    expect(credentialsFromSecretData({ username: "not base64!" })).toMatchObject({
      error: { code: "invalid-key", key: "username" },
    });
  });
});

describe("transportOf", () => {
  it.each([
    ["https://github.com/o/r.git", "http"],
    ["http://127.0.0.1:1/r.git", "http"],
    ["ssh://git@github.com/o/r.git", "ssh"],
    ["git@github.com:o/r.git", undefined],
    ["file:///tmp/r.git", undefined],
  ])("%s → %s", (url, transport) => {
    expect(transportOf(url)).toBe(transport);
  });
});

describe("httpAuthEnv", () => {
  it("passes basic auth as an extra header through GIT_CONFIG_* variables", () => {
    expect(httpAuthEnv({ kind: "basic", username: "cairn", password: "pw" })).toEqual({
      GIT_CONFIG_COUNT: "1",
      GIT_CONFIG_KEY_0: "http.extraHeader",
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from("cairn:pw").toString("base64")}`,
    });
  });

  it("passes a bearer token the same way, and nothing without credentials", () => {
    expect(httpAuthEnv({ kind: "bearer", token: "tok" })).toMatchObject({
      GIT_CONFIG_VALUE_0: "Authorization: Bearer tok",
    });
    expect(httpAuthEnv({ kind: "none" })).toEqual({});
  });
});

describe("secretsOf", () => {
  it("lists every form a basic credential takes on the wire", () => {
    expect(secretsOf({ kind: "basic", username: "u", password: "p" })).toEqual([
      "p",
      Buffer.from("u:p").toString("base64"),
    ]);
    expect(secretsOf({ kind: "none" })).toEqual([]);
  });
});

describe("sshCommand", () => {
  it("pins the key and known hosts, with strict checking and no prompts", () => {
    const command = sshCommand("/tmp/a b/id", "/tmp/a b/kh");
    expect(command).toContain("-i '/tmp/a b/id'");
    expect(command).toContain("UserKnownHostsFile='/tmp/a b/kh'");
    expect(command).toContain("StrictHostKeyChecking=yes");
    expect(command).toContain("BatchMode=yes");
    expect(command).toContain("IdentitiesOnly=yes");
    expect(command).toContain("-F /dev/null");
  });

  it("quotes single quotes for the shell", () => {
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });
});

describe("credentialEnv", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "cairn-cred-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("writes SSH key files readable by the owner only, and removes them on dispose", async () => {
    const env = await credentialEnv({ kind: "ssh", identity: KEY, knownHosts: KNOWN_HOSTS }, root);
    const command = env.env["GIT_SSH_COMMAND"] ?? "";
    const identity = /-i '([^']+)'/.exec(command)?.[1] ?? "";
    const knownHosts = /UserKnownHostsFile='([^']+)'/.exec(command)?.[1] ?? "";
    expect(identity.startsWith(root)).toBe(true);
    expect((await stat(identity)).mode & 0o777).toBe(0o600);
    expect((await stat(knownHosts)).mode & 0o777).toBe(0o600);
    expect((await stat(join(identity, ".."))).mode & 0o777).toBe(0o700);
    // OpenSSH needs the key's final newline.
    expect(await readFile(identity, "utf8")).toBe(`${KEY}\n`);
    expect(command).not.toContain("OPENSSH PRIVATE KEY");
    await env.dispose();
    await expect(stat(identity)).rejects.toThrow();
  });

  it("writes nothing for HTTP credentials", async () => {
    const env = await credentialEnv({ kind: "bearer", token: "tok" }, root);
    expect(env.env["GIT_CONFIG_VALUE_0"]).toBe("Authorization: Bearer tok");
    await env.dispose();
  });
});
