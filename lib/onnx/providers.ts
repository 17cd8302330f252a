/**
 * Execution providers: which are usable here, and the order to try them in.
 *
 * onnxruntime-node bundles cpu and webgpu (Linux x64) and can load cuda/tensorrt when their provider
 * libraries were installed (`npm ci --onnxruntime-node-install=cuda12`). Usability is checked without
 * creating a session where a file check tells (provider libraries, the Vulkan loader WebGPU needs on
 * Linux); the session factory still falls back in order if creation fails and says why.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { InvalidInputError } from "../errors.js";

export const EXECUTION_PROVIDERS = ["cpu", "cuda", "tensorrt", "webgpu"] as const;
export type ExecutionProviderName = (typeof EXECUTION_PROVIDERS)[number];
/** `auto` tries the GPU providers that look usable, then cpu. */
export type ProviderRequest = ExecutionProviderName | "auto";

export interface ProviderAvailability {
  name: ExecutionProviderName;
  usable: boolean;
  reason: string;
}

const require = createRequire(import.meta.url);

function bindingDir(): string {
  const pkg = path.dirname(require.resolve("onnxruntime-node/package.json"));
  return path.join(pkg, "bin", "napi-v6", process.platform, process.arch);
}

const VULKAN_LOADERS = [
  "/usr/lib/x86_64-linux-gnu/libvulkan.so.1",
  "/usr/lib/aarch64-linux-gnu/libvulkan.so.1",
  "/usr/lib64/libvulkan.so.1",
  "/usr/lib/libvulkan.so.1",
];

/** What each provider needs, checked on disk. */
export function detectProviders(): ProviderAvailability[] {
  const dir = bindingDir();
  const lib = (name: string) => existsSync(path.join(dir, name));
  const out: ProviderAvailability[] = [{ name: "cpu", usable: true, reason: "always available" }];
  const cuda = lib("libonnxruntime_providers_cuda.so");
  out.push({
    name: "cuda",
    usable: cuda,
    reason: cuda
      ? "CUDA provider library present"
      : "CUDA provider library not installed (reinstall with --onnxruntime-node-install=cuda12)",
  });
  const trt = lib("libonnxruntime_providers_tensorrt.so");
  out.push({
    name: "tensorrt",
    usable: trt,
    reason: trt ? "TensorRT provider library present" : "TensorRT provider library not installed",
  });
  const vulkan =
    process.platform !== "linux" || VULKAN_LOADERS.some((p) => existsSync(p)) || !!process.env.VK_DRIVER_FILES;
  out.push({
    name: "webgpu",
    usable: vulkan,
    reason: vulkan ? "bundled; Vulkan loader present" : "bundled, but no Vulkan loader (libvulkan.so.1) for a GPU adapter",
  });
  return out;
}

/** Parse EXECUTION_PROVIDER-like input ("auto", "cpu", "cuda,cpu"). */
export function parseProviderRequest(value: string | undefined, field = "EXECUTION_PROVIDER"): ProviderRequest[] {
  if (value === undefined || value.trim() === "") return ["auto"];
  const parts = value.split(",").map((s) => s.trim().toLowerCase());
  for (const p of parts) {
    if (p !== "auto" && !(EXECUTION_PROVIDERS as readonly string[]).includes(p)) {
      throw new InvalidInputError(field, `unknown execution provider '${p}'`, ["auto", ...EXECUTION_PROVIDERS].join(", "));
    }
  }
  return parts as ProviderRequest[];
}

/** The ordered list of providers to try for a request; cpu always ends the list. */
export function providerOrder(request: readonly ProviderRequest[], available = detectProviders()): ExecutionProviderName[] {
  const usable = new Set(available.filter((p) => p.usable).map((p) => p.name));
  const order: ExecutionProviderName[] = [];
  for (const r of request) {
    // TensorRT is never picked by `auto`: it compiles engines per shape (minutes) and is opted into by name.
    const names: ExecutionProviderName[] = r === "auto" ? ["cuda", "webgpu"] : [r];
    for (const n of names) {
      // An explicit request is tried even if the file check says no: the session error then says why.
      if ((r !== "auto" || usable.has(n)) && !order.includes(n)) order.push(n);
    }
  }
  if (!order.includes("cpu")) order.push("cpu");
  return order;
}
