import { openSealedSecret, SealedSecretError, type EventPublisher, type SealingKeyPair } from "@sdn/bus";
import {
  addHostSealingContext,
  CommandError,
  HostAdded,
  HostRemoved,
  isXapiHypervisor,
  type AddHostRequest,
  type Host,
} from "@sdn/contracts";
import { createHash } from "node:crypto";
import type { AgentConfig } from "../config.js";
import { HostFailure, HostProgramError } from "../drivers/errors.js";
import { createDriver } from "../drivers/factory.js";
import type { SecretBox } from "@sdn/runtime";
import type { Credentials, HostStore, StoredHost } from "./host-store.js";

/** A stable id from the command id: a redelivered AddHost finds the host it already stored. */
const hostIdFor = (commandId: string): string => {
  const h = createHash("sha256").update(`host:${commandId}`).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};

const invalid = (message: string) => new CommandError("VALIDATION_FAILED", message);

/**
 * The credentials of an AddHost, opened with the agent's sealing key. Plain ones are refused
 * before anything else: the stream they came on keeps them, so the sender must stop.
 */
const openCredentials = (req: AddHostRequest, sealing: SealingKeyPair): Credentials => {
  const plain = (["password", "privateKey", "passphrase"] as const).filter((f) => req[f] !== undefined);
  if (plain.length > 0) {
    throw new CommandError(
      "PLAINTEXT_SECRET",
      `AddHost carries ${plain.join(", ")} in plain text; on the bus credentials travel only sealed to the agent ` +
        "(sealedCredentials, see docs/bus-integrity.md): refused, nothing stored; treat that secret as exposed",
      { fields: plain },
    );
  }
  if (req.sealedCredentials === undefined) throw invalid("sealedCredentials is required");
  let opened: unknown;
  try {
    opened = JSON.parse(openSealedSecret(sealing, req.sealedCredentials, addHostSealingContext(req)));
  } catch (err) {
    if (err instanceof SealedSecretError)
      throw new CommandError("VALIDATION_FAILED", `sealedCredentials: ${err.message}`);
    throw invalid("sealedCredentials does not hold JSON credentials");
  }
  const fields = ["password", "privateKey", "passphrase"] as const;
  const o = opened as Record<string, unknown>;
  if (
    typeof opened !== "object" ||
    opened === null ||
    Object.keys(o).some((k) => !(fields as readonly string[]).includes(k))
  )
    throw invalid("sealedCredentials must hold an object with password, privateKey and passphrase only");
  const credentials: Credentials = {};
  for (const f of fields) {
    const v = o[f];
    if (v === undefined) continue;
    if (typeof v !== "string" || v.length === 0 || v.length > 16_384)
      throw invalid(`sealed ${f} must be a non-empty string`);
    credentials[f] = v;
  }
  return credentials;
};

/** Rules across fields that a schema cannot state. */
const checkNewHost = (req: AddHostRequest, c: Credentials): void => {
  if (req.hostKeyFingerprint !== undefined && req.trustHostKeyOnFirstContact === true) {
    throw invalid("give hostKeyFingerprint or trustHostKeyOnFirstContact, not both");
  }
  if (c.passphrase !== undefined && c.privateKey === undefined) throw invalid("passphrase needs a privateKey");
  if (isXapiHypervisor(req.hypervisor)) {
    // XAPI logs in with the password; SSH (deploying the plugin) uses the key if one is given.
    if (c.password === undefined) throw invalid(`password is required for ${req.hypervisor} hosts`);
    if (req.tlsCertificate !== undefined && req.tlsInsecure === true) {
      throw invalid("give tlsCertificate or tlsInsecure, not both");
    }
    return;
  }
  if (c.privateKey === undefined) throw invalid("privateKey is required for kvm hosts");
  if (c.password !== undefined) throw invalid("kvm hosts use key authentication only; password is not accepted");
  if (req.tlsCertificate !== undefined || req.tlsInsecure !== undefined)
    throw invalid("TLS settings are for XAPI hosts");
  if (req.hostKeyFingerprint === undefined && req.trustHostKeyOnFirstContact !== true) {
    throw invalid("hostKeyFingerprint is required unless trustHostKeyOnFirstContact is true");
  }
};

/**
 * Adding, reading and removing hosts. Adding connects to the host first (identify it, find
 * its tunnel endpoint, deploy and check the programs): a host that cannot be driven is
 * refused with the reason, and nothing is stored.
 */
export class HostRegistry {
  constructor(
    private readonly store: HostStore,
    private readonly secrets: SecretBox,
    private readonly sealing: SealingKeyPair,
    private readonly events: EventPublisher,
    private readonly config: AgentConfig,
    private readonly originator: string,
  ) {}

  async add(req: AddHostRequest, commandId: string): Promise<Host> {
    const credentials = openCredentials(req, this.sealing);
    checkNewHost(req, credentials);
    const id = hostIdFor(commandId);
    const already = await this.store.get(id);
    if (already !== undefined) return already.host;
    const port = req.port ?? (req.hypervisor === "kvm" ? 22 : 443);
    const address = `${req.address}:${port}`;
    for (const [kind, value] of [
      ["name", req.name],
      ["address", address],
    ] as const) {
      const holder = await this.store.holder(kind, value);
      if (holder !== undefined && holder !== id)
        throw new CommandError("CONFLICT", `a host with ${kind} ${value} exists`);
    }
    const base = {
      hypervisor: req.hypervisor,
      address: req.address,
      port,
      username: req.username,
      ...(req.hostKeyFingerprint === undefined ? {} : { hostKeyFingerprint: req.hostKeyFingerprint }),
      ...(req.tunnelNetworkLabel === undefined ? {} : { tunnelNetworkLabel: req.tunnelNetworkLabel }),
    };
    const driver = createDriver(
      {
        host: base,
        credentials,
        ...(req.tlsCertificate === undefined ? {} : { tlsCertificate: req.tlsCertificate }),
        ...(req.tlsInsecure === true ? { tlsInsecure: true } : {}),
        trustOnFirstContact: req.trustHostKeyOnFirstContact === true,
        forceDeploy: true,
      },
      this.config,
      this.originator,
    );
    let facts;
    try {
      facts = await driver.identify();
    } catch (err) {
      if (err instanceof HostFailure) throw err.toCommandError();
      if (err instanceof HostProgramError) throw new HostFailure("HOST_PROGRAM_FAILED", err.message).toCommandError();
      throw err;
    } finally {
      await driver.close().catch(() => undefined);
    }
    const now = new Date().toISOString();
    const host: Host = {
      id,
      name: req.name,
      ...base,
      ...(facts.hostKeyFingerprint === undefined ? {} : { hostKeyFingerprint: facts.hostKeyFingerprint }),
      state: "Up",
      platform: facts.platform,
      tunnelInterface: facts.tunnelInterface,
      programsVersion: facts.programsVersion,
      ...(isXapiHypervisor(req.hypervisor)
        ? { tls: req.tlsInsecure === true ? "insecure" : req.tlsCertificate !== undefined ? "pinned" : "system-ca" }
        : {}),
      createdAt: now,
      stateChangedAt: now,
    };
    const stored: StoredHost = {
      host,
      credentials: this.secrets.seal(JSON.stringify(credentials), id),
      ...(req.tlsCertificate === undefined ? {} : { tlsCertificate: req.tlsCertificate }),
      ...(req.tlsInsecure === true ? { tlsInsecure: true } : {}),
    };
    if (!(await this.store.claim("name", req.name, id)))
      throw new CommandError("CONFLICT", `a host named ${req.name} exists`);
    if (!(await this.store.claim("address", address, id))) {
      await this.store.unclaim("name", req.name, id);
      throw new CommandError("CONFLICT", `a host at ${address} exists`);
    }
    await this.store.create(stored);
    await this.events.publish(HostAdded, { host }, { commandId, eventId: `HostAdded-${id}` });
    return host;
  }

  async get(id: string): Promise<Host> {
    const stored = await this.store.get(id);
    if (stored === undefined) throw new CommandError("NOT_FOUND", `no host ${id}`);
    return stored.host;
  }

  async list(): Promise<Host[]> {
    return (await this.store.list()).map((s) => s.host);
  }

  async remove(id: string, commandId: string): Promise<void> {
    const stored = await this.store.get(id);
    if (stored === undefined) throw new CommandError("NOT_FOUND", `no host ${id}`);
    const h = stored.host;
    await this.store.delete(id);
    await this.store.unclaim("name", h.name, id);
    await this.store.unclaim("address", `${h.address}:${h.port}`, id);
    await this.events.publish(HostRemoved, { id, name: h.name }, { commandId, eventId: `HostRemoved-${id}` });
  }

  /** The credentials of a stored host, decrypted for a driver. */
  credentialsOf(stored: StoredHost): Credentials {
    return JSON.parse(this.secrets.open(stored.credentials, stored.host.id)) as Credentials;
  }
}
