/**
 * Runs admission stages in order, like a chain of interceptors: the first rejection wins, the
 * resources earlier stages took (concurrency slots) are released, and the headers earlier
 * stages added are kept unless the rejecting stage sets the same ones. When every stage admits,
 * the result merges their headers and shadow notes and returns one `release` for all of them.
 */
import type { Admit, AdmissionDecision } from "./decision.ts";

export type AdmissionStage<R> = { name: string; run: (request: R) => AdmissionDecision };

function once(releases: (() => void)[]): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    for (const release of releases.reverse()) release();
  };
}

export function composeAdmission<R>(stages: readonly AdmissionStage<R>[]): (request: R) => AdmissionDecision {
  return (request) => {
    const headers: Record<string, string> = {};
    const releases: (() => void)[] = [];
    const shadowed: NonNullable<Admit["shadowed"]> = [];
    const releaseAll = once(releases);
    for (const stage of stages) {
      let decision: AdmissionDecision;
      try {
        decision = stage.run(request);
      } catch (err) {
        releaseAll();
        throw err;
      }
      if (!decision.admit) {
        releaseAll();
        return { ...decision, headers: { ...headers, ...decision.headers } };
      }
      Object.assign(headers, decision.headers);
      if (decision.release) releases.push(decision.release);
      if (decision.shadowed) shadowed.push(...decision.shadowed);
    }
    const admitted: Admit = { admit: true };
    if (Object.keys(headers).length > 0) admitted.headers = headers;
    if (releases.length > 0) admitted.release = releaseAll;
    if (shadowed.length > 0) admitted.shadowed = shadowed;
    return admitted;
  };
}
