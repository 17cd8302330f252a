/**
 * The optional deploy step: point an InferenceService of this project's runtime at the new ONNX
 * folder (models/{VERSION}/{OUTPUT_NAME}/onnx in the data connection's bucket), by server-side
 * apply, so KServe rolls the predictor over to the fine-tuned model. The object comes from the
 * same template as every other InferenceService of the project (lib/cluster/objects).
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import { applyObjects } from "../../lib/cluster/apply.js";
import type { ClusterConfig } from "../../lib/cluster/config.js";
import { inferenceService } from "../../lib/cluster/objects/serving.js";
import type { InferenceService } from "../../lib/cluster/objects/types.js";
import { modelPrefix } from "../../lib/models/push.js";

export interface DeployModelOptions {
  /** InferenceService name. */
  inferenceService: string;
  version: string;
  name: string;
  /** The data connection Secret the runtime reads the model with (storage.key). */
  dataConnection: string;
  /** The ServingRuntime (default: the project's "diffusion-workbench"). */
  runtime?: string;
  namespace: string;
}

/** Where the served folder is in the bucket. */
export function servedModelPath(name: string, version: string): string {
  return `${modelPrefix(name, version)}onnx`;
}

export function fineTunedInferenceService(o: DeployModelOptions): InferenceService {
  return inferenceService({
    namespace: o.namespace,
    name: o.inferenceService,
    storage: { type: "s3", dataConnection: o.dataConnection, path: servedModelPath(o.name, o.version) },
    ...(o.runtime ? { runtime: o.runtime } : {}),
    displayName: `${o.name} ${o.version} (Dreambooth)`,
  });
}

/** Applies the InferenceService (taking over fields an earlier apply by hand owns). */
export async function deployFineTunedModel(cluster: ClusterConfig, o: Omit<DeployModelOptions, "namespace"> & { namespace?: string }): Promise<KubernetesObject[]> {
  const obj = fineTunedInferenceService({ ...o, namespace: o.namespace ?? cluster.namespace });
  return applyObjects(cluster, [obj as KubernetesObject], { force: true });
}
