import { describe, expect, it } from "vitest";
import {
  dataConnectionSecret,
  dspa,
  inferenceService,
  mcpServer,
  notebook,
  projectNamespace,
  pvc,
  servingRuntime,
  workbenchDeployerRole,
  MANAGED_LABELS,
  type ModelStorage,
} from "../../lib/cluster/objects/index.js";
import { renderManifest } from "../../serving/manifests/render.js";
import { renderMcpManifest } from "../../serving/mcp/manifests/render.js";
import { crdErrors, hasSchemas, SKIP_SCHEMAS_MESSAGE } from "../helpers/crd-schema.js";

const NS = "my-project";
const RUNTIME_IMAGE = "quay.io/example/diffusion-workbench-runtime:0.1.0";
const WORKBENCH_IMAGE = "quay.io/example/diffusion-workbench-workbench:0.1.0";
const ENDPOINT = "http://minio.my-project.svc.cluster.local:9000";

const storages: ModelStorage[] = [
  { type: "s3", dataConnection: "aws-connection-models", path: "models/sd-turbo" },
  { type: "pvc", claimName: "finetuned", path: "dreambooth/v1" },
  { type: "hub", modelId: "example/sd-turbo-onnx" },
  { type: "tiny" },
];

/** One object of every kind the builders make, with their defaults. */
function everyObject(): Record<string, any>[] {
  return [
    projectNamespace({ name: NS }),
    dataConnectionSecret({ namespace: NS, accessKeyId: "AKIA", secretAccessKey: "s3cr3t", endpoint: ENDPOINT, bucket: "models" }),
    servingRuntime({ namespace: NS, image: RUNTIME_IMAGE }),
    ...storages.map((storage) => inferenceService({ namespace: NS, storage })),
    ...mcpServer({ namespace: NS, image: RUNTIME_IMAGE, routeHost: "diffusion-mcp-my-project.apps.example.com" }),
    dspa({ namespace: NS, endpoint: ENDPOINT }),
    pvc({ namespace: NS, name: "models", size: "50Gi" }),
    notebook({ namespace: NS, image: WORKBENCH_IMAGE, dataConnections: ["aws-connection-models"] }),
  ];
}

describe("every builder", () => {
  it("sets apiVersion, kind, a name, the namespace and the project's managed-by and part-of labels", () => {
    for (const obj of everyObject()) {
      expect(obj.apiVersion, obj.kind).toMatch(/^([a-z0-9.]+\/)?v1(alpha1|beta1)?$/);
      expect(obj.metadata.name, obj.kind).toMatch(/^[a-z0-9-]+$/);
      if (obj.kind !== "Namespace") expect(obj.metadata.namespace, obj.kind).toBe(NS);
      expect(obj.metadata.labels, obj.kind).toMatchObject(MANAGED_LABELS);
    }
  });

  it("returns plain data that survives JSON, as the API server receives it", () => {
    for (const obj of everyObject()) expect(JSON.parse(JSON.stringify(obj))).toEqual(obj);
  });

  it("names each container and each port, with pinned images", () => {
    for (const obj of everyObject()) {
      const pod = obj.spec?.template?.spec ?? (obj.kind === "ServingRuntime" ? obj.spec : undefined);
      for (const c of pod?.containers ?? []) {
        expect(c.name, obj.kind).toMatch(/^[a-z0-9-]+$/);
        expect(c.image, obj.kind).toMatch(/:[\w.-]+$|@sha256:/);
        for (const p of c.ports ?? []) expect(typeof p.containerPort, obj.kind).toBe("number");
      }
    }
  });

  it("lays the caller's labels and annotations over its own, but never over managed-by and part-of", () => {
    const s = pvc({ namespace: NS, name: "data", size: "1Gi", labels: { team: "vision", "app.kubernetes.io/part-of": "other" }, annotations: { note: "x" } });
    expect(s.metadata.labels).toEqual({ "opendatahub.io/dashboard": "true", team: "vision", ...MANAGED_LABELS });
    expect(s.metadata.annotations).toEqual({ note: "x" });
  });
});

describe("projectNamespace", () => {
  it("carries the labels the dashboard lists a data science project by, with single-model serving", () => {
    const ns = projectNamespace({ name: NS, displayName: "My project", description: "Stable Diffusion" });
    expect(ns).toEqual({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: NS,
        labels: { "opendatahub.io/dashboard": "true", "modelmesh-enabled": "false", ...MANAGED_LABELS },
        annotations: { "openshift.io/display-name": "My project", "openshift.io/description": "Stable Diffusion" },
      },
    });
    expect(projectNamespace({ name: NS, modelMesh: true }).metadata.labels!["modelmesh-enabled"]).toBe("true");
  });
});

describe("dataConnectionSecret", () => {
  it("holds the five AWS_* keys and the labels and connection-type annotations of old and new dashboards", () => {
    const s = dataConnectionSecret({ namespace: NS, accessKeyId: "AKIA", secretAccessKey: "s3cr3t", endpoint: ENDPOINT + "/", bucket: "pipeline-artifacts", region: "eu-west-1" });
    expect(s.metadata.name).toBe("aws-connection-pipeline-artifacts");
    expect(s.type).toBe("Opaque");
    expect(s.stringData).toEqual({
      AWS_ACCESS_KEY_ID: "AKIA",
      AWS_SECRET_ACCESS_KEY: "s3cr3t",
      AWS_S3_ENDPOINT: ENDPOINT,
      AWS_DEFAULT_REGION: "eu-west-1",
      AWS_S3_BUCKET: "pipeline-artifacts",
    });
    expect(s.metadata.labels).toEqual({ "opendatahub.io/dashboard": "true", "opendatahub.io/managed": "true", ...MANAGED_LABELS });
    expect(s.metadata.annotations).toEqual({
      "opendatahub.io/connection-type": "s3",
      "opendatahub.io/connection-type-ref": "s3",
      "openshift.io/display-name": "pipeline-artifacts",
    });
  });

  it("refuses a bad bucket, empty credentials and an endpoint that is not http(s), naming the option", () => {
    const base = { namespace: NS, accessKeyId: "AKIA", secretAccessKey: "s3cr3t", endpoint: ENDPOINT, bucket: "models" };
    expect(() => dataConnectionSecret({ ...base, bucket: "My_Bucket" })).toThrow(/^bucket: "My_Bucket" is not an S3 bucket name/);
    expect(() => dataConnectionSecret({ ...base, secretAccessKey: " " })).toThrow(/^secretAccessKey: is missing or empty/);
    expect(() => dataConnectionSecret({ ...base, endpoint: "ftp://minio:21" })).toThrow(/^endpoint: 'ftp:\/\/minio:21' has scheme ftp:/);
  });
});

describe("servingRuntime and inferenceService", () => {
  it("are the templates in serving/manifests with the namespace and project labels added", () => {
    const sr = servingRuntime({ namespace: NS, image: RUNTIME_IMAGE, name: "sd-runtime" });
    const fromYaml = renderManifest("servingRuntime", { RUNTIME_IMAGE, RUNTIME_NAME: "sd-runtime" });
    expect(sr.spec).toEqual(fromYaml.spec);
    expect(sr.metadata).toEqual({ ...fromYaml.metadata, namespace: NS, labels: { ...fromYaml.metadata.labels, ...MANAGED_LABELS } });
    expect(sr.spec.containers[0]).toMatchObject({ name: "kserve-container", image: RUNTIME_IMAGE, ports: [{ containerPort: 8080, protocol: "TCP" }] });
  });

  it("take each storage form: storage.key + path, a pvc:// URI, a Hub id, the built-in shapes model", () => {
    const models = storages.map((storage) => inferenceService({ namespace: NS, storage, name: "sd" }).spec.predictor.model);
    expect(models[0].storage).toEqual({ key: "aws-connection-models", path: "models/sd-turbo" });
    expect(models[0].storageUri).toBeUndefined();
    expect(models[1].storageUri).toBe("pvc://finetuned/dreambooth/v1");
    expect(models[2].storageUri).toBeUndefined();
    expect(models[2].env).toContainEqual({ name: "MODEL_ID", value: "example/sd-turbo-onnx" });
    expect(models[3].env).toContainEqual({ name: "MODEL_ID", value: "shapes" });
    for (const m of models) expect(m.runtime).toBe("diffusion-workbench");
  });

  it("map typed options onto the template variables", () => {
    const isvc = inferenceService({
      namespace: NS,
      name: "sd-x",
      runtime: "sd-runtime",
      storage: { type: "s3", path: "m" },
      enableAuth: true,
      visibility: "cluster-local",
      maxBatchSize: 4,
      gpuCount: 2,
      memoryLimit: "24Gi",
      labels: { team: "vision" },
    });
    expect(isvc.metadata.name).toBe("sd-x");
    expect(isvc.metadata.labels).toMatchObject({ team: "vision", "networking.kserve.io/visibility": "cluster-local", "opendatahub.io/dashboard": "true" });
    expect(isvc.metadata.annotations!["security.opendatahub.io/enable-auth"]).toBe("true");
    expect(isvc.spec.predictor.model.runtime).toBe("sd-runtime");
    expect(isvc.spec.predictor.model.storage).toEqual({ key: "aws-connection-models", path: "m" });
    expect(isvc.spec.predictor.model.env).toContainEqual({ name: "MAX_BATCH_SIZE", value: "4" });
    expect(isvc.spec.predictor.model.resources!.limits).toMatchObject({ "nvidia.com/gpu": "2", memory: "24Gi" });
  });

  it("refuse bad options with the option's name, not the template variable's", () => {
    expect(() => servingRuntime({ namespace: NS, image: "latest" })).toThrow(/^image: 'latest' is not valid \(allowed: registry/);
    expect(() => servingRuntime({ namespace: NS } as never)).toThrow(/^image: is required by servingruntime.yaml/);
    expect(() => inferenceService({ namespace: NS, storage: { type: "s3", path: "m" }, cpuLimit: "lots" })).toThrow(/^cpuLimit: 'lots' is not valid/);
    expect(() => inferenceService({ namespace: NS, storage: { type: "hub", modelId: "no-owner" } })).toThrow(/^storage.modelId: 'no-owner' is not valid \(allowed: owner\/name\)/);
    expect(() => inferenceService({ namespace: NS, storage: { type: "gcs" } as never })).toThrow(/^storage.type: "gcs" is not a storage form \(allowed: s3, pvc, hub, tiny\)/);
    expect(() => inferenceService({ namespace: NS, storage: { type: "pvc", claimName: "m" } as never })).toThrow(/^storage.path: is required/);
    expect(() => inferenceService({ namespace: NS, storage: { type: "tiny" }, maxBatchSize: -1 })).toThrow(/^maxBatchSize: -1 is not a whole number/);
    expect(() => inferenceService({ namespace: "Bad_NS", storage: { type: "tiny" } })).toThrow(/^namespace: "Bad_NS" is not a DNS label/);
  });
});

describe("mcpServer", () => {
  const opts = {
    namespace: NS,
    image: RUNTIME_IMAGE,
    routeHost: "mcp.apps.example.com",
    runtimeUrl: "http://sd-predictor:80",
    modelId: "sd",
    imageTtl: "24h",
    labels: { team: "vision" },
  };
  const [deployment, service, route] = mcpServer(opts);
  const c = deployment.spec!.template.spec!.containers[0];

  it("is the templates in serving/mcp/manifests with the namespace and project labels added", () => {
    const vars = { MCP_IMAGE: RUNTIME_IMAGE, NAMESPACE: NS, ROUTE_HOST: "mcp.apps.example.com", RUNTIME_URL: "http://sd-predictor:80", ISVC_NAME: "sd", IMAGE_TTL: "24h" };
    for (const [obj, name] of [[deployment, "deployment"], [service, "service"], [route, "route"]] as const) {
      const fromYaml = renderMcpManifest(name, vars);
      expect((obj as any).spec, name).toEqual(fromYaml.spec);
      expect(obj.metadata, name).toEqual({ ...fromYaml.metadata, namespace: NS, labels: { ...fromYaml.metadata.labels, team: "vision", ...MANAGED_LABELS } });
    }
  });

  it("runs the mcp command on port 8000 named http, pointed at the runtime and at its Route's URL", () => {
    expect(c.args).toEqual(["mcp"]);
    expect(c.ports).toEqual([{ name: "http", containerPort: 8000, protocol: "TCP" }]);
    const env = Object.fromEntries(c.env!.map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ DIFFUSERS_RUNTIME_URL: "http://sd-predictor:80", DIFFUSERS_MODEL_ID: "sd", PUBLIC_URL: "https://mcp.apps.example.com", IMAGE_TTL: "24h" });
    expect(c.readinessProbe!.httpGet).toEqual({ path: "/health", port: "http" });
  });

  it("selects its pods from the Service and exposes the Service through an edge-terminated Route", () => {
    expect(service.spec!.selector).toEqual(deployment.spec!.selector.matchLabels);
    expect(deployment.spec!.template.metadata!.labels).toMatchObject(deployment.spec!.selector.matchLabels!);
    expect(route).toMatchObject({
      apiVersion: "route.openshift.io/v1",
      kind: "Route",
      metadata: { name: "diffusion-mcp", namespace: NS },
      spec: { host: "mcp.apps.example.com", to: { kind: "Service", name: "diffusion-mcp" }, port: { targetPort: "http" }, tls: { termination: "edge" } },
    });
  });

  it("refuses bad options with the option's name", () => {
    expect(() => mcpServer({ ...opts, runtimeUrl: "rt:8080" })).toThrow(/^runtimeUrl: 'rt:8080' is not valid/);
    expect(() => mcpServer({ ...opts, routeHost: "not a host" })).toThrow(/^routeHost:/);
    expect(() => mcpServer({ ...opts, image: "mcp" })).toThrow(/^image: 'mcp' is not valid/);
    expect(() => mcpServer({ ...opts, imageStorage: "disk" as never })).toThrow(/^imageStorage: "disk" is not one of the choices \(allowed: s3, file\)/);
    expect(() => mcpServer({ ...opts, namespace: "NS" })).toThrow(/^namespace:/);
  });
});

describe("dspa", () => {
  it("stores artifacts in the pipeline-artifacts bucket through the data connection's keys", () => {
    const d = dspa({ namespace: NS, endpoint: ENDPOINT });
    expect(d.apiVersion).toBe("datasciencepipelinesapplications.opendatahub.io/v1");
    expect(d.metadata.name).toBe("dspa");
    expect(d.spec.dspVersion).toBe("v2");
    expect(d.spec.objectStorage.externalStorage).toEqual({
      host: "minio.my-project.svc.cluster.local",
      port: "9000",
      scheme: "http",
      secure: false,
      bucket: "pipeline-artifacts",
      region: "us-east-1",
      s3CredentialsSecret: { secretName: "aws-connection-pipeline-artifacts", accessKey: "AWS_ACCESS_KEY_ID", secretKey: "AWS_SECRET_ACCESS_KEY" },
    });
    const tls = dspa({ namespace: NS, endpoint: "https://s3.example.com", bucket: "kfp", dataConnection: "aws-connection-kfp", basePath: "team-a" }).spec.objectStorage.externalStorage!;
    expect(tls).toMatchObject({ host: "s3.example.com", port: "443", scheme: "https", secure: true, bucket: "kfp", basePath: "team-a" });
    expect(tls.s3CredentialsSecret.secretName).toBe("aws-connection-kfp");
  });

  it("refuses a bad endpoint and database size", () => {
    expect(() => dspa({ namespace: NS, endpoint: "minio:9000" })).toThrow(/^endpoint:/);
    expect(() => dspa({ namespace: NS, endpoint: ENDPOINT, databaseSize: "ten gigs" })).toThrow(/^databaseSize: "ten gigs" is not a Kubernetes quantity/);
  });
});

describe("pvc", () => {
  it("requests the size with an access mode, optionally a storage class", () => {
    expect(pvc({ namespace: NS, name: "models", size: "50Gi", accessMode: "ReadWriteMany", storageClassName: "ocs-storagecluster-cephfs" }).spec).toEqual({
      accessModes: ["ReadWriteMany"],
      volumeMode: "Filesystem",
      resources: { requests: { storage: "50Gi" } },
      storageClassName: "ocs-storagecluster-cephfs",
    });
  });

  it("refuses a bad size, access mode and name", () => {
    expect(() => pvc({ namespace: NS, name: "m", size: "50 GB" })).toThrow(/^size: "50 GB" is not a Kubernetes quantity/);
    expect(() => pvc({ namespace: NS, name: "m", size: "1Gi", accessMode: "RWX" as never })).toThrow(/^accessMode: "RWX" is not one of the choices \(allowed: ReadWriteOnce/);
    expect(() => pvc({ namespace: NS, name: "-m", size: "1Gi" })).toThrow(/^name: "-m" is not a DNS label/);
  });
});

describe("notebook", () => {
  const nb = notebook({ namespace: NS, name: "ts-bench", image: WORKBENCH_IMAGE, dataConnections: ["aws-connection-models"], env: { LOG_LEVEL: "debug" }, gpuCount: 1, username: "alice" });
  const c = nb.spec.template.spec.containers[0];

  it("is labelled and annotated as the dashboard creates workbenches, with the OAuth proxy injected", () => {
    expect(nb.apiVersion).toBe("kubeflow.org/v1");
    expect(nb.metadata.labels).toEqual({ app: "ts-bench", "opendatahub.io/dashboard": "true", "opendatahub.io/odh-managed": "true", ...MANAGED_LABELS });
    expect(nb.metadata.annotations).toEqual({
      "notebooks.opendatahub.io/inject-oauth": "true",
      "opendatahub.io/image-display-name": "TypeScript (diffusion-workbench)",
      "openshift.io/display-name": "ts-bench",
      "opendatahub.io/username": "alice",
    });
  });

  it("runs the image on notebook-port 8888 under /notebook/<namespace>/<name>, home on the PVC, data connections as env", () => {
    expect(c.name).toBe("ts-bench");
    expect(c.image).toBe(WORKBENCH_IMAGE);
    expect(c.ports).toEqual([{ name: "notebook-port", containerPort: 8888, protocol: "TCP" }]);
    expect(c.env!.find((e) => e.name === "NOTEBOOK_ARGS")!.value).toContain("--ServerApp.base_url=/notebook/my-project/ts-bench");
    expect(c.env).toContainEqual({ name: "LOG_LEVEL", value: "debug" });
    expect(c.readinessProbe!.httpGet).toEqual({ path: "/notebook/my-project/ts-bench/api", port: "notebook-port", scheme: "HTTP" });
    expect(c.volumeMounts).toEqual([{ name: "home", mountPath: "/opt/app-root/src" }]);
    expect(nb.spec.template.spec.volumes).toEqual([{ name: "home", persistentVolumeClaim: { claimName: "ts-bench" } }]);
    expect(c.envFrom).toEqual([{ secretRef: { name: "aws-connection-models" } }]);
    expect(c.resources!.limits!["nvidia.com/gpu"]).toBe("1");
    expect(nb.spec.template.spec.tolerations).toContainEqual({ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" });
  });

  it("refuses an unpinned image and a bad data connection name", () => {
    expect(() => notebook({ namespace: NS, image: "workbench" })).toThrow(/^image: "workbench" is not a pinned image reference/);
    expect(() => notebook({ namespace: NS, image: WORKBENCH_IMAGE, dataConnections: ["ok", "Not OK"] })).toThrow(/^dataConnections\[1\]:/);
    expect(() => notebook({ namespace: NS, image: WORKBENCH_IMAGE, labels: { "bad key!": "x" } })).toThrow(/^labels.bad key!: is not a valid label key/);
  });
});

// The CRDs live in ../shared/schemas beside the checkout (CI has it); skipped without it.
describe("workbenchDeployerRole", () => {
  it("binds a Role with the rights the CLI and the notebooks use to the workbench's service account", () => {
    const [role, binding] = workbenchDeployerRole({ namespace: "team", workbench: "sd-bench" });
    expect(role).toMatchObject({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "diffusion-workbench-deployer", namespace: "team", labels: MANAGED_LABELS } });
    const allowed = (group: string, resource: string, verb: string) =>
      role.rules!.some((r) => r.apiGroups!.includes(group) && r.resources!.includes(resource) && r.verbs.includes(verb));
    // server-side apply (patch, create on first apply), waits (get), status (list), undeploy (delete)
    for (const verb of ["get", "list", "create", "patch", "delete"]) {
      expect(allowed("serving.kserve.io", "inferenceservices", verb), verb).toBe(true);
      expect(allowed("route.openshift.io", "routes/custom-host", verb), verb).toBe(true);
    }
    expect(allowed("", "pods/log", "get")).toBe(true);
    expect(allowed("datasciencepipelinesapplications.opendatahub.io", "datasciencepipelinesapplications/api", "get")).toBe(true);
    expect(allowed("", "secrets", "get")).toBe(false);
    expect(binding).toMatchObject({
      kind: "RoleBinding",
      metadata: { name: "diffusion-workbench-deployer", namespace: "team" },
      subjects: [{ kind: "ServiceAccount", name: "sd-bench", namespace: "team" }],
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "diffusion-workbench-deployer" },
    });
  });

  it("refuses a workbench name that cannot be a service account, naming the option", () => {
    expect(() => workbenchDeployerRole({ namespace: "team", workbench: "SD Bench" })).toThrow(/workbench/);
  });
});

describe.skipIf(!hasSchemas)("the builders' custom resources against their CRDs", () => {
  it("validate: ServingRuntime, the four InferenceServices, the DSPA and the Notebook (with and without a GPU)", () => {
    const objects = [...everyObject(), notebook({ namespace: NS, image: WORKBENCH_IMAGE, gpuCount: 1, env: { A: "1" } })];
    const checked = objects.map((o) => [o.kind, crdErrors(o as never)] as const).filter(([, errors]) => errors !== undefined);
    expect(checked.map(([kind]) => kind).sort()).toEqual(
      ["DataSciencePipelinesApplication", "InferenceService", "InferenceService", "InferenceService", "InferenceService", "Notebook", "Notebook", "ServingRuntime"],
    );
    for (const [kind, errors] of checked) expect(errors, kind).toEqual([]);
  });

  it("and a misspelt field does not", () => {
    const d: any = dspa({ namespace: NS, endpoint: ENDPOINT });
    d.spec.objectStorage.externalStorage.bucketName = "x";
    expect(crdErrors(d)!.join()).toMatch(/must NOT have additional properties/);
  });
});
if (!hasSchemas) console.log(SKIP_SCHEMAS_MESSAGE);
