// Kubernetes resource quantities ("1Gi", "500M", "1e3") as bytes, for size comparisons.

const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const DECIMAL: Record<string, number> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

/** Parses a quantity into a whole number of bytes (rounded up, as the API server does), or
 *  undefined when the text is not a quantity. */
export function parseQuantity(text: string): number | undefined {
  const m =
    /^([+-]?\d+(?:\.\d+)?|[+-]?\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei)|([kMGTPE]?)|[eE]([+-]?\d+))$/.exec(
      text.trim(),
    );
  if (!m) return undefined;
  const value = Number(m[1]);
  const factor = m[2]
    ? BINARY[m[2]]
    : m[4] !== undefined
      ? 10 ** Number(m[4])
      : DECIMAL[m[3] ?? ""];
  if (factor === undefined || !Number.isFinite(value)) return undefined;
  return Math.ceil(value * factor);
}
