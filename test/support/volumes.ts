// Volume bytes on the test bed live with the harness (testbed/src/volumes.ts), which the demo
// uses too; this name stays for the tests that import it.
export * from "../../testbed/src/volumes.ts";
