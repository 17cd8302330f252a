/** `build-tiny-model`: write a model folder (optimum layout) with random weights, for tests and benchmarks. */
import type { Command } from "commander";
import { buildModelFolder, PRESETS, type BuildModelFolderOptions } from "../../lib/index.js";
import { int, oneOf } from "./parse.js";

export function registerBuildTinyModel(program: Command): void {
  program
    .command("build-tiny-model")
    .description("build a model folder with the real architecture and random weights (no download)")
    .requiredOption("-o, --output <dir>", "folder to create")
    .option("--family <family>", "model family: sd1, sd2 (default: the preset's)", oneOf(["sd1", "sd2"] as const))
    .option("--preset <name>", `size preset: ${Object.keys(PRESETS).join(", ")}`, oneOf(Object.keys(PRESETS)), "tiny")
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
    .option("--seed <n>", "weight seed", int, 0)
    .action(async (flags) => {
      const options: BuildModelFolderOptions = {
        family: flags.family,
        preset: flags.preset,
        seed: flags.seed,
        outDir: flags.output,
        inputIds: flags.inputIds,
        timestep: flags.timestep,
        vaeEncoderOutput: flags.vaeEncoderOutput,
      };
      const t = performance.now();
      const result = await buildModelFolder(options);
      process.stderr.write(`built ${flags.family ?? "default family"}/${flags.preset} in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
      process.stdout.write(`${result.dir}\n`);
    });
}
