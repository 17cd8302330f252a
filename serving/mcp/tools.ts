/**
 * The MCP tools: generate_image, list_images, get_image, delete_image. Input and output schemas are
 * declared once (zod) and serve validation, types and the descriptions agents read; the generation
 * fields come from the library's `GenerateOptionsSchema`, narrowed to what one tool call may ask.
 * Every failure (bad input, runtime down or slow, storage) comes back as an `isError` result with a
 * message naming the cause; the SDK keeps protocol errors for protocol misuse.
 */
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult, ServerNotification, ServerRequest } from "@modelcontextprotocol/sdk/types.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { Logger } from "pino";
import sharp from "sharp";
import { z } from "zod";
import { GenerateOptionsSchema, InvalidInputError, type V1Instance } from "../../lib/index.js";
import type { McpConfig } from "./config.js";
import type { McpMetrics, ToolOutcome } from "./metrics.js";
import { IMAGE_ID_PATTERN } from "./store/image-id.js";
import { ImageStoreError, type ImageMetadata, type ImageStore } from "./store/image-store.js";
import { UpstreamError, type Upstream } from "./upstream.js";

/** Limits of one tool call, tighter than the library's (an agent's request, not a batch job). */
export const TOOL_LIMITS = { maxPromptChars: 1000, maxSize: 2048, maxSteps: 150, maxListLimit: 100 } as const;

export interface ToolDeps {
  config: McpConfig;
  store: ImageStore;
  upstream: Upstream;
  metrics: McpMetrics;
  log: Logger;
  /** The public URL of an image (PUBLIC_URL, or the address the HTTP routes listen on). */
  imageUrl(id: string): string;
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

const shape = GenerateOptionsSchema.shape;
// One prompt per call: the library's prompt is a string or a batch, so the single-string form is declared here.
const promptText = z.string().min(1).max(TOOL_LIMITS.maxPromptChars);
const side = (which: string) =>
  shape.width
    .unwrap()
    .max(TOOL_LIMITS.maxSize)
    .optional()
    .describe(`Image ${which} in pixels: a multiple of 8 from 64 to ${TOOL_LIMITS.maxSize}; width x height must stay within the server's pixel budget. Default: the model's native size.`);

export function generateImageInput(config: Pick<McpConfig, "maxImagesPerCall" | "maxPixels">) {
  return {
    prompt: promptText.describe("What the image should show, in English, e.g. 'a watercolor lighthouse at dusk'."),
    negative_prompt: promptText.optional().describe("What the image should not show, e.g. 'blurry, text'. Used only when guidance_scale > 1."),
    width: side("width"),
    height: side("height"),
    num_inference_steps: shape.num_inference_steps
      .unwrap()
      .max(TOOL_LIMITS.maxSteps)
      .optional()
      .describe(`Denoising steps, 1 to ${TOOL_LIMITS.maxSteps}; more is slower and finer. Default 50 (1-4 suit turbo/LCM models).`),
    guidance_scale: shape.guidance_scale
      .unwrap()
      .optional()
      .describe("How closely to follow the prompt, 0 to 100; 7.5 by default, <= 1 turns guidance off (turbo/LCM models)."),
    seed: shape.seed.describe("Seed for a reproducible image; the same seed and parameters give the same picture. Random when absent (the result reports it)."),
    scheduler: shape.scheduler.describe("Scheduler name, e.g. euler, euler_a, ddim, dpm++, lms, pndm, lcm, or a diffusers class name. Default: the model's own."),
    count: shape.num_images_per_prompt
      .unwrap()
      .max(config.maxImagesPerCall)
      .optional()
      .describe(`How many images to generate from the prompt, 1 to ${config.maxImagesPerCall} (default 1).`),
  };
}

const ImageInfo = z.object({
  id: z.string().describe("Id for get_image and delete_image"),
  url: z.string().describe("Where the image is served over HTTP"),
  format: z.string(),
  content_type: z.string(),
  size: z.number().int().describe("bytes"),
  width: z.number().int(),
  height: z.number().int(),
  created: z.string().describe("ISO 8601"),
  prompt: z.string(),
  seed: z.number().int(),
  parameters: z.record(z.string(), z.unknown()),
});
type ImageInfo = z.infer<typeof ImageInfo>;

const GenerateOutput = {
  images: z.array(ImageInfo),
  seed: z.number().int().describe("The seed used; pass it back to reproduce the image"),
  parameters: z.record(z.string(), z.unknown()).describe("Every parameter as the runtime resolved it"),
  elapsed_ms: z.number(),
};

function toInfo(m: ImageMetadata, deps: ToolDeps): ImageInfo {
  return {
    id: m.id,
    url: deps.imageUrl(m.id),
    format: m.format,
    content_type: m.contentType,
    size: m.size,
    width: m.width,
    height: m.height,
    created: m.created,
    prompt: m.prompt,
    seed: m.seed,
    parameters: m.parameters,
  };
}

/** The failure as the agent reads it, and the metrics label. */
function failure(err: unknown, cancelled: boolean): { result: CallToolResult; outcome: ToolOutcome } {
  const say = (text: string, outcome: ToolOutcome) => ({ result: { content: [{ type: "text" as const, text }], isError: true }, outcome });
  if (cancelled) return say("cancelled by the client", "cancelled");
  if (err instanceof InvalidInputError) return say(`Invalid input: ${err.message}`, "invalid");
  if (err instanceof UpstreamError) return say(`Image generation failed: ${err.message}`, `upstream_${err.reason}`);
  if (err instanceof ImageStoreError) return say(`Image storage failed: ${err.message}`, "storage");
  return say(`Internal error: ${err instanceof Error ? err.message : String(err)}`, "error");
}

/** Run a tool body, counting and timing it, with failures returned as isError results. */
async function tracked(deps: ToolDeps, tool: string, extra: Extra, body: () => Promise<CallToolResult>): Promise<CallToolResult> {
  const stop = deps.metrics.toolSeconds.startTimer({ tool });
  try {
    const result = await body();
    deps.metrics.toolCalls.inc({ tool, outcome: "ok" });
    return result;
  } catch (err) {
    const { result, outcome } = failure(err, extra.signal.aborted);
    deps.metrics.toolCalls.inc({ tool, outcome });
    if (outcome === "error") deps.log.error({ err, tool }, "tool failed");
    else deps.log.warn({ tool, outcome, message: (err as Error)?.message }, "tool call failed");
    return result;
  } finally {
    stop();
  }
}

/** The image block the configuration asks for: the stored bytes, a downsized PNG, or none. */
async function imageBlock(bytes: Uint8Array, contentType: string, config: McpConfig): Promise<CallToolResult["content"]> {
  if (config.imageResponse === "none") return [];
  if (config.imageResponse === "png") return [{ type: "image", data: Buffer.from(bytes).toString("base64"), mimeType: contentType }];
  const preview = await sharp(bytes).resize(config.previewSize, config.previewSize, { fit: "inside", withoutEnlargement: true }).png().toBuffer();
  return [{ type: "image", data: preview.toString("base64"), mimeType: "image/png" }];
}

/**
 * Progress while the runtime works: it reports none, so a heartbeat says how long it has run and,
 * once earlier calls give a rate, how long it should take (progress and total in seconds).
 */
function startHeartbeat(extra: Extra, intervalMs: number, estimateS: number | undefined): () => void {
  const token = extra._meta?.progressToken;
  if (token === undefined) return () => {};
  const started = Date.now();
  let last = 0;
  const timer = setInterval(() => {
    const elapsed = Math.max(last + 0.001, (Date.now() - started) / 1000);
    last = elapsed;
    const total = estimateS !== undefined && estimateS > elapsed ? estimateS : undefined;
    const message = `generating: ${elapsed.toFixed(1)} s${total !== undefined ? ` of about ${total.toFixed(0)} s` : ""}`;
    extra
      .sendNotification({ method: "notifications/progress", params: { progressToken: token, progress: Number(elapsed.toFixed(3)), ...(total !== undefined ? { total } : {}), message } })
      .catch(() => {});
  }, intervalMs);
  return () => clearInterval(timer);
}

/** Seconds per (step x megapixel x image) of the last generations, for the progress estimate. */
export class RateEstimate {
  private rate: number | undefined;
  private static work(steps: number, width: number, height: number, count: number): number {
    return Math.max(1, steps) * ((width * height) / 1e6) * count;
  }
  estimate(steps: number | undefined, width: number | undefined, height: number | undefined, count: number): number | undefined {
    if (this.rate === undefined || !steps || !width || !height) return undefined;
    return this.rate * RateEstimate.work(steps, width, height, count);
  }
  record(seconds: number, steps: number, width: number, height: number, count: number): void {
    const r = seconds / RateEstimate.work(steps, width, height, count);
    this.rate = this.rate === undefined ? r : 0.7 * this.rate + 0.3 * r;
  }
}

export function registerTools(server: McpServer, deps: ToolDeps, rates = new RateEstimate()): void {
  const { config, store, upstream } = deps;

  server.registerTool(
    "generate_image",
    {
      title: "Generate an image",
      description:
        "Generate image(s) from a text prompt with the Stable Diffusion model this server fronts. " +
        "Returns a preview of each image, its URL (valid until the server's retention removes it), the seed and every parameter used. " +
        "Takes seconds on a GPU, up to minutes on a CPU: progress is reported when you pass a progress token, and cancelling stops the generation.",
      inputSchema: generateImageInput(config),
      outputSchema: GenerateOutput,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    (args, extra) =>
      tracked(deps, "generate_image", extra, async () => {
        const count = args.count ?? 1;
        if (args.width !== undefined && args.height !== undefined && args.width * args.height > config.maxPixels) {
          throw new InvalidInputError(
            "width x height",
            `${args.width} x ${args.height} = ${args.width * args.height} pixels is over the budget`,
            `at most ${config.maxPixels} pixels, e.g. ${Math.floor(Math.sqrt(config.maxPixels) / 8) * 8} x ${Math.floor(Math.sqrt(config.maxPixels) / 8) * 8}`,
          );
        }
        const instance: V1Instance = {
          prompt: args.prompt,
          ...(args.negative_prompt !== undefined ? { negative_prompt: args.negative_prompt } : {}),
          ...(args.width !== undefined ? { width: args.width } : {}),
          ...(args.height !== undefined ? { height: args.height } : {}),
          ...(args.num_inference_steps !== undefined ? { num_inference_steps: args.num_inference_steps } : {}),
          ...(args.guidance_scale !== undefined ? { guidance_scale: args.guidance_scale } : {}),
          ...(args.seed !== undefined ? { seed: args.seed } : {}),
          ...(args.scheduler !== undefined ? { scheduler: args.scheduler } : {}),
          ...(count > 1 ? { num_images_per_prompt: count } : {}),
          output_format: "PNG",
        };
        const started = Date.now();
        const stopHeartbeat = startHeartbeat(extra, config.progressIntervalMs, rates.estimate(args.num_inference_steps ?? 50, args.width, args.height, count));
        let generation;
        try {
          generation = await upstream.generate(instance, extra.signal);
        } finally {
          stopHeartbeat();
        }
        const p = generation.prediction;
        rates.record((Date.now() - started) / 1000, p.num_inference_steps, p.width, p.height, generation.images.length);
        const parameters = {
          model: p.model_name ?? config.modelName,
          ...(args.negative_prompt !== undefined ? { negative_prompt: args.negative_prompt } : {}),
          width: p.width,
          height: p.height,
          num_inference_steps: p.num_inference_steps,
          guidance_scale: p.guidance_scale,
          scheduler: p.scheduler,
          count: generation.images.length,
        };
        const stored: ImageMetadata[] = [];
        for (const bytes of generation.images) stored.push(await store.put({ bytes, prompt: args.prompt, seed: p.seed, parameters }));
        deps.metrics.imagesGenerated.inc(stored.length);
        const elapsed = Date.now() - started;
        const images = stored.map((m) => toInfo(m, deps));
        const blocks: CallToolResult["content"] = [];
        for (let i = 0; i < stored.length; i++) blocks.push(...(await imageBlock(generation.images[i], stored[i].contentType, config)));
        const text =
          `Generated ${images.length} image${images.length > 1 ? "s" : ""} in ${(elapsed / 1000).toFixed(1)} s:\n` +
          images.map((i) => `${i.url} (id ${i.id})`).join("\n") +
          `\nseed ${p.seed}, ${p.width}x${p.height}, ${p.num_inference_steps} steps, guidance ${p.guidance_scale}, scheduler ${p.scheduler}`;
        return {
          content: [...blocks, { type: "text", text }],
          structuredContent: { images, seed: p.seed, parameters: { prompt: args.prompt, ...parameters }, elapsed_ms: elapsed },
        };
      }),
  );

  server.registerTool(
    "list_images",
    {
      title: "List generated images",
      description: "List the stored images, newest first, with their URLs, prompts and parameters. Pass next_cursor back as cursor for the next page.",
      inputSchema: {
        limit: z.number().int().min(1).max(TOOL_LIMITS.maxListLimit).optional().describe(`Images per page, 1 to ${TOOL_LIMITS.maxListLimit} (default 20)`),
        cursor: z.string().max(1000).optional().describe("next_cursor of the previous page"),
      },
      outputSchema: { images: z.array(ImageInfo), next_cursor: z.string().optional() },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args, extra) =>
      tracked(deps, "list_images", extra, async () => {
        const page = await store.list({ limit: args.limit ?? 20, ...(args.cursor ? { cursor: args.cursor } : {}) });
        const images = page.images.map((m) => toInfo(m, deps));
        const lines = images.map((i) => `${i.id}  ${i.created}  ${i.width}x${i.height}  ${i.url}  "${i.prompt.slice(0, 80)}"`);
        const more = page.nextCursor ? `\nMore: call list_images with cursor "${page.nextCursor}".` : "";
        return {
          content: [{ type: "text", text: images.length ? `${images.length} image(s), newest first:\n${lines.join("\n")}${more}` : "No images stored." }],
          structuredContent: { images, ...(page.nextCursor ? { next_cursor: page.nextCursor } : {}) },
        };
      }),
  );

  const idInput = { id: z.string().regex(IMAGE_ID_PATTERN, "an image id: 1 to 128 of A-Z a-z 0-9 _ -").describe("Image id from generate_image or list_images") };

  server.registerTool(
    "get_image",
    {
      title: "Get a generated image",
      description: "Get one stored image by id: the image (or its preview), its URL, prompt, seed and parameters.",
      inputSchema: idInput,
      outputSchema: ImageInfo.shape,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args, extra) =>
      tracked(deps, "get_image", extra, async () => {
        const found = await store.get(args.id);
        if (!found) throw new InvalidInputError("id", `no image '${args.id}' (unknown, deleted or expired)`, "an id from list_images");
        const info = toInfo(found.metadata, deps);
        return {
          content: [
            ...(await imageBlock(found.bytes, found.metadata.contentType, config)),
            { type: "text", text: `${info.url}\nprompt "${info.prompt}", seed ${info.seed}, ${info.width}x${info.height}, created ${info.created}` },
          ],
          structuredContent: info,
        };
      }),
  );

  server.registerTool(
    "delete_image",
    {
      title: "Delete a generated image",
      description: "Delete one stored image by id; its URL stops working.",
      inputSchema: idInput,
      outputSchema: { id: z.string(), deleted: z.boolean() },
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    (args, extra) =>
      tracked(deps, "delete_image", extra, async () => {
        const deleted = await store.delete(args.id);
        return {
          content: [{ type: "text", text: deleted ? `Deleted image ${args.id}.` : `No image ${args.id} (already gone).` }],
          structuredContent: { id: args.id, deleted },
        };
      }),
  );
}
