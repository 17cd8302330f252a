import { describe, expect, it } from "vitest";
import { InvalidInputError, detectProviders, parseDtype, parseProviderRequest, resolveDtype } from "../../lib/index.js";
import { providerOrder } from "../../lib/onnx/providers.js";
import { runtimeOptionsFromEnv } from "../../lib/index.js";

describe("execution providers", () => {
  it("always has cpu; reports why others are not usable", () => {
    const p = detectProviders();
    expect(p.find((x) => x.name === "cpu")?.usable).toBe(true);
    for (const x of p) expect(x.reason.length).toBeGreaterThan(5);
  });

  it("orders auto as usable GPU providers then cpu, and never picks tensorrt by itself", () => {
    const avail = [
      { name: "cpu" as const, usable: true, reason: "" },
      { name: "cuda" as const, usable: true, reason: "" },
      { name: "tensorrt" as const, usable: true, reason: "" },
      { name: "webgpu" as const, usable: false, reason: "" },
    ];
    expect(providerOrder(["auto"], avail)).toEqual(["cuda", "cpu"]);
    expect(providerOrder(["webgpu"], avail)).toEqual(["webgpu", "cpu"]);
    expect(providerOrder(["tensorrt", "cuda"], avail)).toEqual(["tensorrt", "cuda", "cpu"]);
  });

  it("rejects unknown provider names with the allowed list", () => {
    const err = (() => {
      try {
        parseProviderRequest("cuda,rocm");
      } catch (e) {
        return e as InvalidInputError;
      }
    })();
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err!.field).toBe("EXECUTION_PROVIDER");
    expect(err!.allowed).toBe("auto, cpu, cuda, tensorrt, webgpu");
  });
});

describe("DTYPE", () => {
  it("parses the seed's names and common aliases", () => {
    expect(parseDtype(undefined)).toBe("auto");
    expect(parseDtype("FP16")).toBe("float16");
    expect(() => parseDtype("int8")).toThrow(/allowed: auto, bfloat16, float16, float32, native/);
  });

  it.each([
    ["auto", "cpu", ["float32"], "float32"],
    ["auto", "cuda", ["float32", "float16"], "float16"],
    ["auto", "cuda", ["float32"], "float32"],
    ["auto", "cpu", ["float16"], "float16"],
    ["native", "cpu", ["float16"], "float16"],
    ["float16", "cpu", ["float32"], "float32"],
    ["float32", "cuda", ["float16"], "float16"],
    ["bfloat16", "cuda", ["float32", "float16"], "float16"],
    ["bfloat16", "cpu", ["float32", "float16"], "float32"],
  ] as const)("%s on %s with %j picks %s and says why", (req, provider, avail, want) => {
    const c = resolveDtype(req, provider, avail);
    expect(c.dtype).toBe(want);
    expect(c.reason).toMatch(req === "auto" ? /auto/ : new RegExp(req));
  });
});

describe("runtime options from the environment", () => {
  it("reads the seed's switches", () => {
    const o = runtimeOptionsFromEnv({ ENABLE_CPU_OFFLOAD: "true", ENABLE_VAE_SLICING: "1", DTYPE: "float32", EXECUTION_PROVIDER: "cpu" });
    expect(o).toMatchObject({ cpuOffload: true, vaeSlicing: true, attentionSlicing: false, lowCpuMem: false, dtype: "float32", providers: ["cpu"] });
  });
  it("refuses a bad value naming the variable", () => {
    expect(() => runtimeOptionsFromEnv({ ENABLE_VAE_SLICING: "maybe" })).toThrow(/ENABLE_VAE_SLICING: 'maybe' is not a boolean/);
    expect(() => runtimeOptionsFromEnv({ ORT_THREADS: "-1" })).toThrow(/ORT_THREADS/);
  });
});
