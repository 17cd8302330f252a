/**
 * The init-image stages of image-to-image that every family shares (SD 1.x/2.x, LCM, SDXL, SD3):
 * read the request's image (its size is the default output size), check the folder can encode
 * it, run the VAE encoder, and turn the encoder's output into a latent sample the way diffusers'
 * retrieve_latents(vae.encode(image), generator) does. Then, with the schedule the family's
 * `strength` rule picks, noise those latents to the first timestep that runs.
 */
import { InvalidInputError } from "../errors.js";
import { initImageSize, prepareInitImage, readInitImage, type InitImage } from "../images/init-image.js";
import type { Components } from "../onnx/components.js";
import { floatTensor, toFloat32, vaeEncoderContract } from "../onnx/contracts.js";
import type { Scheduler } from "../schedulers/scheduler.js";
import type { VaeScaling } from "./decode.js";
import type { TorchGenerator } from "./generator.js";
import { noisedInitLatents, sampleLatentDistribution, type Img2ImgSchedule } from "./img2img.js";
import { prepareLatents, type Latents } from "./latents.js";
import type { GenerateOptions, GenerateOptionsInput } from "./options.js";
import { withComponent } from "./with-component.js";

type Sized = GenerateOptions & { width: number; height: number };

export interface RequestImage<O extends Sized> {
  /** The request with width/height from the image where the request named neither. */
  options: O;
  image: InitImage;
  /** Decoding and resizing the image. */
  ms: number;
}

/**
 * Decode the request's `image`, take the output size from it where the request leaves width or
 * height out (rounded down to `sizeMultiple`, then checked again by `resolve`), refuse a folder
 * without vae_encoder/, and prepare the pixels at the output size.
 */
export async function readRequestImage<O extends Sized>(
  input: GenerateOptionsInput | GenerateOptions,
  resolved: O,
  x: { sizeMultiple: number; resolve: (input: GenerateOptions) => O; components: Components },
): Promise<RequestImage<O>> {
  const t = performance.now();
  const decoded = await readInitImage(resolved.image!);
  let o = resolved;
  const given = input as { width?: number; height?: number };
  if (given.width === undefined || given.height === undefined) {
    const size = initImageSize(decoded, x.sizeMultiple);
    o = x.resolve({ ...resolved, width: given.width ?? size.width, height: given.height ?? size.height });
  }
  await requireVaeEncoder(x.components);
  const image = await prepareInitImage(decoded, o.width, o.height);
  return { options: o, image, ms: performance.now() - t };
}

/** Image-to-image needs the VAE's encoder half, which model folders may leave out. */
export async function requireVaeEncoder(components: Components): Promise<void> {
  if (!(await components.has("vae_encoder"))) {
    throw new InvalidInputError("image", `this model folder has no vae_encoder/, which image-to-image needs (${components.dir})`, "text-to-image only for this model");
  }
}

/**
 * The init image through the VAE encoder: `latent_parameters` (mean and logvar) sampled with the
 * generator, as DiagonalGaussianDistribution.sample(generator), or the graph's own `latent_sample`
 * (older exports sample inside the graph and draw nothing from the generator). Unscaled latents.
 */
export async function encodeInitImage(components: Components, image: InitImage, generator: TorchGenerator, signal?: AbortSignal): Promise<Latents> {
  return withComponent(components, "vae_encoder", async (session) => {
    const c = vaeEncoderContract(session);
    const out = await session.run({ sample: floatTensor(c.inputType, image.data, [1, 3, image.height, image.width]) }, signal);
    const t = out[c.output];
    const dims = [...t.dims] as Latents["dims"];
    return c.output === "latent_parameters" ? sampleLatentDistribution(toFloat32(t), dims, generator) : { data: toFloat32(t), dims };
  });
}

export interface InitLatents {
  /** The noised image latents the loop starts from. */
  latents: Latents;
  /** The noise added (the caller's, or the generator's after the latent sample). */
  noise: Latents;
  timesteps: number[];
  /** Running the VAE encoder. */
  encodeMs: number;
}

/**
 * diffusers' prepare_latents for image-to-image: encode (the latent sample draws from the
 * generator first), scale into the denoiser's space, repeat to the batch, draw the noise, and
 * noise to the first timestep of `schedule`.
 */
export async function initLatents(x: {
  components: Components;
  image: InitImage;
  schedule: Img2ImgSchedule;
  scheduler: Scheduler;
  vae: VaeScaling;
  batch: number;
  generator: TorchGenerator;
  givenNoise?: Float32Array;
  signal?: AbortSignal;
}): Promise<InitLatents> {
  const t = performance.now();
  const imageLatents = await encodeInitImage(x.components, x.image, x.generator, x.signal);
  const encodeMs = performance.now() - t;
  const timesteps = x.schedule.timesteps;
  const noised = noisedInitLatents(imageLatents, x.vae, x.batch, x.scheduler, timesteps[0], x.generator, x.givenNoise);
  return { latents: noised.latents, noise: { data: noised.noise, dims: noised.latents.dims }, timesteps, encodeMs };
}

export interface StartLatents {
  /** What the loop starts from: scaled noise, or the noised image latents. */
  latents: Latents;
  /** The noise drawn (or given), unscaled: the run's `initialNoise`. */
  noise: Latents;
  /** The timesteps that run: undefined for all of the scheduler's (text-to-image). */
  timesteps?: number[];
  /** Running the VAE encoder (0 for text-to-image). */
  encodeMs: number;
}

/**
 * The starting latents of a run in either mode, one stage for every family: text-to-image draws
 * noise of `dims` scaled by the scheduler's init sigma (prepare_latents); image-to-image runs
 * `initLatents` with the schedule the family's `strength` rule picks (`schedule` is called only
 * then). Call after `scheduler.setTimesteps(steps)`.
 */
export async function startLatents(x: {
  components: Components;
  image: InitImage | undefined;
  schedule: () => Img2ImgSchedule;
  scheduler: Scheduler;
  vae: VaeScaling;
  dims: Latents["dims"];
  generator: TorchGenerator;
  givenNoise?: Float32Array;
  signal?: AbortSignal;
}): Promise<StartLatents> {
  if (x.image) {
    const { components, image, scheduler, vae, generator, givenNoise, signal } = x;
    return initLatents({ components, image, schedule: x.schedule(), scheduler, vae, batch: x.dims[0], generator, givenNoise, signal });
  }
  const latents = prepareLatents(x.dims, x.scheduler.initNoiseSigma, x.generator, x.givenNoise);
  const sigma = x.scheduler.initNoiseSigma;
  return { latents, noise: { data: x.givenNoise ?? latents.data.map((v) => v / sigma), dims: x.dims }, encodeMs: 0 };
}
