/** Option value parsers; commander reports their errors as usage errors naming the option. */
import { InvalidArgumentError } from "@commander-js/extra-typings";
import { readFileSync } from "node:fs";

export const positiveSeconds = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("expected a number of seconds above 0.");
  return n;
};

export const positiveInteger = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError("expected a whole number above 0.");
  return n;
};

/** A comma-separated list, e.g. `--dns 1.1.1.1,9.9.9.9`; empty items are dropped. */
export const commaList = (value: string): string[] =>
  value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");

const PORT = /^\d{1,5}$/;
const toPort = (text: string): number | undefined => {
  const n = Number(text);
  return PORT.test(text) && n >= 1 && n <= 65535 ? n : undefined;
};

/** A TCP/UDP port, 1-65535. */
export const port = (value: string): number => {
  const n = toPort(value.trim());
  if (n === undefined) throw new InvalidArgumentError("expected a port from 1 to 65535.");
  return n;
};

/** Ports `80` or `8000-8010`; `end` only when a range was given (the API defaults it to `start`). */
export interface PortRange {
  start: number;
  end?: number;
}

export const portRange = (value: string): PortRange => {
  const [first, last, ...rest] = value.trim().split("-");
  const start = toPort(first ?? "");
  const end = last === undefined ? undefined : toPort(last);
  if (start === undefined || rest.length > 0 || (last !== undefined && end === undefined)) {
    throw new InvalidArgumentError("expected a port (80) or a range (8000-8010) of ports from 1 to 65535.");
  }
  if (end !== undefined && end < start) throw new InvalidArgumentError(`the range ends below its start (${start}).`);
  return end === undefined ? { start } : { start, end };
};

/** An integer within [min, max], e.g. an ICMP type (-1 for any). */
export const integerIn =
  (min: number, max: number) =>
  (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}.`);
    }
    return n;
  };

/** A parser for a repeatable option: each use adds one parsed value to the list. */
export const repeatable =
  <T>(parse: (value: string) => T) =>
  (value: string, previous: T[] | undefined): T[] => [...(previous ?? []), parse(value)];

/** `--nic <networkId>:<interface>[:<hostInterface>]`: how a router's NIC on a network is found and plugged. */
export interface RouterNicSpec {
  networkId: string;
  interface: string;
  hostInterface?: string;
}

export const routerNic = (value: string): RouterNicSpec => {
  const parts = value.split(":");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p.trim() === "")) {
    throw new InvalidArgumentError("expected <networkId>:<interface>[:<hostInterface>], e.g. 3f0c...:eth2:vnet7.");
  }
  const [networkId, iface, hostInterface] = parts.map((p) => p.trim()) as [string, string, string | undefined];
  return { networkId, interface: iface, ...(hostInterface === undefined ? {} : { hostInterface }) };
};

const readText = (path: string, what: string): Buffer => {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new InvalidArgumentError(`cannot read the ${what} file ${path}: ${(err as NodeJS.ErrnoException).code}.`);
  }
};

/** `--user-data-file <path>`: the file's bytes, base64 as the API takes them (an empty path clears it). */
export const userDataFile = (path: string): string =>
  path === "" ? "" : readText(path, "user data").toString("base64");

/** `--ssh-key <path>`: the public key lines of an OpenSSH public key file (comments and blanks skipped). */
export const sshKeyFile = (path: string): string[] =>
  readText(path, "SSH public key")
    .toString("utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
