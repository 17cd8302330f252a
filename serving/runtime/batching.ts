/**
 * Dynamic batching: requests that wait together and differ only in prompt, negative prompt and seed
 * run as one denoiser batch. Each request keeps the picture it would get alone: its initial noise is
 * drawn from its own seed (TorchGenerator, as the pipeline would) and the noises are concatenated into
 * the batch's `latents`. Only schedulers that draw no noise during the steps qualify: ancestral, LCM
 * and DDIM with eta > 0 keep drawing from one generator, which a batch would share.
 */
import { TorchGenerator } from "../../lib/index.js";
import type { ResolvedOptions, WorkerJob } from "./worker-protocol.js";

/**
 * Schedulers whose step is deterministic given the model output (an allow-list, so a new scheduler is
 * not batched until someone checks it). EulerDiscrete advances the generator for its s_churn noise but
 * never uses it when s_churn is 0 (the default), which the batch's given latents make harmless.
 */
export const DETERMINISTIC_SCHEDULERS: ReadonlySet<string> = new Set([
  "PNDMScheduler",
  "DDIMScheduler",
  "EulerDiscreteScheduler",
  "DPMSolverMultistepScheduler",
  "LMSDiscreteScheduler",
  "HeunDiscreteScheduler",
  "FlowMatchEulerDiscreteScheduler",
]);

/** Fields a batch may differ in; everything else must be equal. */
const PER_REQUEST_FIELDS = new Set(["prompt", "negative_prompt", "seed"]);
/** Fields that make a request run alone: image-to-image draws noise for the init image; per-prompt arrays of the extra encoders. */
const SOLO_FIELDS = ["image", "strength", "prompt_2", "negative_prompt_2", "prompt_3", "negative_prompt_3"] as const;

/** The key under which requests may share a batch; undefined when this one must run alone. */
export function batchKey(options: ResolvedOptions, schedulerClass: string): string | undefined {
  if (!DETERMINISTIC_SCHEDULERS.has(schedulerClass)) return undefined;
  if (schedulerClass === "DDIMScheduler" && options.eta > 0) return undefined;
  if (SOLO_FIELDS.some((f) => options[f] !== undefined)) return undefined;
  const rest = Object.entries(options)
    .filter(([k, v]) => !PER_REQUEST_FIELDS.has(k) && v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify([schedulerClass, rest]);
}

export function promptsOf(options: ResolvedOptions): string[] {
  return Array.isArray(options.prompt) ? options.prompt : [options.prompt];
}

/** Images a request produces: prompts x num_images_per_prompt. */
export function imageCount(options: ResolvedOptions): number {
  return promptsOf(options).length * options.num_images_per_prompt;
}

function negativesOf(options: ResolvedOptions): string[] {
  const n = promptsOf(options).length;
  const neg = options.negative_prompt;
  return Array.isArray(neg) ? neg : Array.from({ length: n }, () => neg ?? "");
}

/**
 * The one pipeline request for a batch of compatible jobs, and its initial noise: each job's noise
 * drawn from its own seed, `perImage` latent values per image, concatenated in job order.
 */
export function batchRequest(jobs: readonly WorkerJob[], perImage: number): { options: ResolvedOptions; latents: Float32Array } {
  const total = jobs.reduce((s, j) => s + imageCount(j.options), 0);
  const latents = new Float32Array(total * perImage);
  let at = 0;
  for (const j of jobs) {
    const n = imageCount(j.options) * perImage;
    latents.set(new TorchGenerator(j.seed).randn(n), at);
    at += n;
  }
  const options: ResolvedOptions = {
    ...jobs[0].options,
    prompt: jobs.flatMap((j) => promptsOf(j.options)),
    negative_prompt: jobs.flatMap((j) => negativesOf(j.options)),
    seed: jobs[0].seed,
  };
  return { options, latents };
}
