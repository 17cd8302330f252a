/** The compiled pipeline as the KFP SDK writes it: the PipelineSpec, `---`, the platform spec. */
import { parseAllDocuments, stringify } from "yaml";
import { InvalidInputError } from "../../lib/errors.js";
import type { CompiledPipeline, PipelineSpec, PlatformSpec } from "./spec.js";

export function pipelineToYaml(compiled: CompiledPipeline): string {
  const header = `# PIPELINE DEFINITION\n# Name: ${compiled.pipelineSpec.pipelineInfo.name}\n`;
  const opts = { lineWidth: 0, sortMapEntries: false } as const;
  const docs = [stringify(compiled.pipelineSpec, opts)];
  if (Object.keys(compiled.platformSpec.platforms.kubernetes.deploymentSpec.executors).length > 0) docs.push(stringify(compiled.platformSpec, opts));
  return header + docs.join("---\n");
}

/** Reads a pipeline YAML back (for checks and for `finetune submit` of a file). */
export function pipelineFromYaml(text: string): CompiledPipeline {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs) || docs.length === 0) throw new InvalidInputError("pipeline", "is not a YAML document", "a compiled pipeline YAML");
  for (const d of docs) if (d.errors.length > 0) throw new InvalidInputError("pipeline", d.errors[0].message, "valid YAML");
  const pipelineSpec = docs[0].toJS() as PipelineSpec;
  if (pipelineSpec?.schemaVersion === undefined || pipelineSpec.root === undefined) {
    throw new InvalidInputError("pipeline", "the first document has no schemaVersion or root", "a KFP v2 PipelineSpec");
  }
  const platformSpec = (docs[1]?.toJS() as PlatformSpec | undefined) ?? { platforms: { kubernetes: { deploymentSpec: { executors: {} } } } };
  return { pipelineSpec, platformSpec };
}
