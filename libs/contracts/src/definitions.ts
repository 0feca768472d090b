import type { Static, TSchema } from "@sdn/typebox";
import type { CommandServiceName, ServiceName } from "./subjects.js";

/** The tier a command travels on (DESIGN.md, "Two tiers of delivery"). */
export type Delivery = "durable" | "request";

/**
 * A command: where it goes, what it carries and what its answer holds. Handlers, senders,
 * the gateway's routes and the AsyncAPI document are all built from these objects.
 */
export interface CommandDefinition<
  S extends string = string,
  N extends string = string,
  Req extends TSchema = TSchema,
  Res extends TSchema = TSchema,
> {
  readonly service: S;
  readonly name: N;
  readonly delivery: Delivery;
  readonly summary: string;
  readonly request: Req;
  readonly response: Res;
}

export const defineCommand = <S extends CommandServiceName, N extends string, Req extends TSchema, Res extends TSchema>(
  def: CommandDefinition<S, N, Req, Res>,
): CommandDefinition<S, N, Req, Res> => def;

export type RequestOf<C extends CommandDefinition> = Static<C["request"]>;
export type ResponseOf<C extends CommandDefinition> = Static<C["response"]>;

/** An event: published by one service on `sdn.evt.<service>.<name>`. */
export interface EventDefinition<
  S extends ServiceName = ServiceName,
  N extends string = string,
  D extends TSchema = TSchema,
> {
  readonly service: S;
  readonly name: N;
  readonly summary: string;
  readonly data: D;
}

export const defineEvent = <S extends ServiceName, N extends string, D extends TSchema>(
  def: EventDefinition<S, N, D>,
): EventDefinition<S, N, D> => def;

export type EventDataOf<E extends EventDefinition> = Static<E["data"]>;
