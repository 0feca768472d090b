import type { DestinationStream } from "pino";

/** Text waiting for the end of this turn of the event loop, by the stream it goes to. */
const pending = new Map<DestinationStream, string>();
let scheduled = false;

const writePending = (): void => {
  scheduled = false;
  // Taken before writing: a writer that throws (destroyed) leaves nothing half-written behind.
  const batches = [...pending];
  pending.clear();
  for (const [stream, text] of batches) stream.write(text);
};

/**
 * A process that exits with text still waiting (process.exit, an uncaught exception) writes
 * it first. pino flushes its own writer at exit too, but may have done so already.
 */
const writeAtExit = (): void => {
  const batches = [...pending];
  pending.clear();
  for (const [stream, text] of batches) {
    try {
      stream.write(text);
      (stream as { flushSync?: () => void }).flushSync?.();
    } catch {
      // A writer that cannot write now (destroyed, never opened) cannot be helped while exiting.
    }
  }
};
let exitHooked = false;

/**
 * Writes `text` to `stream` at the end of this turn of the event loop, in one write with
 * whatever else was given for that stream in the turn. pino's asynchronous writer measures
 * what it already holds at every write (issue 18: a busy gateway's access lines spent more in
 * that than in being made); one write a turn measures it once.
 */
export const writeThisTurn = (stream: DestinationStream, text: string): void => {
  pending.set(stream, (pending.get(stream) ?? "") + text);
  if (!exitHooked) {
    exitHooked = true;
    process.on("exit", writeAtExit);
  }
  if (!scheduled) {
    scheduled = true;
    setImmediate(writePending);
  }
};
