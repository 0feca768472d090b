import { HEADERS } from "@sdn/contracts";
import { describe, expect, it } from "vitest";
import { commandHeaders } from "./command-client.js";

describe("commandHeaders", () => {
  it("carries each of the command's headers once", () => {
    const h = commandHeaders("c-1", { accountId: "a-1", role: "admin", tokenId: "t-1" });
    expect(Object.fromEntries(h.keys().map((k) => [k, h.values(k)]))).toEqual({
      [HEADERS.commandId]: ["c-1"],
      [HEADERS.accountId]: ["a-1"],
      [HEADERS.role]: ["admin"],
      [HEADERS.tokenId]: ["t-1"],
    });
    const tenant = commandHeaders("c-2", {});
    expect(tenant.keys()).toEqual([HEADERS.commandId, HEADERS.role]);
    expect(tenant.get(HEADERS.role)).toBe("tenant");
  });

  it("still refuses a value that would break the header block", () => {
    expect(() => commandHeaders("c-3", { accountId: "a\r\nSdn-Role: admin" })).toThrow(/\\r or \\n/);
  });
});
