import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { toYaml } from "./yaml.js";

/** What a real YAML parser (PyYAML, YAML 1.1) reads back. */
const parse = (text: string): unknown => {
  const r = spawnSync(
    "python3",
    ["-c", "import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin.read()), sys.stdout)"],
    { input: text, encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`python3 yaml: ${r.stderr}`);
  return JSON.parse(r.stdout);
};

describe("toYaml", () => {
  it("writes block YAML that a YAML parser reads back as the same data", () => {
    const data = {
      networks: [
        {
          id: "3f0c1d2e-4b5a-4c6d-8e9f-a0b1c2d3e4f5",
          name: "web tier",
          dns: ["1.1.1.1", "9.9.9.9"],
          mtu: 1450,
          greKey: 4294967295,
          excludedRanges: [],
          meta: {},
          nested: [[1, 2], { a: null }],
        },
      ],
      tricky: [
        "",
        "yes",
        "no",
        "on",
        "null",
        "~",
        "1.5",
        "0x1f",
        "1e3",
        "- dash",
        "a: b",
        "x #y",
        "#c",
        " pad",
        "pad ",
      ],
      more: [
        "line\nbreak",
        "tab\there",
        'quote"s',
        "'single'",
        "{flow}",
        "[list]",
        "*ref",
        "&anchor",
        "!tag",
        "%d",
        "@at",
        "`tick`",
        "10:20",
      ],
      flags: { on: true, off: false, nothing: null },
      "key: with colon": 1,
      "": "empty key",
    };
    expect(parse(toYaml(data))).toEqual(data);
  });

  it("leaves out undefined fields as JSON does, and writes plain strings unquoted", () => {
    expect(toYaml({ id: "n-1", gone: undefined, state: "Implemented" })).toBe("id: n-1\nstate: Implemented\n");
    expect(toYaml([])).toBe("[]\n");
  });
});
