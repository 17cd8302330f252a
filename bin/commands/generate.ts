/** `generate`: text-to-image from the command line, PNGs with their parameters in text metadata. */
import type { Command } from "commander";
import {
  DTYPES,
  SCHEDULER_NAMES,
  loadPipeline,
  parseProviderRequest,
  resolveModel,
  runtimeOptionsFromEnv,
  saveImages,
  type DtypeRequest,
} from "../../lib/index.js";
import { readFile } from "node:fs/promises";
import { InvalidInputError } from "../../lib/index.js";
import { int, num, oneOf } from "./parse.js";

async function readInitImage(file: string): Promise<Uint8Array<ArrayBuffer>> {
  try {
    return new Uint8Array(await readFile(file));
  } catch (err) {
    throw new InvalidInputError("--image", `cannot read ${file}: ${(err as Error).message}`, "a readable PNG, JPEG or WebP file");
  }
}
import { stepProgress } from "./progress.js";

interface GenerateFlags {
  negativePrompt?: string;
  prompt2?: string;
  negativePrompt2?: string;
  prompt3?: string;
  negativePrompt3?: string;
  maxSequenceLength?: number;
  image?: string;
  strength?: number;
  steps?: number;
  guidance?: number;
  width?: number;
  height?: number;
  seed?: number;
  scheduler?: string;
  count?: number;
  output: string;
  model?: string;
  provider?: string;
  dtype?: DtypeRequest;
  progress: boolean;
  json?: boolean;
}

export function registerGenerate(program: Command): void {
  program
    .command("generate")
    .description("generate images from a text prompt (default model: the built-in analytic shapes model)")
    .argument("<prompt...>", "the prompt (quotes optional)")
    .option("-n, --negative-prompt <text>", "what to steer away from (used when guidance > 1)")
    .option("--prompt-2 <text>", "SDXL/SD3: prompt for the second text encoder (default: the prompt)")
    .option("--negative-prompt-2 <text>", "SDXL/SD3: negative prompt for the second text encoder")
    .option("--prompt-3 <text>", "SD3: prompt for the T5 encoder (default: the prompt)")
    .option("--negative-prompt-3 <text>", "SD3: negative prompt for the T5 encoder")
    .option("--max-sequence-length <n>", "SD3: T5 tokens, up to 512 (default 256)", int)
    .option("--image <file>", "image-to-image: the init image (PNG, JPEG or WebP)")
    .option("--strength <x>", "image-to-image: how much to change, in (0, 1] (default: the family's, as diffusers: 0.8 SD 1.x/2.x and LCM, 0.3 SDXL, 0.6 SD3)", num)
    .option("-s, --steps <n>", "number of denoising steps (default 50)", int)
    .option("-g, --guidance <w>", "classifier-free guidance scale; <= 1 disables it (default 7.5)", num)
    .option("-W, --width <px>", "width in pixels, a multiple of 8 (default: the model's)", int)
    .option("-H, --height <px>", "height in pixels, a multiple of 8 (default: the model's)", int)
    .option("--seed <n>", "seed for torch-identical noise (default: random, printed)", int)
    .option("--scheduler <name>", `scheduler: ${SCHEDULER_NAMES.join(", ")}`)
    .option("-c, --count <n>", "images per prompt (default 1)", int)
    .option("-o, --output <dir>", "folder for the PNG files", "out")
    .option("-m, --model <id>", "a model folder, pvc://claim/path, s3://bucket/prefix, a Hub id owner/name[@revision], or a built-in model: shapes (default), tiny (env MODEL_ID)")
    .option("--provider <list>", "execution providers in order: auto, cpu, cuda, tensorrt, webgpu (env EXECUTION_PROVIDER)")
    .option("--dtype <dtype>", `precision: ${DTYPES.join(", ")} (env DTYPE)`, oneOf(DTYPES))
    .option("--no-progress", "no progress bar")
    .option("--json", "print a JSON summary instead of text")
    .action(async (words: string[], flags: GenerateFlags) => {
      const env = runtimeOptionsFromEnv();
      const runtime = {
        ...env,
        ...(flags.provider ? { providers: parseProviderRequest(flags.provider, "--provider") } : {}),
        ...(flags.dtype ? { dtype: flags.dtype } : {}),
      };
      const given = flags.model ?? (process.env.MODEL_ID || undefined);
      const model = await resolveModel(given, {
        onBuild: (name, dir) => process.stderr.write(`building the built-in '${name}' model once into ${dir}\n`),
      });
      if (model.builtin) {
        process.stderr.write(
          given
            ? `using the built-in '${model.builtin}' model (${model.description})\n`
            : `no model given: using the built-in '${model.builtin}' model (${model.description}); set --model or MODEL_ID for a real one\n`,
        );
      }
      const pipe = await loadPipeline(model.dir, runtime);
      const progress = stepProgress(flags.progress);
      try {
        const result = await pipe.generate(
          {
            prompt: words.join(" "),
            ...(flags.negativePrompt !== undefined ? { negative_prompt: flags.negativePrompt } : {}),
            ...(flags.prompt2 !== undefined ? { prompt_2: flags.prompt2 } : {}),
            ...(flags.negativePrompt2 !== undefined ? { negative_prompt_2: flags.negativePrompt2 } : {}),
            ...(flags.prompt3 !== undefined ? { prompt_3: flags.prompt3 } : {}),
            ...(flags.negativePrompt3 !== undefined ? { negative_prompt_3: flags.negativePrompt3 } : {}),
            ...(flags.maxSequenceLength !== undefined ? { max_sequence_length: flags.maxSequenceLength } : {}),
            ...(flags.image !== undefined ? { image: await readInitImage(flags.image) } : {}),
            ...(flags.strength !== undefined ? { strength: flags.strength } : {}),
            ...(flags.steps !== undefined ? { num_inference_steps: flags.steps } : {}),
            ...(flags.guidance !== undefined ? { guidance_scale: flags.guidance } : {}),
            ...(flags.width !== undefined ? { width: flags.width } : {}),
            ...(flags.height !== undefined ? { height: flags.height } : {}),
            ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
            ...(flags.scheduler !== undefined ? { scheduler: flags.scheduler } : {}),
            ...(flags.count !== undefined ? { num_images_per_prompt: flags.count } : {}),
          },
          { onStep: progress.onStep },
        );
        progress.stop();
        const files = await saveImages(result, flags.output, { model: model.builtin ? `builtin:${model.builtin}` : model.dir });
        const t = result.timings;
        if (flags.json) {
          process.stdout.write(
            JSON.stringify({ files, seed: result.seed, scheduler: result.scheduler, timings: { ...t, stepMs: undefined } }, null, 2) + "\n",
          );
        } else {
          for (const f of files) process.stdout.write(`${f}\n`);
          process.stderr.write(
            `seed ${result.seed}, ${result.scheduler}, ${result.options.num_inference_steps} steps, ` +
              `${(t.totalMs / 1000).toFixed(2)} s (denoise ${(t.denoiseMs / 1000).toFixed(2)} s, decode ${(t.decodeMs / 1000).toFixed(2)} s)\n`,
          );
        }
      } finally {
        progress.stop();
        await pipe.dispose();
      }
    });
}
