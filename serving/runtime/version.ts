/** The package version, for the V2 server metadata: read from the package.json above this file (source or dist). */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

export function packageVersion(): string {
  if (cached) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "diffusion-workbench" && pkg.version) return (cached = pkg.version);
    } catch {
      // not here: one folder up
    }
    const up = path.dirname(dir);
    if (up === dir) return (cached = "unknown");
    dir = up;
  }
}
