import type { FastifyReply } from "fastify";
import { readdir, readFile } from "node:fs/promises";
import Type from "@sdn/typebox";
import type { GatewayApp } from "./app.js";
import { sendError } from "./http-errors.js";

/** The web view's files: plain ES modules, no build step. From src/ and dist/ alike, `../ui/`. */
export const UI_DIR = new URL("../ui/", import.meta.url);

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

/**
 * The page may load only its own files and call only this gateway; no inline script or style
 * (a value that slipped into markup could not run), no plugins, no framing (clickjacking),
 * and Trusted Types required, so the browser itself refuses any HTML-parsing sink
 * (innerHTML, document.write): the app renders every value as text.
 */
export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join("; ");

const UI_HEADERS = {
  "content-security-policy": UI_CSP,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  // Small files that change with the gateway: always revalidate.
  "cache-control": "no-cache",
};

interface UiFile {
  type: string;
  body: Buffer;
}

/** Reads the UI folder once: only files of the known types, served from memory by exact name. */
const loadFiles = async (): Promise<Map<string, UiFile>> => {
  const files = new Map<string, UiFile>();
  for (const entry of await readdir(UI_DIR, { withFileTypes: true })) {
    const type = CONTENT_TYPES[entry.name.slice(entry.name.lastIndexOf("."))];
    if (entry.isFile() && type !== undefined) {
      files.set(entry.name, { type, body: await readFile(new URL(entry.name, UI_DIR)) });
    }
  }
  return files;
};

/**
 * `GET /ui/`: the web view (docs/web-ui.md). Public like /docs: the page holds no data; it
 * asks the API with the token the user types, so a tenant sees what the API shows its token.
 */
export const webUiRoutes = async (app: GatewayApp): Promise<void> => {
  const files = await loadFiles();
  const send = (reply: FastifyReply, name: string) => {
    const file = files.get(name);
    if (file === undefined) return sendError(reply, { code: "NOT_FOUND", message: `no file ${name} in the web view` });
    return reply.headers({ ...UI_HEADERS, "content-type": file.type }).send(file.body);
  };
  const config = { public: true };
  app.get("/ui", { config, schema: { hide: true } }, async (_req, reply) => reply.redirect("/ui/", 301));
  app.get("/ui/", { config, schema: { hide: true } }, async (_req, reply) => send(reply, "index.html"));
  app.get(
    "/ui/:file",
    { config, schema: { hide: true, params: Type.Object({ file: Type.String({ maxLength: 64 }) }) } },
    async (req, reply) => send(reply, req.params.file),
  );
};
