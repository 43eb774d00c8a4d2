import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  listenChanges,
  messageSql,
  notificationChannel,
  PROTOCOL_V3,
  SSL_REQUEST_CODE,
  typedMessage,
  WireError,
  WireFramer,
} from "../../bin/dev/pg-wire.ts";

function untyped(code: number, body: Uint8Array = new Uint8Array(0)): Buffer {
  const out = Buffer.alloc(8 + body.length);
  out.writeInt32BE(8 + body.length, 0);
  out.writeInt32BE(code, 4);
  out.set(body, 8);
  return out;
}

const startup = untyped(PROTOCOL_V3, Buffer.from("user\0postgres\0\0"));
const query = (sql: string) => typedMessage("Q", Buffer.from(`${sql}\0`));

function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    parts.push(bytes.subarray(from, p));
    from = p;
  }
  parts.push(bytes.subarray(from));
  return parts;
}

describe("WireFramer", () => {
  it("reads SSL request and start-up untyped, then typed messages", () => {
    const framer = new WireFramer("frontend");
    const messages = framer.push(Buffer.concat([untyped(SSL_REQUEST_CODE), startup, query("select 1")]));
    assert.deepEqual(
      messages.map((m) => [m.kind, m.type]),
      [
        ["ssl", ""],
        ["startup", ""],
        ["typed", "Q"],
      ],
    );
    assert.equal(messageSql(messages[2]!), "select 1");
  });

  it("yields the same messages however the stream is cut into chunks", () => {
    const stream = Buffer.concat([startup, query("select 1"), typedMessage("S"), query("listen x")]);
    const whole = new WireFramer("frontend").push(stream);
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 12 }), (cuts) => {
        const framer = new WireFramer("frontend");
        const got = splitAt(stream, cuts).flatMap((part) => framer.push(part));
        assert.deepEqual(got, whole);
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it("keeps a partial message until the rest arrives", () => {
    const framer = new WireFramer("backend");
    const msg = typedMessage("Z", Buffer.from("I"));
    assert.deepEqual(framer.push(msg.subarray(0, 3)), []);
    assert.deepEqual(
      framer.push(msg.subarray(3)).map((m) => m.type),
      ["Z"],
    );
  });

  it("refuses impossible lengths and unknown start-up codes", () => {
    const bad = Buffer.from([0x51, 0, 0, 0, 2]);
    assert.throws(() => new WireFramer("backend").push(bad), WireError);
    const huge = Buffer.from([0x51, 0x7f, 0xff, 0xff, 0xff]);
    assert.throws(() => new WireFramer("backend").push(huge), WireError);
    assert.throws(() => new WireFramer("frontend").push(untyped(12345)), WireError);
  });
});

describe("messageSql and notificationChannel", () => {
  it("reads the SQL of a Parse message after the statement name", () => {
    const parse = typedMessage("P", Buffer.from("stmt\0select $1\0\0\0"));
    assert.equal(messageSql(new WireFramer("backend").push(parse)[0]!), "select $1");
  });

  it("reads the channel of a NotificationResponse", () => {
    const body = Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from("corral_versions\0payload\0")]);
    const [message] = new WireFramer("backend").push(typedMessage("A", body));
    assert.equal(notificationChannel(message!), "corral_versions");
  });
});

describe("listenChanges", () => {
  it("folds unquoted channel names and keeps quoted ones", () => {
    assert.deepEqual(listenChanges('LISTEN Foo; listen "Bar""s"'), {
      listen: ["foo", 'Bar"s'],
      unlisten: [],
      unlistenAll: false,
    });
  });

  it("sees UNLISTEN and UNLISTEN *", () => {
    assert.deepEqual(listenChanges("UNLISTEN a; UNLISTEN *"), {
      listen: [],
      unlisten: ["a"],
      unlistenAll: true,
    });
  });

  it("ignores statements that only mention listen", () => {
    assert.deepEqual(listenChanges("select 'LISTEN x'"), { listen: [], unlisten: [], unlistenAll: false });
  });
});
