/**
 * VAE decoding: z = latents / scaling_factor + shift_factor (the inverse of the encoder-side
 * (x - shift) * scale of Rombach et al. 2022, section 4.3 / SD3's VAE), then the decoder, whose
 * `sample` output is the image in [-1, 1], [B, 3, H, W].
 */
import { floatTensor, toFloat32, type VaeDecoderContract } from "../onnx/contracts.js";
import type { Components } from "../onnx/components.js";
import type { ModelSession } from "../onnx/session.js";
import { toRgb8, toUnitHWC, type RgbImage } from "../images/postprocess.js";
import { withComponent } from "./with-component.js";
import type { Latents } from "./latents.js";

export interface DecodedImages {
  data: Float32Array;
  dims: [number, number, number, number];
}

export interface VaeScaling {
  scalingFactor: number;
  shiftFactor: number;
}

export async function decodeLatents(
  vae: ModelSession,
  contract: VaeDecoderContract,
  latents: Latents,
  scaling: VaeScaling,
  options: { slicing: boolean; signal?: AbortSignal },
): Promise<DecodedImages> {
  const [b, c, h, w] = latents.dims;
  const z = new Float32Array(latents.data.length);
  const sf = Math.fround(scaling.scalingFactor);
  const shift = Math.fround(scaling.shiftFactor);
  for (let i = 0; i < z.length; i++) z[i] = shift === 0 ? latents.data[i] / sf : Math.fround(latents.data[i] / sf) + shift;
  // VAE slicing: one image per run keeps the decoder's activations (the largest of the pipeline) to one image.
  const per = options.slicing ? 1 : b;
  const parts: Float32Array[] = [];
  let outDims: number[] = [];
  for (let start = 0; start < b; start += per) {
    const n = Math.min(per, b - start);
    const slice = z.subarray(start * c * h * w, (start + n) * c * h * w);
    const out = await vae.run({ latent_sample: floatTensor(contract.inputType, slice, [n, c, h, w]) }, options.signal);
    const sample = out[contract.output];
    outDims = [...sample.dims];
    parts.push(toFloat32(sample));
  }
  const size = parts.reduce((a, p) => a + p.length, 0);
  const data = new Float32Array(size);
  let off = 0;
  for (const p of parts) {
    data.set(p, off);
    off += p.length;
  }
  return { data, dims: [b, outDims[1], outDims[2], outDims[3]] };
}

/**
 * Latents to RGB pictures with a model's VAE decoder (opened for the call, as generate does): for a
 * denoising film strip, or to decode latents kept from an earlier run.
 */
export async function decodeToImages(
  components: Components,
  contract: VaeDecoderContract,
  latents: Latents,
  scaling: VaeScaling,
  options: { slicing: boolean; signal?: AbortSignal },
): Promise<RgbImage[]> {
  const decoded = await withComponent(components, "vae_decoder", (vae) => decodeLatents(vae, contract, latents, scaling, options));
  const [, , H, W] = decoded.dims;
  return toUnitHWC(decoded.data, decoded.dims).map((hwc) => toRgb8(hwc, W, H));
}
