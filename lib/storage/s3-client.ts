/** An S3 client for a data connection: AWS S3, or MinIO/Ceph behind a custom endpoint, with or without TLS. */
import { readFile } from "node:fs/promises";
import { Agent as HttpsAgent } from "node:https";
import { S3Client } from "@aws-sdk/client-s3";
import { InvalidInputError } from "../errors.js";
import type { DataConnection } from "./data-connection.js";

export interface S3ClientOptions {
  /** Path-style URLs (http://host/bucket/key). Default: on for custom endpoints (MinIO, Ceph), off for AWS. */
  forcePathStyle?: boolean;
  /** Attempts per request, the first included; the SDK backs off on throttling and 5xx (default 5). */
  maxAttempts?: number;
  /** Extra CA certificates (PEM) for an endpoint with a private CA; see s3ClientOptionsFromEnv for AWS_CA_BUNDLE. */
  ca?: string | Buffer;
  /** Per-request socket timeout in ms (default 120 s). */
  requestTimeoutMs?: number;
}

/** A connection and the client made from it travel together so errors can name the credential source. */
export interface S3Context {
  client: S3Client;
  connection: DataConnection;
}

export function createS3Client(connection: DataConnection, options: S3ClientOptions = {}): S3Context {
  const client = new S3Client({
    region: connection.region ?? "us-east-1",
    endpoint: connection.endpoint,
    forcePathStyle: options.forcePathStyle ?? connection.endpoint !== undefined,
    credentials: { accessKeyId: connection.accessKeyId, secretAccessKey: connection.secretAccessKey },
    maxAttempts: options.maxAttempts ?? 5,
    retryMode: "standard",
    // Newer SDKs add CRC checksums and aws-chunked uploads by default; MinIO, Ceph and s3rver releases
    // before 2025 reject or mangle those, so only send checksums where S3 requires them.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    requestHandler: {
      requestTimeout: options.requestTimeoutMs ?? 120_000,
      ...(options.ca ? { httpsAgent: new HttpsAgent({ ca: options.ca, keepAlive: true }) } : {}),
    },
  });
  return { client, connection };
}

/** Client options from the environment: AWS_CA_BUNDLE (a PEM file of extra CAs, as the AWS CLI reads it). */
export async function s3ClientOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<S3ClientOptions> {
  const bundle = env.AWS_CA_BUNDLE?.trim();
  if (!bundle) return {};
  try {
    return { ca: await readFile(bundle) };
  } catch (err) {
    throw new InvalidInputError("AWS_CA_BUNDLE", `cannot read ${bundle}: ${(err as Error).message}`, "a readable PEM file");
  }
}
