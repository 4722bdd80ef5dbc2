// Acting as a ServiceAccount lives with the harness (testbed/src/service-account.ts), which the
// demo uses too; this name stays for the tests that import it.
export * from "../../testbed/src/service-account.ts";
