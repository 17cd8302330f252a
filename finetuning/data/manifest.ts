/** manifest.json beside the prepared instance images: what was kept, what was rejected and why. */
import { z } from "zod";

export const DATA_MANIFEST_FILE = "manifest.json";
/** The prepared images' folder inside the output: only images, as the training scripts open every file there. */
export const INSTANCE_DIR = "instance";

export const DataManifestSchema = z.object({
  format: z.literal("diffusion-workbench/dreambooth-data"),
  formatVersion: z.literal(1),
  createdAt: z.string(),
  source: z.string(),
  resolution: z.number().int(),
  fit: z.enum(["crop", "pad"]),
  instancePrompt: z.string(),
  images: z.array(
    z.object({
      /** Relative to the manifest, e.g. "instance/000.png". */
      file: z.string(),
      source: z.string(),
      caption: z.string(),
      format: z.string(),
      width: z.number().int(),
      height: z.number().int(),
      orientation: z.number().int(),
      sourceSha256: z.string(),
      dhash: z.string(),
    }),
  ),
  rejected: z.array(
    z.object({
      source: z.string(),
      reason: z.enum(["corrupt", "unsupported-format", "too-small", "duplicate"]),
      detail: z.string(),
    }),
  ),
});
export type DataManifest = z.infer<typeof DataManifestSchema>;
