import type { SwaggerOptions } from "@fastify/swagger";
import Fastify, { type RouteOptions } from "fastify";
import type { GatewayApp } from "./app.js";

type OpenApiDocument = ReturnType<GatewayApp["swagger"]>;

/**
 * The OpenAPI document, built at its first request rather than at start: @fastify/swagger
 * loads its document builders and a YAML library when registered, which every idle gateway
 * then held (issue 18). The gateway only notes its routes as they are added from where the
 * plugin was registered (what the plugin itself kept); the first request replays them into a
 * Fastify instance of its own that never listens nor compiles a schema, with the plugin
 * registered first, and keeps what the plugin builds.
 */
export class OpenApi {
  private readonly routes: RouteOptions[] = [];
  private built: Promise<GatewayApp["swagger"]> | undefined;

  constructor(
    app: GatewayApp,
    private readonly options: SwaggerOptions,
  ) {
    app.addHook("onRoute", (route) => void this.routes.push(route as RouteOptions));
  }

  /** The document. */
  async document(): Promise<OpenApiDocument> {
    return (await this.swagger())();
  }

  /** The plugin's `swagger()` once built (the /docs UI calls it as it would the gateway's). */
  swagger(): Promise<GatewayApp["swagger"]> {
    return (this.built ??= this.build().catch((err: unknown) => {
      // A failed build is tried again by the next request.
      this.built = undefined;
      throw err;
    }));
  }

  private async build(): Promise<GatewayApp["swagger"]> {
    const { default: swagger } = await import("@fastify/swagger");
    // The gateway's own HEAD routes are among those replayed: none is to be added twice.
    const doc = Fastify({ exposeHeadRoutes: false, routerOptions: { maxParamLength: 200 } });
    // Only the schemas as written matter here; nothing is validated or serialised.
    doc.setValidatorCompiler(() => () => true);
    doc.setSerializerCompiler(() => (data) => JSON.stringify(data));
    await doc.register(swagger, this.options);
    for (const { method, url, schema, config } of this.routes) {
      doc.route({
        method,
        url,
        ...(schema === undefined ? {} : { schema }),
        ...(config === undefined ? {} : { config }),
        handler: async () => undefined,
      });
    }
    await doc.ready();
    return doc.swagger.bind<GatewayApp["swagger"]>(doc);
  }
}
