/**
 * Images in a folder (IMAGE_OUTPUT_PATH, e.g. a PVC mount). Each write goes to a `.tmp-` name, is
 * flushed to disk, then renamed into place: a rename within one folder is atomic, so a reader sees
 * either no file or the whole file, also when several replicas share the folder.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { BlobImageStore, TEMP_PREFIX, type BlobEntry, type Blobs } from "./blob-store.js";
import { ImageStoreError, type ImageStoreOptions } from "./image-store.js";

// A second guard besides the id check: a name is one path segment that cannot be "." or "..".
const SAFE_NAME = /^[A-Za-z0-9_.-]+$/;

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === "ENOENT";
}

class FolderBlobs implements Blobs {
  readonly kind = "file";
  readonly location: string;

  constructor(folder: string) {
    this.location = path.resolve(folder);
  }

  /** Backend failures reach callers as ImageStoreError naming the folder (the MCP tools report those as storage errors). */
  private fail(action: string, err: unknown): ImageStoreError {
    return new ImageStoreError(`image folder ${this.location}: cannot ${action} (${(err as Error).message})`, this.location, { cause: err });
  }

  private file(name: string): string {
    if (!SAFE_NAME.test(name) || name === "." || name === "..") throw new Error(`internal: unsafe blob name '${name}'`);
    return path.join(this.location, name);
  }

  async list(): Promise<BlobEntry[]> {
    let names: string[];
    try {
      names = (await readdir(this.location, { withFileTypes: true })).filter((d) => d.isFile()).map((d) => d.name);
    } catch (err) {
      if (isMissing(err)) return [];
      throw this.fail("list it", err);
    }
    const entries = await Promise.all(
      names.filter((n) => SAFE_NAME.test(n)).map(async (name) => {
        const s = await stat(this.file(name)).catch(() => undefined); // gone since readdir: skip
        return s?.isFile() ? { name, size: s.size, modified: s.mtime } : undefined;
      }),
    );
    return entries.filter((e) => e !== undefined);
  }

  async read(name: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(this.file(name));
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw this.fail(`read ${name}`, err);
    }
  }

  async size(name: string): Promise<number | undefined> {
    try {
      const s = await stat(this.file(name));
      return s.isFile() ? s.size : undefined;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw this.fail(`read ${name}`, err);
    }
  }

  async write(name: string, bytes: Uint8Array): Promise<void> {
    const target = this.file(name);
    const temp = this.file(`${TEMP_PREFIX}${name}.${randomBytes(4).toString("hex")}`);
    try {
      await mkdir(this.location, { recursive: true });
      const fh = await open(temp, "wx");
      try {
        await fh.writeFile(bytes);
        await fh.sync(); // the bytes are on disk before the name appears
      } finally {
        await fh.close();
      }
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw this.fail(`write ${name}`, err);
    }
  }

  async remove(name: string): Promise<void> {
    await rm(this.file(name), { force: true }).catch((err: unknown) => {
      throw this.fail(`delete ${name}`, err);
    });
  }

  async check(): Promise<void> {
    const probe = `${TEMP_PREFIX}check-${randomBytes(4).toString("hex")}`;
    try {
      await this.write(probe, Buffer.from("ok"));
      const back = await this.read(probe);
      if (back?.toString() !== "ok") throw new Error("a file written there reads back differently");
      await this.remove(probe);
    } catch (err) {
      const cause = err instanceof ImageStoreError ? err.cause : err;
      throw new ImageStoreError(
        `image folder ${this.location} is not readable and writable (${(cause as Error).message}); ` +
          "set IMAGE_OUTPUT_PATH to a folder this process can write",
        this.location,
        { cause },
      );
    }
  }
}

/** The image store over a folder; it is created on the first write (or check()). */
export class FileImageStore extends BlobImageStore {
  constructor(folder: string, options: ImageStoreOptions = {}) {
    super(new FolderBlobs(folder), options);
  }
}
