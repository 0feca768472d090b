import { CasExhaustedError, type JsonBucket } from "@sdn/bus";
import { CommandError } from "@sdn/contracts";

/**
 * `vm.<vmId>` → the account a VM belongs to and its NICs. A VM belongs to the account that
 * first plugged one of its NICs until its last NIC is gone, so one tenant can never plug a
 * NIC of another tenant's VM even when the host agrees the device is that VM's. Keyed by
 * the VM id alone (XAPI: a pool-wide uuid; KVM: name it by the libvirt domain's uuid).
 */
export interface VmOwner {
  accountId: string;
  nics: string[];
}

const ATTEMPTS = 20;
const keyOf = (vmId: string): string => `vm.${vmId}`;

export class VmOwners {
  constructor(private readonly bucket: JsonBucket<VmOwner>) {}

  /** Records the NIC under the VM for `accountId`; FORBIDDEN (naming nothing of the owner) when another account holds it. */
  async claim(vmId: string, accountId: string, nicId: string): Promise<void> {
    // A VM's first NIC (the usual plug) creates the record in one write, without reading first.
    if ((await this.bucket.tryCreate(keyOf(vmId), { accountId, nics: [nicId] })) !== undefined) return;
    let taken = false;
    await this.bucket.update(keyOf(vmId), (current) => {
      taken = current !== undefined && current.accountId !== accountId;
      if (current === undefined) return { accountId, nics: [nicId] };
      if (taken || current.nics.includes(nicId)) return undefined;
      return { ...current, nics: [...current.nics, nicId] };
    });
    if (taken) {
      const message = `VM ${vmId} belongs to another account: only its owner plugs its NICs`;
      throw new CommandError("FORBIDDEN", message, { issues: [{ path: "/vmId", message }] });
    }
  }

  /** Takes the NIC off the VM; the record goes with the VM's last NIC. Idempotent. */
  async release(vmId: string, nicId: string): Promise<void> {
    const key = keyOf(vmId);
    for (let i = 0; i < ATTEMPTS; i++) {
      const current = await this.bucket.get(key);
      if (current === undefined || !current.value.nics.includes(nicId)) return;
      const rest = current.value.nics.filter((n) => n !== nicId);
      const done =
        rest.length === 0
          ? await this.bucket.tryDelete(key, current.revision)
          : (await this.bucket.tryUpdate(key, { ...current.value, nics: rest }, current.revision)) !== undefined;
      if (done) return;
    }
    throw new CasExhaustedError(key, ATTEMPTS);
  }
}
