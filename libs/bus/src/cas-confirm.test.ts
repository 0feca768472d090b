import { describe, expect, it } from "vitest";
import { serializesSubjectCas } from "./cas-confirm.js";

describe("serializesSubjectCas", () => {
  it("is false before nats-server 2.9.21 (nats-server#4320) and for an unknown version", () => {
    for (const v of ["2.9.10", "2.9.20", "2.8.4", "1.4.1", "not-a-version", undefined]) {
      expect(serializesSubjectCas(v), String(v)).toBe(false);
    }
  });

  it("is true from 2.9.21 on, pre-releases and a leading v included", () => {
    for (const v of ["2.9.21", "2.9.23", "2.10.0-beta.1", "v2.10.7", "2.11.0", "3.0.0"]) {
      expect(serializesSubjectCas(v), v).toBe(true);
    }
  });
});
