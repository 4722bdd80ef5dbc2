// Generates the test bed's PKI with the openssl CLI: one CA that signs the API server's serving
// certificate and the client certificates, plus the service-account signing key pair.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface Pki {
  readonly caCert: string;
  readonly caKey: string;
  readonly apiserverCert: string;
  readonly apiserverKey: string;
  readonly adminCert: string;
  readonly adminKey: string;
  readonly saKey: string;
  readonly saPub: string;
}

export function pkiPaths(dir: string): Pki {
  return {
    caCert: join(dir, "ca.crt"),
    caKey: join(dir, "ca.key"),
    apiserverCert: join(dir, "apiserver.crt"),
    apiserverKey: join(dir, "apiserver.key"),
    adminCert: join(dir, "admin.crt"),
    adminKey: join(dir, "admin.key"),
    saKey: join(dir, "sa.key"),
    saPub: join(dir, "sa.pub"),
  };
}

export interface ClientIdentity {
  readonly commonName: string;
  readonly organization?: string;
}

/** The subject openssl expects for a client certificate; O becomes the Kubernetes group. */
export function subjectFor(id: ClientIdentity): string {
  const escape = (s: string) => s.replace(/[/\\]/g, (c) => `\\${c}`);
  return `/CN=${escape(id.commonName)}${id.organization ? `/O=${escape(id.organization)}` : ""}`;
}

/** Extension text for the serving certificate: loopback only, as every address here is. */
export const SERVING_EXTENSIONS =
  "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n";
export const CLIENT_EXTENSIONS = "extendedKeyUsage=clientAuth\n";

async function openssl(args: readonly string[]): Promise<void> {
  try {
    await run("openssl", args);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? "";
    throw new Error(`openssl ${args[0] ?? ""} failed: ${stderr.trim() || String(err)}`, {
      cause: err,
    });
  }
}

async function signedCert(
  dir: string,
  pki: Pki,
  name: string,
  subject: string,
  extensions: string,
): Promise<void> {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  await writeFile(ext, extensions);
  // Random serials instead of -CAcreateserial: the leaves are signed concurrently, and a shared
  // serial file would race.
  await openssl([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    subject,
    "-keyout",
    key,
    "-out",
    csr,
  ]);
  await openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    pki.caCert,
    "-CAkey",
    pki.caKey,
    "-set_serial",
    `0x${randomBytes(16).toString("hex")}`,
    "-days",
    "365",
    "-out",
    join(dir, `${name}.crt`),
    "-extfile",
    ext,
  ]);
}

/** Writes a fresh PKI into dir (which must exist) and returns its paths. Keys are mode 0600. */
export async function generatePki(dir: string, admin: ClientIdentity): Promise<Pki> {
  const pki = pkiPaths(dir);
  await openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "365",
    "-subj",
    "/CN=cairn-testbed-ca",
    "-keyout",
    pki.caKey,
    "-out",
    pki.caCert,
  ]);
  // The two leaf certificates and the SA key are independent; generate them concurrently.
  await Promise.all([
    signedCert(dir, pki, "apiserver", "/CN=kube-apiserver", SERVING_EXTENSIONS),
    signedCert(dir, pki, "admin", subjectFor(admin), CLIENT_EXTENSIONS),
    (async () => {
      await openssl(["genrsa", "-out", pki.saKey, "2048"]);
      await openssl(["rsa", "-in", pki.saKey, "-pubout", "-out", pki.saPub]);
    })(),
  ]);
  await Promise.all(
    [pki.caKey, pki.apiserverKey, pki.adminKey, pki.saKey].map((k) => chmod(k, 0o600)),
  );
  return pki;
}
