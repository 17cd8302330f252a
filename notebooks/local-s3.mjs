// A local S3 server (s3rver, a devDependency) standing in for the OpenShift AI data connection when the
// notebooks run without a cluster (`npm run notebooks`). Creates the buckets setup.sh creates on a
// cluster (models, pipeline-artifacts), writes the data connection's variables to the file named by
// the first argument (shell syntax, for `source`), then serves until it is sent SIGTERM.
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import S3rver from "s3rver";

const envFile = process.argv[2];
if (!envFile) {
  process.stderr.write("usage: node notebooks/local-s3.mjs <env file to write>\n");
  process.exit(2);
}
const directory = await mkdtemp(path.join(os.tmpdir(), "notebooks-s3-"));
// s3rver's built-in key pair (S3RVER/S3RVER) is what its signature check accepts.
const server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory, configureBuckets: [{ name: "models" }, { name: "pipeline-artifacts" }] });
const { port } = await server.run();
const env = {
  AWS_ACCESS_KEY_ID: "S3RVER",
  AWS_SECRET_ACCESS_KEY: "S3RVER",
  AWS_S3_ENDPOINT: `http://127.0.0.1:${port}`,
  AWS_S3_BUCKET: "models",
  AWS_DEFAULT_REGION: "us-east-1",
};
const tmp = `${envFile}.tmp-${process.pid}`;
await writeFile(tmp, Object.entries(env).map(([k, v]) => `export ${k}=${v}\n`).join(""));
await rename(tmp, envFile);
const stop = async () => {
  await server.close();
  await rm(directory, { recursive: true, force: true });
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
