/**
 * S3 data connections as OpenShift AI defines them: a Secret (or the environment it is injected into)
 * with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_S3_ENDPOINT, AWS_S3_BUCKET, AWS_DEFAULT_REGION.
 *
 * The secret key is kept as a non-enumerable property, so `JSON.stringify`, `console.log` and pino
 * never print it by accident; code that needs it reads `connection.secretAccessKey` explicitly.
 */
import { InvalidInputError } from "../errors.js";

export const DATA_CONNECTION_KEYS = [
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_S3_ENDPOINT",
  "AWS_S3_BUCKET",
  "AWS_DEFAULT_REGION",
] as const;

export interface DataConnectionFields {
  accessKeyId: string;
  secretAccessKey: string;
  /** e.g. "https://minio.example.com:9000" or "http://127.0.0.1:9000"; absent: AWS S3 itself. */
  endpoint?: string;
  /** The default bucket (for bare key prefixes and pushes). */
  bucket?: string;
  /** Default "us-east-1" (MinIO and Ceph accept any region). */
  region?: string;
}

export interface DataConnection extends DataConnectionFields {
  /** Where the credentials came from, for error messages ("environment (AWS_ACCESS_KEY_ID, ...)", "Secret aws-connection-x"). */
  readonly source: string;
}

const DEFAULT_REGION = "us-east-1";

function nonEmpty(v: string | undefined): string | undefined {
  const t = v?.trim();
  return t ? t : undefined;
}

/** A data connection from explicit fields; `source` is how errors will name it. */
export function dataConnection(fields: DataConnectionFields, source = "explicit data connection"): DataConnection {
  const accessKeyId = nonEmpty(fields.accessKeyId);
  const secretAccessKey = nonEmpty(fields.secretAccessKey);
  if (!accessKeyId) throw new InvalidInputError(`${source}: AWS_ACCESS_KEY_ID`, "is missing or empty", "the data connection's access key id");
  if (!secretAccessKey) throw new InvalidInputError(`${source}: AWS_SECRET_ACCESS_KEY`, "is missing or empty", "the data connection's secret key");
  const endpoint = nonEmpty(fields.endpoint);
  const conn = {
    accessKeyId,
    endpoint: endpoint === undefined ? undefined : normalizeEndpoint(endpoint, `${source}: AWS_S3_ENDPOINT`),
    bucket: nonEmpty(fields.bucket),
    region: nonEmpty(fields.region) ?? DEFAULT_REGION,
    source,
  } as DataConnection;
  Object.defineProperty(conn, "secretAccessKey", { value: secretAccessKey, enumerable: false });
  return conn;
}

/** Endpoints come with or without a scheme ("minio:9000"); without one, TLS is assumed as the AWS SDK does. */
export function normalizeEndpoint(endpoint: string, field = "AWS_S3_ENDPOINT"): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new InvalidInputError(field, `'${endpoint}' is not a URL`, "http(s)://host[:port]");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new InvalidInputError(field, `'${endpoint}' has scheme ${url.protocol}`, "http:// or https://");
  }
  return withScheme.replace(/\/+$/, "");
}

/** The data connection in the environment, or undefined when AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are both absent. */
export function dataConnectionFromEnv(env: NodeJS.ProcessEnv = process.env): DataConnection | undefined {
  if (!nonEmpty(env.AWS_ACCESS_KEY_ID) && !nonEmpty(env.AWS_SECRET_ACCESS_KEY)) return undefined;
  return dataConnection(
    {
      accessKeyId: env.AWS_ACCESS_KEY_ID ?? "",
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? "",
      endpoint: env.AWS_S3_ENDPOINT,
      bucket: env.AWS_S3_BUCKET,
      region: env.AWS_DEFAULT_REGION,
    },
    "environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
  );
}

/** A Kubernetes Secret as the API returns it: `data` values are base64, `stringData` values plain. */
export interface SecretLike {
  metadata?: { name?: string; namespace?: string };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

/** The data connection held by an OpenShift AI data connection Secret (`aws-connection-<name>`). */
export function dataConnectionFromSecret(secret: SecretLike): DataConnection {
  const name = secret.metadata?.name ?? "(unnamed)";
  const source = `Secret ${secret.metadata?.namespace ? `${secret.metadata.namespace}/` : ""}${name}`;
  const value = (key: (typeof DATA_CONNECTION_KEYS)[number]): string | undefined => {
    const plain = secret.stringData?.[key];
    if (plain !== undefined) return plain;
    const b64 = secret.data?.[key];
    return b64 === undefined ? undefined : Buffer.from(b64, "base64").toString("utf8");
  };
  return dataConnection(
    {
      accessKeyId: value("AWS_ACCESS_KEY_ID") ?? "",
      secretAccessKey: value("AWS_SECRET_ACCESS_KEY") ?? "",
      endpoint: value("AWS_S3_ENDPOINT"),
      bucket: value("AWS_S3_BUCKET"),
      region: value("AWS_DEFAULT_REGION"),
    },
    source,
  );
}

/** What to print about a connection: everything but the secret key. */
export function describeConnection(conn: DataConnection): string {
  return `${conn.endpoint ?? "AWS S3"}${conn.bucket ? `, bucket ${conn.bucket}` : ""} (credentials from ${conn.source})`;
}
