/**
 * Dreambooth data preparation: instance images from a folder, an archive, S3 or a URL; checked,
 * turned upright, centre-cropped or padded to the training resolution, de-duplicated; written as
 * `<out>/instance/NNN.png` with `<out>/manifest.json` (captions from the instance prompt, and every
 * rejected file with its reason); optionally uploaded to S3 under the run's prefix.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { InvalidInputError, throwIfCancelled } from "../../lib/errors.js";
import type { DataConnection } from "../../lib/storage/data-connection.js";
import { createS3Client, type S3ClientOptions } from "../../lib/storage/s3-client.js";
import { folderPrefix, type S3Location } from "../../lib/storage/s3-url.js";
import { listLocalFiles, uploadFile, uploadFolder } from "../../lib/storage/upload.js";
import { checkImage, hammingDistance, toTrainingImage, type Fit } from "./images.js";
import { DATA_MANIFEST_FILE, INSTANCE_DIR, type DataManifest } from "./manifest.js";
import { classifySource, describeDataSource, materializeSource } from "./sources.js";

/** Where a run's prepared data lives in the bucket: `dreambooth/{VERSION}/` (instance/ and manifest.json). */
export function dataPrefix(version: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(version)) throw new InvalidInputError("version", `'${version}' cannot be a path segment`, "letters, digits, '.', '_', '-'");
  return `dreambooth/${version}/`;
}

/** dHash distance at or under which two images count as the same photo (of 64 bits). */
export const DEFAULT_NEAR_DUPLICATE_DISTANCE = 4;

export interface PrepareDataOptions {
  /** Folder, .zip/.tar/.tar.gz file, s3://bucket/prefix, key prefix in the connection's bucket, or http(s) archive URL. */
  source: string;
  /** Output folder: instance/ and manifest.json are written there. */
  out: string;
  resolution: number;
  instancePrompt: string;
  /** Centre crop (default) or pad to a square. */
  fit?: Fit;
  padColor?: string;
  /** Images whose shorter side (upright) is under this are rejected as too small (default: the resolution). */
  minSize?: number;
  /** dHash Hamming distance for near duplicates (default 4; -1: exact duplicates only). */
  nearDuplicateDistance?: number;
  connection?: DataConnection;
  s3?: S3ClientOptions;
  fetch?: typeof fetch;
  /** Upload instance/ and manifest.json here (the manifest last). */
  upload?: S3Location;
  onLog?: (message: string) => void;
  signal?: AbortSignal;
}

export interface PrepareDataResult {
  manifest: DataManifest;
  uploaded?: S3Location;
}

export async function prepareData(options: PrepareDataOptions): Promise<PrepareDataResult> {
  const { resolution, instancePrompt } = options;
  if (!Number.isInteger(resolution) || resolution < 64 || resolution % 8 !== 0) {
    throw new InvalidInputError("resolution", `${resolution} is not usable`, "an integer >= 64, a multiple of 8");
  }
  if (instancePrompt.trim() === "") throw new InvalidInputError("instance prompt", "is empty", "a prompt with the subject's identifier, e.g. 'a photo of rhteddy dog'");
  const fit = options.fit ?? "crop";
  const minSize = options.minSize ?? resolution;
  const near = options.nearDuplicateDistance ?? DEFAULT_NEAR_DUPLICATE_DISTANCE;
  const log = options.onLog ?? (() => {});

  const src = await classifySource(options.source, options.connection);
  const scratch = await mkdtemp(path.join(tmpdir(), "dreambooth-data-"));
  try {
    const dir = await materializeSource(src, scratch, options);
    const files = (await listLocalFiles(dir)).filter((f) => !f.path.split("/").some((s) => s.startsWith(".")) && path.basename(f.path) !== DATA_MANIFEST_FILE);
    const instanceDir = path.join(options.out, INSTANCE_DIR);
    await rm(instanceDir, { recursive: true, force: true });
    await mkdir(instanceDir, { recursive: true });

    const manifest: DataManifest = {
      format: "diffusion-workbench/dreambooth-data",
      formatVersion: 1,
      createdAt: new Date().toISOString(),
      source: describeDataSource(src),
      resolution,
      fit,
      instancePrompt,
      images: [],
      rejected: [],
    };
    for (const f of files) {
      throwIfCancelled(options.signal);
      const bytes = await readFile(path.join(dir, f.path));
      const checked = await checkImage(bytes, minSize);
      if ("reason" in checked) {
        manifest.rejected.push({ source: f.path, ...checked });
        log(`rejected ${f.path}: ${checked.reason} (${checked.detail})`);
        continue;
      }
      const same = manifest.images.find((i) => i.sourceSha256 === checked.sha256 || (near >= 0 && hammingDistance(i.dhash, checked.dhash) <= near));
      if (same) {
        const how = same.sourceSha256 === checked.sha256 ? "the same file as" : "a near copy of";
        manifest.rejected.push({ source: f.path, reason: "duplicate", detail: `${how} ${same.source}` });
        log(`rejected ${f.path}: duplicate (${how} ${same.source})`);
        continue;
      }
      const file = `${INSTANCE_DIR}/${String(manifest.images.length).padStart(3, "0")}.png`;
      await writeFile(path.join(options.out, file), await toTrainingImage(bytes, resolution, fit, options.padColor));
      const { sha256, ...rest } = checked;
      manifest.images.push({ file, source: f.path, caption: instancePrompt, ...rest, sourceSha256: sha256 });
    }
    if (manifest.images.length === 0) {
      throw new InvalidInputError("source", `${describeDataSource(src)} has no usable image (${manifest.rejected.length} rejected)`, "JPEG/PNG/WebP/TIFF photos at least the training resolution");
    }
    await writeFile(path.join(options.out, DATA_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    log(`${manifest.images.length} images at ${resolution}x${resolution} (${fit}), ${manifest.rejected.length} rejected`);

    if (!options.upload) return { manifest };
    if (!options.connection) throw new InvalidInputError("upload", "needs a data connection", "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment");
    const ctx = createS3Client(options.connection, options.s3);
    const prefix = folderPrefix(options.upload.prefix);
    try {
      await uploadFolder(ctx, instanceDir, { bucket: options.upload.bucket, prefix: prefix + INSTANCE_DIR }, { signal: options.signal });
      // The manifest last: its presence means a complete upload.
      await uploadFile(ctx, { bucket: options.upload.bucket, key: prefix + DATA_MANIFEST_FILE, file: path.join(options.out, DATA_MANIFEST_FILE), signal: options.signal });
    } finally {
      ctx.client.destroy();
    }
    log(`uploaded to s3://${options.upload.bucket}/${prefix}`);
    return { manifest, uploaded: { bucket: options.upload.bucket, prefix } };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
