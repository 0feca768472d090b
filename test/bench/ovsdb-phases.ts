import type { KvmDriver } from "@sdn/hypervisor-agent";

/** Where one ApplyTunnels over the bus spent its time, in ms, measured inside the same call. */
export interface Phases {
  /** From the request sent to the agent's driver entered (NATS, decoding, validation, handler). */
  busIn: number;
  /** From the driver entered to the transaction sent (identify check, planning on the cache). */
  plan: number;
  /** The OVSDB transaction: SSH channel both ways and ovsdb-server's commit, monitor update included. */
  transaction: number;
  /** From the answer of ovsdb-server to the requester holding the agent's answer. */
  answer: number;
}

/**
 * Stamps a connected KVM driver's calls (its ApplyTunnels and its OVSDB client's transact,
 * wrapped on these instances only) so one whole-path call can be split into phases
 * without subtracting figures of other calls, which the machine's load makes meaningless.
 */
export function stampPhases(driver: KvmDriver): (sentAt: number, answeredAt: number) => Phases {
  const client = driver.ovsdb?.vswitch.client;
  if (client === undefined) throw new Error("the driver has no OVSDB connection to stamp");
  const at = { entry: 0, txStart: 0, txEnd: 0, exit: 0 };
  const apply = driver.applyTunnels.bind(driver);
  driver.applyTunnels = async (req) => {
    at.entry = performance.now();
    try {
      return await apply(req);
    } finally {
      at.exit = performance.now();
    }
  };
  const transact = client.transact.bind(client);
  client.transact = async (...args) => {
    at.txStart = performance.now();
    try {
      return await transact(...args);
    } finally {
      at.txEnd = performance.now();
    }
  };
  return (sentAt, answeredAt) => ({
    busIn: at.entry - sentAt,
    plan: at.txStart - at.entry,
    transaction: at.txEnd - at.txStart,
    answer: answeredAt - at.txEnd,
  });
}
