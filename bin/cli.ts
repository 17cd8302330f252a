#!/usr/bin/env node
/** diffusion-workbench command line: a thin shell over lib/. */
import { Command, CommanderError } from "commander";
import { InvalidInputError, WorkbenchError } from "../lib/index.js";
import { registerBuildTinyModel } from "./commands/build-tiny-model.js";
import { registerGenerate } from "./commands/generate.js";

const program = new Command()
  .name("diffusion-workbench")
  .description("Text-to-image with Stable Diffusion models on ONNX Runtime")
  .showHelpAfterError()
  .exitOverride();

registerGenerate(program);
registerBuildTinyModel(program);
(await import("./commands/models.js")).registerModels(program);
(await import("./commands/serve.js")).registerServe(program);
(await import("./commands/cluster.js")).registerCluster(program);
(await import("./commands/mcp.js")).registerMcp(program);
(await import("./commands/finetune.js")).registerFinetune(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode;
  } else if (err instanceof WorkbenchError) {
    process.stderr.write(`error: ${err.message}\n`);
    process.exitCode = err instanceof InvalidInputError ? 2 : 1;
  } else {
    process.stderr.write(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  }
}
