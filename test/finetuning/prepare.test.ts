import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataManifestSchema } from "../../finetuning/data/manifest.js";
import { dataPrefix, prepareData } from "../../finetuning/data/prepare.js";
import { InvalidInputError } from "../../lib/index.js";
import { startS3, type S3Server } from "../storage/helpers/s3-server.js";
import { blockImage, halvesJpeg, tarOf, zipOf } from "./images-helpers.js";

const PROMPT = "a photo of rhteddy dog";
let root: string;
let photos: string;
let files: Record<string, Buffer>;

async function rgbAt(png: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * info.channels;
  return [data[i], data[i + 1], data[i + 2]];
}

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "dreambooth-prepare-"));
  const b = await (await blockImage(1, 512, 512)).png().toBuffer();
  const good = await (await blockImage(4, 400, 400)).jpeg().toBuffer();
  files = {
    "a.jpg": await halvesJpeg(400, 300, 6),
    "b.png": b,
    "b2-resized.jpg": await sharp(b).resize(300, 300).jpeg({ quality: 80 }).toBuffer(),
    "b3-copy.png": b,
    "c.webp": await (await blockImage(2, 640, 480)).webp().toBuffer(),
    "corrupt.jpg": good.subarray(0, Math.floor(good.length / 2)),
    "d.tiff": await (await blockImage(3, 300, 300)).tiff().toBuffer(),
    "notes.txt": Buffer.from("not an image\n"),
    "small.png": await (await blockImage(5, 100, 80)).png().toBuffer(),
  };
  photos = path.join(root, "photos");
  await mkdir(photos);
  for (const [name, data] of Object.entries(files)) await writeFile(path.join(photos, name), data);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("prepareData", () => {
  it("keeps upright, cropped, de-duplicated images and reports every rejected file with its reason", async () => {
    const out = path.join(root, "out-folder");
    const { manifest } = await prepareData({ source: photos, out, resolution: 256, instancePrompt: PROMPT });
    expect(DataManifestSchema.parse(JSON.parse(await readFile(path.join(out, "manifest.json"), "utf8")))).toEqual(manifest);
    expect(manifest.images.map((i) => [i.source, i.file, i.format, i.width, i.height, i.orientation])).toEqual([
      ["a.jpg", "instance/000.png", "jpeg", 300, 400, 6],
      ["b.png", "instance/001.png", "png", 512, 512, 1],
      ["c.webp", "instance/002.png", "webp", 640, 480, 1],
      ["d.tiff", "instance/003.png", "tiff", 300, 300, 1],
    ]);
    expect(manifest.images.every((i) => i.caption === PROMPT)).toBe(true);
    expect(manifest.rejected.map((r) => [r.source, r.reason])).toEqual([
      ["b2-resized.jpg", "duplicate"],
      ["b3-copy.png", "duplicate"],
      ["corrupt.jpg", "corrupt"],
      ["notes.txt", "unsupported-format"],
      ["small.png", "too-small"],
    ]);
    expect(manifest.rejected[0].detail).toBe("a near copy of b.png");
    expect(manifest.rejected[1].detail).toBe("the same file as b.png");
    for (const img of manifest.images) {
      const meta = await sharp(path.join(out, img.file)).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(["png", 256, 256]);
    }
    // Orientation 6 turns the stored landscape (red left, blue right) into a portrait with red on top.
    const a = await readFile(path.join(out, "instance/000.png"));
    expect((await rgbAt(a, 128, 8))[0]).toBeGreaterThan(200);
    expect((await rgbAt(a, 128, 247))[2]).toBeGreaterThan(200);
  });

  it("pads instead of cropping when asked, with the pad colour around the picture", async () => {
    const dir = path.join(root, "wide");
    await mkdir(dir);
    await writeFile(path.join(dir, "wide.png"), await sharp({ create: { width: 512, height: 256, channels: 3, background: "#00ff00" } }).png().toBuffer());
    const out = path.join(root, "out-pad");
    const { manifest } = await prepareData({ source: dir, out, resolution: 256, instancePrompt: PROMPT, fit: "pad", minSize: 128, padColor: "#ffffff" });
    expect(manifest.fit).toBe("pad");
    const png = await readFile(path.join(out, "instance/000.png"));
    expect(await rgbAt(png, 128, 10)).toEqual([255, 255, 255]);
    expect(await rgbAt(png, 128, 128)).toEqual([0, 255, 0]);
  });

  it("reads a .zip file and a .tar.gz served over HTTP the same way as a folder", async () => {
    const zip = path.join(root, "photos.zip");
    await writeFile(zip, zipOf({ "set/a.jpg": files["a.jpg"], "set/b.png": files["b.png"], "__MACOSX/set/._a.jpg": Buffer.from("junk") }));
    const fromZip = await prepareData({ source: zip, out: path.join(root, "out-zip"), resolution: 256, instancePrompt: PROMPT });
    expect(fromZip.manifest.images.map((i) => i.source)).toEqual(["set/a.jpg", "set/b.png"]);
    expect(fromZip.manifest.rejected).toEqual([]);

    const tgz = tarOf({ "c.webp": files["c.webp"], "notes.txt": files["notes.txt"], "d.tiff": files["d.tiff"] }, true);
    const requests: string[] = [];
    const server: Server = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      if (req.url === "/data/teddy.tar.gz") res.writeHead(200, { "content-type": "application/gzip", "content-length": tgz.length }).end(tgz);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const fromUrl = await prepareData({ source: `${base}/data/teddy.tar.gz`, out: path.join(root, "out-tgz"), resolution: 256, instancePrompt: PROMPT });
      expect(fromUrl.manifest.images.map((i) => i.source)).toEqual(["c.webp", "d.tiff"]);
      expect(fromUrl.manifest.rejected.map((r) => r.reason)).toEqual(["unsupported-format"]);
      expect(fromUrl.manifest.source).toBe(`${base}/data/teddy.tar.gz`);
      await expect(prepareData({ source: `${base}/missing.zip`, out: path.join(root, "out-404"), resolution: 256, instancePrompt: PROMPT })).rejects.toThrow(/answered 404/);
      expect(requests).toEqual(["GET /data/teddy.tar.gz", "GET /missing.zip"]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it("refuses a source without a single usable image, naming the field", async () => {
    const dir = path.join(root, "bad");
    await mkdir(dir);
    await writeFile(path.join(dir, "notes.txt"), "x");
    const err = await prepareData({ source: dir, out: path.join(root, "out-bad"), resolution: 256, instancePrompt: PROMPT }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).field).toBe("source");
    await expect(prepareData({ source: path.join(root, "nope"), out: path.join(root, "o"), resolution: 256, instancePrompt: PROMPT })).rejects.toThrow(/source: .* is not a folder/);
    await expect(prepareData({ source: dir, out: path.join(root, "o"), resolution: 250, instancePrompt: PROMPT })).rejects.toThrow(/resolution/);
  });

  describe("with S3", () => {
    let s3: S3Server;
    beforeAll(async () => {
      s3 = await startS3();
    });
    afterAll(async () => {
      await s3?.close();
    });

    it("uploads the images and the manifest under the run's prefix, and reads them back from that prefix", async () => {
      const out = path.join(root, "out-s3");
      const upload = { bucket: "models-bucket", prefix: dataPrefix("v1") };
      const r = await prepareData({ source: photos, out, resolution: 256, instancePrompt: PROMPT, connection: s3.connection, upload });
      expect(r.uploaded).toEqual({ bucket: "models-bucket", prefix: "dreambooth/v1/" });

      const again = await prepareData({ source: "dreambooth/v1/instance", out: path.join(root, "out-s3-again"), resolution: 256, instancePrompt: PROMPT, connection: s3.connection });
      expect(again.manifest.source).toBe("s3://models-bucket/dreambooth/v1/instance/");
      expect(again.manifest.images.map((i) => i.source)).toEqual(["000.png", "001.png", "002.png", "003.png"]);
      expect(again.manifest.rejected).toEqual([]);
      const viaUrl = await prepareData({ source: "s3://models-bucket/dreambooth/v1/", out: path.join(root, "out-s3-url"), resolution: 256, instancePrompt: PROMPT, connection: s3.connection });
      // The manifest beside instance/ is not an image to train on.
      expect(viaUrl.manifest.images.map((i) => i.source)).toEqual(["instance/000.png", "instance/001.png", "instance/002.png", "instance/003.png"]);
      expect(viaUrl.manifest.rejected).toEqual([]);
    });
  });
});
