/**
 * An S3 data connection as the OpenShift AI dashboard creates it: a Secret with the AWS_* keys that
 * lib/storage/data-connection.ts reads, the labels that make the dashboard list it, and the
 * connection-type annotations of both dashboard generations (`connection-type` before connection
 * types existed, `connection-type-ref` after), so old and new versions show it as S3.
 */
import type { V1Secret } from "@kubernetes/client-node";
import { InvalidInputError } from "../../errors.js";
import { normalizeEndpoint } from "../../storage/data-connection.js";
import { objectMeta, type ObjectOptions } from "./meta.js";
import { text } from "./validate.js";

export interface DataConnectionSecretOptions extends ObjectOptions {
  /** Default "aws-connection-<bucket>", the dashboard's own naming. */
  name?: string;
  /** Name in the dashboard; default: the bucket. */
  displayName?: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** e.g. http://minio.my-project.svc.cluster.local:9000 */
  endpoint: string;
  bucket: string;
  /** Default us-east-1 (MinIO and Ceph accept any). */
  region?: string;
}

/** S3 bucket names: 3 to 63 lower-case letters, digits, '.', '-'. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function dataConnectionSecret(opts: DataConnectionSecretOptions): V1Secret & { metadata: { name: string; namespace: string } } {
  if (typeof opts.bucket !== "string" || !BUCKET.test(opts.bucket)) throw new InvalidInputError("bucket", `${JSON.stringify(opts.bucket)} is not an S3 bucket name`, "3 to 63 lower-case letters, digits, '.', '-'");
  for (const field of ["accessKeyId", "secretAccessKey"] as const) {
    if (typeof opts[field] !== "string" || opts[field].trim() === "") throw new InvalidInputError(field, "is missing or empty", "the S3 credentials");
  }
  const endpoint = normalizeEndpoint(text("endpoint", opts.endpoint), "endpoint");
  const metadata = objectMeta(opts, `aws-connection-${opts.bucket.replaceAll(".", "-")}`, {
    labels: { "opendatahub.io/dashboard": "true", "opendatahub.io/managed": "true" },
    annotations: {
      "opendatahub.io/connection-type": "s3",
      "opendatahub.io/connection-type-ref": "s3",
      "openshift.io/display-name": text("displayName", opts.displayName ?? opts.bucket),
    },
  });
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata,
    type: "Opaque",
    // stringData: readable in review, and the API server stores it as base64 `data` as the dashboard does.
    stringData: {
      AWS_ACCESS_KEY_ID: opts.accessKeyId,
      AWS_SECRET_ACCESS_KEY: opts.secretAccessKey,
      AWS_S3_ENDPOINT: endpoint,
      AWS_DEFAULT_REGION: text("region", opts.region ?? "us-east-1"),
      AWS_S3_BUCKET: opts.bucket,
    },
  };
}
