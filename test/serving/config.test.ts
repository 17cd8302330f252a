import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../lib/index.js";
import { ENV_VARS, loadConfig } from "../../serving/runtime/config.js";

describe("runtime configuration", () => {
  it("takes KServe's defaults: port 8080, model 'model', MODEL_ID /mnt/models, no batching", () => {
    const c = loadConfig({}, {});
    expect(c).toMatchObject({ port: 8080, modelName: "model", modelId: "/mnt/models", concurrency: 1, maxBatchSize: 1, maxQueueDepth: 16 });
    expect(c.requestTimeoutMs).toBe(600_000);
  });

  it("lets flags win over the environment and reads the seed's switches", () => {
    const c = loadConfig({ port: 9000, modelName: "sd-turbo" }, { PORT: "7000", MODEL_NAME: "x", DTYPE: "float16", ENABLE_VAE_SLICING: "true", REQUEST_TIMEOUT_S: "0.5" });
    expect(c).toMatchObject({ port: 9000, modelName: "sd-turbo", requestTimeoutMs: 500 });
    expect(c.runtime).toMatchObject({ dtype: "float16", vaeSlicing: true });
  });

  it("refuses bad values naming the variable", () => {
    expect(() => loadConfig({}, { PORT: "80a" })).toThrow(/PORT/);
    expect(() => loadConfig({ modelName: "a/b" }, {})).toThrow(InvalidInputError);
    expect(() => loadConfig({}, { MAX_BATCH_SIZE: "0" })).toThrow(/MAX_BATCH_SIZE: '0' is not an integer in range \(allowed: 1..64\)/);
  });

  it("documents every variable it reads once", () => {
    const names = ENV_VARS.map((v) => v.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of ["MODEL_ID", "DTYPE", "ENABLE_LOW_CPU_MEM", "ENABLE_ATTENTION_SLICING", "ENABLE_VAE_SLICING", "ENABLE_CPU_OFFLOAD", "MAX_BATCH_SIZE", "REQUEST_TIMEOUT_S"]) {
      expect(names).toContain(n);
    }
  });
});
