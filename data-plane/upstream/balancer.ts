/**
 * Which target of an upstream takes the next exchange, per node. Pure: the target views (from
 * the down list) and the randomness are injected.
 *
 *  1. A half-open target (its ejection time is up, no probe in flight) takes this exchange as
 *     its one probe: without traffic an ejected target could never prove it is back.
 *  2. Otherwise power of two choices over least outstanding requests: draw one target with
 *     probability proportional to its effective weight, draw a second one the same way from the
 *     others, and take the one with fewer outstanding exchanges per unit of weight (the first on
 *     a tie). Effective weight = configured weight × slow-start ramp (10 % → 100 %).
 *     Idle targets therefore get traffic in proportion to their weights, busy ones shed it to
 *     the others in proportion to how far behind they are.
 *  3. Every target down: none (the caller answers 503 circuit_open; nothing is queued).
 *
 * Why least outstanding rather than peak EWMA latency: outstanding counts react within one
 * request to a target that slows down (its exchanges pile up), need no decay constant to tune,
 * and work the same for short unary calls and long streams; latency would have to be measured
 * per target on a loaded machine where the node's own event loop adds noise.
 */
import type { TargetView } from "./down-list.ts";

export interface Candidate {
  readonly weight: number;
  readonly view: TargetView;
}

/** The index of the target to use, or -1 when every one is down. */
export function pickTarget(candidates: readonly Candidate[], random: () => number): number {
  let probes = 0;
  let upWeight = 0;
  for (const c of candidates) {
    if (c.view.availability === "probe") probes++;
    else if (c.view.availability === "up") upWeight += effectiveWeight(c);
  }
  if (probes > 0) return nth(candidates, Math.floor(random() * probes), "probe");
  if (upWeight === 0) return candidates.findIndex((c) => c.view.availability === "up");
  const first = draw(candidates, random() * upWeight, -1);
  const rest = upWeight - effectiveWeight(candidates[first]!);
  if (rest <= 0) return first;
  const second = draw(candidates, random() * rest, first);
  return load(candidates[second]!) < load(candidates[first]!) ? second : first;
}

function effectiveWeight(c: Candidate): number {
  return c.weight * c.view.ramp;
}

function load(c: Candidate): number {
  return c.view.outstanding / effectiveWeight(c);
}

/** The up target where `point` falls on the line of their weights (`skip` left out). */
function draw(candidates: readonly Candidate[], point: number, skip: number): number {
  let last = -1;
  // indexed loops here and in nth: an entries() iterator and its pairs per request cost more than the draw
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i]!;
    if (i === skip || c.view.availability !== "up") continue;
    last = i;
    point -= effectiveWeight(c);
    if (point < 0) return i;
  }
  return last;
}

function nth(candidates: readonly Candidate[], n: number, availability: TargetView["availability"]): number {
  for (let i = 0; i < candidates.length; i++)
    if (candidates[i]!.view.availability === availability && n-- === 0) return i;
  return -1;
}

/**
 * The candidates with the `excluded` ones (the targets a retry already tried) out of rotation,
 * as long as another one is up or half-open; otherwise the candidates as they are (a retry may
 * then go back to a tried target rather than nowhere).
 */
export function excluding(
  candidates: readonly Candidate[],
  excluded: (index: number) => boolean,
): readonly Candidate[] {
  const another = candidates.some((c, i) => !excluded(i) && c.view.availability !== "down");
  if (!another) return candidates;
  return candidates.map((c, i) =>
    excluded(i) ? { weight: c.weight, view: { ...c.view, availability: "down" as const } } : c,
  );
}
