// GET /v1/events read with fetch() and a stream reader: EventSource cannot send the
// Authorization header, and the token must never travel in a URL.

import { ApiError, call } from "./api.js";

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 15_000;

/**
 * @typedef {{
 *   onEvent: (type: string, data: string) => void,
 *   onLive: () => void,
 *   onDown: (error: unknown) => void,
 *   signal: AbortSignal,
 * }} Listener
 */

/**
 * Follows the stream until the signal aborts, reconnecting with back-off; onLive on every
 * (re)connection (the caller reloads then: events between two connections are not replayed).
 * A 401 ends it: the token was revoked or never valid.
 * @param {Listener} listener
 */
export const followEvents = async (listener) => {
  let delay = RETRY_MIN_MS;
  while (!listener.signal.aborted) {
    try {
      const res = await call("v1/events", listener.signal);
      if (res.status === 401) throw new ApiError(401, "UNAUTHORIZED", "the token is not valid");
      if (!res.ok || res.body === null) throw new ApiError(res.status, `HTTP_${res.status}`, "event stream refused");
      delay = RETRY_MIN_MS;
      listener.onLive();
      await readFrames(res.body, listener.onEvent);
      listener.onDown(new Error("the event stream ended"));
    } catch (error) {
      if (listener.signal.aborted) return;
      listener.onDown(error);
      if (error instanceof ApiError && error.status === 401) return;
    }
    await sleep(delay, listener.signal);
    delay = Math.min(delay * 2, RETRY_MAX_MS);
  }
};

/**
 * Splits a text/event-stream body into events (comments and heartbeats are skipped).
 * @param {ReadableStream<Uint8Array>} body
 * @param {(type: string, data: string) => void} onEvent
 */
const readFrames = async (body, onEvent) => {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true }).replaceAll("\r\n", "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const parsed = parseFrame(frame);
      if (parsed !== undefined) onEvent(parsed.type, parsed.data);
    }
  }
};

/**
 * @param {string} frame
 * @returns {{ type: string, data: string } | undefined}
 */
export const parseFrame = (frame) => {
  let type = "message";
  /** @type {string[]} */
  const data = [];
  for (const line of frame.split("\n")) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") type = value;
    else if (field === "data") data.push(value);
  }
  return data.length === 0 ? undefined : { type, data: data.join("\n") };
};

/**
 * @param {number} ms
 * @param {AbortSignal} signal
 * @returns {Promise<void>}
 */
const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
