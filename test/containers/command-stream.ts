import type { CommandClient } from "@sdn/bus";
import type { Answer, CommandDefinition, RequestOf, ResponseOf } from "@sdn/contracts";

export interface AcceptedCommand {
  commandId: string;
  /** When JetStream acknowledged it: from then on the system owes it an answer. */
  acceptedAt: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Load for fault tests: publishes durable commands one after another at a steady pace
 * and keeps every one JetStream accepted. A publish that fails (NATS away) was never
 * accepted; it is only counted.
 */
export class CommandStream<C extends CommandDefinition> {
  readonly accepted: AcceptedCommand[] = [];
  refused = 0;
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly client: CommandClient,
    private readonly def: C,
    private readonly body: RequestOf<C>,
    private readonly pauseMs = 25,
  ) {}

  start(): this {
    this.loop = (async () => {
      while (!this.stopped) {
        try {
          const { commandId } = await this.client.publish(this.def, this.body);
          this.accepted.push({ commandId, acceptedAt: Date.now() });
        } catch {
          this.refused++;
        }
        await sleep(this.pauseMs);
      }
    })();
    return this;
  }

  async stop(): Promise<AcceptedCommand[]> {
    this.stopped = true;
    await this.loop;
    return this.accepted;
  }
}

/**
 * Reads the answer of every command from the answer stream, waiting until all are there;
 * on timeout, says how many (and which) are missing.
 */
export const collectAnswers = async <C extends CommandDefinition>(
  client: CommandClient,
  def: C,
  commandIds: readonly string[],
  timeoutMs: number,
): Promise<Map<string, Answer<ResponseOf<C>>>> => {
  const answers = new Map<string, Answer<ResponseOf<C>>>();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const missing = commandIds.filter((id) => !answers.has(id));
    const found = await Promise.all(missing.map((id) => client.findAnswer(def, id, undefined).catch(() => undefined)));
    found.forEach((answer, i) => {
      if (answer !== undefined) answers.set(missing[i]!, answer);
    });
    if (answers.size === commandIds.length) return answers;
    if (Date.now() > deadline) {
      const still = commandIds.filter((id) => !answers.has(id));
      throw new Error(
        `${still.length} of ${commandIds.length} accepted ${def.name} commands got no answer within ${timeoutMs} ms, e.g. ${still.slice(0, 3).join(", ")}`,
      );
    }
    await sleep(500);
  }
};
