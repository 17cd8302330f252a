import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { MANIFESTS, renderManifest, renderTemplate, templateVariables, type ManifestName } from "../../serving/manifests/render.js";
import { crdSchema, hasSchemas, schemasDir } from "../helpers/crd-schema.js";

const IMAGE = "quay.io/example/diffusion-workbench-runtime:0.1.0";
const vars = { RUNTIME_IMAGE: IMAGE, HF_MODEL_ID: "example/sd-turbo-onnx" };
const isvcs: ManifestName[] = ["s3", "pvc", "hub", "tiny"];

describe("the ServingRuntime", () => {
  const sr = renderManifest("servingRuntime", vars);
  const c = sr.spec.containers[0];

  it("runs kserve-container with the model name KServe passes, on port 8080, for both protocols", () => {
    expect(sr).toMatchObject({ apiVersion: "serving.kserve.io/v1alpha1", kind: "ServingRuntime", metadata: { name: "diffusion-workbench" } });
    expect(c.name).toBe("kserve-container");
    expect(c.image).toBe(IMAGE);
    expect(c.args).toEqual(["serve", "--model_name={{.Name}}", "--port=8080"]);
    expect(c.ports).toEqual([{ containerPort: 8080, protocol: "TCP" }]);
    expect(sr.spec.protocolVersions).toEqual(["v1", "v2"]);
    expect(c.env).toContainEqual({ name: "MODEL_ID", value: "/mnt/models" });
  });

  it("points the metrics annotations at the real port and path, and carries the dashboard labels", () => {
    expect(sr.spec.annotations).toEqual({ "prometheus.kserve.io/port": "8080", "prometheus.kserve.io/path": "/metrics" });
    expect(sr.metadata.labels["opendatahub.io/dashboard"]).toBe("true");
    expect(sr.metadata.annotations["opendatahub.io/apiProtocol"]).toBe("REST");
  });

  it("probes liveness and readiness apart, with a startup budget of minutes", () => {
    expect(c.livenessProbe.httpGet).toEqual({ path: "/v2/health/live", port: 8080 });
    expect(c.readinessProbe.httpGet).toEqual({ path: "/v2/health/ready", port: 8080 });
    expect(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold).toBeGreaterThanOrEqual(300);
  });
});

describe("the InferenceServices", () => {
  it("use each storage form: an S3 data connection, a PVC, a Hub id, the built-in shapes model", () => {
    const s3 = renderManifest("s3", { ...vars, DATA_CONNECTION: "my-bucket", MODEL_PATH: "models/v1/sd" }).spec.predictor.model;
    expect(s3.storage).toEqual({ key: "my-bucket", path: "models/v1/sd" });
    expect(renderManifest("pvc", { ...vars, PVC_NAME: "finetuned" }).spec.predictor.model.storageUri).toBe("pvc://finetuned/models/stable-diffusion");
    const hub = renderManifest("hub", vars).spec.predictor.model;
    expect(hub.storageUri).toBeUndefined();
    expect(hub.env).toContainEqual({ name: "MODEL_ID", value: "example/sd-turbo-onnx" });
    const tiny = renderManifest("tiny", vars).spec.predictor;
    expect(tiny.model.env).toContainEqual({ name: "MODEL_ID", value: "shapes" });
    expect(tiny.tolerations).toBeUndefined();
    expect(JSON.stringify(tiny)).not.toContain("nvidia.com/gpu");
  });

  it("run as RawDeployment with the runtime, GPU tolerations and a raised route timeout", () => {
    for (const name of isvcs) {
      const isvc = renderManifest(name, { ...vars, ISVC_NAME: "sd-x", ROUTE_TIMEOUT: "15m" });
      expect(isvc.metadata.name).toBe("sd-x");
      expect(isvc.metadata.annotations["serving.kserve.io/deploymentMode"]).toBe("RawDeployment");
      expect(isvc.metadata.annotations["haproxy.router.openshift.io/timeout"]).toBe("15m");
      expect(isvc.spec.predictor.model.runtime).toBe("diffusion-workbench");
      expect(isvc.spec.predictor.model.modelFormat.name).toBe(renderManifest("servingRuntime", vars).spec.supportedModelFormats[0].name);
      if (name !== "tiny") {
        expect(isvc.spec.predictor.tolerations).toContainEqual({ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" });
        expect(isvc.spec.predictor.model.resources.limits["nvidia.com/gpu"]).toBe("1");
      }
    }
  });

  it("refuses missing, unknown and malformed variables with the variable's name", () => {
    expect(() => renderManifest("servingRuntime", {})).toThrow(/^RUNTIME_IMAGE: is required by servingruntime.yaml/);
    expect(() => renderManifest("hub", { RUNTIME_IMAGE: IMAGE })).toThrow(/^HF_MODEL_ID: is required/);
    expect(() => renderManifest("s3", { ...vars, ISVC_NAME: "Not_A_Name" })).toThrow(/^ISVC_NAME: 'Not_A_Name' is not valid \(allowed: a DNS label\)/);
    expect(() => renderManifest("s3", { ...vars, MEMORY_LIMIT: "lots" })).toThrow(/^MEMORY_LIMIT/);
    expect(() => renderTemplate("x: ${NOPE}", {})).toThrow(/^NOPE: is not a variable/);
  });

  it("use only declared variables", () => {
    for (const name of Object.keys(MANIFESTS) as ManifestName[]) expect(templateVariables(name).length).toBeGreaterThan(0);
  });
});

// The CRDs live in ../shared/schemas beside the checkout (CI has it); skipped without it.
describe.skipIf(!hasSchemas)(`the manifests against the CRDs in ${schemasDir}`, () => {
  const ajv = new Ajv({ strict: false, validateFormats: false, logger: false, allErrors: true });

  it("validate as ServingRuntime v1alpha1", () => {
    const validate = ajv.compile(crdSchema("serving.kserve.io_servingruntimes.yaml", "v1alpha1"));
    const ok = validate(renderManifest("servingRuntime", vars));
    expect(validate.errors ?? [], JSON.stringify(validate.errors)).toEqual([]);
    expect(ok).toBe(true);
  });

  it("validate as InferenceService v1beta1, and a typo does not", () => {
    const validate = ajv.compile(crdSchema("serving.kserve.io_inferenceservices.yaml", "v1beta1"));
    for (const name of isvcs) {
      const ok = validate(renderManifest(name, vars));
      expect(validate.errors ?? [], `${name}: ${JSON.stringify(validate.errors)}`).toEqual([]);
      expect(ok).toBe(true);
    }
    const typo = renderManifest("s3", vars);
    typo.spec.predictor.minReplica = 1;
    expect(validate(typo)).toBe(false);
  });
});
if (!hasSchemas) console.log(`skipped the CRD validation: ${schemasDir} not found (it is beside the checkout in CI)`);
