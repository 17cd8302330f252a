/**
 * The pipeline server of a data science project: a DataSciencePipelinesApplication (v1, KFP v2
 * engine) whose artifacts go to an S3 bucket through a data connection Secret, as the dashboard's
 * "Configure pipeline server" form creates it.
 */
import { InvalidInputError } from "../../errors.js";
import { objectMeta, type ObjectOptions } from "./meta.js";
import type { DataSciencePipelinesApplication } from "./types.js";
import { dnsLabel, httpUrl, quantity, text } from "./validate.js";

export interface DspaOptions extends ObjectOptions {
  /** Default "dspa", the name the dashboard gives the project's pipeline server. */
  name?: string;
  /** The data connection Secret holding AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; default aws-connection-pipeline-artifacts. */
  dataConnection?: string;
  /** The S3 endpoint of that connection, e.g. http://minio.my-project.svc.cluster.local:9000 */
  endpoint: string;
  /** Default "pipeline-artifacts". */
  bucket?: string;
  region?: string;
  /** Folder in the bucket for this server's artifacts; default the bucket's top level. */
  basePath?: string;
  /** Size of the MariaDB volume the operator creates; default 10Gi. */
  databaseSize?: string;
}

export function dspa(opts: DspaOptions): DataSciencePipelinesApplication {
  const endpoint = new URL(httpUrl("endpoint", opts.endpoint));
  const scheme = endpoint.protocol.slice(0, -1);
  const bucket = opts.bucket ?? "pipeline-artifacts";
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new InvalidInputError("bucket", `${JSON.stringify(bucket)} is not an S3 bucket name`, "3 to 63 lower-case letters, digits, '.', '-'");
  return {
    apiVersion: "datasciencepipelinesapplications.opendatahub.io/v1",
    kind: "DataSciencePipelinesApplication",
    metadata: objectMeta(opts, "dspa"),
    spec: {
      dspVersion: "v2",
      apiServer: { deploy: true, enableSamplePipeline: false },
      database: { mariaDB: { deploy: true, pvcSize: quantity("databaseSize", opts.databaseSize ?? "10Gi") } },
      objectStorage: {
        disableHealthCheck: false,
        enableExternalRoute: false,
        externalStorage: {
          host: endpoint.hostname,
          port: endpoint.port || (scheme === "https" ? "443" : "80"),
          scheme,
          secure: scheme === "https",
          bucket,
          region: text("region", opts.region ?? "us-east-1"),
          ...(opts.basePath === undefined ? {} : { basePath: text("basePath", opts.basePath) }),
          s3CredentialsSecret: {
            secretName: dnsLabel("dataConnection", opts.dataConnection ?? "aws-connection-pipeline-artifacts"),
            accessKey: "AWS_ACCESS_KEY_ID",
            secretKey: "AWS_SECRET_ACCESS_KEY",
          },
        },
      },
    },
  };
}
