import { ObjectSerializer } from "@kubernetes/client-node/dist/gen/models/ObjectSerializer.js";
import { describe, expect, it } from "vitest";
import { ENV_VARS, loadMcpConfig } from "../../serving/mcp/config.js";
import { MCP_MANIFESTS, MCP_VARIABLES, mcpTemplateVariables, renderMcpManifest, type McpManifestName } from "../../serving/mcp/manifests/render.js";
import { STORE_ENV_VARS } from "../../serving/mcp/store/config.js";

const IMAGE = "quay.io/example/diffusion-workbench-mcp:0.1.0";
const vars = { MCP_IMAGE: IMAGE, NAMESPACE: "team-a", ROUTE_HOST: "diffusion-mcp-team-a.apps.example.com" };

/** Fields the Kubernetes API knows survive a round trip through the client's typed models; a typo does not. */
function roundTrip(obj: Record<string, any>, type: string): unknown {
  return JSON.parse(JSON.stringify(ObjectSerializer.serialize(ObjectSerializer.deserialize(obj, type, ""), type, "")));
}

describe("the MCP server's Deployment", () => {
  const d = renderMcpManifest("deployment", vars);
  const c = d.spec.template.spec.containers[0];
  const env = Object.fromEntries(c.env.map((e: { name: string; value?: string; valueFrom?: unknown }) => [e.name, e.value ?? e.valueFrom]));

  it("is a valid apps/v1 Deployment (every field known to the API)", () => {
    expect(roundTrip(d, "V1Deployment")).toEqual(d);
    const typo = { ...d, spec: { ...d.spec, template: { ...d.spec.template, spec: { ...d.spec.template.spec, containers: [{ ...c, readinesProbe: c.readinessProbe }] } } } };
    expect(roundTrip(typo, "V1Deployment")).not.toEqual(typo);
  });

  it("runs `mcp` on port 8000 as one replica, recreated rather than rolled", () => {
    expect(d).toMatchObject({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "diffusion-mcp" }, spec: { replicas: 1, strategy: { type: "Recreate" } } });
    expect(d.spec.selector.matchLabels).toEqual({ "app.kubernetes.io/name": "diffusion-mcp" });
    expect(d.spec.template.metadata.labels).toMatchObject(d.spec.selector.matchLabels);
    expect(c.image).toBe(IMAGE);
    expect(c.args).toEqual(["mcp"]);
    expect(c.ports).toEqual([{ name: "http", containerPort: 8000, protocol: "TCP" }]);
  });

  it("configures the server through the variables it reads, each of which is declared", () => {
    expect(env).toMatchObject({
      MCP_HOST: "0.0.0.0",
      MCP_PORT: "8000",
      PUBLIC_URL: "https://diffusion-mcp-team-a.apps.example.com",
      MCP_ALLOWED_HOSTS: "diffusion-mcp-team-a.apps.example.com,diffusion-mcp,diffusion-mcp.team-a.svc,diffusion-mcp.team-a.svc.cluster.local",
      DIFFUSERS_RUNTIME_URL: "http://stable-diffusion-predictor:80",
      DIFFUSERS_MODEL_ID: "stable-diffusion",
      IMAGE_STORAGE: "s3",
      IMAGE_TTL: "7d",
    });
    expect(env.MCP_AUTH_TOKEN).toEqual({ secretKeyRef: { name: "diffusion-mcp-auth", key: "token", optional: true } });
    expect(c.envFrom).toEqual([{ secretRef: { name: "aws-connection-images", optional: true } }]);
    const declared = [...ENV_VARS, ...STORE_ENV_VARS].flatMap((v) => v.name.split(", "));
    for (const name of Object.keys(env)) expect(declared, name).toContain(name);
    // The server accepts the environment as the manifest sets it.
    const config = loadMcpConfig(Object.fromEntries(Object.entries(env).filter(([, v]) => typeof v === "string")) as Record<string, string>);
    expect(config.allowedHosts).toContain("diffusion-mcp-team-a.apps.example.com");
    expect(config.publicUrl).toBe("https://diffusion-mcp-team-a.apps.example.com");
  });

  it("probes readiness on /health and liveness on /healthz, which does not depend on the runtime", () => {
    expect(c.readinessProbe.httpGet).toEqual({ path: "/health", port: "http" });
    expect(c.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
    expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ["ALL"] } });
  });
});

describe("the Service and the Route", () => {
  it("expose port 8000 in the cluster and through an edge-terminated TLS Route with a raised timeout", () => {
    const svc = renderMcpManifest("service", vars);
    expect(roundTrip(svc, "V1Service")).toEqual(svc);
    expect(svc.spec).toEqual({ type: "ClusterIP", selector: { "app.kubernetes.io/name": "diffusion-mcp" }, ports: [{ name: "http", port: 8000, targetPort: "http", protocol: "TCP" }] });

    const route = renderMcpManifest("route", { ...vars, ROUTE_TIMEOUT: "15m" });
    expect(route).toMatchObject({ apiVersion: "route.openshift.io/v1", kind: "Route", metadata: { name: "diffusion-mcp" } });
    expect(route.metadata.annotations).toEqual({ "haproxy.router.openshift.io/timeout": "15m" });
    expect(route.spec).toEqual({
      host: "diffusion-mcp-team-a.apps.example.com",
      to: { kind: "Service", name: "diffusion-mcp", weight: 100 },
      port: { targetPort: "http" },
      tls: { termination: "edge", insecureEdgeTerminationPolicy: "Redirect" },
    });
  });

  it("refuse missing and malformed variables with the variable's name, and use only declared ones", () => {
    expect(() => renderMcpManifest("deployment", { ...vars, MCP_IMAGE: undefined })).toThrow(/^MCP_IMAGE: is required by deployment.yaml/);
    expect(() => renderMcpManifest("route", { ...vars, ROUTE_HOST: "Not A Host" })).toThrow(/^ROUTE_HOST: 'Not A Host' is not valid/);
    expect(() => renderMcpManifest("deployment", { ...vars, IMAGE_STORAGE: "nfs" })).toThrow(/^IMAGE_STORAGE: 'nfs' is not valid \(allowed: s3, file\)/);
    for (const name of Object.keys(MCP_MANIFESTS) as McpManifestName[]) {
      for (const v of mcpTemplateVariables(name)) expect(Object.keys(MCP_VARIABLES)).toContain(v);
    }
  });
});
