import { describe, expect, it } from "vitest";
import { conflict, conflictingField, invalidField, notFound } from "./command-errors.js";
import { CommandError } from "./errors.js";

describe("the shared refusals", () => {
  it("name the field in details as schema validation does", () => {
    const e = invalidField("cidr", "must be a private range");
    expect(e).toBeInstanceOf(CommandError);
    expect([e.code, e.message, e.details]).toEqual([
      "UNPROCESSABLE",
      "must be a private range",
      { issues: [{ path: "/cidr", message: "must be a private range" }] },
    ]);
    expect([conflictingField("mac", "taken").code, conflictingField("mac", "taken").details]).toEqual([
      "CONFLICT",
      { issues: [{ path: "/mac", message: "taken" }] },
    ]);
  });

  it("say what was not found, and carry a conflict's details", () => {
    expect([notFound("network", "n1").code, notFound("network", "n1").message]).toEqual([
      "NOT_FOUND",
      "network n1 not found",
    ]);
    expect(conflict("in use", { by: "r1" })).toMatchObject({
      code: "CONFLICT",
      message: "in use",
      details: { by: "r1" },
    });
  });
});
