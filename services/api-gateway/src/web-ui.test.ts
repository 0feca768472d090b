import { readdirSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "../test/harness.js";
import { UI_DIR } from "./web-ui.js";

/* The web view's files and headers (its behaviour in a browser: test/web-ui/browser.test.ts). */

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());

const get = (url: string) => h.app.inject({ method: "GET", url });

describe("GET /ui/", () => {
  it("serves the page without a token, under a strict CSP that forbids framing and inline code", async () => {
    const res = await get("/ui/");
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    const csp = String(res.headers["content-security-policy"]).split("; ");
    expect(csp).toEqual(
      expect.arrayContaining([
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
      ]),
    );
    expect(csp.join(" ")).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
    expect(res.headers["x-frame-options"]).toBe("DENY");
    expect(res.headers["referrer-policy"]).toBe("no-referrer");
    // Nothing inline the CSP would have to allow: scripts and styles come from files.
    expect(res.body).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    for (const script of res.body.match(/<script[^>]*>/g) ?? []) expect(script).toMatch(/src="\.\/[a-z-]+\.js"/);
  });

  it("redirects /ui to /ui/ (the page's relative links need the slash)", async () => {
    const res = await get("/ui");
    expect(res.statusCode).toBe(301);
    expect(res.headers.location).toBe("/ui/");
  });

  it("serves each module with its type and the same headers", async () => {
    for (const [file, type] of [
      ["app.js", "text/javascript; charset=utf-8"],
      ["style.css", "text/css; charset=utf-8"],
      ["favicon.svg", "image/svg+xml"],
    ] as const) {
      const res = await get(`/ui/${file}`);
      expect(res.statusCode, file).toBe(200);
      expect(res.headers["content-type"]).toBe(type);
      expect(res.headers["content-security-policy"]).toContain("frame-ancestors 'none'");
      expect(res.body).toBe(readFileSync(new URL(file, UI_DIR), "utf8"));
    }
  });

  it("serves nothing but the folder's web files: no traversal, no other types", async () => {
    for (const url of [
      "/ui/tsconfig.json",
      "/ui/..%2Fpackage.json",
      "/ui/%2e%2e%2fsrc%2fapp.ts",
      "/ui/..%5Cpackage.json",
      "/ui/nope.js",
    ]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.json<{ error: { code: string } }>().error.code).toBe("NOT_FOUND");
    }
    // Normalised to /package.json before routing: no route, so the token check answers.
    const dotted = await get("/ui/../package.json");
    expect(dotted.statusCode).toBe(401);
    expect(dotted.body).not.toContain("@sdn/api-gateway");
  });

  it("the modules never parse HTML from strings (the CSP's Trusted Types would refuse it anyway)", () => {
    for (const file of readdirSync(UI_DIR).filter((f) => f.endsWith(".js"))) {
      const source = readFileSync(new URL(file, UI_DIR), "utf8");
      expect(source, file).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
    }
  });
});
