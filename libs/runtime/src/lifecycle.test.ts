import { describe, expect, it } from "vitest";
import { ComponentContext, LifecycleError, RunLevel, type Component } from "./lifecycle.js";

const quiet = { info: () => undefined, error: () => undefined };

const recorder = () => {
  const calls: string[] = [];
  const component = (name: string, runLevel: RunLevel, failOn?: "configure" | "start" | "stop"): Component => ({
    name,
    runLevel,
    configure: () => {
      calls.push(`configure ${name}`);
      if (failOn === "configure") throw new Error("bad settings");
    },
    start: () => {
      calls.push(`start ${name}`);
      if (failOn === "start") throw new Error("port in use");
    },
    stop: () => {
      calls.push(`stop ${name}`);
      if (failOn === "stop") throw new Error("stuck");
    },
  });
  return { calls, component };
};

describe("ComponentContext", () => {
  it("configures every component before starting any, in run-level order, and stops in reverse", async () => {
    const { calls, component } = recorder();
    const ctx = new ComponentContext(
      [
        component("http", RunLevel.ApplicationMainLoop),
        component("db", RunLevel.System),
        component("guru", RunLevel.Component),
      ],
      quiet,
    );
    await ctx.configureAndStart();
    await ctx.stop();
    expect(calls).toEqual([
      "configure db",
      "configure guru",
      "configure http",
      "start db",
      "start guru",
      "start http",
      "stop http",
      "stop guru",
      "stop db",
    ]);
  });

  it("keeps the given order within one run level", async () => {
    const { calls, component } = recorder();
    const ctx = new ComponentContext([component("b", RunLevel.Component), component("a", RunLevel.Component)], quiet);
    await ctx.configureAndStart();
    expect(calls.filter((c) => c.startsWith("start"))).toEqual(["start b", "start a"]);
  });

  it("starts nothing when a configure fails", async () => {
    const { calls, component } = recorder();
    const ctx = new ComponentContext(
      [component("a", RunLevel.System), component("b", RunLevel.Component, "configure")],
      quiet,
    );
    await expect(ctx.configureAndStart()).rejects.toThrow(LifecycleError);
    expect(calls.some((c) => c.startsWith("start"))).toBe(false);
  });

  it("stops what already started when a later start fails, and names the component", async () => {
    const { calls, component } = recorder();
    const ctx = new ComponentContext(
      [
        component("a", RunLevel.System),
        component("b", RunLevel.Framework),
        component("c", RunLevel.Component, "start"),
      ],
      quiet,
    );
    await expect(ctx.configureAndStart()).rejects.toThrow("c failed to start: port in use");
    expect(calls.slice(-2)).toEqual(["stop b", "stop a"]);
    expect(calls).not.toContain("stop c");
  });

  it("goes on stopping the rest when one stop throws", async () => {
    const { calls, component } = recorder();
    const errors: object[] = [];
    const ctx = new ComponentContext([component("a", RunLevel.System), component("b", RunLevel.Component, "stop")], {
      info: () => undefined,
      error: (o) => errors.push(o),
    });
    await ctx.configureAndStart();
    await ctx.stop();
    expect(calls.slice(-2)).toEqual(["stop b", "stop a"]);
    expect(errors).toHaveLength(1);
  });
});
