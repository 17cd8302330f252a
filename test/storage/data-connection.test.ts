import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { dataConnection, dataConnectionFromEnv, dataConnectionFromSecret, describeConnection, InvalidInputError, parseS3Url } from "../../lib/index.js";

const SECRET = "s3cr3t/Key+NeverShown";

describe("data connections", () => {
  it("reads the five AWS_* variables of an OpenShift AI data connection from the environment", () => {
    const c = dataConnectionFromEnv({
      AWS_ACCESS_KEY_ID: "AKID",
      AWS_SECRET_ACCESS_KEY: SECRET,
      AWS_S3_ENDPOINT: "http://minio.local:9000/",
      AWS_S3_BUCKET: "models",
      AWS_DEFAULT_REGION: "eu-west-1",
    })!;
    expect(c).toMatchObject({ accessKeyId: "AKID", endpoint: "http://minio.local:9000", bucket: "models", region: "eu-west-1" });
    expect(c.secretAccessKey).toBe(SECRET);
    expect(c.source).toMatch(/environment/);
  });

  it("is absent when the environment has no keys, and refuses half a key pair naming the variable", () => {
    expect(dataConnectionFromEnv({})).toBeUndefined();
    expect(() => dataConnectionFromEnv({ AWS_ACCESS_KEY_ID: "AKID" })).toThrow(/AWS_SECRET_ACCESS_KEY: is missing/);
  });

  it("reads a Kubernetes Secret's base64 data and names the Secret as the credential source", () => {
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    const c = dataConnectionFromSecret({
      metadata: { name: "aws-connection-models", namespace: "demo" },
      data: { AWS_ACCESS_KEY_ID: b64("AKID"), AWS_SECRET_ACCESS_KEY: b64(SECRET), AWS_S3_ENDPOINT: b64("minio:9000"), AWS_S3_BUCKET: b64("models") },
    });
    expect(c).toMatchObject({ accessKeyId: "AKID", endpoint: "https://minio:9000", bucket: "models", region: "us-east-1", source: "Secret demo/aws-connection-models" });
    expect(c.secretAccessKey).toBe(SECRET);
  });

  it("never prints the secret key when the connection is logged, serialised or described", () => {
    const c = dataConnection({ accessKeyId: "AKID", secretAccessKey: SECRET, endpoint: "http://127.0.0.1:9000" });
    for (const text of [JSON.stringify(c), inspect(c), describeConnection(c), String(Object.values(c))]) expect(text).not.toContain(SECRET);
  });

  it("refuses an endpoint that is not http(s), naming the field", () => {
    expect(() => dataConnection({ accessKeyId: "a", secretAccessKey: "b", endpoint: "ftp://x" })).toThrow(InvalidInputError);
    expect(() => dataConnection({ accessKeyId: "a", secretAccessKey: "b", endpoint: "ftp://x" })).toThrow(/AWS_S3_ENDPOINT.*http:\/\/ or https:\/\//);
  });
});

describe("S3 URLs", () => {
  it("splits s3://bucket/prefix and refuses a bad bucket name with the allowed form", () => {
    expect(parseS3Url("s3://models-bucket/models/1/dog/")).toEqual({ bucket: "models-bucket", prefix: "models/1/dog/" });
    expect(parseS3Url("s3://models-bucket")).toEqual({ bucket: "models-bucket", prefix: "" });
    expect(() => parseS3Url("s3://B_/x", "--to")).toThrow(/--to: 'B_' .* is not a bucket name/);
    expect(() => parseS3Url("http://x/y")).toThrow(/s3:\/\/bucket\/prefix/);
  });
});
