/**
 * Frames per second of one sync connection, counted in fixed one-second windows: a node over
 * the limit is closed (CORRAL_SYNC_FRAME_RATE). A real node sends a Status every few seconds
 * and an Ack or Nack per version, so the limit is far above honest traffic. Pure: the caller
 * passes the time.
 */
export class FrameRate {
  private readonly maxPerSecond: number;
  private windowStartMs = Number.NEGATIVE_INFINITY;
  private count = 0;

  constructor(maxPerSecond: number) {
    this.maxPerSecond = maxPerSecond;
  }

  /** Counts one frame at nowMs; false once the current second holds more than the limit. */
  allow(nowMs: number): boolean {
    if (nowMs - this.windowStartMs >= 1000 || nowMs < this.windowStartMs) {
      this.windowStartMs = nowMs;
      this.count = 0;
    }
    this.count++;
    return this.count <= this.maxPerSecond;
  }
}
