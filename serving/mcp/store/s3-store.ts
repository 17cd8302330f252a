/**
 * Images under an S3 prefix (the data connection's bucket, S3_PREFIX). A PUT is atomic in S3, so no
 * temp names are needed: the image object goes first, its `<id>.json` sibling last, and the listing
 * shows an image only once that sibling exists. Object ages come from the ids (the listing helper
 * does not return LastModified).
 */
import { randomBytes } from "node:crypto";
import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { listPrefix, type S3Context, type S3Location } from "../../../lib/index.js";
import { translateS3Error, s3Status } from "../../../lib/storage/s3-errors.js";
import { folderPrefix } from "../../../lib/storage/s3-url.js";
import { BlobImageStore, TEMP_PREFIX, type BlobEntry, type Blobs } from "./blob-store.js";
import { ImageStoreError, type ImageStoreOptions } from "./image-store.js";

/** A missing key (not a missing bucket: that is a misconfiguration, reported as an error). */
function isMissing(err: unknown): boolean {
  const { name, Code } = (err ?? {}) as { name?: string; Code?: string };
  if (name === "NoSuchBucket" || Code === "NoSuchBucket") return false;
  return s3Status(err) === 404 || name === "NoSuchKey" || name === "NotFound";
}

class PrefixBlobs implements Blobs {
  readonly kind = "s3";
  readonly location: string;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(
    private readonly ctx: S3Context,
    loc: S3Location,
  ) {
    this.bucket = loc.bucket;
    this.prefix = folderPrefix(loc.prefix);
    this.location = `s3://${this.bucket}/${this.prefix}`;
  }

  private key(name: string): string {
    if (name.includes("/")) throw new Error(`internal: unsafe blob name '${name}'`);
    return this.prefix + name;
  }

  /** Backend failures reach callers as ImageStoreError (the MCP tools report those as storage errors), worded by lib/storage. */
  private fail(err: unknown, name: string): ImageStoreError {
    const e = translateS3Error(err, this.ctx.connection, this.bucket, this.key(name));
    return new ImageStoreError(`image store ${this.location}: ${e.message}`, this.location, { cause: e });
  }

  async list(): Promise<BlobEntry[]> {
    const objects = await listPrefix(this.ctx, { bucket: this.bucket, prefix: this.prefix }).catch((err: unknown) => {
      throw this.fail(err, "");
    });
    // Objects in "sub-folders" of the prefix are not the store's.
    return objects.filter((o) => !o.path.includes("/")).map((o) => ({ name: o.path, size: o.size }));
  }

  async read(name: string): Promise<Uint8Array | undefined> {
    try {
      const out = await this.ctx.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(name) }));
      return await out.Body!.transformToByteArray();
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw this.fail(err, name);
    }
  }

  async size(name: string): Promise<number | undefined> {
    try {
      const out = await this.ctx.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(name) }));
      return out.ContentLength;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw this.fail(err, name);
    }
  }

  async write(name: string, bytes: Uint8Array, contentType: string): Promise<void> {
    try {
      await this.ctx.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key(name), Body: bytes, ContentType: contentType, ContentLength: bytes.byteLength }));
    } catch (err) {
      throw this.fail(err, name);
    }
  }

  async remove(name: string): Promise<void> {
    try {
      await this.ctx.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(name) }));
    } catch (err) {
      if (!isMissing(err)) throw this.fail(err, name);
    }
  }

  async check(): Promise<void> {
    const probe = `${TEMP_PREFIX}check-${randomBytes(4).toString("hex")}`;
    try {
      try {
        await this.ctx.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      } catch (err) {
        // HeadBucket has no body, so the SDK cannot name the error: a 404 here is a missing bucket.
        throw s3Status(err) === 404 ? translateS3Error(Object.assign(err as object, { Code: "NoSuchBucket" }), this.ctx.connection, this.bucket, this.prefix) : err;
      }
      await this.write(probe, Buffer.from("ok"), "text/plain");
      const back = await this.read(probe);
      if (Buffer.from(back ?? []).toString() !== "ok") throw new Error("an object written there reads back differently");
      await this.remove(probe);
    } catch (err) {
      const e = err instanceof ImageStoreError ? (err.cause as Error) : translateS3Error(err, this.ctx.connection, this.bucket, this.prefix);
      throw new ImageStoreError(`image store ${this.location} is not readable and writable: ${e.message}`, this.location, { cause: e });
    }
  }
}

/** The image store under `loc` (bucket and prefix; the prefix is taken as a folder). */
export class S3ImageStore extends BlobImageStore {
  constructor(ctx: S3Context, loc: S3Location, options: ImageStoreOptions = {}) {
    super(new PrefixBlobs(ctx, loc), options);
  }
}
