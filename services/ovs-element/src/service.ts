import { packageVersion, RunLevel, type ServiceContext, type ServiceSpec } from "@sdn/runtime";
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

/** The parts of one running element, built on its open state. */
export class Element {
  private constructor(
    readonly agents: AgentClient,
    readonly peers: Collaborators,
    readonly mesh: Mesh,
    readonly nics: NicManager,
    readonly reconciler: Reconciler,
    readonly health: TunnelHealthBook,
    private readonly stopCollecting: () => void,
  ) {}

  static async open(ctx: Ctx): Promise<Element> {
    const { nc, events, config, logger } = ctx;
    const agents = new AgentClient(nc, config.SDN_AGENT_TIMEOUT_MS);
    const peers = new Collaborators(ctx.commands);
    const store = await ElementStore.open(nc);
    const health = await TunnelHealthBook.open({ nc, store, events, peers, logger });
    const mesh = new Mesh({ store, agents, events, config, logger });
    const nics = new NicManager({ store, mesh, agents, peers, events, config, logger });
    const reconciler = new Reconciler({
      nc,
      store,
      mesh,
      pruner: new MembershipPruner(store, peers, logger),
      agents,
      events,
      config,
      logger,
    });
    return new Element(agents, peers, mesh, nics, reconciler, health, collectTunnelStates(store));
  }

  async stop(): Promise<void> {
    this.stopCollecting();
    await this.health.stop();
    await this.mesh.stop();
  }
}

/** The ovs-element service as the runtime starts it; tests start it in-process from here. */
export const ovsElementSpec: ServiceSpec<typeof ElementConfig.properties, Element> = {
  name: "ovs-element",
  version: packageVersion(import.meta.url),
  description: "Ovs provider: capabilities, GRE tunnel mesh, NIC plug/unplug, reconciliation",
  config: ElementConfig,
  // A plug mostly waits (on the guru, the agents, its mesh pass): more of them at once let
  // a burst reach one mesh pass together instead of in waves of the default 64.
  commandConcurrency: 256,
  setup: async (ctx) => {
    const element = await Element.open(ctx);
    return {
      state: element,
      handlers: elementHandlers(element.nics, element.peers, element.health),
      components: [
        { name: "element-state", runLevel: RunLevel.Component, stop: () => element.stop() },
        {
          // After the command server: the desired state is open before anything is repaired.
          name: "reconciler",
          runLevel: RunLevel.ApplicationMainLoop,
          start: () => {
            element.reconciler.start();
            element.health.start(ctx.config.SDN_RECONCILE_INTERVAL_MS);
          },
          stop: () => element.reconciler.stop(),
        },
      ],
    };
  },
};
