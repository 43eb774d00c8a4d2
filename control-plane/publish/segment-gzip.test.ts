import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { gunzipSync } from "node:zlib";
import { gzipBound } from "../../proto/snapshot-codec.ts";
import { cutsAfter, payloadSegments, SegmentGzip, type SegmentEntry } from "./segment-gzip.ts";

/** A payload of a head, `entries` (as one buffer, each entry a view of it) and a tail. */
function assemble(head: Buffer, entries: readonly Buffer[], tail: Buffer) {
  const payload = Buffer.concat([head, ...entries, tail]);
  let at = head.length;
  const placed: (SegmentEntry & { id: string })[] = entries.map((e, i) => {
    const entry = { id: `t${i}`, at, len: e.length, cut: cutsAfter(`t${i}`) };
    at += e.length;
    return entry;
  });
  return { payload, placed };
}

/** Tenant-like entries: mostly repetitive text, some random bytes. */
function entries(n: number, seed: string): Buffer[] {
  return Array.from({ length: n }, (_, i) =>
    Buffer.concat([
      Buffer.from(`tenant ${seed}-${i} route /v1/${i} upstream http://up-${i}.test `),
      randomBytes(24),
    ]),
  );
}

test("a payload gzipped in segments inflates to itself, within the codec's bound, every segment boundary kept", async () => {
  for (const n of [0, 1, 7, 3000]) {
    const { payload, placed } = assemble(randomBytes(300), entries(n, "a"), randomBytes(40));
    const segments = payloadSegments(payload, placed);
    assert.equal(
      Buffer.concat(segments.map((s) => s.bytes)).compare(payload),
      0,
      "segments cover the payload",
    );
    for (const s of segments.slice(1, -2))
      assert.ok(s.bytes.byteLength >= 32 * 1024, "only the last run is short");
    const gzipped = await new SegmentGzip().gzip(payload, segments);
    assert.ok(gunzipSync(gzipped).equals(payload), `${n} entries`);
    assert.ok(gzipped.length <= gzipBound(payload.length));
  }
  // incompressible input: the stored blocks and flush markers still fit the bound
  const { payload, placed } = assemble(
    randomBytes(5),
    Array.from({ length: 4000 }, () => randomBytes(300)),
    Buffer.alloc(0),
  );
  const gzipped = await new SegmentGzip().gzip(payload, payloadSegments(payload, placed));
  assert.ok(gunzipSync(gzipped).equals(payload));
  assert.ok(gzipped.length <= gzipBound(payload.length), `${gzipped.length} > ${gzipBound(payload.length)}`);
});

test("the next version deflates again only the frame and the runs whose members changed", async () => {
  const list = entries(3000, "b");
  const gzip = new SegmentGzip();
  const first = assemble(randomBytes(100), list, randomBytes(10));
  const firstSegments = payloadSegments(first.payload, first.placed);
  await gzip.gzip(first.payload, firstSegments);
  assert.equal(gzip.deflated, firstSegments.length);

  // same members (the kept entries, in a payload with a longer head), one replaced in the middle
  const next = Buffer.concat([randomBytes(150), ...list, randomBytes(10)]);
  const members = first.placed.map((m) => {
    m.at += 50;
    return m;
  });
  members[1500] = { ...members[1500]!, id: "new" };
  const gzipped = await gzip.gzip(next, payloadSegments(next, members));
  assert.ok(gunzipSync(gzipped).equals(next));
  assert.equal(gzip.deflated, 3, "the head, the changed run, the tail");
});
