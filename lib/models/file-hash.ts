/** Checksums of downloaded files, in the forms stores announce: MD5 (S3 ETag), SHA-256 (Hub LFS), git blob SHA-1 (Hub). */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";

export type HashKind = "md5" | "sha256" | "git-sha1";

export async function hashFile(file: string, kind: HashKind): Promise<string> {
  const hash = createHash(kind === "git-sha1" ? "sha1" : kind);
  // git hashes "blob <size>\0" followed by the content.
  if (kind === "git-sha1") hash.update(`blob ${(await stat(file)).size}\0`);
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
