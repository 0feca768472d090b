import { SerializerSelector } from "@fastify/fast-json-stringify-compiler";

type SerializerFactory = ReturnType<typeof SerializerSelector>;

/**
 * Fastify's serializer builder, compiling each response serializer when it is first used
 * rather than when the gateway starts. Fastify compiles one per route and response status
 * (about 60 routes × 8 statuses, most of them error statuses a route seldom gives): built
 * eagerly they were generated code and garbage the idle gateway held (issue 18). A first
 * response of a kind pays one compile (about a millisecond); later ones run the same
 * compiled function as before.
 */
export const buildLazySerializer: SerializerFactory = (externalSchemas, options) => {
  const compile = SerializerSelector()(externalSchemas, options);
  return (route) => {
    let serialize: ((doc: unknown) => string) | undefined;
    return (doc) => (serialize ??= compile(route))(doc);
  };
};
