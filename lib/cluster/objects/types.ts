/**
 * Small local types for the custom resources the builders make. @kubernetes/client-node types only
 * the core API groups; these declare the fields the builders set (the full schemas are the CRDs the
 * tests validate against) and stay open for the rest.
 */
import type { KubernetesObject, V1Container, V1ObjectMeta, V1PodSpec, V1Toleration } from "@kubernetes/client-node";

/** A custom resource: apiVersion, kind and metadata always set. */
export interface CustomResource<Spec> extends KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: V1ObjectMeta & { name: string; namespace: string };
  spec: Spec;
}

/** serving.kserve.io/v1alpha1 ServingRuntime (the fields serving/manifests/servingruntime.yaml sets). */
export type ServingRuntime = CustomResource<{
  annotations?: Record<string, string>;
  multiModel?: boolean;
  protocolVersions?: string[];
  supportedModelFormats: { name: string; version?: string; autoSelect?: boolean }[];
  containers: V1Container[];
  [field: string]: unknown;
}>;

/** serving.kserve.io/v1beta1 InferenceService with a `model` predictor. */
export type InferenceService = CustomResource<{
  predictor: {
    minReplicas?: number;
    maxReplicas?: number;
    tolerations?: V1Toleration[];
    model: {
      runtime?: string;
      modelFormat: { name: string; version?: string };
      storageUri?: string;
      storage?: { key?: string; path?: string };
      env?: { name: string; value?: string }[];
      resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
      [field: string]: unknown;
    };
    [field: string]: unknown;
  };
}>;

/** datasciencepipelinesapplications.opendatahub.io/v1 DataSciencePipelinesApplication (the pipeline server). */
export type DataSciencePipelinesApplication = CustomResource<{
  dspVersion?: string;
  apiServer?: { deploy?: boolean; enableSamplePipeline?: boolean; [field: string]: unknown };
  database?: { mariaDB?: { deploy?: boolean; pvcSize?: string; [field: string]: unknown }; [field: string]: unknown };
  objectStorage: {
    disableHealthCheck?: boolean;
    enableExternalRoute?: boolean;
    externalStorage?: {
      host: string;
      port?: string;
      scheme: string;
      bucket: string;
      region?: string;
      basePath?: string;
      secure?: boolean;
      s3CredentialsSecret: { secretName: string; accessKey: string; secretKey: string };
    };
  };
  [field: string]: unknown;
}>;

/** kubeflow.org/v1 Notebook: a pod template the notebook controller runs as a StatefulSet. */
export type Notebook = CustomResource<{
  template: { spec: V1PodSpec };
}>;

/** route.openshift.io/v1 Route. */
export type Route = CustomResource<{
  host?: string;
  to: { kind: "Service"; name: string; weight?: number };
  port?: { targetPort: string | number };
  tls?: { termination: "edge" | "passthrough" | "reencrypt"; insecureEdgeTerminationPolicy?: "Redirect" | "None" | "Allow" };
  [field: string]: unknown;
}>;
