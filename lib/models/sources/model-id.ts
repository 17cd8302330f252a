/**
 * The forms a model id (CLI `--model`, env MODEL_ID) takes, told apart by syntax alone:
 *
 *   shapes | tiny                      a built-in model
 *   /abs/path, ./rel, ../rel, ~/p      a local folder (or a PVC mounted as one)
 *   an existing folder                 a local folder, whatever it looks like
 *   s3://bucket/prefix                 an S3 prefix, through the data connection
 *   pvc://name/path                    KServe's PVC URI, mapped to where the PVC is mounted
 *   owner/name[@revision], hf://...    a Hugging Face Hub repository
 *   a/b/c (3+ segments)                a key prefix in the data connection's bucket (AWS_S3_BUCKET)
 */
import { existsSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { InvalidInputError } from "../../errors.js";
import { parseS3Url, type S3Location } from "../../storage/s3-url.js";

export type ModelSource =
  | { kind: "builtin"; name: string }
  | { kind: "local"; dir: string }
  | { kind: "pvc"; claim: string; path: string }
  | { kind: "s3"; location: S3Location; /** true when the bucket came from the data connection */ bareKey: boolean }
  | { kind: "hub"; repo: string; revision: string };

export const MODEL_ID_FORMS =
  "a built-in model (shapes, tiny), a model folder (/path, ./path), s3://bucket/prefix, pvc://claim/path, " +
  "a Hugging Face Hub id owner/name[@revision] (or hf://owner/name[@revision]), or a key prefix a/b/c in AWS_S3_BUCKET";

// The Hub's repo id rules: letters, digits, '-', '_', '.'; no '--' or '..', no leading/trailing '-' or '.'.
const HUB_PART = "[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?";
const HUB_ID = new RegExp(`^(${HUB_PART}/${HUB_PART})(?:@(.+))?$`);

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function hub(id: string, field: string): ModelSource {
  const m = HUB_ID.exec(id);
  if (!m || m[1].includes("--") || m[1].includes("..")) {
    throw new InvalidInputError(field, `'${id}' is not a Hugging Face Hub id`, "owner/name or owner/name@revision");
  }
  const revision = m[2] ?? "main";
  if (revision.trim() === "" || revision.includes("..")) throw new InvalidInputError(field, `'${revision}' is not a revision`, "a branch, tag or commit sha");
  return { kind: "hub", repo: m[1], revision };
}

export function parseModelId(id: string, options: { builtins: readonly string[]; bucket?: string; field?: string }): ModelSource {
  const field = options.field ?? "MODEL_ID";
  const s = id.trim();
  if (options.builtins.includes(s)) return { kind: "builtin", name: s };
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(s)?.[1]?.toLowerCase();
  if (scheme === "s3") return { kind: "s3", location: parseS3Url(s, field), bareKey: false };
  if (scheme === "hf" || scheme === "hub") return hub(s.slice(scheme.length + 3), field);
  if (scheme === "pvc") {
    const m = /^pvc:\/\/([^/]+)\/?(.*)$/i.exec(s);
    if (!m) throw new InvalidInputError(field, `'${s}' is not a PVC URI`, "pvc://claim-name/path");
    return { kind: "pvc", claim: m[1], path: m[2].replace(/\/+$/, "") };
  }
  if (scheme === "file") return { kind: "local", dir: path.resolve(new URL(s).pathname) };
  if (scheme !== undefined) throw new InvalidInputError(field, `'${s}' uses an unknown scheme ${scheme}://`, MODEL_ID_FORMS);
  if (s === "~" || s.startsWith("~/")) return { kind: "local", dir: path.join(os.homedir(), s.slice(1)) };
  if (path.isAbsolute(s) || s === "." || s === ".." || s.startsWith("./") || s.startsWith("../") || isDir(s)) {
    return { kind: "local", dir: path.resolve(s) };
  }
  const segments = s.replace(/\/+$/, "").split("/");
  if (segments.length === 2 && !s.endsWith("/")) return hub(s, field);
  if (segments.length >= 3 && options.bucket && !existsSync(s)) {
    return { kind: "s3", location: { bucket: options.bucket, prefix: s.replace(/^\/+/, "") }, bareKey: true };
  }
  return { kind: "local", dir: path.resolve(s) };
}

export function describeSource(src: ModelSource): string {
  switch (src.kind) {
    case "builtin":
      return `built-in model ${src.name}`;
    case "local":
      return `model folder ${src.dir}`;
    case "pvc":
      return `pvc://${src.claim}/${src.path}`;
    case "s3":
      return `s3://${src.location.bucket}/${src.location.prefix}`;
    case "hub":
      return `hub:${src.repo}@${src.revision}`;
  }
}
