import { resolve } from "node:path";
import { ensureComposeBusSecrets } from "./compose-secrets.js";

/**
 * `node apps/launcher/dist/compose-secrets-cli.js DIR`: the bus credentials docker-compose.yml
 * mounts as secrets (scripts/compose-secrets.sh runs it, on the host or in the gateway image).
 */
const dir = process.argv[2];
if (dir === undefined || dir === "") {
  process.stderr.write("usage: compose-secrets-cli DIR\n");
  process.exit(2);
}
ensureComposeBusSecrets(resolve(dir)).catch((err: unknown) => {
  process.stderr.write(`cannot make the bus credentials: ${(err as Error).message}\n`);
  process.exit(1);
});
