/** Where the workbench keeps what it builds or downloads: MODEL_CACHE_DIR, else the user's cache folder. */
import os from "node:os";
import path from "node:path";

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MODEL_CACHE_DIR) return path.resolve(env.MODEL_CACHE_DIR);
  const base = env.XDG_CACHE_HOME ? path.resolve(env.XDG_CACHE_HOME) : path.join(os.homedir(), ".cache");
  return path.join(base, "diffusion-workbench");
}
