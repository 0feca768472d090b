import { CommandError } from "@sdn/contracts";
import { useNatsServer } from "@sdn/testkit/nats-fixture";
import { describe, expect, it } from "vitest";
import { ElementStore } from "./store.js";
import { VmOwners } from "./vm-owners.js";

const bus = useNatsServer();

describe("VmOwners", () => {
  it("gives a VM to the account of its first NIC, adds that account's NICs, refuses another's", async () => {
    const store = await ElementStore.open(bus.nc);
    const owners = new VmOwners(store.vmOwners);
    await owners.claim("vm-1", "acme", "nic-a");
    await owners.claim("vm-1", "acme", "nic-a"); // a redelivered plug
    await owners.claim("vm-1", "acme", "nic-b");
    expect((await store.vmOwners.get("vm.vm-1"))?.value).toEqual({ accountId: "acme", nics: ["nic-a", "nic-b"] });

    const refused = await owners.claim("vm-1", "globex", "nic-c").catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CommandError);
    expect((refused as CommandError).code).toBe("FORBIDDEN");

    // Gone with its last NIC, the VM is anyone's again (its record is a deleted key now).
    await owners.release("vm-1", "nic-a");
    await owners.release("vm-1", "nic-b");
    expect(await store.vmOwners.get("vm.vm-1")).toBeUndefined();
    await owners.claim("vm-1", "globex", "nic-c");
    expect((await store.vmOwners.get("vm.vm-1"))?.value).toEqual({ accountId: "globex", nics: ["nic-c"] });
  });
});
