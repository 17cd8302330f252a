/**
 * The MCP server's image storage, one interface over two backends: a folder (`IMAGE_OUTPUT_PATH`) and
 * an S3 prefix (the data connection's bucket, `S3_PREFIX`). Each image is kept with its metadata; an
 * image is visible (listed, served) only once both its bytes and its metadata are complete.
 */
import { WorkbenchError } from "../../../lib/errors.js";

/** What is kept with every image (stored beside it, returned by list/get). */
export interface ImageMetadata {
  /** Store id: `[A-Za-z0-9_-]{1,128}`; the file/object name is derived from it, never from user text. */
  id: string;
  /** "png" | "jpeg" | "webp", sniffed from the bytes when stored. */
  format: ImageFormat;
  /** MIME type for the format. */
  contentType: string;
  /** Byte length of the image. */
  size: number;
  width: number;
  height: number;
  /** ISO 8601 creation time. */
  created: string;
  /** Strong ETag of the bytes (quoted, e.g. "\"sha256-...\""). */
  etag: string;
  /** Prompt, seed and every generation parameter, as the tool received/resolved them. */
  prompt: string;
  seed: number;
  parameters: Record<string, unknown>;
}

export const IMAGE_FORMATS = ["png", "jpeg", "webp"] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

export interface NewImage {
  bytes: Uint8Array;
  prompt: string;
  seed: number;
  parameters: Record<string, unknown>;
}

export interface ListOptions {
  /** Page size, 1..1000 (default 50). */
  limit?: number;
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string;
}

export interface ImagePage {
  /** Newest first. */
  images: ImageMetadata[];
  /** Present when more images follow. */
  nextCursor?: string;
}

export interface StoredImage {
  metadata: ImageMetadata;
  bytes: Uint8Array;
}

export interface CleanupResult {
  /** Ids removed because they were older than the TTL. */
  expired: string[];
  /** Ids removed (oldest first) to bring the total size under the cap. */
  evicted: string[];
  /** File/object names removed because their write never finished (temp files, bytes without metadata) and they are older than the orphan age. */
  orphans?: string[];
}

export interface ImageStore {
  /** "file" or "s3": what /health and logs report. */
  readonly kind: "file" | "s3";
  /** Where images go, for logs and /health (a folder path or s3://bucket/prefix). */
  readonly location: string;
  /** Stores bytes + metadata (temp name then rename / metadata last), returns the metadata. Rejects bytes that are not PNG/JPEG/WebP with InvalidInputError. */
  put(image: NewImage): Promise<ImageMetadata>;
  /** The image, or undefined when unknown, expired or half written. Throws InvalidInputError("id", ...) for an id that is not `[A-Za-z0-9_-]{1,128}`. */
  get(id: string): Promise<StoredImage | undefined>;
  /** Metadata only (cheap); same rules as get. */
  head(id: string): Promise<ImageMetadata | undefined>;
  list(options?: ListOptions): Promise<ImagePage>;
  /** True when something was deleted. */
  delete(id: string): Promise<boolean>;
  /** Removes expired images (older than ttl) and, oldest first, what exceeds the size cap. */
  cleanup(now?: Date): Promise<CleanupResult>;
  /** Throws with a clear message when the backend cannot be read and written (for /health). */
  check(): Promise<void>;
  /** Stops the periodic clean-up timer, if any. */
  close(): Promise<void>;
}

/** Retention and timing, shared by both backends (imageStoreFromEnv fills it from IMAGE_TTL, IMAGE_MAX_BYTES, IMAGE_CLEANUP_INTERVAL). */
export interface ImageStoreOptions {
  /** Images older than this are invisible and removed by clean-up; 0 (default): kept forever. */
  ttlMs?: number;
  /** Cap on the bytes of all images and their metadata; clean-up removes oldest first above it. 0 (default): no cap. */
  maxBytes?: number;
  /** Period of the automatic clean-up (an unref'd timer); 0 (default): only when cleanup() is called. */
  cleanupIntervalMs?: number;
  /** Unfinished writes (temp files, bytes without metadata) older than this are removed by clean-up (default 10 minutes). */
  orphanAgeMs?: number;
  /** The store's clock (ids, `created`, expiry); tests pass their own. */
  clock?: () => Date;
  /** Called after each periodic clean-up with its result or its error (default: errors as a line on stderr). */
  onCleanup?: (outcome: { result?: CleanupResult; error?: unknown }) => void;
}

/** The backend cannot be read or written: what check() throws, and what put/get/head/list/delete/cleanup throw when the folder or bucket fails (bad input stays InvalidInputError). */
export class ImageStoreError extends WorkbenchError {
  override name = "ImageStoreError";
  constructor(
    message: string,
    /** The folder or s3:// location. */
    readonly location: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
