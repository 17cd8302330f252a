/**
 * The generation request, declared once with zod: its field names are the wire names the seed's
 * clients send (diffusers' argument names), its defaults and ranges live here, and the CLI, the KServe
 * runtime (V1 instances, V2 parameters) and the MCP tool all parse through `parseGenerateOptions`.
 */
import { z } from "zod";
import { InvalidInputError } from "../errors.js";

export const LIMITS = {
  maxSteps: 1000,
  maxGuidance: 100,
  minSize: 64,
  maxSize: 4096,
  maxImagesPerPrompt: 16,
  maxPromptChars: 10_000,
  maxSequenceLength: 512,
} as const;

const size = z
  .number()
  .int()
  .min(LIMITS.minSize)
  .max(LIMITS.maxSize)
  .refine((v) => v % 8 === 0, { message: "must be a multiple of 8" });

const prompt = z.string().max(LIMITS.maxPromptChars);
const prompts = z.union([prompt, z.array(prompt).min(1)]);
const pair = z.tuple([z.number().int().min(0).max(16_384), z.number().int().min(0).max(16_384)]);

export const GenerateOptionsSchema = z
  .object({
    /** One prompt, or a batch of prompts. */
    prompt: z.union([prompt, z.array(prompt).min(1)]),
    /** Negative prompt(s): one for all, or one per prompt. Used only with guidance_scale > 1. */
    negative_prompt: z.union([prompt, z.array(prompt).min(1)]).optional(),
    num_inference_steps: z.number().int().min(1).max(LIMITS.maxSteps).default(50),
    /** Classifier-free guidance weight w (Imagen eq. 2); <= 1 disables guidance. */
    guidance_scale: z.number().min(0).max(LIMITS.maxGuidance).default(7.5),
    /** Pixels; default: the UNet's sample_size x 8 (512 for SD 1.5). */
    width: size.optional(),
    height: size.optional(),
    /** torch.Generator seed; any safe integer (only the low 32 bits reach mt19937, as in PyTorch). Random if absent. */
    seed: z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER).optional(),
    /** A scheduler name or diffusers class; default: the model's scheduler_config.json. */
    scheduler: z.string().min(1).optional(),
    num_images_per_prompt: z.number().int().min(1).max(LIMITS.maxImagesPerPrompt).default(1),
    /** DDIM's eta (0 = deterministic). */
    eta: z.number().min(0).max(1).default(0),
    /** SDXL / SD3: prompt for the second text encoder (default: `prompt`). */
    prompt_2: prompts.optional(),
    negative_prompt_2: prompts.optional(),
    /** SD3: prompt for the T5 encoder (default: `prompt`). */
    prompt_3: prompts.optional(),
    negative_prompt_3: prompts.optional(),
    /** SD3: T5 sequence length (diffusers' default 256). */
    max_sequence_length: z.number().int().min(1).max(LIMITS.maxSequenceLength).optional(),
    /** Image-to-image: the init image, encoded (PNG, JPEG or WebP) as bytes or base64 (a data: URL too). */
    image: z.union([z.string().min(1), z.instanceof(Uint8Array)]).optional(),
    /** Image-to-image: how much of the init image to replace, (0, 1]; diffusers' default 0.8. */
    strength: z.number().gt(0).max(1).optional(),
    /** SDXL micro-conditioning, [height, width] and [top, left]; diffusers' defaults from the output size. */
    original_size: pair.optional(),
    target_size: pair.optional(),
    crops_coords_top_left: pair.optional(),
  })
  .strict();

export type GenerateOptionsInput = z.input<typeof GenerateOptionsSchema>;
export type GenerateOptions = z.output<typeof GenerateOptionsSchema>;

/** Allowed values of each field, for error messages. */
const ALLOWED: Record<string, string> = {
  prompt: `a string of at most ${LIMITS.maxPromptChars} characters, or a non-empty array of them`,
  negative_prompt: `a string of at most ${LIMITS.maxPromptChars} characters, or an array with one per prompt`,
  num_inference_steps: `an integer from 1 to ${LIMITS.maxSteps}`,
  guidance_scale: `a number from 0 to ${LIMITS.maxGuidance}`,
  width: `a multiple of 8 from ${LIMITS.minSize} to ${LIMITS.maxSize}`,
  height: `a multiple of 8 from ${LIMITS.minSize} to ${LIMITS.maxSize}`,
  seed: "a safe integer",
  scheduler: "a scheduler name",
  num_images_per_prompt: `an integer from 1 to ${LIMITS.maxImagesPerPrompt}`,
  eta: "a number from 0 to 1",
  prompt_2: "a string or an array with one per prompt",
  negative_prompt_2: "a string or an array with one per prompt",
  prompt_3: "a string or an array with one per prompt",
  negative_prompt_3: "a string or an array with one per prompt",
  max_sequence_length: `an integer from 1 to ${LIMITS.maxSequenceLength}`,
  image: "PNG, JPEG or WebP bytes, or their base64",
  strength: "a number in (0, 1]",
  original_size: "[height, width], integers",
  target_size: "[height, width], integers",
  crops_coords_top_left: "[top, left], integers",
};

/** Validate a request; the first problem becomes an InvalidInputError naming the field and what is allowed. */
export function parseGenerateOptions(input: unknown): GenerateOptions {
  const result = GenerateOptionsSchema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue.code === "unrecognized_keys") {
    throw new InvalidInputError(
      issue.keys.join(", "),
      `unknown field${issue.keys.length > 1 ? "s" : ""}`,
      Object.keys(GenerateOptionsSchema.shape).join(", "),
    );
  }
  const field = issue.path.length ? issue.path.map(String).join(".") : "request";
  const top = String(issue.path[0] ?? "");
  throw new InvalidInputError(field, issue.message, ALLOWED[top]);
}

/** Fields of the shared schema that some families do not use; a request that sets one is refused, not ignored. */
export const FAMILY_SPECIFIC_FIELDS = [
  "prompt_2",
  "negative_prompt_2",
  "prompt_3",
  "negative_prompt_3",
  "max_sequence_length",
  "image",
  "strength",
  "original_size",
  "target_size",
  "crops_coords_top_left",
] as const;
export type FamilySpecificField = (typeof FAMILY_SPECIFIC_FIELDS)[number];

/** Refuse the family-specific fields a pipeline does not use, naming the family. */
export function rejectUnusedFields(o: GenerateOptions, used: readonly FamilySpecificField[], family: string): void {
  for (const field of FAMILY_SPECIFIC_FIELDS) {
    if (!used.includes(field) && o[field] !== undefined) {
      throw new InvalidInputError(
        field,
        `is not used by ${family} models`,
        used.length ? `for ${family}: ${used.join(", ")}` : "none of the family-specific fields",
      );
    }
  }
}
