import { pino, type DestinationStream, type Logger } from "pino";
import { redact } from "./redact.js";

export type { Logger };

/**
 * JSON logs, one line per event, with secrets removed before serialisation (see
 * redact.ts). `destination` lets tests capture what would be written.
 */
export const createLogger = (service: string, level: string, destination?: DestinationStream): Logger =>
  pino(
    {
      name: service,
      level,
      base: { service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        log: (obj) => redact(obj) as Record<string, unknown>,
      },
      hooks: {
        // Messages are strings built by our code; scrub them too in case one quotes input.
        logMethod(args, method) {
          method.apply(
            this,
            args.map((a) => (typeof a === "string" ? (redact(a) as string) : a)) as Parameters<typeof method>,
          );
        },
      },
    },
    destination,
  );
