import { describe, expect, it } from "vitest";
import { answerEchoes } from "./vswitchd-watch.js";

/** An OpenFlow 1.4 message: version, type, length, xid, then the payload. */
const message = (type: number, xid: number, payload = Buffer.alloc(0)): Buffer => {
  const b = Buffer.alloc(8 + payload.length);
  b.writeUInt8(0x05, 0);
  b.writeUInt8(type, 1);
  b.writeUInt16BE(b.length, 2);
  b.writeUInt32BE(xid, 4);
  payload.copy(b, 8);
  return b;
};

describe("answerEchoes (the watch's OpenFlow connection)", () => {
  it("answers an ECHO_REQUEST with an ECHO_REPLY of the same xid and payload, and nothing else", () => {
    const sent: Buffer[] = [];
    const hello = message(0, 1);
    const echo = message(2, 0xdeadbeef, Buffer.from("ping"));
    expect(answerEchoes(Buffer.concat([hello, echo]), (m) => sent.push(m))).toHaveLength(0);
    expect(sent).toEqual([message(3, 0xdeadbeef, Buffer.from("ping"))]);
  });

  it("keeps an incomplete message for the next chunk", () => {
    const sent: Buffer[] = [];
    const echo = message(2, 7, Buffer.from("abcd"));
    const rest = answerEchoes(echo.subarray(0, 10), (m) => sent.push(m));
    expect(sent).toEqual([]);
    expect(answerEchoes(Buffer.concat([rest as Buffer, echo.subarray(10)]), (m) => sent.push(m))).toHaveLength(0);
    expect(sent).toEqual([message(3, 7, Buffer.from("abcd"))]);
  });

  it("refuses a stream whose length field is impossible (not OpenFlow)", () => {
    const bad = message(2, 1);
    bad.writeUInt16BE(4, 2);
    expect(answerEchoes(bad, () => undefined)).toBeUndefined();
  });
});
