import type { ServerResponse } from "node:http";

/**
 * Writes server-sent events with back-pressure: once `write` says the socket is full, later
 * events wait in a queue until it drains; a reader so slow that what waits passes
 * `boundBytes` is cut off (`onOverflow`), so one stalled client cannot grow the gateway's
 * memory without end.
 */
export class SseWriter {
  private readonly queue: string[] = [];
  private queuedBytes = 0;
  private waiting = false;
  private over = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly boundBytes: number,
    private readonly onOverflow: () => void,
  ) {
    res.on("drain", () => this.flush());
  }

  write(chunk: string): void {
    if (this.over || this.res.destroyed) return;
    if (!this.waiting) {
      this.waiting = !this.res.write(chunk);
      return;
    }
    this.queue.push(chunk);
    this.queuedBytes += Buffer.byteLength(chunk);
    if (this.queuedBytes + this.res.writableLength > this.boundBytes) {
      this.over = true;
      this.queue.length = 0;
      this.onOverflow();
    }
  }

  private flush(): void {
    this.waiting = false;
    while (!this.waiting && this.queue.length > 0) {
      const chunk = this.queue.shift() as string;
      this.queuedBytes -= Buffer.byteLength(chunk);
      this.waiting = !this.res.write(chunk);
    }
  }
}
