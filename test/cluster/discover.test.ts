import { describe, expect, it } from "vitest";
import { dspaApiUrls, inferenceServiceUrl, inferenceServiceUrls, pipelinesApiUrl, routeHost, routeUrl } from "../../lib/cluster/discover.js";
import { serverPerTest } from "../helpers/server-per-test.js";
import { FakeApiServer } from "./fake-apiserver.js";

let api: FakeApiServer;
serverPerTest(() => new FakeApiServer().start(), (s) => (api = s));

describe("URL discovery", () => {
  it("reads an InferenceService's external URL and in-cluster address from its status", async () => {
    api.put({
      apiVersion: "serving.kserve.io/v1beta1",
      kind: "InferenceService",
      metadata: { name: "sd", namespace: "proj" },
      status: { url: "https://sd-proj.apps.example.com", address: { url: "http://sd-predictor.proj.svc.cluster.local" } },
    });
    await expect(inferenceServiceUrl(api.config("proj"), "sd")).resolves.toEqual({
      url: "https://sd-proj.apps.example.com",
      address: "http://sd-predictor.proj.svc.cluster.local",
    });
    expect(api.calls().map((r) => `${r.method} ${r.path}`)).toEqual(["GET /apis/serving.kserve.io/v1beta1/namespaces/proj/inferenceservices/sd"]);
    expect(inferenceServiceUrls({ apiVersion: "serving.kserve.io/v1beta1", kind: "InferenceService" })).toEqual({});
  });

  it("says an InferenceService has no URL yet before KServe reconciled it, and names a missing one", async () => {
    api.put({ apiVersion: "serving.kserve.io/v1beta1", kind: "InferenceService", metadata: { name: "sd", namespace: "proj" } });
    await expect(inferenceServiceUrl(api.config("proj"), "sd")).rejects.toThrow('InferenceService "sd" in namespace "proj" has no URL yet');
    await expect(inferenceServiceUrl(api.config("proj"), "nope", "other")).rejects.toThrow(
      'InferenceService "nope" in namespace "other" not found: inferenceservices.serving.kserve.io "nope" not found',
    );
  });

  it("gives a Route's https URL from its host (http without TLS, the admitted host when spec has none)", async () => {
    api.put({ apiVersion: "route.openshift.io/v1", kind: "Route", metadata: { name: "mcp", namespace: "proj" }, spec: { host: "mcp-proj.apps.example.com", tls: { termination: "edge" } } });
    await expect(routeHost(api.config("proj"), "mcp")).resolves.toBe("https://mcp-proj.apps.example.com");
    expect(routeUrl({ spec: { path: "/mcp" }, status: { ingress: [{ host: "h.example.com" }] } } as never)).toBe("http://h.example.com/mcp");
    expect(routeUrl({ spec: {} } as never)).toBeUndefined();
  });

  it("finds the pipelines API from the DSPA status, external URL first", async () => {
    const DSPA = "datasciencepipelinesapplications.opendatahub.io/v1";
    api.put({
      apiVersion: DSPA,
      kind: "DataSciencePipelinesApplication",
      metadata: { name: "dspa", namespace: "proj" },
      status: { components: { apiServer: { url: "https://ds-pipeline-dspa.proj.svc.cluster.local:8443", externalUrl: "https://ds-pipeline-dspa-proj.apps.example.com" } } },
    });
    await expect(pipelinesApiUrl(api.config("proj"))).resolves.toBe("https://ds-pipeline-dspa-proj.apps.example.com");
    await expect(pipelinesApiUrl(api.config("proj"), "dspa", "proj", "internal")).resolves.toBe("https://ds-pipeline-dspa.proj.svc.cluster.local:8443");
    expect(api.calls().map((r) => r.path)).toEqual([
      "/apis/datasciencepipelinesapplications.opendatahub.io/v1/namespaces/proj/datasciencepipelinesapplications/dspa",
      "/apis/datasciencepipelinesapplications.opendatahub.io/v1/namespaces/proj/datasciencepipelinesapplications/dspa",
    ]);
    expect(dspaApiUrls({ status: { components: { apiServer: { url: "http://x" } } } } as never)).toEqual({ url: "http://x" });
  });
});
