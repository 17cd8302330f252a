/**
 * The manifest a push writes beside the model's files (last, so its presence means the upload
 * finished): what was sent, with sizes and SHA-256, so a pull can verify files whose multipart ETag
 * is not a plain MD5.
 */
import { z } from "zod";

export const MANIFEST_FILE = "workbench-manifest.json";

export const ModelManifestSchema = z.object({
  format: z.literal("diffusion-workbench/model-manifest"),
  formatVersion: z.literal(1),
  name: z.string(),
  version: z.string(),
  createdAt: z.string(),
  files: z.array(z.object({ path: z.string(), size: z.number().int().nonnegative(), sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
  /** Files left out on purpose (training checkpoints, logs). */
  skipped: z.array(z.string()),
});
export type ModelManifest = z.infer<typeof ModelManifestSchema>;
