import type { Role } from "@sdn/contracts";

/** Who is calling, as established from the bearer token. */
export interface Principal {
  readonly accountId: string;
  readonly role: Role;
  readonly tokenId: string;
  /** When the token stops authenticating (ISO 8601); undefined: never. */
  readonly expiresAt?: string | undefined;
}

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | undefined;
  }
  interface FastifyContextConfig {
    /** Reachable without a token (health, docs). */
    public?: boolean;
    /** Only admin tokens may call it; tenants get 403. */
    adminOnly?: boolean;
  }
}
