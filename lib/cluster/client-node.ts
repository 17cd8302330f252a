/**
 * @kubernetes/client-node, loaded on first use. It takes about a second to load, and lib/index.ts
 * re-exports lib/cluster, so a static import would slow every user of the library (the CLI's
 * `generate`, the servers, notebooks) that never talks to a cluster. `require` of an ES module is
 * synchronous on Node >= 22.12, which keeps `loadClusterConfig` synchronous.
 */
import { createRequire } from "node:module";

type ClientNode = typeof import("@kubernetes/client-node");
let loaded: ClientNode | undefined;

export function clientNode(): ClientNode {
  loaded ??= createRequire(import.meta.url)("@kubernetes/client-node") as ClientNode;
  return loaded;
}
