/**
 * The MCP server's image storage, one interface over two backends: a folder (`IMAGE_OUTPUT_PATH`) and
 * an S3 prefix (the data connection's bucket, `S3_PREFIX`). Each image is kept with its metadata; an
 * image is visible (listed, served) only once both its bytes and its metadata are complete.
 */

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
