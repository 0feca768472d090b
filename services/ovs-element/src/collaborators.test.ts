import { CommandFailedError, type CommandClient, type CommandContext } from "@sdn/bus";
import type { NicAddress } from "@sdn/contracts";
import { describe, expect, it } from "vitest";
import { Collaborators } from "./collaborators.js";

const NET = "3f0c1d2e-4b5a-4c6d-8e9f-a0b1c2d3e4f5";
const ctx: CommandContext = { commandId: "c1", accountId: "acme", role: "tenant", deliveryCount: 1 };

const addressOf = (nicId: string, ip: string): NicAddress => ({
  networkId: NET,
  accountId: "acme",
  nicId,
  ip,
  prefixLength: 24,
  gateway: "10.1.0.1",
  reservedAt: "2026-01-01T00:00:00.000Z",
});

/** A guru that answers after 10 ms and records each command it got. */
const fakeGuru = () => {
  const sent: { name: string; body: unknown }[] = [];
  let next = 10;
  const commands = {
    call: async (def: { name: string }, body: { nicId?: string; nics?: { nicId: string }[] }) => {
      sent.push({ name: def.name, body });
      await new Promise((r) => setTimeout(r, 10));
      if (def.name === "ReserveNicAddress") return addressOf(body.nicId as string, `10.1.0.${next++}`);
      return {
        networkId: NET,
        nics: (body.nics ?? []).map((n) =>
          n.nicId === "taken"
            ? { nicId: n.nicId, error: { code: "CONFLICT", message: "address 10.1.0.5 is already reserved" } }
            : { nicId: n.nicId, address: addressOf(n.nicId, `10.1.0.${next++}`) },
        ),
      };
    },
  } as unknown as CommandClient;
  return { sent, collaborators: new Collaborators(commands) };
};

describe("Collaborators.reserve", () => {
  it("sends a lone plug's reservation at once, and those made meanwhile as one ReserveNicAddresses", async () => {
    const { sent, collaborators } = fakeGuru();
    const reserve = (nicId: string) => collaborators.reserve({ networkId: NET, nicId }, ctx);
    const first = reserve("a");
    const rest = ["b", "c", "taken", "d"].map((nicId) =>
      reserve(nicId).catch((err: unknown) => err as CommandFailedError),
    );
    expect((await first).nicId).toBe("a");
    const answers = await Promise.all(rest);
    expect(sent.map((s) => s.name)).toEqual(["ReserveNicAddress", "ReserveNicAddresses"]);
    expect(sent[1]?.body).toEqual({
      networkId: NET,
      nics: [{ nicId: "b" }, { nicId: "c" }, { nicId: "taken" }, { nicId: "d" }],
    });
    expect(answers.map((a) => (a instanceof CommandFailedError ? a.code : a.nicId))).toEqual([
      "b",
      "c",
      "CONFLICT",
      "d",
    ]);
    // A NIC's refusal in a batch reads as the single reservation's refusal it stands for.
    expect((answers[2] as CommandFailedError).command).toBe("ReserveNicAddress");
  });

  it("sends two reservations of one NIC made at once as two single commands", async () => {
    const { sent, collaborators } = fakeGuru();
    const first = collaborators.reserve({ networkId: NET, nicId: "a" }, ctx);
    const twice = [
      collaborators.reserve({ networkId: NET, nicId: "b" }, ctx),
      collaborators.reserve({ networkId: NET, nicId: "b" }, ctx),
    ];
    await first;
    await Promise.all(twice);
    expect(sent.map((s) => s.name)).toEqual(["ReserveNicAddress", "ReserveNicAddress", "ReserveNicAddress"]);
  });
});
