// Machine-readable output (-o json|yaml): the same document either way, always ending in a newline.
import { stringify } from "yaml";

export type OutputFormat = "table" | "json" | "yaml";

export const OUTPUT_FORMATS: readonly OutputFormat[] = ["table", "json", "yaml"];

export function isOutputFormat(value: string): value is OutputFormat {
  return (OUTPUT_FORMATS as readonly string[]).includes(value);
}

export function serialize(value: unknown, format: "json" | "yaml"): string {
  return format === "json" ? `${JSON.stringify(value, null, 2)}\n` : stringify(value);
}
