import { InvalidArgumentError } from "@commander-js/extra-typings";
import { describe, expect, it } from "vitest";
import { integerIn, portRange, repeatable, routerNic } from "./parsers.js";

describe("portRange", () => {
  it("reads a port or a range; the end only when given", () => {
    expect(portRange("80")).toEqual({ start: 80 });
    expect(portRange("8000-8010")).toEqual({ start: 8000, end: 8010 });
    expect(portRange("1-65535")).toEqual({ start: 1, end: 65535 });
    expect(portRange("22-22")).toEqual({ start: 22, end: 22 });
  });

  it.each(["", "0", "65536", "80-", "-80", "80-90-100", "8o", "90-80", "1e3", " -1"])("refuses %j", (value) => {
    expect(() => portRange(value)).toThrow(InvalidArgumentError);
  });
});

describe("routerNic", () => {
  it("reads network:interface and network:interface:hostInterface", () => {
    expect(routerNic("net-1:eth2")).toEqual({ networkId: "net-1", interface: "eth2" });
    expect(routerNic("net-1:eth2:vnet7")).toEqual({ networkId: "net-1", interface: "eth2", hostInterface: "vnet7" });
  });

  it.each(["eth2", "net-1:", ":eth2", "net-1:eth2:", "a:b:c:d"])("refuses %j", (value) => {
    expect(() => routerNic(value)).toThrow(InvalidArgumentError);
  });
});

describe("integerIn and repeatable", () => {
  it("bounds an integer", () => {
    expect(integerIn(-1, 255)("-1")).toBe(-1);
    expect(() => integerIn(-1, 255)("256")).toThrow(InvalidArgumentError);
    expect(() => integerIn(-1, 255)("1.5")).toThrow(InvalidArgumentError);
    expect(() => integerIn(-1, 255)("")).toThrow(InvalidArgumentError);
  });

  it("collects each use of an option", () => {
    const add = repeatable(routerNic);
    expect(add("b:eth3", add("a:eth2", undefined))).toEqual([
      { networkId: "a", interface: "eth2" },
      { networkId: "b", interface: "eth3" },
    ]);
  });
});
