/** `build-tiny-model`: write a model folder (optimum layout) made by the builder, for tests and benchmarks. */
import type { Command } from "commander";
import {
  buildModelFolder,
  buildSd3ModelFolder,
  buildSdxlModelFolder,
  buildShapesModelFolder,
  InvalidInputError,
  PIPELINE_KINDS,
  PRECISIONS,
  PRESETS,
  SD3_PRESET_NAMES,
  SDXL_PRESET_NAMES,
  type PipelineKind,
  type Precision,
  type Sd3PresetName,
  type SdxlPresetName,
} from "../../lib/index.js";
import { int, oneOf } from "./parse.js";

const FAMILIES = ["sd1", "sd2", "sdxl", "sd3", "shapes"] as const;
const ALL_PRESETS = [...new Set([...Object.keys(PRESETS), ...SDXL_PRESET_NAMES, ...SD3_PRESET_NAMES])];

interface Flags {
  output: string;
  family?: (typeof FAMILIES)[number];
  preset: string;
  inputIds: "int64" | "int32";
  timestep: "float-scalar" | "int64-batch" | "float-batch";
  vaeEncoderOutput: "latent_parameters" | "latent_sample";
  predictionType: "epsilon" | "v_prediction";
  pipeline: PipelineKind;
  precision: Precision;
  seed: number;
}

export function registerBuildTinyModel(program: Command): void {
  program
    .command("build-tiny-model")
    .description("build a model folder: the real SD architecture with random weights, or the analytic shapes model (no download)")
    .requiredOption("-o, --output <dir>", "folder to create")
    .option("--family <family>", "sd1, sd2, sdxl, sd3 (random weights), or shapes (analytic; ignores --preset, --seed, --vae-encoder-output)", oneOf(FAMILIES))
    .option(
      "--preset <name>",
      `size preset: sd1/sd2 ${Object.keys(PRESETS).join(", ")}; sdxl ${SDXL_PRESET_NAMES.join(", ")}; sd3 ${SD3_PRESET_NAMES.join(", ")}`,
      oneOf(ALL_PRESETS),
      "tiny",
    )
    .option("--input-ids <type>", "text encoder input_ids type: int64 (optimum), int32 (legacy)", oneOf(["int64", "int32"] as const), "int64")
    .option(
      "--timestep <contract>",
      "UNet timestep: float-scalar (optimum >= 1.24), int64-batch (optimum 1.6-1.23), float-batch (legacy)",
      oneOf(["float-scalar", "int64-batch", "float-batch"] as const),
      "float-scalar",
    )
    .option(
      "--vae-encoder-output <name>",
      "VAE encoder output: latent_parameters (current), latent_sample (older)",
      oneOf(["latent_parameters", "latent_sample"] as const),
      "latent_parameters",
    )
    .option("--prediction-type <type>", "scheduler prediction_type", oneOf(["epsilon", "v_prediction"] as const), "epsilon")
    .option("--pipeline <kind>", `pipeline kind: ${PIPELINE_KINDS.join(", ")} (lcm: UNet with timestep_cond and the LCM scheduler; turbo: Euler a, trailing)`, oneOf(PIPELINE_KINDS), "sd")
    .option("--precision <p>", `weights and I/O: ${PRECISIONS.join(", ")}`, oneOf(PRECISIONS), "float32")
    .option("--seed <n>", "weight seed", int, 0)
    .action(async (flags: Flags) => {
      const t = performance.now();
      const common = { outDir: flags.output, inputIds: flags.inputIds, timestep: flags.timestep, predictionType: flags.predictionType };
      const presetFor = <T extends string>(allowed: readonly T[]): T => {
        if (!(allowed as readonly string[]).includes(flags.preset)) {
          throw new InvalidInputError("--preset", `'${flags.preset}' is not a ${flags.family} preset`, allowed.join(", "));
        }
        return flags.preset as T;
      };
      const random = { ...common, seed: flags.seed, vaeEncoderOutput: flags.vaeEncoderOutput };
      const result =
        flags.family === "shapes"
          ? await buildShapesModelFolder(common)
          : flags.family === "sdxl"
            ? await buildSdxlModelFolder({ ...random, preset: presetFor<SdxlPresetName>(SDXL_PRESET_NAMES) })
            : flags.family === "sd3"
              ? await buildSd3ModelFolder({ outDir: flags.output, inputIds: flags.inputIds, seed: flags.seed, vaeEncoderOutput: flags.vaeEncoderOutput, preset: presetFor<Sd3PresetName>(SD3_PRESET_NAMES) })
              : await buildModelFolder({
                  ...random,
                  family: flags.family,
                  preset: presetFor(Object.keys(PRESETS) as (keyof typeof PRESETS)[]),
                  pipeline: flags.pipeline,
                  precision: flags.precision,
                });
      const what = flags.family === "shapes" ? "shapes" : `${flags.family ?? "default family"}/${flags.preset}`;
      process.stderr.write(`built ${what} in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
      process.stdout.write(`${result.dir}\n`);
    });
}
