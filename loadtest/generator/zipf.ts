/**
 * Zipf-like spread of a total request rate over `tenants` tenants: tenant i (0-based)
 * gets a share proportional to 1 / (i + 1)^exponent. exponent 0 is an even spread;
 * about 1 is the classic "a few tenants carry most of the traffic". Pure.
 * The result sums to `totalRate` (up to floating-point rounding).
 */
export function zipfRates(totalRate: number, tenants: number, exponent = 1): number[] {
  if (!Number.isFinite(totalRate) || totalRate < 0)
    throw new RangeError(`totalRate must be >= 0, got ${totalRate}`);
  if (!Number.isInteger(tenants) || tenants < 1)
    throw new RangeError(`tenants must be an integer >= 1, got ${tenants}`);
  if (!Number.isFinite(exponent) || exponent < 0)
    throw new RangeError(`exponent must be >= 0, got ${exponent}`);
  const weights = Array.from({ length: tenants }, (_, i) => 1 / (i + 1) ** exponent);
  const sum = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => (totalRate * w) / sum);
}
