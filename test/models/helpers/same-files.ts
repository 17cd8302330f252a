import { readFile } from "node:fs/promises";
import path from "node:path";
import { expect } from "vitest";
import { listLocalFiles } from "../../../lib/index.js";

/** `b` holds exactly the files of `a` (minus `except`), byte for byte, plus the cache marker and a push manifest. */
export async function expectSameFiles(a: string, b: string, except: (p: string) => boolean = () => false): Promise<void> {
  const fa = (await listLocalFiles(a)).filter((f) => !except(f.path));
  const fb = (await listLocalFiles(b)).filter((f) => f.path !== ".workbench-cache.json" && f.path !== "workbench-manifest.json");
  expect(fb.map((f) => f.path)).toEqual(fa.map((f) => f.path));
  for (const f of fa) expect((await readFile(path.join(b, f.path))).equals(await readFile(path.join(a, f.path))), f.path).toBe(true);
}
