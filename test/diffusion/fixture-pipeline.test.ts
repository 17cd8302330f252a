/**
 * The diffusers-exported fixture (legacy layout: int32 input_ids, float [batch] timestep, weights.pb)
 * loads unchanged, and the pipeline reproduces each of diffusers' cases stage by stage and end to end,
 * within the tolerances of the fixture's README.
 */
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StableDiffusionPipeline, type GenerateResult } from "../../lib/index.js";
import { fixtureCases, maxAbsDiff, readF32, schedulerNameFor, type FixtureCase } from "../helpers/fixture.js";
import { fixtureDir, hasFixture, SKIP_FIXTURE_MESSAGE } from "../helpers/paths.js";
import { silentLogger } from "../../lib/logger.js";
import path from "node:path";

if (!hasFixture) console.warn(SKIP_FIXTURE_MESSAGE);

// The fixture lives in ../shared beside the checkout (CI has it); without it these are skipped with the warning above.
describe.skipIf(!hasFixture)("the diffusers tiny-sd fixture", () => {
  let pipe: StableDiffusionPipeline;
  const cases = hasFixture ? fixtureCases() : [];
  const results = new Map<string, GenerateResult>();

  beforeAll(async () => {
    pipe = await StableDiffusionPipeline.load(fixtureDir, { providers: ["cpu"], logger: silentLogger });
  });
  afterAll(async () => {
    await pipe?.dispose();
  });

  async function run(c: FixtureCase): Promise<GenerateResult> {
    let r = results.get(c.name);
    if (!r) {
      r = await pipe.generate(
        {
          prompt: c.prompt,
          ...(c.negative_prompt !== null ? { negative_prompt: c.negative_prompt } : {}),
          guidance_scale: c.guidance_scale,
          num_inference_steps: c.num_inference_steps,
          width: c.width,
          height: c.height,
          seed: c.seed,
          scheduler: schedulerNameFor(c),
        },
        { returnTensors: true },
      );
      results.set(c.name, r);
    }
    return r;
  }

  it("loads the legacy export and recognises its tensor contracts", () => {
    const d = pipe.describe();
    expect(d.className).toBe("OnnxStableDiffusionPipeline");
    expect([d.provider, d.dtype, d.dtypeReason]).toEqual(["cpu", "float32", "auto: float32 on cpu"]);
    expect(d.contracts).toMatchObject({
      textEncoder: { idsType: "int32", hiddenOutput: "last_hidden_state" },
      unet: { sampleType: "float32", timestep: { type: "float32", rank: 1 } },
      vaeDecoder: { inputType: "float32", output: "sample" },
    });
  });

  for (const c of cases) {
    describe(c.name, () => {
      it("tokenizes the prompts to diffusers' ids", () => {
        const ids = pipe.tokenizer.call([c.prompt], { padding: "max_length", truncation: true }).inputIds[0];
        expect(ids).toEqual(c.input_ids);
        if (c.negative_input_ids) {
          const neg = pipe.tokenizer.call([c.negative_prompt ?? ""], { padding: "max_length", truncation: true }).inputIds[0];
          expect(neg).toEqual(c.negative_input_ids);
        }
      });

      it("draws the same initial noise and the same timesteps", async () => {
        const r = await run(c);
        expect(maxAbsDiff(r.tensors!.initialNoise.data, readF32(c.name, "initial_noise.f32"))).toBeLessThan(2e-6);
        expect(r.tensors!.initialNoise.dims).toEqual(c.latents_shape);
        expect(r.timesteps).toEqual(c.timesteps);
        expect(r.timings.stepMs.length).toBe(c.unet_calls);
      });

      it("reaches diffusers' final latents and image", async () => {
        const r = await run(c);
        const latents = maxAbsDiff(r.tensors!.finalLatents.data, readF32(c.name, "final_latents.f32"));
        expect(latents).toBeLessThan(1e-3);
        const image = maxAbsDiff(r.tensors!.images[0], readF32(c.name, "image.f32"));
        expect(image).toBeLessThan(1e-4);
        const png = await sharp(path.join(fixtureDir, "cases", c.name, "image.png")).raw().toBuffer();
        expect(maxAbsDiff(r.images[0].data, png)).toBeLessThanOrEqual(1);
        expect([r.images[0].width, r.images[0].height]).toEqual([c.width, c.height]);
      });
    });
  }
});
