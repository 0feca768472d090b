import { assertValid, jsonSchemaFile, MalformedMessageError } from "@sdn/bus";
import { DestroyBridge, ListVms, SetupBridge, TunnelInterface } from "@sdn/contracts";
import Type, { type Static, type TSchema } from "@sdn/typebox";
import { HostProgramError } from "./errors.js";

/*
 * What the host programs print, as schemas: the agent checks every answer against them
 * where it parses it, and scripts/export-schemas.ts writes them as JSON Schema next to the
 * programs (host/schema/) for the Python side.
 */

/** A refusal: the program's reason (a host-errors.ts reason, or its own) and a message. */
export const ProgramError = Type.Object(
  { code: Type.String({ minLength: 1 }), message: Type.String() },
  { description: "Why the host program refused or failed" },
);

/** The KVM script's envelope around every result; the exit status must agree with `ok` (checked apart). */
export const ProgramAnswer = Type.Union(
  [
    Type.Object({ ok: Type.Literal(true), result: Type.Unknown() }),
    Type.Object({ ok: Type.Literal(false), error: ProgramError }),
  ],
  { description: "What sdn-ovs-kvm <function> prints: one JSON object" },
);
export type ProgramAnswer = Static<typeof ProgramAnswer>;

/** restore_flows' result: how many managed bridges were compared, and those repaired. */
export const FlowRestore = Type.Object({
  checked: Type.Integer({ minimum: 0 }),
  restored: Type.Array(Type.Object({ bridge: Type.String(), networkId: Type.String() })),
});
export type FlowRestore = Static<typeof FlowRestore>;

/**
 * The result of each host program function whose shape the agent relies on (sdn_ovs.py's
 * FUNCTIONS, through the XAPI plugin or the KVM script). Functions not listed here pass
 * their result on as the agent command's answer (apply_tunnels, plug_vif, ovs_state...),
 * which the caller checks against the command's contract.
 */
export const PROGRAM_RESULTS = {
  version: Type.Object({ version: Type.String({ minLength: 1 }), python: Type.String() }),
  host_info: Type.Object({
    version: Type.String(),
    ovsVersion: Type.String(),
    ovsdbSocket: Type.Optional(Type.String()),
    hostname: Type.String(),
    os: Type.String(),
    osVersion: Type.String(),
    kernel: Type.String(),
    bridges: Type.Array(Type.String()),
  }),
  fetch_interface: TunnelInterface,
  setup_bridge: SetupBridge.response,
  destroy_bridge: DestroyBridge.response,
  list_vms: ListVms.response,
  // What the agent reads itself and no caller checks after it:
  ipsec_check: Type.Object({ bridge: Type.String({ minLength: 1 }) }),
  restore_flows: FlowRestore,
  tunnel_health: Type.Object({
    tunnels: Type.Array(
      Type.Object({
        port: Type.String(),
        networkId: Type.String(),
        remoteIp: Type.String(),
        bfdEnabled: Type.Boolean(),
        bfdStatus: Type.Record(Type.String(), Type.String()),
      }),
    ),
  }),
} as const satisfies Record<string, TSchema>;

const resultSchemaOf = (fn: string): TSchema | undefined =>
  Object.hasOwn(PROGRAM_RESULTS, fn) ? PROGRAM_RESULTS[fn as keyof typeof PROGRAM_RESULTS] : undefined;

/** `assertValid` whose refusal is the host error BAD_OUTPUT: the program, not the request, is at fault. */
const checked = <T extends TSchema>(schema: T, value: unknown, what: string): Static<T> => {
  try {
    return assertValid(schema, value, what);
  } catch (err) {
    if (err instanceof MalformedMessageError) throw new HostProgramError("BAD_OUTPUT", err.message);
    throw err;
  }
};

/** A function's result checked against its schema (HostProgramError BAD_OUTPUT naming the field when it breaks it). */
export const checkProgramResult = <T>(program: string, fn: string, result: unknown): T => {
  const schema = resultSchemaOf(fn);
  return (schema === undefined ? result : checked(schema, result, `${program} ${fn}'s result`)) as T;
};

/** The KVM script's whole answer checked: the envelope, then the result of a successful call. */
export const checkProgramAnswer = <T>(
  program: string,
  fn: string,
  answer: unknown,
): { ok: true; result: T } | { ok: false; error: Static<typeof ProgramError> } => {
  const a = checked(ProgramAnswer, answer, `${program} ${fn}'s answer`);
  return a.ok ? { ok: true, result: checkProgramResult<T>(program, fn, a.result) } : a;
};

/** JSON Schema of what the programs print, by file name under host/schema/ (written by scripts/export-schemas.ts). */
export const programSchemaFiles = (): Record<string, string> => {
  const files: Record<string, string> = { "answer.json": jsonSchemaFile(ProgramAnswer) };
  for (const [fn, schema] of Object.entries(PROGRAM_RESULTS)) files[`${fn}.result.json`] = jsonSchemaFile(schema);
  return files;
};
