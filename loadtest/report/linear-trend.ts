/**
 * Small pure statistics for judging a trend: an ordinary least-squares line through
 * (x, y) points and the confidence interval of its slope from Student's t distribution.
 *
 * Samples of a process's memory once a second are not independent (the heap fills and
 * is collected over many seconds), and the plain OLS interval would then be far too
 * narrow: with thousands of samples any wobble would look significant. `slopeInterval`
 * therefore widens the interval for lag-1 autocorrelation of the residuals (an AR(1)
 * model): the effective number of points is n·(1 − r)/(1 + r) (r ≥ 0), and both the
 * standard error and the degrees of freedom use it (Santer et al., 2000,
 * "Statistical significance of trends and trend differences in layer-average
 * atmospheric temperature time series").
 */

export type LinearFit = {
  n: number;
  slope: number;
  intercept: number;
  meanX: number;
  meanY: number;
  /** residual standard deviation, n − 2 degrees of freedom */
  residualSd: number;
  /** standard error of the slope, assuming independent residuals */
  slopeStdErr: number;
  /** lag-1 autocorrelation of the residuals (in x order); 0 with fewer than 3 points */
  lag1Autocorrelation: number;
};

/** The least-squares line y = intercept + slope·x. Needs ≥ 3 points and x not all equal. */
export function linearFit(xs: readonly number[], ys: readonly number[]): LinearFit {
  const n = xs.length;
  if (n !== ys.length) throw new Error(`linearFit: ${n} x values but ${ys.length} y values`);
  if (n < 3) throw new Error(`linearFit: needs at least 3 points, got ${n}`);
  let sumX = 0;
  let sumY = 0;
  for (let i = 0; i < n; i++) {
    sumX += xs[i]!;
    sumY += ys[i]!;
  }
  const meanX = sumX / n;
  const meanY = sumY / n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - meanX;
    sxx += dx * dx;
    sxy += dx * (ys[i]! - meanY);
  }
  if (sxx === 0) throw new Error("linearFit: every x is the same");
  const slope = sxy / sxx;
  const intercept = meanY - slope * meanX;
  const residuals = ys.map((y, i) => y - (intercept + slope * xs[i]!));
  const sse = residuals.reduce((a, r) => a + r * r, 0);
  const residualSd = Math.sqrt(sse / (n - 2));
  return {
    n,
    slope,
    intercept,
    meanX,
    meanY,
    residualSd,
    slopeStdErr: residualSd / Math.sqrt(sxx),
    lag1Autocorrelation: lag1(residuals, sse),
  };
}

function lag1(residuals: readonly number[], sse: number): number {
  if (sse === 0) return 0;
  let s = 0;
  for (let i = 1; i < residuals.length; i++) s += residuals[i]! * residuals[i - 1]!;
  return s / sse;
}

export type SlopeInterval = {
  slope: number;
  low: number;
  high: number;
  confidence: number;
  /** points after the autocorrelation correction (= n when it is off or r ≤ 0) */
  effectiveN: number;
  degreesOfFreedom: number;
  /** standard error used for the interval (widened by √((n − 2)/(nEff − 2))) */
  stdErr: number;
};

/**
 * The two-sided `confidence` interval of the slope. With `autocorrelation` (default) the
 * effective sample size shrinks for positively correlated residuals; it never goes
 * below 3 (one degree of freedom: the widest interval Student's t gives).
 */
export function slopeInterval(
  fit: LinearFit,
  options: { confidence?: number; autocorrelation?: boolean } = {},
): SlopeInterval {
  const confidence = options.confidence ?? 0.95;
  const r = options.autocorrelation === false ? 0 : Math.max(0, Math.min(0.999, fit.lag1Autocorrelation));
  const effectiveN = Math.max(3, (fit.n * (1 - r)) / (1 + r));
  const degreesOfFreedom = effectiveN - 2;
  const stdErr = fit.slopeStdErr * Math.sqrt((fit.n - 2) / degreesOfFreedom);
  const half = studentTQuantile(1 - (1 - confidence) / 2, degreesOfFreedom) * stdErr;
  return {
    slope: fit.slope,
    low: fit.slope - half,
    high: fit.slope + half,
    confidence,
    effectiveN,
    degreesOfFreedom,
    stdErr,
  };
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; ~15 significant digits). */
export function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the regularized incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2)
    ? (front * betaContinuedFraction(a, b, x)) / a
    : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(T ≤ t) for Student's t with `df` (> 0, not necessarily whole) degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The p-quantile (0 < p < 1) of Student's t with `df` degrees of freedom (bisection). */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`studentTQuantile: p must be in (0, 1), got ${p}`);
  if (!(df > 0)) throw new Error(`studentTQuantile: df must be > 0, got ${df}`);
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let low = 0;
  let high = 1;
  while (studentTCdf(high, df) < p) high *= 2;
  for (let i = 0; i < 200 && high - low > 1e-12 * Math.max(1, high); i++) {
    const mid = (low + high) / 2;
    if (studentTCdf(mid, df) < p) low = mid;
    else high = mid;
  }
  return (low + high) / 2;
}

export type BlockSlopeInterval = SlopeInterval & {
  /** blocks that held samples: the points the line went through */
  blocks: number;
  /** lag-1 autocorrelation of the block means' residuals (the interval is widened for it when > 0) */
  blockAutocorrelation: number;
};

/**
 * The slope of y over x and its interval, judged on block means ("batch means"): x's
 * range is cut into `blocks` equal spans, each span's samples are averaged (x and y), and
 * the line goes through those means; its interval has the blocks' degrees of freedom,
 * widened further for lag-1 autocorrelation left between the block means.
 *
 * Why not the per-sample fit with its AR(1) correction: memory series are not AR(1). Old
 * space and malloc arenas grow in steps and stay there for tens of minutes; a lag-1
 * correction sees only the short memory of the noise around the steps, counts thousands
 * of nearly independent points and gives an interval so narrow that one step reads as a
 * significant slope. Averaging over spans long against the sawtooth of the GC keeps what
 * moves over the run (a leak: the block means rise one after another) and leaves a
 * handful of honest points, so a step is one point off the line, not thousands.
 * (Schmeiser, 1982, "Batch size effects in the analysis of simulation output": 10 to 30
 * batches.) Needs ≥ 3 non-empty blocks.
 */
export function blockSlopeInterval(
  xs: readonly number[],
  ys: readonly number[],
  options: { blocks?: number; confidence?: number } = {},
): BlockSlopeInterval {
  const { bx, by } = blockMeans(xs, ys, options.blocks ?? 10);
  if (bx.length < 3)
    throw new Error(`blockSlopeInterval: needs at least 3 non-empty blocks, got ${bx.length}`);
  const fit = linearFit(bx, by);
  return {
    ...slopeInterval(fit, { confidence: options.confidence }),
    blocks: bx.length,
    blockAutocorrelation: fit.lag1Autocorrelation,
  };
}

/** Means of x and y over `blocks` equal spans of x; empty spans are left out. */
export function blockMeans(
  xs: readonly number[],
  ys: readonly number[],
  blocks: number,
): { bx: number[]; by: number[] } {
  if (xs.length !== ys.length) throw new Error(`blockMeans: ${xs.length} x values but ${ys.length} y values`);
  if (!(Number.isInteger(blocks) && blocks >= 3))
    throw new Error(`blockMeans: blocks must be an integer ≥ 3, got ${blocks}`);
  let min = Infinity;
  let max = -Infinity;
  for (const x of xs) {
    if (x < min) min = x;
    if (x > max) max = x;
  }
  const width = (max - min) / blocks;
  const sums = Array.from({ length: blocks }, () => ({ n: 0, x: 0, y: 0 }));
  for (let i = 0; i < xs.length; i++) {
    const index = width > 0 ? Math.min(blocks - 1, Math.floor((xs[i]! - min) / width)) : 0;
    const s = sums[index]!;
    s.n++;
    s.x += xs[i]!;
    s.y += ys[i]!;
  }
  const bx: number[] = [];
  const by: number[] = [];
  for (const s of sums) {
    if (s.n === 0) continue;
    bx.push(s.x / s.n);
    by.push(s.y / s.n);
  }
  return { bx, by };
}
