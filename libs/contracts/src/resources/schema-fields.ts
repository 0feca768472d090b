import Type from "@sdn/typebox";

/** Field builders the vr-manager's resource schemas share. */
export const closed = { additionalProperties: false } as const;
export const ipv4 = (description: string, example: string) =>
  Type.String({ format: "ipv4", description, examples: [example] });
export const timestamp = (description: string) =>
  Type.String({ format: "date-time", description, examples: ["2025-01-31T12:00:00.000Z"] });
export const port = (description: string, example: number) =>
  Type.Integer({ minimum: 1, maximum: 65535, description, examples: [example] });
