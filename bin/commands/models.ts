/** `models pull|push|ls`: model sources and the download cache from the command line. */
import path from "node:path";
import type { Command } from "commander";
import {
  cacheRoot,
  consoleLogger,
  dataConnectionFromEnv,
  describeSource,
  InvalidInputError,
  listCachedModels,
  modelPrefix,
  parseS3Url,
  pushModel,
  resolveModel,
  s3ClientOptionsFromEnv,
  type TransferProgress,
} from "../../lib/index.js";

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** A one-line progress report on stderr, at most every half second (and the last one). */
function progressLine(enabled: boolean) {
  let last = 0;
  return (p: TransferProgress) => {
    if (!enabled) return;
    const now = Date.now();
    if (p.phase !== "done" && now - last < 500) return;
    last = now;
    process.stderr.write(`${p.filesDone}/${p.filesTotal} files, ${mb(p.bytesDone)} of ${mb(p.bytesTotal)}${p.phase === "done" ? "\n" : "\r"}`);
  };
}

export function registerModels(program: Command): void {
  const models = program.command("models").description("model sources: pull into the cache, push to S3, list the cache");

  models
    .command("pull")
    .description("download a model into the cache (s3://bucket/prefix, owner/name[@revision], a bare key prefix in AWS_S3_BUCKET), or check a local/PVC one")
    .argument("<id>", "model id (see docs: local folder, pvc://, s3://, Hub id)")
    .option("--all-files", "download every file, not only what an ONNX pipeline needs")
    .option("--no-progress", "no progress line")
    .action(async (id: string, flags: { allFiles?: boolean; progress: boolean }) => {
      const r = await resolveModel(id, {
        refresh: true,
        allFiles: flags.allFiles,
        logger: { ...consoleLogger, info: (m) => process.stderr.write(`${m}\n`) },
        onProgress: progressLine(flags.progress && process.stderr.isTTY === true),
        onBuild: (name, dir) => process.stderr.write(`building the built-in '${name}' model once into ${dir}\n`),
      });
      if (r.bytesFetched !== undefined) {
        process.stderr.write(r.bytesFetched > 0 ? `downloaded ${mb(r.bytesFetched)} of ${describeSource(r.source)}\n` : `${describeSource(r.source)} is up to date in the cache\n`);
      }
      process.stdout.write(`${r.dir}\n`);
    });

  models
    .command("push")
    .description("upload a model folder to S3 with a manifest (skipping training checkpoints and logs)")
    .argument("<folder>", "the model folder (with model_index.json)")
    .argument("[s3url]", "destination s3://bucket/prefix (default: s3://$AWS_S3_BUCKET/models/<version>/<name>/)")
    .option("--name <name>", "model name for the default destination (default: the folder's name)")
    .option("--model-version <version>", "version for the default destination", "1")
    .option("--include-training", "also upload checkpoints and logs")
    .option("--no-progress", "no progress line")
    .action(async (folder: string, url: string | undefined, flags: { name?: string; modelVersion: string; includeTraining?: boolean; progress: boolean }) => {
      const connection = dataConnectionFromEnv();
      if (!connection) {
        throw new InvalidInputError("AWS_ACCESS_KEY_ID", "models push needs an S3 data connection and none is set", "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_S3_ENDPOINT, AWS_S3_BUCKET");
      }
      const name = flags.name ?? path.basename(path.resolve(folder));
      const target = url === undefined ? undefined : parseS3Url(url, "<s3url>");
      // s3://bucket alone: the bucket's models/{version}/{name}/, as fine-tuning pipelines write.
      if (target && target.prefix === "") target.prefix = modelPrefix(name, flags.modelVersion);
      const r = await pushModel({
        dir: folder,
        connection,
        target,
        name,
        version: flags.modelVersion,
        includeTraining: flags.includeTraining,
        s3: await s3ClientOptionsFromEnv(),
        onProgress: progressLine(flags.progress && process.stderr.isTTY === true),
      });
      if (r.manifest.skipped.length) process.stderr.write(`skipped ${r.manifest.skipped.length} training files (--include-training to send them)\n`);
      process.stderr.write(`uploaded ${r.manifest.files.length} files\n`);
      process.stdout.write(`s3://${r.location.bucket}/${r.location.prefix}\n`);
    });

  models
    .command("ls")
    .description("list the models in the cache (MODEL_CACHE_DIR)")
    .option("--json", "print JSON")
    .action(async (flags: { json?: boolean }) => {
      const list = await listCachedModels(cacheRoot());
      if (flags.json) {
        process.stdout.write(JSON.stringify(list, null, 2) + "\n");
        return;
      }
      if (list.length === 0) process.stderr.write(`no models in ${cacheRoot()}\n`);
      for (const m of list) process.stdout.write(`${m.kind}\t${m.source}\t${mb(m.bytes)}\t${m.dir}\n`);
    });
}
