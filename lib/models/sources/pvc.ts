/**
 * `pvc://claim/path`, as KServe writes a storageUri. Inside a KServe predictor the claim's `path` is
 * mounted at /mnt/models (directly, or copied there by the storage initializer, which mounts the
 * claim at /mnt/pvc); in a workbench the claim is mounted wherever the Notebook CR says, so
 * PVC_MOUNT_ROOT (claims mounted as <root>/<claim>) points there.
 */
import { stat } from "node:fs/promises";
import path from "node:path";
import { ModelNotFoundError } from "../../errors.js";

export const KSERVE_MODEL_DIR = "/mnt/models";
export const KSERVE_PVC_SOURCE_DIR = "/mnt/pvc";

export interface PvcMountOptions {
  /** Claims mounted as `<root>/<claim>` (default env PVC_MOUNT_ROOT). */
  mountRoot?: string;
  /** Where KServe mounts the model (default /mnt/models). */
  kserveModelDir?: string;
  /** Where KServe's storage initializer mounts the claim (default /mnt/pvc). */
  kservePvcDir?: string;
}

/** The folders `pvc://claim/path` may be at, most specific first. */
export function pvcCandidates(claim: string, rel: string, options: PvcMountOptions = {}, env: NodeJS.ProcessEnv = process.env): string[] {
  const root = options.mountRoot ?? env.PVC_MOUNT_ROOT;
  return [
    ...(root ? [path.join(root, claim, rel)] : []),
    options.kserveModelDir ?? KSERVE_MODEL_DIR,
    path.join(options.kservePvcDir ?? KSERVE_PVC_SOURCE_DIR, rel),
  ];
}

export async function resolvePvc(claim: string, rel: string, options: PvcMountOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const candidates = pvcCandidates(claim, rel, options, env);
  for (const dir of candidates) {
    try {
      if ((await stat(path.join(dir, "model_index.json"))).isFile()) return dir;
    } catch {
      // try the next place
    }
  }
  throw new ModelNotFoundError(
    `pvc://${claim}/${rel}: no model folder (with model_index.json) at ${candidates.join(", ")}; ` +
      "mount the claim (set PVC_MOUNT_ROOT to the folder holding <claim>/) or give the mounted folder's path",
    candidates[0],
  );
}
