/**
 * What the steps created, handed from step to step: later steps build on it, and the
 * fault steps read it all back after each fault to show that nothing was lost.
 */
export interface Scenario {
  tenants: Map<string, { accountId: string; token: string }>;
  /** Each network as its owner last read it. */
  networks: Map<string, { token: string; network: Record<string, unknown> }>;
  /** Each L3 rule listing (and egress policy) as its owner last read it, by its path. */
  rules: Map<string, { token: string; body: Record<string, unknown> }>;
  /** Traffic the steps proved through the system's routers, by what it shows: proved again after the faults. */
  traffic: Map<string, () => Promise<void>>;
}

export const newScenario = (): Scenario => ({
  tenants: new Map(),
  networks: new Map(),
  rules: new Map(),
  traffic: new Map(),
});

export const tenantOf = (scenario: Scenario, name: string): { accountId: string; token: string } => {
  const t = scenario.tenants.get(name);
  if (t === undefined) throw new Error(`no tenant ${name}: the accounts step did not run`);
  return t;
};
