import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { XapiClient, XapiTransportError } from "./xapi-client.js";

const success = (value: string) =>
  `<?xml version="1.0"?><methodResponse><params><param><value><struct>` +
  `<member><name>Status</name><value>Success</value></member>` +
  `<member><name>Value</name><value>${value}</value></member>` +
  `</struct></value></param></params></methodResponse>`;

/**
 * An HTTPS XML-RPC server that resets the connection of every call whose method is in
 * `resetOnce` the first time it sees it (as a host closing a kept-alive connection as it is
 * reused), and answers every other call with Success.
 */
describe("XapiClient on a connection reset", () => {
  let dir: string;
  let server: Server;
  let port: number;
  const seen: string[] = [];
  const resetOnce = new Set(["VM.get_all_records", "network.create"]);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "xapi-client-"));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=xapi",
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
      ],
      { stdio: "ignore" },
    );
    server = createServer(
      { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) },
      (req, res) => {
        let body = "";
        req.on("data", (c: Buffer) => (body += c.toString()));
        req.on("end", () => {
          const method = /<methodName>([^<]+)<\/methodName>/.exec(body)?.[1] ?? "";
          seen.push(method);
          if (resetOnce.delete(method)) {
            req.socket.destroy();
            return;
          }
          res.setHeader("content-type", "text/xml");
          res.end(success(method === "session.login_with_password" ? "OpaqueRef:session" : "done"));
        });
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const client = () =>
    new XapiClient({
      address: "127.0.0.1",
      port,
      username: "root",
      password: randomUUID(),
      tls: { insecure: true },
      timeoutMs: 5_000,
      originator: "sdn-test",
    });

  it("sends a read again and answers it; does not repeat a call that changes something", async () => {
    const c = client();
    expect(await c.call("VM.get_all_records")).toBe("done");
    expect(seen.filter((m) => m === "VM.get_all_records")).toHaveLength(2);

    const created = await c.call("network.create", {}).catch((e: unknown) => e);
    expect(created).toBeInstanceOf(XapiTransportError);
    expect(seen.filter((m) => m === "network.create")).toHaveLength(1);
    await c.logout();
  });
});
