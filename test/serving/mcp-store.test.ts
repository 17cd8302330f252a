/**
 * The MCP server's image store: one behavioural suite run against both backends, a folder in a temp
 * dir and a prefix in a real S3 server (s3rver) on loopback. Time is a test clock, never a sleep.
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidInputError, createS3Client, listPrefix, type S3Context } from "../../lib/index.js";
import { FileImageStore } from "../../serving/mcp/store/file-store.js";
import { ImageStoreError, type ImageStore, type ImageStoreOptions, type NewImage } from "../../serving/mcp/store/image-store.js";
import { S3ImageStore } from "../../serving/mcp/store/s3-store.js";
import { BUCKET, startS3, type S3Server } from "../storage/helpers/s3-server.js";

const T0 = Date.parse("2026-11-27T10:00:00.000Z");
const MINUTE = 60_000;

/** A clock the test moves by hand. */
function testClock(start = T0) {
  const c = { ms: start, now: () => new Date(c.ms) };
  return c;
}

async function png(width = 8, height = 4): Promise<Uint8Array> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 10, b: 10 } } }).png().toBuffer();
}

function newImage(bytes: Uint8Array, prompt = "a red square"): NewImage {
  return { bytes, prompt, seed: 42, parameters: { steps: 4, guidance_scale: 7.5, scheduler: "EulerDiscreteScheduler", size: { width: 8, height: 4 } } };
}

/** A store in a fresh place, and raw access to what lies there (to plant half-written files). */
interface Harness {
  store: ImageStore;
  plant(name: string, bytes: Uint8Array | string): Promise<void>;
  names(): Promise<string[]>;
}

interface Backend {
  name: string;
  make(options?: ImageStoreOptions): Promise<Harness>;
}

let s3: S3Server;
let s3ctx: S3Context;
let tmp: string;
let serial = 0;
const opened: ImageStore[] = [];

beforeAll(async () => {
  [s3, tmp] = await Promise.all([startS3(), mkdtemp(path.join(os.tmpdir(), "mcp-store-"))]);
  s3ctx = createS3Client(s3.connection, { maxAttempts: 1 });
});
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  await s3?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const fileBackend: Backend = {
  name: "folder",
  async make(options) {
    const dir = path.join(tmp, `store-${++serial}`);
    const store = new FileImageStore(dir, options);
    opened.push(store);
    return {
      store,
      async plant(name, bytes) {
        await mkdir(dir, { recursive: true });
        await writeFile(path.join(dir, name), bytes);
      },
      names: async () => (await readdir(dir).catch(() => [])).sort(),
    };
  },
};

const s3Backend: Backend = {
  name: "S3 prefix",
  async make(options) {
    const prefix = `run-${++serial}/images/`;
    const store = new S3ImageStore(s3ctx, { bucket: BUCKET, prefix }, options);
    opened.push(store);
    return {
      store,
      async plant(name, bytes) {
        await s3ctx.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: prefix + name, Body: typeof bytes === "string" ? Buffer.from(bytes) : bytes }));
      },
      names: async () => (await listPrefix(s3ctx, { bucket: BUCKET, prefix })).map((o) => o.path).sort(),
    };
  },
};

describe.each([fileBackend, s3Backend])("the image store on a $name", (backend) => {
  it("stores an image with its metadata and gives back the same bytes and metadata from get, head and list", async () => {
    const clock = testClock();
    const { store, names } = await backend.make({ clock: clock.now });
    const bytes = await png(8, 4);
    const meta = await store.put({ ...newImage(bytes, "ein rotes Quadrat, 夕焼け"), parameters: { steps: 4, nested: { list: [1, "two", null] }, dropped: undefined } });

    expect(meta).toEqual({
      id: expect.stringMatching(/^20261127T100000000Z-[0-9a-f]{12}$/),
      format: "png",
      contentType: "image/png",
      size: bytes.byteLength,
      width: 8,
      height: 4,
      created: "2026-11-27T10:00:00.000Z",
      etag: `"sha256-${createHash("sha256").update(bytes).digest("hex")}"`,
      prompt: "ein rotes Quadrat, 夕焼け",
      seed: 42,
      parameters: { steps: 4, nested: { list: [1, "two", null] } },
    });
    const got = await store.get(meta.id);
    expect(got?.metadata).toEqual(meta);
    expect(Buffer.from(got!.bytes).equals(Buffer.from(bytes))).toBe(true);
    expect(await store.head(meta.id)).toEqual(meta);
    expect(await store.list()).toEqual({ images: [meta] });
    expect(await names()).toEqual([`${meta.id}.json`, `${meta.id}.png`]);
  });

  it("sniffs JPEG and WebP from their bytes and reads their dimensions", async () => {
    const { store } = await backend.make();
    const base = sharp({ create: { width: 16, height: 8, channels: 3, background: "#336699" } });
    const jpeg = await store.put(newImage(await base.clone().jpeg().toBuffer()));
    const webp = await store.put(newImage(await base.clone().webp().toBuffer()));
    expect(jpeg).toMatchObject({ format: "jpeg", contentType: "image/jpeg", width: 16, height: 8 });
    expect(webp).toMatchObject({ format: "webp", contentType: "image/webp", width: 16, height: 8 });
    expect((await store.get(webp.id))?.metadata.format).toBe("webp");
  });

  it("rejects bytes that are not a PNG, JPEG or WebP image and stores nothing", async () => {
    const { store, names } = await backend.make();
    const good = await png();
    const cases: Uint8Array[] = [
      new Uint8Array(0),
      Buffer.from("GIF89a not supported"),
      Buffer.from("<svg xmlns='http://www.w3.org/2000/svg'/>"),
      Buffer.concat([good.subarray(0, 8), Buffer.from("garbage after a PNG signature")]),
    ];
    for (const bytes of cases) {
      const err = await store.put(newImage(bytes)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidInputError);
      expect(err).toMatchObject({ field: "image" });
      expect((err as Error).message).toMatch(/PNG, JPEG or WebP/);
    }
    await expect(store.put({ ...newImage(good), seed: Number.NaN })).rejects.toMatchObject({ field: "seed" });
    await expect(store.put({ ...newImage(good), parameters: { big: 1n } })).rejects.toMatchObject({ field: "parameters" });
    expect(await names()).toEqual([]);
  });

  it("refuses ids that could name anything but an image of the store", async () => {
    const { store, plant, names } = await backend.make();
    await plant("secret.json", "{}");
    for (const id of ["../x", "..", "", "a".repeat(129), "a/b", "a\\b", "x.png", "%2e%2e", "a b"]) {
      for (const call of [() => store.get(id), () => store.head(id), () => store.delete(id)]) {
        const err = await call().catch((e: unknown) => e);
        expect(err, id).toBeInstanceOf(InvalidInputError);
        expect(err).toMatchObject({ field: "id", allowed: "1 to 128 characters: A-Z, a-z, 0-9, '_', '-'" });
      }
    }
    expect(await store.get("a".repeat(128))).toBeUndefined();
    expect(await names()).toEqual(["secret.json"]);
  });

  it("lists newest first in pages joined by an opaque cursor", async () => {
    const clock = testClock();
    const { store } = await backend.make({ clock: clock.now });
    const bytes = await png();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await store.put(newImage(bytes, `image ${i}`))).id);
      if (i !== 2) clock.ms += 1000; // images 2 and 3 share a clock millisecond: ids still order them
    }
    const newestFirst = [...ids].reverse();
    const p1 = await store.list({ limit: 2 });
    expect(p1.images.map((m) => m.id)).toEqual(newestFirst.slice(0, 2));
    expect(p1.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
    const p2 = await store.list({ limit: 2, cursor: p1.nextCursor });
    expect(p2.images.map((m) => m.id)).toEqual(newestFirst.slice(2, 4));
    const p3 = await store.list({ limit: 2, cursor: p2.nextCursor });
    expect(p3).toEqual({ images: [expect.objectContaining({ id: ids[0], prompt: "image 0" })] });
    expect((await store.list({ limit: 5 })).nextCursor).toBeUndefined();
    expect((await store.list()).images.map((m) => m.id)).toEqual(newestFirst);
    expect(new Date((await store.head(ids[3]))!.created).getTime()).toBe(new Date((await store.head(ids[2]))!.created).getTime() + 1);

    for (const limit of [0, 1001, 1.5, Number.NaN]) {
      await expect(store.list({ limit }), String(limit)).rejects.toMatchObject({ field: "limit", allowed: "an integer 1..1000" });
    }
    for (const cursor of ["", "not-a-cursor", Buffer.from("c1:../x").toString("base64url")]) {
      await expect(store.list({ cursor }), cursor).rejects.toMatchObject({ field: "cursor" });
    }
  });

  it("deletes an image with its metadata and says whether there was anything to delete", async () => {
    const { store, names } = await backend.make();
    const keep = await store.put(newImage(await png()));
    const gone = await store.put(newImage(await png()));
    expect(await store.delete(gone.id)).toBe(true);
    expect(await store.delete(gone.id)).toBe(false);
    expect(await store.get(gone.id)).toBeUndefined();
    expect(await store.head(gone.id)).toBeUndefined();
    expect((await store.list()).images.map((m) => m.id)).toEqual([keep.id]);
    expect(await names()).toEqual([`${keep.id}.json`, `${keep.id}.png`]);
  });

  it("never shows a half-written image: a temp file, bytes without metadata, metadata whose size disagrees, broken metadata", async () => {
    const clock = testClock();
    const { store, plant } = await backend.make({ clock: clock.now });
    const bytes = await png();
    const real = await store.put(newImage(bytes));
    const json = (id: string, size: number) => JSON.stringify({ ...real, id, size });

    await plant(`.tmp-20261127T100000001Z-aaaaaaaaaaaa.png.1234`, bytes);
    await plant("20261127T100000002Z-bbbbbbbbbbbb.png", bytes); // bytes, metadata not written yet
    await plant("20261127T100000003Z-cccccccccccc.png", bytes.subarray(0, 20)); // bytes cut short
    await plant("20261127T100000003Z-cccccccccccc.json", json("20261127T100000003Z-cccccccccccc", bytes.byteLength));
    await plant("20261127T100000004Z-dddddddddddd.png", bytes);
    await plant("20261127T100000004Z-dddddddddddd.json", json("20261127T100000004Z-dddddddddddd", bytes.byteLength).slice(0, 40)); // torn JSON
    await plant("20261127T100000005Z-eeeeeeeeeeee.png", bytes);
    await plant("20261127T100000005Z-eeeeeeeeeeee.json", json("someone-elses-id", bytes.byteLength)); // names another id
    await plant("20261127T100000006Z-ffffffffffff.json", json("20261127T100000006Z-ffffffffffff", bytes.byteLength)); // metadata, bytes deleted

    expect((await store.list()).images.map((m) => m.id)).toEqual([real.id]);
    for (const id of ["20261127T100000002Z-bbbbbbbbbbbb", "20261127T100000003Z-cccccccccccc", "20261127T100000004Z-dddddddddddd", "20261127T100000005Z-eeeeeeeeeeee", "20261127T100000006Z-ffffffffffff"]) {
      expect(await store.get(id), id).toBeUndefined();
      expect(await store.head(id), id).toBeUndefined();
    }
    // a page is filled past invisible entries, and no cursor points at only invisible ones
    expect(await store.list({ limit: 1 })).toEqual({ images: [real] });
  });

  it("stops serving an image once it is older than the TTL, before any clean-up, and clean-up then removes it", async () => {
    const clock = testClock();
    const { store, names } = await backend.make({ clock: clock.now, ttlMs: 60 * MINUTE });
    const old = await store.put(newImage(await png()));
    clock.ms += 30 * MINUTE;
    const young = await store.put(newImage(await png()));
    clock.ms += 29 * MINUTE;
    expect((await store.list()).images.map((m) => m.id)).toEqual([young.id, old.id]);
    expect(await store.cleanup(clock.now())).toEqual({ expired: [], evicted: [], orphans: [] });

    clock.ms += MINUTE; // old is exactly 60 minutes old
    expect(await store.get(old.id)).toBeUndefined();
    expect(await store.head(old.id)).toBeUndefined();
    expect((await store.list()).images.map((m) => m.id)).toEqual([young.id]);
    expect((await names()).length).toBe(4);

    expect(await store.cleanup(new Date(T0 + 60 * MINUTE))).toEqual({ expired: [old.id], evicted: [], orphans: [] });
    expect(await names()).toEqual([`${young.id}.json`, `${young.id}.png`]);
    expect(await store.cleanup(new Date(T0 + 90 * MINUTE))).toMatchObject({ expired: [young.id] });
    expect(await names()).toEqual([]);
  });

  it("keeps images forever when the TTL is 0", async () => {
    const clock = testClock();
    const { store } = await backend.make({ clock: clock.now });
    const meta = await store.put(newImage(await png()));
    clock.ms += 10 * 365 * 24 * 60 * MINUTE;
    expect(await store.cleanup(clock.now())).toEqual({ expired: [], evicted: [], orphans: [] });
    expect(await store.head(meta.id)).toEqual(meta);
  });

  it("evicts the oldest images first until the total size (bytes and metadata) is under the cap", async () => {
    const clock = testClock();
    const bytes = await png(8, 4);
    const probe = await (await backend.make({ clock: clock.now })).store.put(newImage(bytes));
    // the size of one image as the cap counts it: bytes plus its metadata file
    const one = probe.size + Buffer.byteLength(`${JSON.stringify(probe, null, 2)}\n`);
    const { store, names } = await backend.make({ clock: clock.now, maxBytes: 2 * one + 10 });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      ids.push((await store.put(newImage(bytes))).id);
      clock.ms += 1000;
    }
    expect(await store.cleanup(clock.now())).toEqual({ expired: [], evicted: [ids[0], ids[1]], orphans: [] });
    expect((await store.list()).images.map((m) => m.id)).toEqual([ids[3], ids[2]]);
    expect(await names()).toEqual([`${ids[2]}.json`, `${ids[2]}.png`, `${ids[3]}.json`, `${ids[3]}.png`]);
    expect(await store.cleanup(clock.now())).toEqual({ expired: [], evicted: [], orphans: [] });
  });

  it("removes unfinished writes once they are older than the orphan age, and leaves younger ones and foreign files alone", async () => {
    const clock = testClock();
    const { store, plant, names } = await backend.make({ clock: clock.now, orphanAgeMs: 10 * MINUTE });
    const bytes = await png();
    await plant("20261127T094000000Z-aaaaaaaaaaaa.png", bytes); // 20 minutes old, never got metadata
    await plant("20261127T095500000Z-bbbbbbbbbbbb.png", bytes); // 5 minutes old: may still be in progress
    await plant("20261127T094000000Z-cccccccccccc.json", "{}"); // metadata left by a cut-short delete
    await plant("notes.txt", "not the store's");
    const kept = await store.put(newImage(bytes));
    const result = await store.cleanup(clock.now());
    expect(result).toEqual({ expired: [], evicted: [], orphans: ["20261127T094000000Z-aaaaaaaaaaaa.png", "20261127T094000000Z-cccccccccccc.json"] });
    expect(await names()).toEqual(["20261127T095500000Z-bbbbbbbbbbbb.png", `${kept.id}.json`, `${kept.id}.png`, "notes.txt"].sort());
  });

  it("passes check() where it can write, and leaves nothing behind", async () => {
    const { store, names } = await backend.make();
    await store.check();
    expect(await names()).toEqual([]);
  });

  it("runs clean-up on its own timer and stops it on close", async () => {
    const clock = testClock();
    const outcomes: unknown[] = [];
    let ran!: () => void;
    const done = new Promise<void>((r) => (ran = r));
    const { store, names } = await backend.make({
      clock: clock.now,
      ttlMs: MINUTE,
      cleanupIntervalMs: 20,
      onCleanup: (o) => {
        outcomes.push(o);
        if (o.result?.expired.length) ran();
      },
    });
    const meta = await store.put(newImage(await png()));
    clock.ms += 2 * MINUTE;
    await done;
    await store.close();
    expect(outcomes.at(-1)).toEqual({ result: { expired: [meta.id], evicted: [], orphans: [] } });
    expect(await names()).toEqual([]);
  });
});

describe("the folder store", () => {
  it("removes temp files older than the orphan age (by their modification time)", async () => {
    const dir = path.join(tmp, `temps-${++serial}`);
    const clock = testClock(Date.now());
    const store = new FileImageStore(dir, { clock: clock.now, orphanAgeMs: 10 * MINUTE });
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, ".tmp-old.png.1"), "x");
    await writeFile(path.join(dir, ".tmp-new.png.2"), "x");
    const old = new Date(clock.ms - 11 * MINUTE);
    await utimes(path.join(dir, ".tmp-old.png.1"), old, old);
    expect(await store.cleanup()).toEqual({ expired: [], evicted: [], orphans: [".tmp-old.png.1"] });
    expect(await readdir(dir)).toEqual([".tmp-new.png.2"]);
  });

  it("creates its folder on the first write and treats a missing folder as empty", async () => {
    const dir = path.join(tmp, `nested-${++serial}`, "a", "b");
    const store = new FileImageStore(dir);
    expect(await store.list()).toEqual({ images: [] });
    expect(await store.cleanup()).toEqual({ expired: [], evicted: [], orphans: [] });
    const meta = await store.put(newImage(await png()));
    expect(await readdir(dir)).toEqual([`${meta.id}.json`, `${meta.id}.png`]);
    expect(store).toMatchObject({ kind: "file", location: dir });
  });

  it("fails check() with the folder and the variable to fix when the folder cannot be written", async () => {
    const file = path.join(tmp, `plain-file-${++serial}`);
    await writeFile(file, "x");
    const store = new FileImageStore(path.join(file, "images"));
    const err = await store.check().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageStoreError);
    expect((err as Error).message).toMatch(new RegExp(`^image folder ${file}/images is not readable and writable \\(ENOTDIR: .*\\); set IMAGE_OUTPUT_PATH to a folder this process can write$`));
    expect(err).toMatchObject({ location: path.join(file, "images") });
  });

  it("reports a folder that cannot be written as an ImageStoreError from put and list", async () => {
    const file = path.join(tmp, `plain-file-${++serial}`);
    await writeFile(file, "x");
    const store = new FileImageStore(path.join(file, "images"));
    const err = await store.put(newImage(await png())).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageStoreError);
    expect((err as Error).message).toMatch(new RegExp(`^image folder ${file}/images: cannot write \\S+\\.png \\(ENOTDIR: `));
    await expect(store.list()).rejects.toThrow(/^image folder .*: cannot list it \(ENOTDIR: /);
  });

  // root ignores file modes, so a read-only folder is writable to it: skipped when the tests run as
  // root (CI containers); the ENOTDIR case above checks the same error path.
  it.skipIf(process.getuid?.() === 0)("fails check() on a read-only folder", async () => {
    const dir = path.join(tmp, `readonly-${++serial}`);
    await mkdir(dir, { mode: 0o555 });
    const err = await new FileImageStore(dir).check().catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/is not readable and writable \(EACCES/);
  });
});

describe("the S3 store", () => {
  it("fails check() naming the bucket when it does not exist", async () => {
    const store = new S3ImageStore(s3ctx, { bucket: "no-such-bucket", prefix: "images" });
    expect(store.location).toBe("s3://no-such-bucket/images/");
    const err = await store.check().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageStoreError);
    expect((err as Error).message).toBe(`image store s3://no-such-bucket/images/ is not readable and writable: bucket 'no-such-bucket' does not exist at ${s3.endpoint}`);
  });

  it("reports a missing bucket as an ImageStoreError from put, get and list", async () => {
    const store = new S3ImageStore(s3ctx, { bucket: "no-such-bucket", prefix: "images" });
    const missing = `image store s3://no-such-bucket/images/: bucket 'no-such-bucket' does not exist at ${s3.endpoint}`;
    await expect(store.put(newImage(await png()))).rejects.toThrow(missing);
    await expect(store.put(newImage(await png()))).rejects.toBeInstanceOf(ImageStoreError);
    await expect(store.get("20261127T100000000Z-aaaaaaaaaaaa")).rejects.toThrow(missing);
    await expect(store.list()).rejects.toThrow(missing);
  });

  it("stores the image object with its content type beside the metadata object", async () => {
    const store = new S3ImageStore(s3ctx, { bucket: BUCKET, prefix: "typed/" });
    const meta = await store.put(newImage(await png()));
    const head = await s3ctx.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `typed/${meta.id}.png` }));
    expect(head).toMatchObject({ ContentType: "image/png", ContentLength: meta.size });
    const objects = await listPrefix(s3ctx, { bucket: BUCKET, prefix: "typed/" });
    expect(objects.map((o) => [o.path, o.size])).toEqual([
      [`${meta.id}.json`, expect.any(Number)],
      [`${meta.id}.png`, meta.size],
    ]);
  });
});
