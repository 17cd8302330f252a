import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { InvalidInputError, WorkbenchError } from "../../lib/errors.js";
import { artifactLocations, artifactUrisIn, taskPods } from "../../lib/cluster/pipelines-run-details.js";
import { defaultToken, pipelineRootFromDspa, pipelinesApiFromDspa } from "../../lib/cluster/pipelines-dspa.js";
import { apiMessageOf } from "../../lib/cluster/pipelines-errors.js";
import type { Run } from "../../lib/cluster/pipelines-types.js";

/** A compiled spec in KFP IR shape: two container tasks at the root, one inside a sub-DAG. */
const SPEC = {
  pipelineInfo: { name: "finetune" },
  schemaVersion: "2.1.0",
  root: {
    dag: {
      tasks: {
        prepare: { componentRef: { name: "comp-prepare" }, taskInfo: { name: "prepare" } },
        "train-loop": { componentRef: { name: "comp-train-loop" }, taskInfo: { name: "train-loop" } },
        report: { componentRef: { name: "comp-report" }, taskInfo: { name: "report" } },
      },
    },
  },
  components: {
    "comp-prepare": { executorLabel: "exec-prepare", outputDefinitions: { artifacts: { dataset: { artifactType: { schemaTitle: "system.Dataset" } } } } },
    "comp-train-loop": { dag: { tasks: { train: { componentRef: { name: "comp-train" } } } } },
    "comp-train": {
      executorLabel: "exec-train",
      outputDefinitions: {
        artifacts: { model: { artifactType: { schemaTitle: "system.Model" } }, metrics: { artifactType: { schemaTitle: "system.Metrics" } } },
        parameters: { loss: { parameterType: "NUMBER_DOUBLE" } },
      },
    },
    "comp-report": { executorLabel: "exec-report" },
  },
};

const RUN: Run = {
  run_id: "3f2a",
  state: "RUNNING",
  run_details: {
    task_details: [
      { task_id: "a", display_name: "finetune", state: "RUNNING", child_tasks: [{ task_id: "b" }] },
      { task_id: "b", display_name: "prepare", state: "SUCCEEDED", pod_name: "finetune-3f2a-1111" },
      { task_id: "c", display_name: "train", state: "RUNNING", outputs: { model: { artifact_ids: ["17"] } }, child_tasks: [{ pod_name: "finetune-3f2a-2222" }, { pod_name: "finetune-3f2a-1111" }] },
    ],
  },
};

describe("taskPods", () => {
  it("lists each task's own pod, else its child pods, each pod once", () => {
    expect(taskPods(RUN)).toEqual([
      { task: "prepare", podName: "finetune-3f2a-1111", state: "SUCCEEDED" },
      { task: "train", podName: "finetune-3f2a-2222", state: "RUNNING" },
    ]);
  });

  it("is empty for a run the server has no details of yet", () => {
    expect(taskPods({ run_id: "x", state: "PENDING" })).toEqual([]);
  });
});

describe("artifactLocations", () => {
  it("gives every container task's output artifacts the driver's folder under the pipeline root", () => {
    expect(artifactLocations(RUN, { spec: SPEC, pipelineRoot: "s3://bucket/base/" })).toEqual([
      { task: "prepare", name: "dataset", uriPrefix: "s3://bucket/base/finetune/3f2a/prepare/", artifactIds: [] },
      { task: "train", name: "model", uriPrefix: "s3://bucket/base/finetune/3f2a/train/", artifactIds: ["17"] },
      { task: "train", name: "metrics", uriPrefix: "s3://bucket/base/finetune/3f2a/train/", artifactIds: [] },
    ]);
  });

  it("reads the spec from YAML and the root from the run's runtime config before the spec's default", () => {
    const run: Run = { ...RUN, runtime_config: { pipeline_root: "s3://run-root?region=x" } };
    const yaml = stringify({ ...SPEC, defaultPipelineRoot: "s3://spec-root" });
    expect(artifactLocations(run, { spec: yaml })[0].uriPrefix).toBe("s3://run-root/finetune/3f2a/prepare/");
    expect(artifactLocations(RUN, { spec: yaml })[0].uriPrefix).toBe("s3://spec-root/finetune/3f2a/prepare/");
  });

  it("asks for the spec and the pipeline root when the run does not carry them", () => {
    expect(() => artifactLocations(RUN)).toThrow(InvalidInputError);
    expect(() => artifactLocations(RUN)).toThrow('spec: run "3f2a" carries no pipeline_spec');
    expect(() => artifactLocations(RUN, { spec: SPEC })).toThrow(/^pipelineRoot: run "3f2a" has no runtime_config.pipeline_root/);
    expect(() => artifactLocations(RUN, { spec: { root: {} } })).toThrow("spec.pipelineInfo.name: missing");
  });

  it("picks the artifact out of a listing of its folder", () => {
    const [, model] = artifactLocations(RUN, { spec: SPEC, pipelineRoot: "s3://bucket" });
    const listing = [
      "s3://bucket/finetune/3f2a/train/5c1e/model/unet.onnx",
      "s3://bucket/finetune/3f2a/train/5c1e/model/config.json",
      "s3://bucket/finetune/3f2a/train/5c1e/metrics",
      "s3://bucket/finetune/3f2a/train/9d0b/model",
      "s3://bucket/finetune/3f2a/train-other/1/model",
    ];
    expect(artifactUrisIn(model, listing)).toEqual(["s3://bucket/finetune/3f2a/train/5c1e/model", "s3://bucket/finetune/3f2a/train/9d0b/model"]);
    expect(artifactUrisIn(model, [])).toEqual([]);
  });
});

describe("DSPA discovery", () => {
  const dspa = {
    apiVersion: "datasciencepipelinesapplications.opendatahub.io/v1",
    kind: "DataSciencePipelinesApplication",
    metadata: { name: "dspa", namespace: "proj" },
    spec: { objectStorage: { externalStorage: { bucket: "pipelines", basePath: "/team-a/", host: "s3.example.com" } } },
    status: {
      components: {
        apiServer: { externalUrl: "https://ds-pipeline-dspa-proj.apps.example.com/", url: "https://ds-pipeline-dspa.proj.svc.cluster.local:8443" },
      },
    },
  };

  it("takes the route from the status, or the service URL in the cluster", () => {
    expect(pipelinesApiFromDspa(dspa)).toBe("https://ds-pipeline-dspa-proj.apps.example.com");
    expect(pipelinesApiFromDspa(dspa, { inCluster: true })).toBe("https://ds-pipeline-dspa.proj.svc.cluster.local:8443");
    expect(pipelinesApiFromDspa({ status: { components: { apiServer: { url: "https://svc:8443" } } } })).toBe("https://svc:8443");
  });

  it("names the DSPA and its Ready condition when the status has no URL yet", () => {
    const notReady = { metadata: { name: "dspa", namespace: "proj" }, status: { conditions: [{ type: "Ready", status: "False", reason: "MinimallyAvailable", message: "waiting for the database" }] } };
    expect(() => pipelinesApiFromDspa(notReady)).toThrow(WorkbenchError);
    expect(() => pipelinesApiFromDspa(notReady)).toThrow(
      'DataSciencePipelinesApplication "dspa" in namespace "proj" reports no API server URL (status.components.apiServer): its Ready condition is False (MinimallyAvailable: waiting for the database); wait for it to be Ready',
    );
  });

  it("derives the default pipeline root as the operator writes it for the launcher", () => {
    expect(pipelineRootFromDspa(dspa)).toBe("s3://pipelines/team-a");
    expect(pipelineRootFromDspa({ spec: { objectStorage: { externalStorage: { bucket: "b" } } } })).toBe("s3://b");
    expect(pipelineRootFromDspa({ spec: { objectStorage: { minio: { deploy: true } } } })).toBe("s3://mlpipeline");
    expect(() => pipelineRootFromDspa({ metadata: { name: "d" }, spec: {} })).toThrow("spec.objectStorage: DataSciencePipelinesApplication \"d\" has no object storage (allowed: externalStorage or minio)");
  });
});

describe("defaultToken and error bodies", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "dsp-token-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads a token file, trimmed, and gives undefined without one when oc is not used", () => {
    const file = path.join(dir, "token");
    writeFileSync(file, "sha256~abc\n");
    expect(defaultToken({ tokenFile: file, useOc: false })).toBe("sha256~abc");
    expect(defaultToken({ tokenFile: path.join(dir, "missing"), useOc: false })).toBeUndefined();
  });

  it("finds the message in gateway, upload-handler and proxy error bodies", () => {
    expect(apiMessageOf('{"error":"old","code":5,"message":"Run x not found","details":[]}')).toBe("Run x not found");
    expect(apiMessageOf('{"code":16,"message":"","error":"Unauthenticated"}')).toBe("Unauthenticated");
    expect(apiMessageOf('{"error_message":"Failed to create a pipeline version","error_details":"..."}')).toBe("Failed to create a pipeline version");
    expect(apiMessageOf("Forbidden (user=u, verb=get)\n")).toBe("Forbidden (user=u, verb=get)");
    expect(apiMessageOf("")).toBeUndefined();
  });
});
