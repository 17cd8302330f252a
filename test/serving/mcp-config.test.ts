import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ENV_VARS, loadMcpConfig } from "../../serving/mcp/config.js";
import { repoRoot } from "../helpers/paths.js";

describe("the MCP server's configuration", () => {
  it("has the seed's names and safe defaults: loopback, port 8000, loopback Host names only", () => {
    expect(loadMcpConfig({})).toEqual({
      host: "127.0.0.1",
      port: 8000,
      allowedHosts: ["localhost", "127.0.0.1", "[::1]"],
      allowedOrigins: [],
      runtimeUrl: "http://127.0.0.1:8080",
      modelName: "model",
      runtimeTimeoutMs: 600_000,
      runtimeRetries: 2,
      imageResponse: "preview",
      previewSize: 256,
      maxPixels: 1024 * 1024,
      maxImagesPerCall: 4,
      progressIntervalMs: 1000,
      sessionIdleMs: 3_600_000,
      shutdownGraceMs: 25_000,
      logLevel: "info",
    });
    const c = loadMcpConfig({ DIFFUSERS_RUNTIME_URL: "http://sd-predictor:80/", DIFFUSERS_MODEL_ID: "sd-turbo", IMAGE_RESPONSE: "PNG", MCP_AUTH_TOKEN: "0123456789abcdef0" });
    expect(c).toMatchObject({ runtimeUrl: "http://sd-predictor:80", modelName: "sd-turbo", imageResponse: "png", authToken: "0123456789abcdef0" });
  });

  it("checks Host only where the SDK does: on loopback, or with MCP_ALLOWED_HOSTS; PUBLIC_URL's host and origin are allowed", () => {
    expect(loadMcpConfig({ MCP_HOST: "0.0.0.0" }).allowedHosts).toBeUndefined();
    const c = loadMcpConfig({ MCP_HOST: "0.0.0.0", MCP_ALLOWED_HOSTS: "MCP.example.com, svc", PUBLIC_URL: "https://mcp.example.com/", MCP_ALLOWED_ORIGINS: "https://app.example.com" });
    expect(c.allowedHosts).toEqual(["mcp.example.com", "svc"]);
    expect(c.allowedOrigins).toEqual(["https://app.example.com", "https://mcp.example.com"]);
    expect(c.publicUrl).toBe("https://mcp.example.com");
    expect(loadMcpConfig({}, { host: "0.0.0.0", port: 0 })).toMatchObject({ host: "0.0.0.0", port: 0 });
  });

  it("refuses malformed values at start, naming the variable and what it accepts", () => {
    const cases: [Record<string, string>, string][] = [
      [{ MCP_PORT: "http" }, "MCP_PORT: 'http' is not an integer in range (allowed: 0..65535)"],
      [{ DIFFUSERS_RUNTIME_URL: "localhost:8080" }, "DIFFUSERS_RUNTIME_URL: 'localhost:8080' is not an http(s) URL (allowed: http(s)://host[:port][/path])"],
      [{ PUBLIC_URL: "not a url" }, "PUBLIC_URL: 'not a url' is not a URL (allowed: http(s)://host[:port][/path])"],
      [{ DIFFUSERS_MODEL_ID: "a/b" }, "DIFFUSERS_MODEL_ID: 'a/b' cannot be used in a URL path (allowed: letters, digits, '.', '_', '-')"],
      [{ IMAGE_RESPONSE: "jpeg" }, "IMAGE_RESPONSE: 'jpeg' is not one of the choices (allowed: png, preview, none)"],
      [{ MCP_AUTH_TOKEN: "short" }, "MCP_AUTH_TOKEN: is shorter than 16 characters (allowed: a random string of at least 16 characters)"],
      [{ RUNTIME_TIMEOUT_S: "0" }, "RUNTIME_TIMEOUT_S: '0' is not an integer in range (allowed: 1..86400)"],
      [{ LOG_LEVEL: "loud" }, "LOG_LEVEL: 'loud' is not one of the choices (allowed: fatal, error, warn, info, debug, trace, silent)"],
    ];
    for (const [env, message] of cases) expect(() => loadMcpConfig(env)).toThrow(message);
  });

  it("documents every variable it reads in ENV_VARS and in the README section", () => {
    const source = readFileSync(path.join(repoRoot, "serving", "mcp", "config.ts"), "utf8");
    const read = new Set([...source.matchAll(/(?:env\.|env, ")([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]));
    const declared = ENV_VARS.map((v) => v.name);
    for (const name of read) expect(declared, name).toContain(name);
    const all = readFileSync(path.join(repoRoot, "README.md"), "utf8");
    // the MCP server's section, up to the next top-level section
    const readme = all.slice(all.indexOf("## MCP server"), all.indexOf("\n## ", all.indexOf("## MCP server") + 3));
    for (const name of declared) expect(readme, name).toContain(`| \`${name}\``);
  });
});
