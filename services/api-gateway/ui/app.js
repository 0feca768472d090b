// The web view's entry: login with a token, then the tables and the topology, reloaded when
// the event stream says something changed (docs/web-ui.md).

import { ApiError, forgetToken, getJson, saveToken, savedToken } from "./api.js";
import { show } from "./dom.js";
import { followEvents } from "./events.js";
import { loadModel } from "./model.js";
import { renderTables } from "./tables.js";
import { topology } from "./topology.js";

/** Events arriving close together (a NIC plug publishes several) make one reload. */
const RELOAD_DELAY_MS = 200;

const byId = (/** @type {string} */ id) => {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`the page has no #${id}`);
  return node;
};
const status = (/** @type {string} */ text) => {
  byId("status").textContent = text;
};

/** @type {AbortController | undefined} */
let session;

/** One reload at a time; a request for another while one runs makes exactly one more after it. */
const reloader = (/** @type {AbortSignal} */ signal) => {
  let running = false;
  let tenant = false;
  let again = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  const run = async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      const model = await loadModel(signal, tenant);
      if (signal.aborted) return;
      tenant = model.hosts.forbidden === true;
      renderTables(model);
      show("topology", topology(model));
      byId("view").dataset["loadedAt"] = new Date().toISOString();
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError && error.status === 401) logout("The token is no longer valid.");
      else status(`Could not load: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      running = false;
      if (again && !signal.aborted) {
        again = false;
        void run();
      }
    }
  };
  return () => {
    clearTimeout(timer);
    timer = setTimeout(() => void run(), RELOAD_DELAY_MS);
  };
};

const start = () => {
  session?.abort();
  const current = new AbortController();
  session = current;
  byId("login").hidden = true;
  byId("view").hidden = false;
  byId("logout").hidden = false;
  const reload = reloader(current.signal);
  status("Connecting…");
  void followEvents({
    signal: current.signal,
    // Also after a reconnection: what changed while the stream was down is read again.
    onLive: () => {
      status("Live");
      reload();
    },
    onEvent: (type) => {
      if (type !== "answer") reload();
    },
    onDown: (error) => {
      if (error instanceof ApiError && error.status === 401) logout("The token is no longer valid.");
      else status("Reconnecting…");
    },
  });
};

const logout = (/** @type {string} */ reason = "") => {
  session?.abort();
  session = undefined;
  forgetToken();
  for (const id of ["hosts", "networks", "tunnels", "nics", "routers", "topology"]) show(id);
  byId("view").hidden = true;
  byId("logout").hidden = true;
  byId("login").hidden = false;
  byId("login-error").textContent = reason;
  status("");
};

byId("login").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = /** @type {HTMLInputElement} */ (byId("token"));
  const token = input.value.trim();
  input.value = "";
  saveToken(token);
  // Checked before the view opens, so a mistyped token says so here.
  getJson("v1/networks?limit=1").then(start, (/** @type {unknown} */ error) =>
    logout(error instanceof ApiError && error.status === 401 ? "That token is not valid." : String(error)),
  );
});
byId("logout").addEventListener("click", () => logout());

if (savedToken() !== null) start();
