// Cairn's API: group and kinds, field formats, conditions, and the zod schemas of its kinds
// (each mirrors a CRD in crds/; test/unit/api/crd-schema-agreement.test.ts proves they agree).
export * from "./conditions.ts";
export * from "./errors.ts";
export * from "./fields.ts";
export * from "./group.ts";
export * from "./managedapp.ts";
export * from "./meta.ts";
export * from "./request-status.ts";
export * from "./rollbackrequest.ts";
export * from "./suspension-holders.ts";
export * from "./upgraderequest.ts";
