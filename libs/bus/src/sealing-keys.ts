import { Kvm } from "@nats-io/kv";
import { storageOf } from "./storage.js";
import type { NatsConnection } from "@nats-io/transport-node";
import {
  addHostSealingContext,
  AGENT_SEALING_KEY,
  SEALING_KEYS_BUCKET,
  SealingKey,
  type AddHostRequest,
  type HostCredentials,
  type NewHost,
} from "@sdn/contracts";
import { BusError } from "./errors.js";
import { sealSecret } from "./sealing.js";
import { assertValid } from "./validation.js";

/** Publishes the agent's public sealing key; the previous one when it differs (a replica with another key). */
export const publishSealingKey = async (nc: NatsConnection, key: SealingKey): Promise<SealingKey | undefined> => {
  const kv = await new Kvm(nc).create(SEALING_KEYS_BUCKET, {
    history: 1,
    replicas: storageOf(nc).replicas,
    // Leader reads, as JsonBucket's: a replaced key must be seen at once.
    allow_direct: false,
  });
  const before = await kv.get(AGENT_SEALING_KEY);
  const previous = before?.operation === "PUT" ? before.json<SealingKey>() : undefined;
  if (previous?.keyId !== key.keyId) await kv.put(AGENT_SEALING_KEY, JSON.stringify(key));
  return previous !== undefined && previous.keyId !== key.keyId ? previous : undefined;
};

/** The agent's public sealing key, read fresh (a replaced key is seen at once). */
export const readSealingKey = async (nc: NatsConnection): Promise<SealingKey> => {
  // Opened, not created: a reader needs no right to make the bucket.
  const kv = await new Kvm(nc).open(SEALING_KEYS_BUCKET).catch(() => undefined);
  const entry = await kv?.get(AGENT_SEALING_KEY);
  if (entry === undefined || entry === null || entry.operation !== "PUT") {
    throw new BusError("UNAVAILABLE", "the hypervisor-agent has not published its sealing key yet: is it running?");
  }
  return assertValid(SealingKey, entry.json<unknown>(), "the agent's sealing key");
};

/** NewHost (as an admin gives it) → AddHost as it may travel on the bus: its secrets sealed to the agent. */
export const sealNewHost = async (nc: NatsConnection, req: NewHost): Promise<AddHostRequest> => {
  const { password, privateKey, passphrase, ...rest } = req;
  const credentials: HostCredentials = {
    ...(password === undefined ? {} : { password }),
    ...(privateKey === undefined ? {} : { privateKey }),
    ...(passphrase === undefined ? {} : { passphrase }),
  };
  const sealed = sealSecret(await readSealingKey(nc), JSON.stringify(credentials), addHostSealingContext(req));
  return { ...rest, sealedCredentials: sealed };
};
