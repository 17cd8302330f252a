import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { afterAll, describe, expect, it } from "vitest";
import { dataConnectionSecret, dspa, notebook, projectNamespace, pvc, workbenchDeployerRole, MANAGED_LABELS } from "../../lib/cluster/objects/index.js";
import { crdErrors, hasSchemas, SKIP_SCHEMAS_MESSAGE } from "../helpers/crd-schema.js";
import { repoRoot } from "../helpers/paths.js";

const NS = "my-project";
const work = mkdtempSync(path.join(tmpdir(), "setup-sh-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A bin folder with only the tools setup.sh uses: no oc or kubectl unless a test adds a fake one. */
function toolsDir(name: string): string {
  const dir = path.join(work, name);
  spawnSync("mkdir", ["-p", dir]);
  for (const tool of ["bash", "dirname", "basename", "head", "od", "tr", "base64", "sleep", "cat"]) {
    const found = spawnSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
    symlinkSync(found, path.join(dir, tool));
  }
  return dir;
}
const bareBin = toolsDir("bare");

function setup(args: string[], env: Record<string, string> = {}, bin = bareBin) {
  const r = spawnSync(path.join(bareBin, "bash"), [path.join(repoRoot, "setup.sh"), ...args], {
    encoding: "utf8",
    env: { PATH: bin, HOME: work, ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function documents(yamlText: string): Record<string, any>[] {
  return parseAllDocuments(yamlText).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS();
  }).filter((d) => d !== null);
}

const EXPECTED = [
  "Namespace/my-project",
  "Secret/minio-credentials",
  "PersistentVolumeClaim/minio-data",
  "Deployment/minio",
  "Service/minio",
  "Secret/aws-connection-models",
  "Secret/aws-connection-pipeline-artifacts",
  "Job/create-buckets",
  "DataSciencePipelinesApplication/dspa",
  "PersistentVolumeClaim/typescript-workbench",
  "Notebook/typescript-workbench",
  "Role/diffusion-workbench-deployer",
  "RoleBinding/diffusion-workbench-deployer",
];
const ids = (docs: Record<string, any>[]) => docs.map((d) => `${d.kind}/${d.metadata.name}`);

describe("setup.sh --dry-run", () => {
  const run = setup(["--dry-run", "--namespace", NS]);
  const docs = documents(run.stdout);

  it("runs with no oc or kubectl on PATH and prints every object in the order it applies them", () => {
    expect(readdirSync(bareBin)).not.toContain("oc");
    expect(readdirSync(bareBin)).not.toContain("kubectl");
    expect(run.stderr).toContain("dry run: nothing was applied");
    expect(run.status).toBe(0);
    expect(ids(docs)).toEqual(EXPECTED);
  });

  it("puts every object in the chosen namespace and leaves no placeholder", () => {
    expect(run.stdout).not.toMatch(/\$\{[A-Z_]+\}/);
    for (const d of docs.slice(1)) expect(d.metadata.namespace, d.kind).toBe(NS);
    expect(run.stdout).not.toMatch(/namespace: (?!my-project)/);
    expect(docs.find((d) => d.metadata.name === "aws-connection-models")!.stringData.AWS_S3_ENDPOINT).toBe("http://minio.my-project.svc.cluster.local:9000");
    expect(docs.find((d) => d.kind === "Notebook")!.spec.template.spec.containers[0].image).toBe(
      "image-registry.openshift-image-registry.svc:5000/my-project/diffusion-workbench-workbench:0.1.0",
    );
  });

  it("labels every object as the project's, and names every container and port", () => {
    for (const d of docs) {
      expect(d.metadata.labels, ids([d])[0]).toMatchObject(MANAGED_LABELS);
      for (const c of d.spec?.template?.spec?.containers ?? []) {
        expect(c.name).toMatch(/^[a-z0-9-]+$/);
        expect(c.image).toMatch(/:[\w.-]+$/);
        for (const p of c.ports ?? []) expect(p.name).toMatch(/^[a-z-]+$/);
      }
    }
  });

  it("wires MinIO together: the Deployment selects its pods, the Service them, the PVC is mounted, the Job retries", () => {
    const byId = Object.fromEntries(docs.map((d) => [ids([d])[0], d]));
    const deployment = byId["Deployment/minio"];
    const pod = deployment.spec.template;
    expect(pod.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
    expect(pod.metadata.labels).toMatchObject(byId["Service/minio"].spec.selector);
    expect(byId["Service/minio"].spec.ports.map((p: any) => [p.port, p.targetPort])).toEqual([[9000, "api"], [9090, "console"]]);
    expect(pod.spec.volumes).toEqual([{ name: "data", persistentVolumeClaim: { claimName: "minio-data" } }]);
    expect(pod.spec.containers[0].envFrom).toEqual([{ secretRef: { name: "minio-credentials" } }]);
    expect(pod.spec.containers[0].readinessProbe.httpGet).toEqual({ path: "/minio/health/ready", port: "api" });
    const job = byId["Job/create-buckets"].spec;
    expect(job.template.spec.restartPolicy).toBe("OnFailure");
    expect(job.template.spec.containers[0].envFrom).toEqual([{ secretRef: { name: "aws-connection-models" } }]);
    expect(job.template.spec.containers[0].args[0]).toMatch(/mc mb --ignore-existing "s3\/\$bucket"/);
    expect(job.template.spec.containers[0].args[0]).toContain("for bucket in models pipeline-artifacts");
  });

  it("generates MinIO credentials and gives the same ones to both data connections", () => {
    const minio = docs.find((d) => d.metadata.name === "minio-credentials")!.stringData;
    expect(minio.MINIO_ROOT_USER).toMatch(/^minio-[0-9a-f]{8}$/);
    expect(minio.MINIO_ROOT_PASSWORD).toMatch(/^[0-9a-f]{40}$/);
    for (const name of ["aws-connection-models", "aws-connection-pipeline-artifacts"]) {
      const s = docs.find((d) => d.metadata.name === name)!.stringData;
      expect([s.AWS_ACCESS_KEY_ID, s.AWS_SECRET_ACCESS_KEY]).toEqual([minio.MINIO_ROOT_USER, minio.MINIO_ROOT_PASSWORD]);
    }
  });

  it("prints the same objects the lib/cluster/objects builders make", () => {
    const creds = docs.find((d) => d.metadata.name === "minio-credentials")!.stringData;
    const endpoint = "http://minio.my-project.svc.cluster.local:9000";
    const conn = (bucket: string) =>
      dataConnectionSecret({ namespace: NS, bucket, endpoint, accessKeyId: creds.MINIO_ROOT_USER, secretAccessKey: creds.MINIO_ROOT_PASSWORD });
    const byId = Object.fromEntries(docs.map((d) => [ids([d])[0], d]));
    expect(byId["Namespace/my-project"]).toEqual(projectNamespace({ name: NS }));
    expect(byId["Secret/aws-connection-models"]).toEqual(conn("models"));
    expect(byId["Secret/aws-connection-pipeline-artifacts"]).toEqual(conn("pipeline-artifacts"));
    expect(byId["DataSciencePipelinesApplication/dspa"]).toEqual(dspa({ namespace: NS, endpoint }));
    expect(byId["PersistentVolumeClaim/typescript-workbench"]).toEqual(pvc({ namespace: NS, name: "typescript-workbench", size: "20Gi" }));
    const image = "image-registry.openshift-image-registry.svc:5000/my-project/diffusion-workbench-workbench:0.1.0";
    expect(byId["Notebook/typescript-workbench"]).toEqual(notebook({ namespace: NS, image, dataConnections: ["aws-connection-models"] }));
    const [role, binding] = workbenchDeployerRole({ namespace: NS, workbench: "typescript-workbench" });
    expect(byId["Role/diffusion-workbench-deployer"]).toEqual(role);
    expect(byId["RoleBinding/diffusion-workbench-deployer"]).toEqual(binding);
  });

  it.skipIf(!hasSchemas)("prints a DSPA and a Notebook that validate against their CRDs", () => {
    const custom = docs.filter((d) => crdErrors(d as never) !== undefined);
    expect(custom.map((d) => d.kind)).toEqual(["DataSciencePipelinesApplication", "Notebook"]);
    for (const d of custom) expect(crdErrors(d as never), d.kind).toEqual([]);
  });

  it("takes the workbench's name and image, sizes and an existing S3 instead of MinIO", () => {
    const r = setup(["--dry-run", "--namespace=team-a", "--skip-minio", "--skip-buckets", "--workbench-name", "sd-bench", "--workbench-image", "quay.io/org/wb:1.2"], {
      S3_ENDPOINT: "https://s3.example.com",
      S3_ACCESS_KEY: "AKIA/x+y",
      S3_SECRET_KEY: "s&cret=",
      WORKBENCH_STORAGE_SIZE: "50Gi",
    });
    expect(r.status, r.stderr).toBe(0);
    const out = documents(r.stdout);
    expect(ids(out)).toEqual([
      "Namespace/team-a",
      "Secret/aws-connection-models",
      "Secret/aws-connection-pipeline-artifacts",
      "DataSciencePipelinesApplication/dspa",
      "PersistentVolumeClaim/sd-bench",
      "Notebook/sd-bench",
      "Role/diffusion-workbench-deployer",
      "RoleBinding/diffusion-workbench-deployer",
    ]);
    expect(out[7].subjects).toEqual([{ kind: "ServiceAccount", name: "sd-bench", namespace: "team-a" }]);
    expect(out[1].stringData).toMatchObject({ AWS_ACCESS_KEY_ID: "AKIA/x+y", AWS_SECRET_ACCESS_KEY: "s&cret=", AWS_S3_ENDPOINT: "https://s3.example.com:443" });
    expect(out[3].spec.objectStorage.externalStorage).toMatchObject({ host: "s3.example.com", port: "443", scheme: "https", secure: true });
    expect(out[4].spec.resources.requests.storage).toBe("50Gi");
    expect(out[5].spec.template.spec.containers[0].image).toBe("quay.io/org/wb:1.2");
    expect(r.stderr).toContain("MinIO: skipped (--skip-minio), using https://s3.example.com:443");
  });

  it("leaves out the skipped steps", () => {
    const r = setup(["--dry-run", "--skip-pipelines", "--skip-workbench", "--skip-buckets"]);
    expect(ids(documents(r.stdout))).toEqual(EXPECTED.slice(0, 7).map((id) => id.replace("my-project", "diffusion-workbench")));
  });

  it("refuses bad values before doing anything, naming the option", () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [["--namespace", "My_Project"], {}, /--namespace: 'My_Project' is not a DNS label/],
      [["--workbench-image", "workbench"], {}, /--workbench-image: 'workbench' is not registry\/repository:tag/],
      [["--skip-minio"], {}, /--skip-minio: set S3_ENDPOINT/],
      [[], { WORKBENCH_STORAGE_SIZE: "lots" }, /WORKBENCH_STORAGE_SIZE: 'lots' is not a quantity/],
      [[], { S3_ACCESS_KEY: "a\"b", S3_SECRET_KEY: "x" }, /S3_ACCESS_KEY: printable characters other than/],
      [[], { S3_ACCESS_KEY: "a", S3_SECRET_KEY: "x${NAMESPACE}" }, /S3_SECRET_KEY: printable characters other than/],
      [["--frobnicate"], {}, /unknown option '--frobnicate'/],
    ];
    for (const [args, env, message] of cases) {
      const r = setup(["--dry-run", ...args], env);
      expect(r.status, args.join(" ")).not.toBe(0);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe("");
    }
  });
});

/**
 * A fake `oc` (or `kubectl`) that records each call's arguments, keeps what `apply` reads from
 * stdin, and answers the few queries setup.sh makes from FAKE_* variables.
 */
const FAKE_CLIENT = `#!/usr/bin/env bash
printf '%s\\n' "$*" >> "$FAKE_LOG"
case "$1" in
  whoami) echo developer ;;
  auth) echo yes ;;
  api-resources) case " \${FAKE_APIS:-} " in *" \${2#--api-group=} "*) echo "things.\${2#--api-group=}" ;; *) : ;; esac ;;
  apply) n=$(ls "$FAKE_DIR" | grep -c '^apply-' || true); cat > "$FAKE_DIR/apply-$n.yaml" ;;
  get)
    case "$2" in
      namespace) [ -n "\${FAKE_NS_LABEL:-}" ] || { echo 'Error from server (NotFound)' >&2; exit 1; }; printf '%s' "$FAKE_NS_LABEL" ;;
      project) echo 'Error from server (NotFound)' >&2; exit 1 ;;
      secret)
        [ -n "\${FAKE_MINIO_USER:-}" ] || { echo 'Error from server (NotFound)' >&2; exit 1; }
        case "$*" in *MINIO_ROOT_USER*) printf '%s' "$FAKE_MINIO_USER" | base64 ;; *) printf '%s' "$FAKE_MINIO_PASSWORD" | base64 ;; esac ;;
      *) echo "$2" ;;
    esac ;;
esac
exit 0
`;

function fakeCluster(name: string, client = "oc") {
  const dir = path.join(work, name);
  const bin = toolsDir(`${name}-bin`);
  spawnSync("mkdir", ["-p", dir]);
  writeFileSync(path.join(bin, client), FAKE_CLIENT);
  chmodSync(path.join(bin, client), 0o755);
  symlinkSync(spawnSync("bash", ["-c", "command -v grep"], { encoding: "utf8" }).stdout.trim(), path.join(bin, "grep"));
  symlinkSync(spawnSync("bash", ["-c", "command -v ls"], { encoding: "utf8" }).stdout.trim(), path.join(bin, "ls"));
  const log = path.join(dir, "calls.log");
  return {
    run(args: string[], env: Record<string, string> = {}) {
      writeFileSync(log, "");
      for (const f of readdirSync(dir)) if (f.startsWith("apply-")) rmSync(path.join(dir, f));
      const r = setup(args, { FAKE_LOG: log, FAKE_DIR: dir, FAKE_APIS: "datasciencepipelinesapplications.opendatahub.io kubeflow.org", ...env }, bin);
      const applied = readdirSync(dir)
        .filter((f) => f.startsWith("apply-"))
        .sort((a, b) => parseInt(a.slice(6)) - parseInt(b.slice(6)))
        .map((f) => documents(readFileSync(path.join(dir, f), "utf8")));
      return { ...r, calls: readFileSync(log, "utf8").trim().split("\n"), applied };
    },
  };
}

const APPLY = "apply --server-side --field-manager=diffusion-workbench-setup --force-conflicts -f -";
const DSPA_RESOURCE = "datasciencepipelinesapplications.datasciencepipelinesapplications.opendatahub.io/dspa";

describe("setup.sh against a cluster (a fake oc that records its calls)", () => {
  const cluster = fakeCluster("oc");
  const first = cluster.run(["--namespace", NS, "--timeout", "120"]);

  it("checks the login and rights, applies each step with server-side apply and waits for it, in order", () => {
    expect(first.status, first.stderr).toBe(0);
    expect(first.calls).toEqual([
      "whoami",
      `auth can-i create deployments.apps -n ${NS}`,
      `get secret minio-credentials -n ${NS} -o jsonpath={.data.MINIO_ROOT_USER}`,
      `get secret minio-credentials -n ${NS} -o jsonpath={.data.MINIO_ROOT_PASSWORD}`,
      `get namespace ${NS} -o jsonpath={.metadata.labels.opendatahub\\.io/dashboard}`,
      `get project ${NS} -o jsonpath={.metadata.labels.opendatahub\\.io/dashboard}`,
      APPLY,
      APPLY,
      `rollout status deployment/minio -n ${NS} --timeout=120s`,
      APPLY,
      `delete job create-buckets -n ${NS} --ignore-not-found --wait=true`,
      APPLY,
      `wait --for=condition=complete job/create-buckets -n ${NS} --timeout=120s`,
      "api-resources --api-group=datasciencepipelinesapplications.opendatahub.io -o name",
      APPLY,
      `wait --for=condition=Ready ${DSPA_RESOURCE} -n ${NS} --timeout=120s`,
      "api-resources --api-group=kubeflow.org -o name",
      APPLY,
      `get statefulset/typescript-workbench -n ${NS} -o name`,
      `rollout status statefulset/typescript-workbench -n ${NS} --timeout=120s`,
    ]);
    expect(first.applied.map(ids)).toEqual([EXPECTED.slice(0, 1), EXPECTED.slice(1, 5), EXPECTED.slice(5, 7), EXPECTED.slice(7, 8), EXPECTED.slice(8, 9), EXPECTED.slice(9)]);
    expect(first.calls.some((c) => /^(create|replace|patch)\b/.test(c))).toBe(false);
    expect(first.stderr).toContain("==> logged in as developer");
    expect(first.stderr).toContain("waiting up to 120s for deployment/minio to be ready");
  });

  it("runs again to the same objects: keeps the MinIO credentials and skips the namespace that is now a project", () => {
    const creds = first.applied[1][0].stringData;
    const second = cluster.run(["--namespace", NS, "--timeout", "120"], { FAKE_MINIO_USER: creds.MINIO_ROOT_USER, FAKE_MINIO_PASSWORD: creds.MINIO_ROOT_PASSWORD, FAKE_NS_LABEL: "true" });
    expect(second.status, second.stderr).toBe(0);
    expect(second.stderr).toContain("keeping the credentials in secret/minio-credentials");
    expect(second.stderr).toContain(`namespace/${NS} is already a data science project`);
    const namespaceApply = first.calls.indexOf(APPLY);
    expect(second.calls).toEqual(first.calls.filter((c, i) => !c.startsWith("get project") && i !== namespaceApply));
    expect(second.applied).toEqual(first.applied.slice(1));
  });

  it("skips the pipeline server and the workbench, saying why, when the cluster lacks their APIs", () => {
    const r = cluster.run(["--namespace", NS], { FAKE_APIS: "" });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain("pipeline server: skipped, the cluster has no DataSciencePipelinesApplication API");
    expect(r.stderr).toContain("workbench: skipped, the cluster has no Notebook API");
    expect(r.applied.flatMap(ids)).toEqual(EXPECTED.slice(0, 8));
  });
});

describe("setup.sh with kubectl", () => {
  it("uses kubectl when there is no oc, without oc's whoami", () => {
    const r = fakeCluster("kubectl", "kubectl").run(["--namespace", NS, "--skip-pipelines", "--skip-workbench"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.calls[0]).toBe(`auth can-i create deployments.apps -n ${NS}`);
    expect(r.calls).not.toContain("whoami");
  });

  it("says what is missing when neither client is on PATH", () => {
    const r = setup(["--namespace", NS]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("neither oc nor kubectl is on PATH");
  });
});

describe("the workbench image's start script", () => {
  it("starts JupyterLab with the Notebook CR's NOTEBOOK_ARGS, quotes evaluated as the ODH images do", () => {
    const bin = toolsDir("jupyter-bin");
    for (const tool of ["mkdir", "cp"]) symlinkSync(spawnSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim(), path.join(bin, tool));
    writeFileSync(path.join(bin, "jupyter"), '#!/usr/bin/env bash\nprintf "%s\\n" "$@"\n');
    chmodSync(path.join(bin, "jupyter"), 0o755);
    const nb = notebook({ namespace: NS, name: "ts-bench", image: "quay.io/org/wb:1.0" });
    const args = nb.spec.template.spec.containers[0].env!.find((e) => e.name === "NOTEBOOK_ARGS")!.value!;
    const r = spawnSync(path.join(bin, "bash"), [path.join(repoRoot, "setup/workbench/start-notebook.sh")], {
      encoding: "utf8",
      env: { PATH: bin, HOME: path.join(work, "home"), NOTEBOOK_ARGS: args },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual([
      "lab",
      "--ServerApp.ip=0.0.0.0",
      "--ServerApp.allow_origin=*",
      "--ServerApp.open_browser=False",
      `--ServerApp.root_dir=${path.join(work, "home")}`,
      "--ServerApp.port=8888",
      "--ServerApp.token=",
      "--ServerApp.password=",
      "--ServerApp.base_url=/notebook/my-project/ts-bench",
      "--ServerApp.quit_button=False",
    ]);
  });
});

describe("the YAML the project ships", () => {
  it("parses: every file under setup/ and serving/", () => {
    const files = spawnSync("bash", ["-c", "cd \"$0\" && find setup serving -name '*.yaml' -o -name '*.yml' | sort", repoRoot], { encoding: "utf8" }).stdout.trim().split("\n");
    expect(files.length).toBeGreaterThanOrEqual(11);
    for (const f of files) {
      for (const d of parseAllDocuments(readFileSync(path.join(repoRoot, f), "utf8"))) {
        expect(d.errors, f).toEqual([]);
        const obj = d.toJS();
        if (obj !== null) expect(Object.keys(obj).slice(0, 3), f).toEqual(["apiVersion", "kind", "metadata"]);
      }
    }
  });

  it("setup/manifests uses only the placeholders setup.sh fills", () => {
    const script = readFileSync(path.join(repoRoot, "setup.sh"), "utf8");
    const declared = script.match(/^VARIABLES=\(([^)]*)\)/m)![1].split(/\s+/).filter(Boolean);
    const dir = path.join(repoRoot, "setup", "manifests");
    const used = new Set(readdirSync(dir).flatMap((f) => [...readFileSync(path.join(dir, f), "utf8").matchAll(/\$\{([A-Z_0-9]+)\}/g)].map((m) => m[1])));
    expect([...used].sort()).toEqual([...declared].sort());
  });
});
if (!hasSchemas) console.log(SKIP_SCHEMAS_MESSAGE);
