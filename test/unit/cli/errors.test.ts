import { describe, expect, it } from "vitest";
import { CliError, UsageError } from "../../../src/cli/errors.ts";
import { describeFailure } from "../../../src/cli/failure.ts";
import { KubeconfigError } from "../../../src/kube/client.ts";
import { KubeError, kubeErrorFromStatus } from "../../../src/kube/errors.ts";

const SERVER = "https://127.0.0.1:6443";

describe("describeFailure", () => {
  it("keeps the plugin's own messages, with their exit codes", () => {
    expect(describeFailure(new CliError('managedapp "x" not found'), SERVER)).toBe(
      'managedapp "x" not found',
    );
    expect(new UsageError("missing app").exitCode).toBe(2);
    expect(new CliError("refused").exitCode).toBe(1);
    expect(
      describeFailure(new KubeconfigError('context "prod" not found in the kubeconfig'), SERVER),
    ).toBe('context "prod" not found in the kubeconfig');
  });

  it("names the server and the root cause when the API cannot be reached", () => {
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6443"), {
      code: "ECONNREFUSED",
    });
    const err = new KubeError(
      "Transient",
      "list ManagedApp in shop: Failed to fetch resource metadata for cairn.dev/v1alpha1/ManagedApp: fetch failed",
      undefined,
      { cause: new TypeError("fetch failed", { cause: refused }) },
    );
    expect(describeFailure(err, SERVER)).toBe(
      "cannot reach the Kubernetes API at https://127.0.0.1:6443: connect ECONNREFUSED 127.0.0.1:6443",
    );
  });

  it("says which kind the cluster does not serve", () => {
    const unknownKind = new KubeError(
      "Transient",
      "list ManagedApp: Unrecognized API version and kind: cairn.dev/v1alpha1 ManagedApp",
    );
    expect(describeFailure(unknownKind, SERVER)).toBe(
      "the cluster at https://127.0.0.1:6443 does not serve cairn.dev/v1alpha1 ManagedApp; are its CRDs installed?",
    );
    const missingGroup = new KubeError(
      "NotFound",
      "list ManagedApp in shop: 404 page not found\n",
      404,
      {
        cause: new Error(
          "Failed to fetch resource metadata for cairn.dev/v1alpha1/ManagedApp: HTTP-Code: 404\nMessage: Unsuccessful HTTP Request",
        ),
      },
    );
    expect(describeFailure(missingGroup, SERVER)).toContain(
      "does not serve cairn.dev/v1alpha1 ManagedApp",
    );
  });

  it("puts API errors on one line", () => {
    const forbidden = kubeErrorFromStatus(
      403,
      { message: 'managedapps.cairn.dev is forbidden:\nUser "bob" cannot list' },
      "list ManagedApp in shop",
    );
    expect(describeFailure(forbidden, SERVER)).toBe(
      'list ManagedApp in shop: managedapps.cairn.dev is forbidden: User "bob" cannot list',
    );
    expect(describeFailure(kubeErrorFromStatus(401, {}, "list ManagedApp"), SERVER)).toBe(
      "the Kubernetes API at https://127.0.0.1:6443 rejected the credentials: list ManagedApp: HTTP 401",
    );
  });
});
