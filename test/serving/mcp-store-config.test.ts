/** The image store chosen and configured from the environment (serving/mcp/store/config.ts). */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidInputError } from "../../lib/index.js";
import { STORE_ENV_VARS, envByteSize, envDuration, imageStoreFromEnv, storeOptionsFromEnv } from "../../serving/mcp/store/config.js";
import { FileImageStore } from "../../serving/mcp/store/file-store.js";
import { S3ImageStore } from "../../serving/mcp/store/s3-store.js";
import { startS3, type S3Server } from "../storage/helpers/s3-server.js";

let s3: S3Server;
let tmp: string;

beforeAll(async () => {
  [s3, tmp] = await Promise.all([startS3(), mkdtemp(path.join(os.tmpdir(), "mcp-store-config-"))]);
});
afterAll(async () => {
  await s3?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function invalid(fn: () => unknown): InvalidInputError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError);
    return err as InvalidInputError;
  }
  throw new Error("expected an InvalidInputError");
}

describe("image store configuration", () => {
  it("defaults to a folder store in ./generated-images with no TTL, no cap and a 10 minute clean-up", async () => {
    const store = imageStoreFromEnv({});
    expect(store).toBeInstanceOf(FileImageStore);
    expect(store).toMatchObject({ kind: "file", location: path.resolve("generated-images") });
    await store.close();
    expect(storeOptionsFromEnv({})).toEqual({ ttlMs: 0, maxBytes: 0, cleanupIntervalMs: 600_000 });
  });

  it("reads the folder, TTL, size cap and interval, with units", async () => {
    const store = imageStoreFromEnv({ IMAGE_STORAGE: " File ", IMAGE_OUTPUT_PATH: tmp, IMAGE_TTL: "24h", IMAGE_MAX_BYTES: "2Gi", IMAGE_CLEANUP_INTERVAL: "0" });
    expect(store).toMatchObject({ kind: "file", location: tmp });
    await store.close();
    expect(storeOptionsFromEnv({ IMAGE_TTL: "90", IMAGE_MAX_BYTES: "500MB", IMAGE_CLEANUP_INTERVAL: "30s" })).toEqual({ ttlMs: 90_000, maxBytes: 500e6, cleanupIntervalMs: 30_000 });
    expect(envDuration({ X: "1.5m" }, "X", "0")).toBe(90_000);
    expect(envDuration({ X: "7d" }, "X", "0")).toBe(7 * 86_400_000);
    expect(envDuration({ X: "250ms" }, "X", "0")).toBe(250);
    expect(envDuration({ X: "" }, "X", "10m")).toBe(600_000);
    expect(envByteSize({ X: "1000" }, "X", 0)).toBe(1000);
    expect(envByteSize({ X: "64Ki" }, "X", 0)).toBe(65_536);
    expect(envByteSize({ X: "1g" }, "X", 0)).toBe(1e9);
  });

  it("refuses malformed values, naming the variable and what it accepts", () => {
    expect(invalid(() => imageStoreFromEnv({ IMAGE_STORAGE: "ftp" })).message).toBe("IMAGE_STORAGE: 'ftp' is not a storage kind (allowed: file, s3)");
    expect(invalid(() => imageStoreFromEnv({ IMAGE_TTL: "one day" })).message).toBe(
      "IMAGE_TTL: 'one day' is not a duration (allowed: 0, seconds (3600), or a number with ms, s, m, h or d (90s, 30m, 24h, 7d))",
    );
    expect(invalid(() => imageStoreFromEnv({ IMAGE_TTL: "-5" })).field).toBe("IMAGE_TTL");
    expect(invalid(() => imageStoreFromEnv({ IMAGE_MAX_BYTES: "lots" })).message).toBe(
      "IMAGE_MAX_BYTES: 'lots' is not a size (allowed: 0, bytes (1000000), or a number with K, M, G, T, Ki, Mi, Gi, Ti (500Mi, 2G))",
    );
    expect(invalid(() => imageStoreFromEnv({ IMAGE_CLEANUP_INTERVAL: "500ms" })).message).toBe(
      "IMAGE_CLEANUP_INTERVAL: '500ms' is shorter than a second (allowed: 0 (off) or at least 1s)",
    );
    expect(invalid(() => imageStoreFromEnv({ IMAGE_CLEANUP_INTERVAL: "30d" })).field).toBe("IMAGE_CLEANUP_INTERVAL");
  });

  it("needs a data connection with a bucket for IMAGE_STORAGE=s3", () => {
    expect(invalid(() => imageStoreFromEnv({ IMAGE_STORAGE: "s3" })).field).toBe("AWS_ACCESS_KEY_ID");
    const { AWS_S3_BUCKET: _bucket, ...noBucket } = s3.env;
    void _bucket;
    expect(invalid(() => imageStoreFromEnv({ ...noBucket, IMAGE_STORAGE: "s3" })).field).toBe("AWS_S3_BUCKET");
    expect(invalid(() => imageStoreFromEnv({ ...s3.env, IMAGE_STORAGE: "s3", S3_PREFIX: "a/../b" })).field).toBe("S3_PREFIX");
    expect(invalid(() => imageStoreFromEnv({ ...s3.env, IMAGE_STORAGE: "s3", AWS_CA_BUNDLE: path.join(tmp, "missing.pem") })).field).toBe("AWS_CA_BUNDLE");
  });

  it("opens an S3 store on the data connection's bucket under S3_PREFIX that works end to end", async () => {
    const dflt = imageStoreFromEnv({ ...s3.env, IMAGE_STORAGE: "s3", IMAGE_CLEANUP_INTERVAL: "0" });
    expect(dflt).toMatchObject({ kind: "s3", location: "s3://models-bucket/images/" });
    const store = imageStoreFromEnv({ ...s3.env, IMAGE_STORAGE: "S3", S3_PREFIX: "team-a/generated", IMAGE_CLEANUP_INTERVAL: "0" });
    expect(store).toBeInstanceOf(S3ImageStore);
    expect(store.location).toBe("s3://models-bucket/team-a/generated/");
    await store.check();
    const bytes = await sharp({ create: { width: 4, height: 4, channels: 3, background: "#fff" } }).png().toBuffer();
    const meta = await store.put({ bytes, prompt: "p", seed: 1, parameters: {} });
    expect((await store.get(meta.id))?.metadata).toEqual(meta);
    expect((await dflt.list()).images).toEqual([]);
    await Promise.all([store.close(), dflt.close()]);
  });

  it("documents every variable it reads once", () => {
    const names = STORE_ENV_VARS.flatMap((v) => v.name.split(", "));
    expect(new Set(names).size).toBe(names.length);
    for (const n of ["IMAGE_STORAGE", "IMAGE_OUTPUT_PATH", "S3_PREFIX", "IMAGE_TTL", "IMAGE_MAX_BYTES", "IMAGE_CLEANUP_INTERVAL", "AWS_S3_BUCKET", "AWS_CA_BUNDLE"]) {
      expect(names).toContain(n);
    }
  });
});
