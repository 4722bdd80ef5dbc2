import { execFile } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generatePki, subjectFor, type Pki } from "../../src/pki.ts";

const run = promisify(execFile);
const openssl = async (...args: string[]) => (await run("openssl", args)).stdout;

describe("generatePki", () => {
  let dir: string;
  let pki: Pki;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "pki-test-"));
    pki = await generatePki(dir, { commonName: "cairn-admin", organization: "system:masters" });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("signs both leaf certificates with the CA", async () => {
    const out = await openssl("verify", "-CAfile", pki.caCert, pki.apiserverCert, pki.adminCert);
    expect(out).toContain(`${pki.apiserverCert}: OK`);
    expect(out).toContain(`${pki.adminCert}: OK`);
  });

  it("serves only loopback names, for server auth", async () => {
    const text = await openssl("x509", "-in", pki.apiserverCert, "-noout", "-text");
    expect(text).toMatch(/IP Address:127\.0\.0\.1/);
    expect(text).toMatch(/DNS:localhost/);
    expect(text).toMatch(/TLS Web Server Authentication/);
  });

  it("puts the admin in system:masters, for client auth", async () => {
    const subject = await openssl("x509", "-in", pki.adminCert, "-noout", "-subject");
    expect(subject).toMatch(/CN\s*=\s*cairn-admin/);
    expect(subject).toMatch(/O\s*=\s*system:masters/);
    const text = await openssl("x509", "-in", pki.adminCert, "-noout", "-text");
    expect(text).toMatch(/TLS Web Client Authentication/);
  });

  it("writes a service-account key pair whose halves match", async () => {
    const fromPrivate = await openssl("rsa", "-in", pki.saKey, "-pubout");
    const publicKey = await openssl("rsa", "-pubin", "-in", pki.saPub);
    expect(fromPrivate.trim()).toBe(publicKey.trim());
  });

  it("keeps every private key readable by its owner only", async () => {
    for (const key of [pki.caKey, pki.apiserverKey, pki.adminKey, pki.saKey]) {
      expect(((await stat(key)).mode & 0o777).toString(8), key).toBe("600");
    }
  });

  it("gives the two leaves distinct serial numbers", async () => {
    const a = await openssl("x509", "-in", pki.apiserverCert, "-noout", "-serial");
    const b = await openssl("x509", "-in", pki.adminCert, "-noout", "-serial");
    expect(a).not.toBe(b);
  });
});

describe("subjectFor", () => {
  it("escapes separators so a name cannot add attributes", () => {
    expect(subjectFor({ commonName: "a/O=system:masters" })).toBe("/CN=a\\/O=system:masters");
    expect(subjectFor({ commonName: "u", organization: "g" })).toBe("/CN=u/O=g");
  });
});
