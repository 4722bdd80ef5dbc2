// The kustomize subset lives with the harness (testbed/src/kustomize.ts), which runs Cairn for
// the demo as well as for tests; this name stays for the tests that import it.
export * from "../../testbed/src/kustomize.ts";
