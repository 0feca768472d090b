import { packageVersion, perService, RunLevel, type ServiceContext, type ServiceSpec } from "@sdn/runtime";
import { AgentClient } from "./agent-client.js";
import { Collaborators } from "./collaborators.js";
import { ElementConfig } from "./config.js";
import { elementHandlers } from "./handlers.js";
import { MembershipPruner } from "./membership-pruner.js";
import { collectTunnelStates } from "./metrics.js";
import { Mesh } from "./mesh.js";
import { NicManager } from "./nic-manager.js";
import { Reconciler } from "./reconciler.js";
import { ElementStore } from "./store.js";
import { TunnelHealthBook } from "./tunnel-health.js";

type Ctx = ServiceContext<ElementConfig>;

/** The parts of one running element, built when its state is open. */
export class Element {
  readonly agents: AgentClient;
  readonly peers: Collaborators;
  mesh: Mesh | undefined;
  nics: NicManager | undefined;
  reconciler: Reconciler | undefined;
  health: TunnelHealthBook | undefined;
  private stopCollecting: (() => void) | undefined;

  constructor(private readonly ctx: Ctx) {
    this.agents = new AgentClient(ctx.nc, ctx.config.SDN_AGENT_TIMEOUT_MS);
    this.peers = new Collaborators(ctx.commands);
  }

  async open(): Promise<void> {
    const { nc, events, config, logger } = this.ctx;
    const store = await ElementStore.open(nc);
    this.stopCollecting = collectTunnelStates(store);
    this.health = await TunnelHealthBook.open({ nc, store, events, peers: this.peers, logger });
    this.mesh = new Mesh({ store, agents: this.agents, events, config, logger });
    this.nics = new NicManager({
      store,
      mesh: this.mesh,
      agents: this.agents,
      peers: this.peers,
      events,
      config,
      logger,
    });
    this.reconciler = new Reconciler({
      nc,
      store,
      mesh: this.mesh,
      pruner: new MembershipPruner(store, this.peers, logger),
      agents: this.agents,
      events,
      config,
      logger,
    });
  }

  async stop(): Promise<void> {
    this.stopCollecting?.();
    await this.health?.stop();
    await this.mesh?.stop();
  }

  nicManager(): NicManager {
    if (this.nics === undefined) throw new Error("the element's state is not open");
    return this.nics;
  }

  tunnelHealth(): TunnelHealthBook {
    if (this.health === undefined) throw new Error("the element's state is not open");
    return this.health;
  }
}

const elements = perService((ctx: Ctx) => new Element(ctx));
const elementOf = elements.of;

/** The running element (tests and the benchmark read its counters or run a reconciliation). */
export const elementOfContext = (ctx: object): Element | undefined => elements.find(ctx as Ctx);

/** The ovs-element service as the runtime starts it; tests start it in-process from here. */
export const ovsElementSpec: ServiceSpec<typeof ElementConfig.properties> = {
  name: "ovs-element",
  version: packageVersion(import.meta.url),
  description: "Ovs provider: capabilities, GRE tunnel mesh, NIC plug/unplug, reconciliation",
  config: ElementConfig,
  // A plug mostly waits (on the guru, the agents, its mesh pass): more of them at once let
  // a burst reach one mesh pass together instead of in waves of the default 64.
  commandConcurrency: 256,
  handlers: (ctx) =>
    elementHandlers(
      () => elementOf(ctx).nicManager(),
      () => elementOf(ctx).peers,
      () => elementOf(ctx).tunnelHealth(),
    ),
  components: (ctx) => [
    {
      name: "element-state",
      runLevel: RunLevel.Component,
      start: () => elementOf(ctx).open(),
      stop: () => elementOf(ctx).stop(),
    },
    {
      // After the command server: the desired state is open before anything is repaired.
      name: "reconciler",
      runLevel: RunLevel.ApplicationMainLoop,
      start: () => {
        elementOf(ctx).reconciler?.start();
        elementOf(ctx).health?.start(ctx.config.SDN_RECONCILE_INTERVAL_MS);
      },
      stop: () => elementOf(ctx).reconciler?.stop(),
    },
  ],
};
