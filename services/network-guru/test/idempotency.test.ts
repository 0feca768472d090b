import { jetstreamManager } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
import {
  AcquirePublicIp,
  CreateNetwork,
  CreatePublicIpRange,
  HEADERS,
  ListPublicIps,
  STREAMS,
  commandConsumerName,
  commandSubject,
} from "@sdn/contracts";
import { GATEWAY_ORIGIN } from "@sdn/bus";
import { waitFor } from "@sdn/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, GuruHarness, tenant } from "./harness.js";

const frank = tenant("frank");
let h: GuruHarness;

beforeAll(async () => {
  h = await GuruHarness.start();
});

afterAll(async () => {
  await h?.stop();
});

describe("AcquirePublicIp is idempotent by command id", () => {
  it("hands out one address for one command id, however often the command arrives", async () => {
    await h.ok(
      CreatePublicIpRange,
      { cidr: "203.0.113.0/24", gateway: "203.0.113.1", startIp: "203.0.113.10", endIp: "203.0.113.200" },
      ADMIN,
    );
    const net = await h.ok(CreateNetwork, { name: "frank-net", cidr: "10.8.0.0/24" }, frank);
    const first = await h.client.send(
      AcquirePublicIp,
      { networkId: net.id },
      {
        commandId: "acquire-once",
        role: "tenant",
        accountId: "frank",
      },
    );
    expect(first.ok).toBe(true);
    // The same command id again as JetStream's duplicate window no longer catches it
    // (another Nats-Msg-Id), twice: each is delivered and handled. Past the consumer's
    // first seconds, where the command server itself checks answers, the guru is on its own.
    await new Promise((r) => setTimeout(r, 2_500));
    for (const resend of ["resend-1", "resend-2"]) {
      const hdrs = natsHeaders();
      hdrs.set(HEADERS.commandId, "acquire-once");
      hdrs.set(HEADERS.accountId, "frank");
      hdrs.set(HEADERS.role, "tenant");
      const ack = await (
        await jetstreamManager(h.nc)
      )
        .jetstream()
        .publish(
          commandSubject("network-guru", "AcquirePublicIp", GATEWAY_ORIGIN),
          JSON.stringify({ networkId: net.id }),
          {
            msgID: resend,
            headers: hdrs,
          },
        );
      expect(ack.duplicate).toBe(false);
    }
    // The guru's own credentials may read its consumer (the gateway's may not).
    const guru = await h.nats.connectAs("network-guru");
    const jsm = await jetstreamManager(guru);
    await waitFor("both resends handled", async () => {
      const c = await jsm.consumers.info(STREAMS.commands.name, commandConsumerName("network-guru"));
      return c.num_pending === 0 && c.num_ack_pending === 0 ? true : undefined;
    });
    await guru.close();
    const held = await h.ok(ListPublicIps, { networkId: net.id }, frank);
    expect(held.publicIps.map((p) => p.ip)).toEqual([first.ok ? first.data.ip : ""]);
  });
});
