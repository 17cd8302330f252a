/** Where the step commands find things on a workbench (the containers' places are in dreambooth/pipeline.ts). */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { InvalidInputError } from "../../lib/errors.js";
import type { LocationName } from "../kfp/step.js";

const here = path.dirname(fileURLToPath(import.meta.url));

/** finetuning/containers, from the sources or from dist/finetuning/local (the .py file is not compiled). */
function toolsDir(): string {
  for (const dir of [path.resolve(here, "../containers"), path.resolve(here, "../../../finetuning/containers")]) {
    if (existsSync(path.join(dir, "export_model.py"))) return dir;
  }
  return path.resolve(here, "../containers");
}

export interface WorkbenchLocationOptions {
  /** The run folder's parent (the cluster's /workspace PVC). */
  workspace: string;
  /** diffusers' examples/dreambooth at the pinned release (default: $DIFFUSERS_EXAMPLES). */
  examples?: string;
  /** This project's CLI (default: dist/bin/cli.js of this package). */
  cli?: string;
  tools?: string;
  env?: NodeJS.ProcessEnv;
}

export function workbenchLocations(o: WorkbenchLocationOptions): Record<LocationName, string> {
  const examples = o.examples ?? (o.env ?? process.env).DIFFUSERS_EXAMPLES;
  if (!examples) {
    throw new InvalidInputError("examples", "is not set", "the folder diffusers/examples/dreambooth of the pinned release (--examples or DIFFUSERS_EXAMPLES)");
  }
  return {
    node: process.execPath,
    cli: o.cli ?? path.resolve(here, "../../bin/cli.js"),
    workspace: path.resolve(o.workspace),
    examples: path.resolve(examples),
    tools: o.tools ?? toolsDir(),
  };
}
