/**
 * Validation of generated objects against the upstream CRDs in ../shared/schemas (see its
 * README.md): the served version's openAPIV3Schema, closed against unknown fields as the API
 * server prunes them, compiled once per CRD.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import { parse } from "yaml";
import { sharedDir } from "./paths.js";

export const schemasDir = path.join(sharedDir, "schemas");
export const hasSchemas = existsSync(path.join(schemasDir, "serving.kserve.io_inferenceservices.yaml"));
export const SKIP_SCHEMAS_MESSAGE = `skipped the CRD validation: ${schemasDir} not found (it is beside the checkout in CI)`;

/** The CRD file of each custom kind the project generates. */
export const CRD_FILES: Record<string, string> = {
  InferenceService: "serving.kserve.io_inferenceservices.yaml",
  ServingRuntime: "serving.kserve.io_servingruntimes.yaml",
  DataSciencePipelinesApplication: "datasciencepipelinesapplications.opendatahub.io_datasciencepipelinesapplications.yaml",
  Notebook: "kubeflow.org_notebooks.yaml",
};

/** The CRD's schema for a version, closed against unknown fields as the API server prunes them (schemas/README.md). */
export function crdSchema(file: string, version: string): object {
  const crd = parse(readFileSync(path.join(schemasDir, file), "utf8"));
  const schema = crd.spec.versions.find((v: { name: string; served: boolean }) => v.name === version && v.served).schema.openAPIV3Schema;
  const close = (node: any): void => {
    if (!node || typeof node !== "object") return;
    if (node.properties && node.additionalProperties === undefined && node["x-kubernetes-preserve-unknown-fields"] !== true) {
      node.additionalProperties = false;
    }
    for (const p of Object.values(node.properties ?? {})) close(p);
    if (node.items) close(node.items);
    if (typeof node.additionalProperties === "object") close(node.additionalProperties);
    for (const k of ["allOf", "anyOf", "oneOf"]) for (const s of node[k] ?? []) close(s);
  };
  close(schema);
  return schema;
}

const ajv = new Ajv({ strict: false, validateFormats: false, logger: false, allErrors: true });
const compiled = new Map<string, ValidateFunction>();

/** A validator for a CRD file and version, compiled on first use. */
export function crdValidator(file: string, version: string): ValidateFunction {
  const key = `${file}@${version}`;
  let v = compiled.get(key);
  if (!v) {
    v = ajv.compile(crdSchema(file, version));
    compiled.set(key, v);
  }
  return v;
}

/** The schema errors of an object of a custom kind (by its kind and apiVersion); undefined for kinds without a CRD here. */
export function crdErrors(obj: { apiVersion: string; kind: string }): string[] | undefined {
  const file = CRD_FILES[obj.kind];
  if (!file) return undefined;
  const validate = crdValidator(file, obj.apiVersion.split("/")[1]);
  return validate(obj) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
}
