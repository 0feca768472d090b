import { jetstreamManager, type JetStreamManager, type MsgRequest, type StoredMsg } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { auditFilter, DEFAULT_PAGE_LIMIT, STREAMS, type AuditPage, type AuditRecord } from "@sdn/contracts";
import { HttpError } from "../http-errors.js";

export interface AuditSelection {
  /** Only this account's records; undefined: every account's (admins). */
  accountId?: string | undefined;
  command?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

/** A cursor is the stream sequence of the page's last record: only the caller's own records end pages. */
const CURSOR = /^a1\.(\d{1,16})$/;
const cursorAfter = (seq: number): string => Buffer.from(`a1.${seq}`, "utf8").toString("base64url");

const seqOfCursor = (cursor: string): number => {
  const match = CURSOR.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  if (match === null || cursorAfter(Number(match[1])) !== cursor) {
    const message = "cursor is not a nextCursor of this listing; start again without a cursor";
    throw new HttpError("VALIDATION_FAILED", message, { issues: [{ path: "/cursor", message }] });
  }
  return Number(match[1]);
};

/**
 * Reads the audit trail (stream SDN_AUDIT) a page at a time, oldest first, by single
 * message gets filtered by subject: the account filter is part of the subject, so a
 * tenant's page can only ever hold its own records.
 */
export class AuditReader {
  private constructor(private readonly jsm: JetStreamManager) {}

  static async open(nc: NatsConnection): Promise<AuditReader> {
    return new AuditReader(await jetstreamManager(nc));
  }

  async page(sel: AuditSelection): Promise<AuditPage> {
    const filter = auditFilter({
      ...(sel.accountId === undefined ? {} : { accountId: sel.accountId }),
      ...(sel.command === undefined ? {} : { command: sel.command }),
    });
    const limit = sel.limit ?? DEFAULT_PAGE_LIMIT;
    const until = sel.until === undefined ? Number.POSITIVE_INFINITY : Date.parse(sel.until);
    let seq =
      sel.cursor !== undefined
        ? seqOfCursor(sel.cursor) + 1
        : sel.since === undefined
          ? 1
          : await this.firstAt(sel.since);
    const items: AuditRecord[] = [];
    for (;;) {
      const m = await this.next(seq, filter);
      if (m === undefined || m.time.getTime() > until) return { items };
      if (items.length === limit) return { items, nextCursor: cursorAfter(seq - 1) };
      items.push(m.json<AuditRecord>());
      seq = m.seq + 1;
    }
  }

  /**
   * The first stored message at or after `seq` on `subject`; undefined when none. The
   * server's message get takes `next_by_subj` (NATS 2.9+), which the client's type omits.
   */
  private async next(seq: number, subject: string): Promise<StoredMsg | undefined> {
    const query = { seq, next_by_subj: subject } as unknown as MsgRequest;
    return (await this.jsm.streams.getMessage(STREAMS.audit.name, query)) ?? undefined;
  }

  /** The sequence of the first record written at or after `since` (a binary search over the stream). */
  private async firstAt(since: string): Promise<number> {
    const at = Date.parse(since);
    const { state } = await this.jsm.streams.info(STREAMS.audit.name);
    let lo = state.first_seq;
    let hi = state.last_seq + 1;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const m = await this.next(mid, ">");
      if (m === undefined || m.time.getTime() >= at) hi = mid;
      else lo = m.seq + 1;
    }
    return lo;
  }
}
