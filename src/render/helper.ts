// Runs cairn-render, the rendering helper (go/render): one JSON request on stdin, one JSON
// answer on stdout. A render failure (a chart that does not template, a kustomize error) comes
// back as a message; a helper that cannot run, times out or answers garbage is a HelperError.
import { spawn } from "node:child_process";
import { z } from "zod";
import type { ValuesLayer } from "./values-from.ts";

export interface HelmRenderRequest {
  readonly chartPath: string;
  readonly releaseName: string;
  readonly namespace: string;
  readonly kubeVersion?: string;
  readonly valuesFrom?: readonly ValuesLayer[];
  readonly values?: Readonly<Record<string, unknown>>;
  /** The HelmRelease's post-render inputs: helm-controller's post-renderers run on the manifest
   *  (spec.postRenderers, spec.commonMetadata, and always its origin labels). */
  readonly helmRelease?: {
    readonly name: string;
    readonly namespace: string;
    readonly postRenderers?: readonly unknown[];
    readonly commonMetadata?: Readonly<Record<string, unknown>>;
  };
  /** For a chart folder in a Git tree: the tree. What the GitRepository's artifact leaves out
   *  (ignore, .sourceignore files, symlinks) is removed from it first. */
  readonly sourceRoot?: string;
  readonly ignore?: string;
  readonly sparseCheckout?: readonly string[];
  /** spec.chart.spec.valuesFiles, merged into the chart's defaults as source-controller does:
   *  paths in the chart, or in sourceRoot for a Git chart. */
  readonly valuesFiles?: readonly string[];
  readonly ignoreMissingValuesFiles?: boolean;
  /** SemVer build metadata Flux adds to the chart's version before rendering. */
  readonly versionMetadata?: string;
}

export interface KustomizeRenderRequest {
  /** The checked-out source tree at the target revision; the helper writes into it. */
  readonly root: string;
  readonly path: string;
  /** The Kustomization, postBuild.substituteFrom already folded into postBuild.substitute. */
  readonly kustomization: Readonly<Record<string, unknown>>;
  readonly strictSubstitutions?: boolean;
  /** The GitRepository's spec.ignore: with the tree's .sourceignore files, what the artifact
   *  (and so the build) leaves out; the helper removes those files from root first. */
  readonly ignore?: string;
  /** The GitRepository's spec.sparseCheckout: only these folders are in its artifact. */
  readonly sparseCheckout?: readonly string[];
}

export type RenderRequest =
  { readonly helm: HelmRenderRequest } | { readonly kustomize: KustomizeRenderRequest };

export type RenderResult =
  | { readonly ok: true; readonly manifest: string }
  | { readonly ok: false; readonly message: string };

export class HelperError extends Error {
  override readonly name = "HelperError";
}

const Answer = z.object({ manifest: z.string().optional(), error: z.string().optional() });

export interface HelperOptions {
  readonly path: string;
  readonly timeoutMs: number;
  /** Bytes of stdout accepted; a larger answer is an error, never a truncated manifest. */
  readonly maxOutputBytes: number;
}

export const DEFAULT_HELPER_LIMITS = { timeoutMs: 60_000, maxOutputBytes: 64 * 1024 * 1024 };

export function runHelper(options: HelperOptions, request: RenderRequest): Promise<RenderResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(options.path, [], {
      stdio: ["pipe", "pipe", "pipe"],
      timeout: options.timeoutMs,
      killSignal: "SIGKILL",
      // Only what Go needs: the helper gets no credentials from the controller's environment.
      env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: process.env["TMPDIR"] ?? "/tmp" },
    });
    const out: Buffer[] = [];
    let size = 0;
    let stderr = "";
    let overflow = false;
    child.stdout.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > options.maxOutputBytes) {
        overflow = true;
        child.kill("SIGKILL");
      } else out.push(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString("utf8");
    });
    child.on("error", (err) =>
      reject(new HelperError(`rendering helper ${options.path}: ${err.message}`)),
    );
    child.on("close", (code, signal) => {
      if (overflow) {
        reject(
          new HelperError(`rendering helper answered more than ${options.maxOutputBytes} bytes`),
        );
        return;
      }
      if (code !== 0) {
        const why = signal
          ? `was killed (${signal}; timeout ${options.timeoutMs} ms)`
          : `exited ${code}`;
        reject(new HelperError(`rendering helper ${why}: ${stderr.trim().slice(0, 512)}`));
        return;
      }
      let answer: z.infer<typeof Answer>;
      try {
        answer = Answer.parse(JSON.parse(Buffer.concat(out).toString("utf8")));
      } catch (err) {
        reject(new HelperError(`rendering helper answered no JSON: ${(err as Error).message}`));
        return;
      }
      if (answer.error !== undefined) resolve({ ok: false, message: answer.error });
      else resolve({ ok: true, manifest: answer.manifest ?? "" });
    });
    child.stdin.on("error", () => {
      // The helper exited before reading everything; "close" reports why.
    });
    child.stdin.end(JSON.stringify(request));
  });
}
