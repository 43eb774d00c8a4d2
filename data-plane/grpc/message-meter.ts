/**
 * Counts the length-prefixed messages of a gRPC stream as its bytes pass through, in chunks cut
 * anywhere, and refuses a message declared larger than a limit (pure; bytes are never copied).
 * Each message is 1 flag byte, a 4-byte big-endian length, then that many bytes.
 */
const PREFIX_BYTES = 5;

export type MeterResult = { ok: true } | { ok: false; declaredBytes: number };

export class MessageMeter {
  readonly maxMessageBytes: number;
  /** complete message prefixes seen */
  messages = 0;
  /** bytes of the current prefix seen so far (0 to 5) */
  private prefixSeen = 0;
  private length = 0;
  /** payload bytes of the current message still to come */
  private payloadLeft = 0;

  constructor(maxMessageBytes: number) {
    this.maxMessageBytes = maxMessageBytes;
  }

  feed(chunk: Uint8Array): MeterResult {
    let i = 0;
    while (i < chunk.length) {
      if (this.payloadLeft > 0) {
        const take = Math.min(this.payloadLeft, chunk.length - i);
        this.payloadLeft -= take;
        i += take;
        continue;
      }
      const byte = chunk[i++]!;
      // byte 0 is the compressed flag; bytes 1-4 the length
      if (this.prefixSeen > 0) this.length = this.length * 256 + byte;
      if (++this.prefixSeen < PREFIX_BYTES) continue;
      const declared = this.length;
      this.prefixSeen = 0;
      this.length = 0;
      this.messages++;
      if (declared > this.maxMessageBytes) return { ok: false, declaredBytes: declared };
      this.payloadLeft = declared;
    }
    return { ok: true };
  }
}
