// The parts of metadata Cairn reads from its own objects.
import { z } from "zod";
import { Count, DnsLabel, Timestamp } from "./fields.ts";

/**
 * Metadata of a Cairn object. The CRDs restrict names to DNS labels (so a name fits a label
 * value and derived names stay short); other metadata fields are dropped on parse.
 */
export const ObjectMeta = z.object({
  name: DnsLabel,
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: Count.optional(),
  creationTimestamp: Timestamp.optional(),
  deletionTimestamp: Timestamp.optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  finalizers: z.array(z.string()).optional(),
});
export type ObjectMeta = z.infer<typeof ObjectMeta>;
