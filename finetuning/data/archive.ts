/**
 * Reading the instance-image archives users hand in (.zip, .tar, .tar.gz / .tgz) into a folder.
 *
 * Hand-written on purpose, small: the package has no archive dependency (tar-stream and adm-zip are
 * only present as other packages' dependencies), and a folder of photos needs the common cases only:
 * tar (ustar, GNU long names, pax paths) and zip (stored or deflated, no zip64, no encryption).
 * node:zlib does the decompression. Entry paths are confined to the target folder.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { gunzipSync, inflateRawSync } from "node:zlib";
import { InvalidInputError } from "../../lib/errors.js";
import { safeJoin } from "../../lib/storage/download.js";

export type ArchiveKind = "zip" | "tar" | "tar.gz";

export interface ArchiveEntry {
  path: string;
  data: Buffer;
}

/** The archive kind from the first bytes (magic numbers), falling back to the name. */
export function detectArchive(bytes: Buffer, name = ""): ArchiveKind | undefined {
  if (bytes.length >= 4 && bytes.readUInt32LE(0) === 0x04034b50) return "zip";
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) return "tar.gz";
  if (bytes.length >= 263 && bytes.toString("latin1", 257, 262) === "ustar") return "tar";
  if (/\.tar$/i.test(name)) return "tar";
  return undefined;
}

function cString(buf: Buffer, start: number, len: number): string {
  const raw = buf.subarray(start, start + len);
  const end = raw.indexOf(0);
  return raw.toString("utf8", 0, end < 0 ? raw.length : end);
}

function octal(buf: Buffer, start: number, len: number): number {
  // Sizes above 8 GiB use GNU base-256 (high bit set): not photos; refuse rather than misread.
  if (buf[start] & 0x80) throw new InvalidInputError("archive", "has an entry over 8 GiB", "image files");
  const s = cString(buf, start, len).trim();
  return s === "" ? 0 : parseInt(s, 8);
}

/** Entries of a tar archive (regular files only). */
export function readTar(tar: Buffer): ArchiveEntry[] {
  const entries: ArchiveEntry[] = [];
  let longName: string | undefined;
  let off = 0;
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const size = octal(h, 124, 12);
    const type = String.fromCharCode(h[156] || 0x30);
    const data = tar.subarray(off + 512, off + 512 + size);
    if (data.length < size) throw new InvalidInputError("archive", "tar archive is truncated", "a complete .tar/.tar.gz");
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === "L") {
      longName = cString(data, 0, data.length);
      continue;
    }
    if (type === "x") {
      // pax records: "<len> key=value\n"; only the path matters here.
      const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString("utf8"));
      if (m) longName = m[1];
      continue;
    }
    const prefix = h.toString("latin1", 257, 262) === "ustar" ? cString(h, 345, 155) : "";
    const name = longName ?? (prefix ? `${prefix}/${cString(h, 0, 100)}` : cString(h, 0, 100));
    longName = undefined;
    if (type === "0" || type === "7") entries.push({ path: name, data: Buffer.from(data) });
  }
  return entries;
}

/** Entries of a zip archive (files only), read through the central directory. */
export function readZip(zip: Buffer): ArchiveEntry[] {
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new InvalidInputError("archive", "zip archive has no end of central directory (truncated?)", "a complete .zip");
  const count = zip.readUInt16LE(eocd + 10);
  let off = zip.readUInt32LE(eocd + 16);
  if (count === 0xffff || off === 0xffffffff) throw new InvalidInputError("archive", "zip64 archives are not supported", "a zip under 4 GiB and 65535 files, or a .tar.gz");
  const entries: ArchiveEntry[] = [];
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(off) !== 0x02014b50) throw new InvalidInputError("archive", "zip central directory is damaged", "a complete .zip");
    const flags = zip.readUInt16LE(off + 8);
    const method = zip.readUInt16LE(off + 10);
    const compressed = zip.readUInt32LE(off + 20);
    const nameLen = zip.readUInt16LE(off + 28);
    const total = 46 + nameLen + zip.readUInt16LE(off + 30) + zip.readUInt16LE(off + 32);
    const local = zip.readUInt32LE(off + 42);
    const name = zip.toString(flags & 0x800 ? "utf8" : "latin1", off + 46, off + 46 + nameLen);
    off += total;
    if (name.endsWith("/")) continue;
    if (flags & 1) throw new InvalidInputError("archive", `'${name}' is encrypted`, "an unencrypted zip");
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(start, start + compressed);
    if (method === 0) entries.push({ path: name, data: Buffer.from(raw) });
    else if (method === 8) entries.push({ path: name, data: inflateRawSync(raw) });
    else throw new InvalidInputError("archive", `'${name}' uses compression method ${method}`, "stored or deflate");
  }
  return entries;
}

/** Entries that are not photos: macOS resource forks and hidden files. */
function isJunk(p: string): boolean {
  return p.split("/").some((seg) => seg === "__MACOSX" || seg.startsWith("."));
}

/** Unpacks an archive into `dir`; returns the relative paths written. */
export async function extractArchive(bytes: Buffer, dir: string, name = ""): Promise<string[]> {
  const kind = detectArchive(bytes, name);
  if (!kind) throw new InvalidInputError("source", `${name || "the download"} is not a zip or tar archive`, ".zip, .tar, .tar.gz, .tgz");
  const entries = kind === "zip" ? readZip(bytes) : readTar(kind === "tar.gz" ? gunzipSync(bytes) : bytes);
  const written: string[] = [];
  for (const e of entries) {
    const rel = e.path.replace(/^\.\//, "");
    if (rel === "" || isJunk(rel)) continue;
    const file = safeJoin(dir, rel);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, e.data);
    written.push(rel);
  }
  return written;
}
