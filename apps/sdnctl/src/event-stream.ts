/** `GET /v1/events` read as server-sent events (parsed by eventsource-parser). */
import { EventSourceParserStream } from "eventsource-parser/stream";
import type { ApiClient } from "./api-client.js";

export interface ServerEvent {
  /** `answer` for a command's answer, else the domain event's type. */
  event: string;
  /** The answer's commandId, or the domain event's eventId. */
  id?: string;
  data: string;
}

/**
 * Connects (resolving once the server accepted the stream) and returns the events, until
 * the server ends the stream or `signal` aborts it.
 */
export const openEventStream = async (client: ApiClient, signal: AbortSignal): Promise<AsyncIterable<ServerEvent>> => {
  const body = await client.stream("/v1/events", signal);
  const messages = body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
  return (async function* () {
    for await (const m of messages) {
      yield { event: m.event ?? "message", ...(m.id === undefined ? {} : { id: m.id }), data: m.data };
    }
  })();
};

/** The parsed data of an event, or undefined when it is not JSON. */
export const eventData = (e: ServerEvent): Record<string, unknown> | undefined => {
  try {
    const value: unknown = JSON.parse(e.data);
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};
