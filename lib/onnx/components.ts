/**
 * The sessions of a model folder's components (`<dir>/<name>/model.onnx`). Without CPU offload each
 * opens once and stays; with it, a component is opened when acquired and released right after use,
 * so only the one in use holds memory.
 */
import { readdir } from "node:fs/promises";
import path from "node:path";
import { ModelNotFoundError } from "../errors.js";
import { consoleLogger } from "../logger.js";
import type { RuntimeOptions } from "./runtime-options.js";
import { ModelSession } from "./session.js";
import { GRAPH_FILES } from "./variants.js";

/** `<dir>/<name>/<first of graphFiles present>` (graphFiles: a precision variant's file names). */
export async function componentFile(dir: string, name: string, graphFiles: readonly string[] = GRAPH_FILES): Promise<string> {
  const folder = path.join(dir, name);
  let entries: string[];
  try {
    entries = await readdir(folder);
  } catch {
    throw new ModelNotFoundError(`component '${name}' not found: no folder ${folder}`, folder);
  }
  const file = graphFiles.find((f) => entries.includes(f));
  if (!file) {
    throw new ModelNotFoundError(`component '${name}': no ${graphFiles.join(" or ")} in ${folder}`, folder);
  }
  return path.join(folder, file);
}

export class Components {
  private readonly open = new Map<string, ModelSession>();
  private readonly files = new Map<string, string>();
  /** Accumulated `session.run` statistics per component, kept across offload re-opens. */
  readonly runMs = new Map<string, { calls: number; ms: number }>();

  /**
   * @param variant where the graphs are read from when a folder holds several precisions
   *   (variants.ts); default: `dir` and the usual file names
   */
  constructor(
    readonly dir: string,
    readonly runtime: RuntimeOptions,
    readonly variant: { dir: string; graphFiles: readonly string[] } = { dir, graphFiles: GRAPH_FILES },
  ) {}

  /** Whether the model has this component (e.g. the optional vae_encoder). */
  async has(name: string): Promise<boolean> {
    return this.file(name).then(
      () => true,
      () => false,
    );
  }

  async file(name: string): Promise<string> {
    let f = this.files.get(name);
    if (!f) {
      f = await componentFile(this.variant.dir, name, this.variant.graphFiles);
      this.files.set(name, f);
    }
    return f;
  }

  async acquire(name: string): Promise<ModelSession> {
    const existing = this.open.get(name);
    if (existing) return existing;
    const session = await ModelSession.open(name, await this.file(name), {
      providers: this.runtime.providers,
      lowCpuMem: this.runtime.lowCpuMem,
      threads: this.runtime.threads,
      graphOptimization: this.runtime.graphOptimization,
      logger: this.runtime.logger ?? consoleLogger,
    });
    this.open.set(name, session);
    return session;
  }

  /** Done with a component for now: released when offloading, kept otherwise. */
  async release(name: string): Promise<void> {
    if (!this.runtime.cpuOffload) return;
    await this.close(name);
  }

  private async close(name: string): Promise<void> {
    const s = this.open.get(name);
    if (!s) return;
    this.open.delete(name);
    const acc = this.runMs.get(name) ?? { calls: 0, ms: 0 };
    acc.calls += s.stats.calls;
    acc.ms += s.stats.runMs;
    this.runMs.set(name, acc);
    await s.dispose();
  }

  /** Total milliseconds spent in `session.run`, open sessions included. */
  totalRunMs(): number {
    let ms = 0;
    for (const v of this.runMs.values()) ms += v.ms;
    for (const s of this.open.values()) ms += s.stats.runMs;
    return ms;
  }

  loaded(): string[] {
    return [...this.open.keys()];
  }

  async dispose(): Promise<void> {
    for (const name of [...this.open.keys()]) await this.close(name);
  }
}
