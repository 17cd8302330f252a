/**
 * A real S3 server on loopback (s3rver) with its own key pair, started and stopped by the tests, and
 * a data connection for it. The secret is a distinctive string so tests can assert it never shows.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import S3rver from "s3rver";
import { dataConnection, type DataConnection } from "../../../lib/index.js";

export const ACCESS_KEY_ID = "AKIAWORKBENCHTEST";
export const SECRET_KEY = "wbSecret+Never/Print-7f3a9c2e";
export const BUCKET = "models-bucket";

// s3rver checks signatures against keys registered on its dummy account (only S3RVER/S3RVER by default).
const account = createRequire(import.meta.url)("s3rver/lib/models/account.js") as {
  DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void };
};
account.DUMMY_ACCOUNT.createKeyPair(ACCESS_KEY_ID, SECRET_KEY);

export interface S3Server {
  port: number;
  endpoint: string;
  connection: DataConnection;
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startS3(buckets: string[] = [BUCKET]): Promise<S3Server> {
  const directory = await mkdtemp(path.join(os.tmpdir(), "s3rver-"));
  const server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory, configureBuckets: buckets.map((name) => ({ name })) });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  let closed: Promise<void> | undefined;
  return {
    port,
    endpoint,
    connection: dataConnection({ accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_KEY, endpoint, bucket: BUCKET }, "test data connection"),
    env: {
      AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: SECRET_KEY,
      AWS_S3_ENDPOINT: endpoint,
      AWS_S3_BUCKET: BUCKET,
      AWS_DEFAULT_REGION: "us-east-1",
    },
    close() {
      closed ??= server.close().then(() => rm(directory, { recursive: true, force: true }));
      return closed;
    },
  };
}
