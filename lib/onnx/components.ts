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

/** File names exporters use for a component's graph, in order of preference. */
const GRAPH_FILES = ["model.onnx", "model_optimized.onnx"];

export async function componentFile(dir: string, name: string): Promise<string> {
  const folder = path.join(dir, name);
  let entries: string[];
  try {
    entries = await readdir(folder);
  } catch {
    throw new ModelNotFoundError(`component '${name}' not found: no folder ${folder}`, folder);
  }
  const file = GRAPH_FILES.find((f) => entries.includes(f));
  if (!file) {
    throw new ModelNotFoundError(`component '${name}': no ${GRAPH_FILES.join(" or ")} in ${folder}`, folder);
  }
  return path.join(folder, file);
}

export class Components {
  private readonly open = new Map<string, ModelSession>();
  private readonly files = new Map<string, string>();
  /** Accumulated `session.run` statistics per component, kept across offload re-opens. */
  readonly runMs = new Map<string, { calls: number; ms: number }>();

  constructor(
    readonly dir: string,
    readonly runtime: RuntimeOptions,
  ) {}

  async file(name: string): Promise<string> {
    let f = this.files.get(name);
    if (!f) {
      f = await componentFile(this.dir, name);
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
