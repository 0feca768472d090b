/**
 * One object per running service. A spec's `components(ctx)` and `handlers(ctx)` are
 * called separately with the same context and must share the service's object (its guru,
 * element, manager...); several services may run in one process (tests), so the object is
 * keyed by the context rather than held in a module variable.
 */
export const perService = <Ctx extends object, T>(make: (ctx: Ctx) => T) => {
  const made = new WeakMap<Ctx, T>();
  return {
    /** The service's object, made on first use. */
    of: (ctx: Ctx): T => {
      let value = made.get(ctx);
      if (value === undefined) {
        value = make(ctx);
        made.set(ctx, value);
      }
      return value;
    },
    /** The object if the service made it (tests look inside running services). */
    find: (ctx: Ctx): T | undefined => made.get(ctx),
  };
};
