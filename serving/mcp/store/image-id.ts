/**
 * Image ids: made by the store, never taken from user text, so a file or object name built from one
 * cannot leave the store's folder or prefix. They start with their creation time (UTC, to the
 * millisecond), so sorting ids sorts images by age without reading their metadata.
 */
import { randomBytes } from "node:crypto";
import { InvalidInputError } from "../../../lib/errors.js";

/** What get/delete accept; no dots or slashes, so `<id>.<ext>` is always one plain name. */
export const IMAGE_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
const ALLOWED = "1 to 128 characters: A-Z, a-z, 0-9, '_', '-'";

/** The id, or InvalidInputError("id", ...) naming what is allowed. */
export function validateImageId(id: unknown): string {
  if (typeof id !== "string" || !IMAGE_ID_PATTERN.test(id)) {
    const shown = typeof id === "string" ? `'${id.length > 40 ? `${id.slice(0, 40)}...` : id}'` : typeof id;
    throw new InvalidInputError("id", `${shown} is not an image id`, ALLOWED);
  }
  return id;
}

// "20261127T180206123Z": ISO 8601 basic format, which sorts as text in time order.
const STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z-/;

function stamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:.]/g, "");
}

/** The creation time encoded at the start of a store-made id, or undefined for any other id. */
export function imageIdTime(id: string): Date | undefined {
  const m = STAMP.exec(id);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, ms] = m;
  const t = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s, +ms);
  return Number.isNaN(t) ? undefined : new Date(t);
}

/**
 * Makes ids `<timestamp>-<12 hex>` from `clock`. Within one process each id's time is strictly later
 * than the previous one's (two images in the same millisecond get consecutive milliseconds), so
 * newest-first order is exact; the random part keeps replicas sharing a folder or bucket apart.
 */
export function imageIdGenerator(clock: () => Date): () => { id: string; created: Date } {
  let last = -Infinity;
  return () => {
    const ms = Math.max(clock().getTime(), last + 1);
    last = ms;
    return { id: `${stamp(ms)}-${randomBytes(6).toString("hex")}`, created: new Date(ms) };
  };
}
