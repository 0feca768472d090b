import { parsePrometheus } from "@sdn/testkit";
import { describe, expect, it } from "vitest";
import { MetricsRegistry } from "./registry.js";

describe("MetricsRegistry exposition", () => {
  it("writes counters, gauges and histograms that a strict reader parses back", async () => {
    const r = new MetricsRegistry();
    const c = r.counter("t_requests_total", "Requests\nby outcome \\ path", ["command", "outcome"]);
    c.inc({ command: "CreateNetwork", outcome: "ok" });
    c.inc({ command: "CreateNetwork", outcome: "ok" }, 2);
    c.inc({ command: 'we"ird\\name\n', outcome: "INVALID_COMMAND" });
    r.gauge("t_up", "Up").set({}, 1);
    const lag = r.gauge("t_lag", "Lag", ["consumer"]);
    const stop = lag.collect(async () => [{ labels: { consumer: "cmd-a" }, value: 7 }]);
    lag.collect(async () => {
      throw new Error("JetStream away");
    });
    const h = r.histogram("t_seconds", "Latency", ["command"], [0.1, 1]);
    h.observe({ command: "X" }, 0.05);
    h.observe({ command: "X" }, 0.5);
    h.observe({ command: "X" }, 5);

    const text = await r.expose();
    const s = parsePrometheus(text);
    expect(s.types.get("t_requests_total")).toBe("counter");
    expect(s.help.get("t_requests_total")).toBe("Requests\\nby outcome \\\\ path");
    expect(s.value("t_requests_total", { command: "CreateNetwork", outcome: "ok" })).toBe(3);
    expect(s.value("t_requests_total", { command: 'we"ird\\name\n' })).toBe(1);
    expect(s.value("t_up")).toBe(1);
    expect(s.value("t_lag", { consumer: "cmd-a" })).toBe(7);
    expect(s.value("t_seconds_bucket", { command: "X", le: "0.1" })).toBe(1);
    expect(s.value("t_seconds_bucket", { command: "X", le: "1" })).toBe(2);
    expect(s.value("t_seconds_bucket", { command: "X", le: "+Inf" })).toBe(3);
    expect(s.value("t_seconds_count", { command: "X" })).toBe(3);
    expect(s.value("t_seconds_sum", { command: "X" })).toBeCloseTo(5.55);

    stop();
    expect(parsePrometheus(await r.expose()).find("t_lag")).toEqual([]);
  });

  it("returns the metric already registered under a name, and refuses a clash", () => {
    const r = new MetricsRegistry();
    expect(r.counter("t_a_total", "A", ["x"])).toBe(r.counter("t_a_total", "A", ["x"]));
    expect(() => r.gauge("t_a_total", "A", ["x"])).toThrow(/already registered/);
    expect(() => r.counter("t_a_total", "A", ["y"])).toThrow(/already registered/);
    expect(() => r.counter("bad-name", "B")).toThrow(/bad metric name/);
    expect(() => r.counter("t_b_total", "B", ["x"]).inc({ y: "1" })).toThrow(/no label 'y'/);
    expect(() => r.counter("t_c_total", "C").inc({}, -1)).toThrow(/only goes up/);
  });

  it("keeps label sets apart whose values would run together, and refuses an undeclared label beside declared ones", async () => {
    const r = new MetricsRegistry();
    const c = r.counter("t_pairs_total", "Pairs", ["a", "b"]);
    c.inc({ a: "x1:", b: "y" });
    c.inc({ a: "x", b: "1:y" });
    c.inc({ a: "x" });
    c.inc({ a: "x", b: "" });
    expect(() => c.inc({ a: "x", b: "y", c: "z" })).toThrow(/no label 'c'/);
    const g = r.gauge("t_g", "G", ["a"]);
    g.set({ a: "1" }, 5);
    g.set({ a: "2" }, 6);
    g.remove({ a: "1" });
    const h = r.histogram("t_h_seconds", "H", [], [0.1, 1]);
    h.observe({}, 1);
    h.observe({}, 0.1);
    const s = parsePrometheus(await r.expose());
    expect(s.value("t_pairs_total", { a: "x1:", b: "y" })).toBe(1);
    expect(s.value("t_pairs_total", { a: "x", b: "1:y" })).toBe(1);
    expect(s.value("t_pairs_total", { a: "x", b: "" })).toBe(2);
    expect(s.find("t_g").map((x) => x.labels)).toEqual([{ a: "2" }]);
    expect(s.value("t_h_seconds_bucket", { le: "0.1" })).toBe(1);
    expect(s.value("t_h_seconds_bucket", { le: "1" })).toBe(2);
  });

  it("the reader refuses what Prometheus would refuse", () => {
    expect(() => parsePrometheus("x 1\n")).toThrow(/no # TYPE/);
    expect(() => parsePrometheus('# TYPE x counter\nx{a="1} 1\n')).toThrow(/bad labels/);
    expect(() =>
      parsePrometheus('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'),
    ).toThrow(/not cumulative/);
  });
});
