import Type from "@sdn/typebox";
import { defineCommand } from "../definitions.js";
import { ErrorBody } from "../errors.js";
import { NetworkId, NicAddress, NicId } from "../resources/networks.js";

/** The most NICs one ReserveNicAddresses command carries: its answer stays well under a NATS message. */
export const MAX_NIC_ADDRESS_BATCH = 256;

const closed = { additionalProperties: false } as const;

export const NicAddressRequest = Type.Object(
  {
    nicId: NicId,
    ip: Type.Optional(
      Type.String({
        format: "ipv4",
        description: "A specific address; refused (UNPROCESSABLE) outside the CIDR, CONFLICT when taken",
        examples: ["10.1.0.17"],
      }),
    ),
  },
  closed,
);

export const NicAddressOutcome = Type.Object(
  {
    nicId: NicId,
    address: Type.Optional(NicAddress),
    error: Type.Optional(ErrorBody),
  },
  {
    ...closed,
    $id: "NicAddressOutcome",
    description: "One NIC's outcome in a batch: its address, or the refusal a ReserveNicAddress would have answered",
  },
);

export const ReserveNicAddresses = defineCommand({
  service: "network-guru",
  name: "ReserveNicAddresses",
  delivery: "durable",
  summary:
    `Reserves guest addresses for up to ${MAX_NIC_ADDRESS_BATCH} NICs of one network at once, each as ` +
    "ReserveNicAddress would (idempotent by nicId, the requested address or a free one), at a cost of a few " +
    "writes per batch instead of a few per NIC. Answers one outcome per NIC, in request order: its address or " +
    "its refusal (CONFLICT taken / no free address, UNPROCESSABLE outside the CIDR or excluded). NOT_FOUND or " +
    "CONFLICT (being deleted) for the network refuse the whole command; a nicId given twice is VALIDATION_FAILED.",
  request: Type.Object(
    {
      networkId: NetworkId,
      nics: Type.Array(NicAddressRequest, { minItems: 1, maxItems: MAX_NIC_ADDRESS_BATCH }),
    },
    {
      ...closed,
      examples: [
        { networkId: "3f0c1d2e-4b5a-4c6d-8e9f-a0b1c2d3e4f5", nics: [{ nicId: "nic-7f3a" }, { nicId: "nic-7f3b" }] },
      ],
    },
  ),
  response: Type.Object(
    { networkId: NetworkId, nics: Type.Array(NicAddressOutcome) },
    { ...closed, $id: "NicAddressOutcomes" },
  ),
});
