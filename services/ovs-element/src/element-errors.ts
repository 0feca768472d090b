// The refusals every service makes alike live in contracts; the element's modules take them from here.
export { conflictingField, invalidField, notFound } from "@sdn/contracts";

export const describeError = (err: unknown): string => (err instanceof Error ? err.message : String(err));
