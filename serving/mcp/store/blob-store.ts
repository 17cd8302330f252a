/**
 * The ImageStore behaviour written once over a few primitive operations on named blobs, which the
 * folder (file-store.ts) and S3 (s3-store.ts) backends provide. Layout, for an id:
 *
 *   <id>.<png|jpeg|webp>   the bytes, written first
 *   <id>.json              the metadata, written last: its presence publishes the image
 *
 * An image is visible only when its metadata parses, names the same id, and its size matches the
 * bytes that are there; and only while it is not expired. Names are built only from validated ids
 * and the fixed extensions, never from anything a caller sends.
 */
import { InvalidInputError } from "../../../lib/errors.js";
import { CleanupTimer, DEFAULT_ORPHAN_AGE_MS, isExpired, planEviction, reportToStderr } from "./cleanup.js";
import { imageIdGenerator, imageIdTime, validateImageId } from "./image-id.js";
import { describeImage } from "./image-format.js";
import {
  IMAGE_FORMATS,
  type CleanupResult,
  type ImageFormat,
  type ImageMetadata,
  type ImagePage,
  type ImageStore,
  type ImageStoreOptions,
  type ListOptions,
  type NewImage,
  type StoredImage,
} from "./image-store.js";
import { parseMetadata, serializeMetadata } from "./metadata.js";

/** Names of writes in progress start with this; they never match an image or metadata name. */
export const TEMP_PREFIX = ".tmp-";

export interface BlobEntry {
  name: string;
  size: number;
  /** Last modification, where the backend lists it cheaply (files); otherwise ages come from the id. */
  modified?: Date;
}

/** What a backend provides. `name` is always a plain file name (no "/"), built by this module. */
export interface Blobs {
  readonly kind: "file" | "s3";
  readonly location: string;
  /** Every blob directly in the folder/prefix, temp ones included. */
  list(): Promise<BlobEntry[]>;
  read(name: string): Promise<Uint8Array | undefined>;
  size(name: string): Promise<number | undefined>;
  /** Atomic: `name` appears only with all its bytes. */
  write(name: string, bytes: Uint8Array, contentType: string): Promise<void>;
  /** Removing a missing blob is not an error. */
  remove(name: string): Promise<void>;
  /** Throws ImageStoreError when the backend cannot be read and written. */
  check(): Promise<void>;
}

export const DEFAULT_LIST_LIMIT = 50;
export const MAX_LIST_LIMIT = 1000;
/** Metadata reads in flight while filling a page (S3 GETs are latency bound). */
const READ_CONCURRENCY = 16;

const imageName = (id: string, format: ImageFormat) => `${id}.${format}`;
const metadataName = (id: string) => `${id}.json`;
const BLOB_NAME = /^([A-Za-z0-9_-]{1,128})\.(png|jpeg|webp|json)$/;

/** What a listing holds for one id. */
interface IdBlobs {
  id: string;
  metadata?: BlobEntry;
  images: Partial<Record<ImageFormat, BlobEntry>>;
}

function groupById(entries: readonly BlobEntry[]): Map<string, IdBlobs> {
  const byId = new Map<string, IdBlobs>();
  for (const e of entries) {
    const m = BLOB_NAME.exec(e.name);
    if (!m) continue;
    const [, id, ext] = m;
    let g = byId.get(id);
    if (!g) byId.set(id, (g = { id, images: {} }));
    if (ext === "json") g.metadata = e;
    else g.images[ext as ImageFormat] = e;
  }
  return byId;
}

const byIdDescending = (a: string, b: string) => (a < b ? 1 : a > b ? -1 : 0);

// The cursor is the last id of the page, wrapped so clients treat it as opaque and a stale or edited
// one fails with a clear error instead of silently restarting the list.
const CURSOR_VERSION = "c1:";

function encodeCursor(lastId: string): string {
  return Buffer.from(CURSOR_VERSION + lastId, "utf8").toString("base64url");
}

function decodeCursor(cursor: string): string {
  const raw = Buffer.from(cursor, "base64url").toString("utf8");
  const id = raw.startsWith(CURSOR_VERSION) ? raw.slice(CURSOR_VERSION.length) : "";
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(id)) throw new InvalidInputError("cursor", `'${cursor.slice(0, 60)}' is not a cursor of this store`, "the nextCursor of a previous page");
  return id;
}

function listLimit(limit: unknown): number {
  if (limit === undefined) return DEFAULT_LIST_LIMIT;
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new InvalidInputError("limit", `${String(limit)} is not a page size`, `an integer 1..${MAX_LIST_LIMIT}`);
  }
  return limit;
}

function checkNewImage(image: NewImage): void {
  if (typeof image?.prompt !== "string") throw new InvalidInputError("prompt", "must be a string", "text");
  if (typeof image.seed !== "number" || !Number.isFinite(image.seed)) throw new InvalidInputError("seed", `${String(image.seed)} is not a number`, "a finite number");
  const p = image.parameters;
  if (typeof p !== "object" || p === null || Array.isArray(p)) throw new InvalidInputError("parameters", "must be an object", "a JSON object");
}

export class BlobImageStore implements ImageStore {
  readonly kind: "file" | "s3";
  readonly location: string;
  private readonly ttlMs: number;
  private readonly maxBytes: number;
  private readonly orphanAgeMs: number;
  private readonly clock: () => Date;
  private readonly nextId: () => { id: string; created: Date };
  private readonly timer: CleanupTimer | undefined;

  constructor(
    private readonly blobs: Blobs,
    options: ImageStoreOptions = {},
  ) {
    this.kind = blobs.kind;
    this.location = blobs.location;
    this.ttlMs = options.ttlMs ?? 0;
    this.maxBytes = options.maxBytes ?? 0;
    this.orphanAgeMs = options.orphanAgeMs ?? DEFAULT_ORPHAN_AGE_MS;
    this.clock = options.clock ?? (() => new Date());
    this.nextId = imageIdGenerator(this.clock);
    const interval = options.cleanupIntervalMs ?? 0;
    this.timer = interval > 0 ? new CleanupTimer(interval, () => this.cleanup(), options.onCleanup ?? reportToStderr) : undefined;
  }

  async put(image: NewImage): Promise<ImageMetadata> {
    checkNewImage(image);
    const facts = await describeImage(image.bytes);
    const { id, created } = this.nextId();
    const stored: ImageMetadata = { id, ...facts, created: created.toISOString(), prompt: image.prompt, seed: image.seed, parameters: image.parameters };
    let json: Uint8Array;
    try {
      json = serializeMetadata(stored);
    } catch (err) {
      throw new InvalidInputError("parameters", `cannot be stored as JSON (${(err as Error).message})`, "JSON values");
    }
    await this.blobs.write(imageName(id, facts.format), image.bytes, facts.contentType);
    try {
      await this.blobs.write(metadataName(id), json, "application/json");
    } catch (err) {
      await this.blobs.remove(imageName(id, facts.format)).catch(() => undefined);
      throw err;
    }
    // What get/list will return: the JSON round trip (undefined parameters dropped, as in the file).
    return parseMetadata(json, id)!;
  }

  async get(id: string): Promise<StoredImage | undefined> {
    const metadata = await this.readMetadata(validateImageId(id));
    if (!metadata) return undefined;
    const bytes = await this.blobs.read(imageName(id, metadata.format));
    return bytes !== undefined && bytes.byteLength === metadata.size ? { metadata, bytes } : undefined;
  }

  async head(id: string): Promise<ImageMetadata | undefined> {
    const metadata = await this.readMetadata(validateImageId(id));
    if (!metadata) return undefined;
    return (await this.blobs.size(imageName(id, metadata.format))) === metadata.size ? metadata : undefined;
  }

  async list(options: ListOptions = {}): Promise<ImagePage> {
    const limit = listLimit(options.limit);
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
    const candidates = [...groupById(await this.blobs.list()).values()]
      .filter((g) => g.metadata && Object.keys(g.images).length > 0 && (after === undefined || g.id < after))
      .sort((a, b) => byIdDescending(a.id, b.id));
    // One more than the page, so nextCursor appears only when a visible image really follows.
    const found: ImageMetadata[] = [];
    for (let i = 0; i < candidates.length && found.length <= limit; ) {
      const batch = candidates.slice(i, i + Math.min(READ_CONCURRENCY, limit + 1 - found.length));
      i += batch.length;
      const read = await Promise.all(batch.map((g) => this.readMetadata(g.id, g)));
      for (const m of read) if (m) found.push(m);
    }
    const images = found.slice(0, limit);
    return found.length > limit ? { images, nextCursor: encodeCursor(images[images.length - 1].id) } : { images };
  }

  async delete(id: string): Promise<boolean> {
    validateImageId(id);
    const names = [metadataName(id), ...IMAGE_FORMATS.map((f) => imageName(id, f))];
    const present = (await Promise.all(names.map(async (n) => ((await this.blobs.size(n)) === undefined ? undefined : n)))).filter((n) => n !== undefined);
    // Metadata first (names[0]): the image is invisible from then on, even if removing the bytes fails.
    for (const n of present) await this.blobs.remove(n);
    return present.length > 0;
  }

  async cleanup(now: Date = this.clock()): Promise<CleanupResult> {
    const entries = await this.blobs.list();
    const result: Required<CleanupResult> = { expired: [], evicted: [], orphans: [] };
    const isOrphan = (since: Date | undefined) => since !== undefined && now.getTime() - since.getTime() >= this.orphanAgeMs;

    for (const e of entries) {
      if (e.name.startsWith(TEMP_PREFIX) && isOrphan(e.modified)) {
        await this.blobs.remove(e.name);
        result.orphans.push(e.name);
      }
    }
    const kept: { id: string; bytes: number }[] = [];
    const groups = [...groupById(entries).values()].sort((a, b) => byIdDescending(b.id, a.id)); // oldest first
    for (const g of groups) {
      const images = Object.values(g.images);
      if (!g.metadata || images.length === 0) {
        // Half of a write that never finished (or of a delete that was cut short), aged from the id
        // (when the write began, the same on both backends), else from the file's modification time.
        const parts = g.metadata ? [g.metadata] : images;
        if (parts.every((p) => isOrphan(imageIdTime(g.id) ?? p.modified))) {
          for (const p of parts) await this.blobs.remove(p.name);
          result.orphans.push(...parts.map((p) => p.name));
        }
        continue;
      }
      const created = imageIdTime(g.id) ?? (await this.storedCreated(g.id)) ?? g.metadata.modified;
      if (created && isExpired(created, this.ttlMs, now)) {
        await this.removeImage(g);
        result.expired.push(g.id);
        continue;
      }
      kept.push({ id: g.id, bytes: g.metadata.size + images.reduce((s, i) => s + i.size, 0) });
    }
    const byId = new Map(groups.map((g) => [g.id, g]));
    for (const id of planEviction(kept, this.maxBytes)) {
      await this.removeImage(byId.get(id)!);
      result.evicted.push(id);
    }
    return result;
  }

  check(): Promise<void> {
    return this.blobs.check();
  }

  async close(): Promise<void> {
    await this.timer?.stop();
  }

  /** Visible metadata for `id`: parsed, not expired, and (from `listed` or a size lookup) matching its bytes. */
  private async readMetadata(id: string, listed?: IdBlobs): Promise<ImageMetadata | undefined> {
    const raw = await this.blobs.read(metadataName(id));
    const meta = raw && parseMetadata(raw, id);
    if (!meta || isExpired(new Date(meta.created), this.ttlMs, this.clock())) return undefined;
    if (listed) return listed.images[meta.format]?.size === meta.size ? meta : undefined;
    return meta;
  }

  private async storedCreated(id: string): Promise<Date | undefined> {
    const raw = await this.blobs.read(metadataName(id));
    const meta = raw && parseMetadata(raw, id);
    return meta ? new Date(meta.created) : undefined;
  }

  private async removeImage(g: IdBlobs): Promise<void> {
    if (g.metadata) await this.blobs.remove(g.metadata.name);
    for (const i of Object.values(g.images)) await this.blobs.remove(i.name);
  }
}
