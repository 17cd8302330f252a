/** Models on the Hugging Face Hub, against a local server that answers as the Hub's resolve and API endpoints do. */
import { existsSync } from "node:fs";
import { mkdtemp, readdir, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IntegrityError, ModelNotFoundError, StorageAccessError, loadPipeline, resolveModel, type TransferProgress } from "../../lib/index.js";
import { tinyModel } from "../helpers/tiny-model.js";
import { captureLogger } from "./helpers/capture.js";
import { startFakeHub, type FakeHub } from "./helpers/fake-hub.js";
import { expectSameFiles } from "./helpers/same-files.js";

const TOKEN = "hf_testTokenNeverPrinted1234";
const REPO = "acme/tiny-sd-onnx";
let hub: FakeHub;
let model: string;
let tmp: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  [model, tmp] = await Promise.all([tinyModel(), mkdtemp(path.join(os.tmpdir(), "hub-source-"))]);
  hub = await startFakeHub({
    repo: REPO,
    dir: model,
    token: TOKEN,
    // what repositories carry beside an ONNX export, and a pull must leave alone
    extra: { "unet/diffusion_pytorch_model.safetensors": Buffer.alloc(50_000, 1), "text_encoder/pytorch_model.bin": Buffer.alloc(20_000, 2), "README.md": Buffer.from("# tiny") },
  });
  env = { HF_ENDPOINT: hub.endpoint, HF_TOKEN: TOKEN };
});
afterAll(async () => {
  await hub?.close();
});

const cache = (name: string) => path.join(tmp, name);

describe("models on the Hugging Face Hub", () => {
  it("pulls only the ONNX, tokenizer and config files, byte for byte, sending the token to the Hub and never to the CDN", async () => {
    hub.requests.length = 0;
    const progress: TransferProgress[] = [];
    const log = captureLogger();
    const r = await resolveModel(REPO, { cacheDir: cache("a"), env, logger: log, onProgress: (p) => progress.push(p) });
    expect(r.source).toEqual({ kind: "hub", repo: REPO, revision: "main" });
    await expectSameFiles(model, r.dir);
    expect(hub.requests.some((q) => /safetensors|pytorch_model|README/.test(q.url))).toBe(false);
    // files come from the listed commit, LFS files through the CDN's redirect
    const files = hub.requests.filter((q) => q.url.includes("/resolve/"));
    expect(files.every((q) => q.url.includes(`/resolve/${hub.commit}/`))).toBe(true);
    expect(hub.requests.filter((q) => q.server === "cdn").length).toBe(4);
    expect(hub.requests.filter((q) => q.server === "hub").every((q) => q.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(hub.requests.filter((q) => q.server === "cdn").every((q) => q.authorization === undefined)).toBe(true);
    expect(progress.at(-1)).toMatchObject({ phase: "done", filesDone: 14 });
    expect(log.lines.join("\n")).not.toContain(TOKEN);
  });

  it("says a 401 without a token means private, gated or missing, and to set HF_TOKEN", async () => {
    const err = await resolveModel(REPO, { cacheDir: cache("b"), env: { HF_ENDPOINT: hub.endpoint } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageAccessError);
    expect((err as Error).message).toMatch(/answered 401 for acme\/tiny-sd-onnx: the repository is private, gated or does not exist; set HF_TOKEN/);
    expect(err).toMatchObject({ bucket: REPO, status: 401 });
  });

  it("keeps the token out of the error when the token is refused", async () => {
    const wrong = "hf_wrongTokenAlsoSecret987";
    const err = await resolveModel(REPO, { cacheDir: cache("b"), env: { HF_ENDPOINT: hub.endpoint, HF_TOKEN: wrong } }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/with the token from HF_TOKEN/);
    for (const text of [(err as Error).message, (err as Error).stack ?? "", JSON.stringify(err)]) expect(text).not.toContain(wrong);
  });

  it("reports an unknown revision as ModelNotFoundError", async () => {
    const err = await resolveModel(`${REPO}@v9`, { cacheDir: cache("b"), env }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelNotFoundError);
    expect((err as Error).message).toMatch(/acme\/tiny-sd-onnx@v9: revision not found/);
  });

  it("retries a file the Hub answers 500 for", async () => {
    hub.fail500 = 2;
    const r = await resolveModel(REPO, { cacheDir: cache("c"), env, retry: { baseDelayMs: 10 } });
    await expectSameFiles(model, r.dir);
    expect(hub.fail500).toBe(0);
  });

  it("refuses a file whose bytes do not match the announced sha256 and leaves no folder that looks complete", async () => {
    hub.corrupt = "unet/model.onnx";
    try {
      const err = await resolveModel(REPO, { cacheDir: cache("d"), env, retry: { attempts: 1 } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IntegrityError);
      expect((err as Error).message).toMatch(/unet\/model\.onnx does not match .*sha256/);
      expect(existsSync(path.join(cache("d"), "hub", "acme--tiny-sd-onnx", "main"))).toBe(false);
    } finally {
      hub.corrupt = undefined;
    }
  });

  it("resumes an interrupted download with Range requests, keeping the bytes already on disk", async () => {
    hub.slowMsPer64k = 5;
    const abort = new AbortController();
    const err = await resolveModel(REPO, {
      cacheDir: cache("e"),
      env,
      concurrency: 1,
      signal: abort.signal,
      onProgress: (p) => {
        if (p.file === "unet/model.onnx" && p.bytesDone > 4_000_000) abort.abort();
      },
    }).catch((e: unknown) => e);
    expect((err as Error).name).toBe("AbortError");
    hub.slowMsPer64k = 0;
    const entry = path.join(cache("e"), "hub", "acme--tiny-sd-onnx", "main");
    expect(existsSync(entry)).toBe(false);
    const partialUnet = path.join(`${entry}.partial`, "unet", "model.onnx");
    const kept = (await stat(partialUnet)).size;
    expect(kept).toBeGreaterThan(0);
    hub.requests.length = 0;
    const r = await resolveModel(REPO, { cacheDir: cache("e"), env });
    await expectSameFiles(model, r.dir);
    expect(hub.requests.find((q) => q.server === "cdn" && q.range !== undefined)?.range).toBe(`bytes=${kept}-`);
    expect((await readdir(path.dirname(entry))).sort()).toEqual(["main"]);
  });

  it("generates from the pulled model with the Hub gone", async () => {
    const dir = (await resolveModel(REPO, { cacheDir: cache("a"), env })).dir;
    await hub.close();
    const r = await resolveModel(REPO, { cacheDir: cache("a"), env });
    expect(r).toMatchObject({ dir, bytesFetched: 0 });
    const pipe = await loadPipeline(r.dir);
    try {
      const out = await pipe.generate({ prompt: "a fox", num_inference_steps: 2, seed: 3, width: 64, height: 64, scheduler: "euler" });
      expect(out.images).toHaveLength(1);
    } finally {
      await pipe.dispose();
    }
  });
});
