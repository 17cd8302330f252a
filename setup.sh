#!/usr/bin/env bash
# Sets up an OpenShift AI data science project for diffusion-workbench: the project (namespace),
# MinIO object storage for development, the buckets, the two S3 data connections, the pipeline
# server (DSPA) and a TypeScript workbench. Applies the YAML in setup/manifests/ with server-side
# apply, so running it again converges instead of failing; waits for each step.
#
# Needs only bash and oc or kubectl (no Node.js): the manifests are plain YAML with ${NAME}
# placeholders that this script fills in.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MANIFESTS="$HERE/setup/manifests"
FIELD_MANAGER=diffusion-workbench-setup

usage() {
  cat <<'USAGE'
Usage: setup.sh [options]

  --namespace NAME         the data science project to create or complete (default: diffusion-workbench)
  --dry-run                print every object as YAML and apply nothing (needs no cluster or oc/kubectl)
  --workbench-image IMAGE  the workbench image (setup/workbench/Containerfile); default: the project's
                           internal registry, image-registry.openshift-image-registry.svc:5000/<namespace>/diffusion-workbench-workbench:0.1.0
  --workbench-name NAME    the workbench's name (default: typescript-workbench)
  --skip-minio             use an existing S3 instead of MinIO: set S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY
  --skip-buckets           do not run the Job that creates the buckets models and pipeline-artifacts
  --skip-pipelines         no pipeline server (DSPA)
  --skip-workbench         no workbench
  --timeout SECONDS        how long to wait for each step (default: 600)
  -h, --help               this text

Environment: KUBECTL (the client to use; default oc, else kubectl), S3_ENDPOINT, S3_ACCESS_KEY,
S3_SECRET_KEY, S3_REGION (default us-east-1), MINIO_STORAGE_SIZE (default 20Gi),
WORKBENCH_STORAGE_SIZE (default 20Gi). Without S3_ACCESS_KEY/S3_SECRET_KEY the MinIO credentials
already in the project are kept, or new random ones are generated.
USAGE
}

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'setup.sh: %s\n' "$*" >&2; exit 1; }

NAMESPACE=diffusion-workbench
DRY_RUN=false
SKIP_MINIO=false
SKIP_BUCKETS=false
SKIP_PIPELINES=false
SKIP_WORKBENCH=false
TIMEOUT=600
WORKBENCH_NAME=typescript-workbench
WORKBENCH_IMAGE=""
while [ $# -gt 0 ]; do
  case "$1" in
    --namespace) [ $# -ge 2 ] || die "--namespace needs a value"; NAMESPACE=$2; shift 2 ;;
    --namespace=*) NAMESPACE=${1#*=}; shift ;;
    --workbench-image) [ $# -ge 2 ] || die "--workbench-image needs a value"; WORKBENCH_IMAGE=$2; shift 2 ;;
    --workbench-image=*) WORKBENCH_IMAGE=${1#*=}; shift ;;
    --workbench-name) [ $# -ge 2 ] || die "--workbench-name needs a value"; WORKBENCH_NAME=$2; shift 2 ;;
    --workbench-name=*) WORKBENCH_NAME=${1#*=}; shift ;;
    --timeout) [ $# -ge 2 ] || die "--timeout needs a value"; TIMEOUT=$2; shift 2 ;;
    --timeout=*) TIMEOUT=${1#*=}; shift ;;
    --dry-run) DRY_RUN=true; shift ;;
    --skip-minio) SKIP_MINIO=true; shift ;;
    --skip-buckets) SKIP_BUCKETS=true; shift ;;
    --skip-pipelines) SKIP_PIPELINES=true; shift ;;
    --skip-workbench) SKIP_WORKBENCH=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option '$1'" ;;
  esac
done

# --- Values, checked before they land in YAML ------------------------------------------------
# Names start with a letter: an all-digit name would read as a number in YAML.
NAME_RE='^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$'
[[ $NAMESPACE =~ $NAME_RE ]] || die "--namespace: '$NAMESPACE' is not a DNS label (lower-case letters, digits, '-', starting with a letter, at most 63)"
[[ $WORKBENCH_NAME =~ $NAME_RE ]] || die "--workbench-name: '$WORKBENCH_NAME' is not a DNS label"
[[ $TIMEOUT =~ ^[0-9]+$ ]] || die "--timeout: '$TIMEOUT' is not a number of seconds"
WORKBENCH_IMAGE=${WORKBENCH_IMAGE:-image-registry.openshift-image-registry.svc:5000/$NAMESPACE/diffusion-workbench-workbench:0.1.0}
[[ $WORKBENCH_IMAGE =~ ^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(:[A-Za-z0-9_.-]+|@sha256:[0-9a-f]{64})$ ]] \
  || die "--workbench-image: '$WORKBENCH_IMAGE' is not registry/repository:tag or @sha256:digest"
MINIO_STORAGE_SIZE=${MINIO_STORAGE_SIZE:-20Gi}
WORKBENCH_STORAGE_SIZE=${WORKBENCH_STORAGE_SIZE:-20Gi}
QUANTITY_RE='^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$'
[[ $MINIO_STORAGE_SIZE =~ $QUANTITY_RE ]] || die "MINIO_STORAGE_SIZE: '$MINIO_STORAGE_SIZE' is not a quantity such as 20Gi"
[[ $WORKBENCH_STORAGE_SIZE =~ $QUANTITY_RE ]] || die "WORKBENCH_STORAGE_SIZE: '$WORKBENCH_STORAGE_SIZE' is not a quantity such as 20Gi"
S3_REGION=${S3_REGION:-us-east-1}
if $SKIP_MINIO; then
  [ -n "${S3_ENDPOINT:-}" ] || die "--skip-minio: set S3_ENDPOINT (e.g. https://s3.example.com) and S3_ACCESS_KEY, S3_SECRET_KEY"
  if [ -z "${S3_ACCESS_KEY:-}" ] || [ -z "${S3_SECRET_KEY:-}" ]; then die "--skip-minio: set S3_ACCESS_KEY and S3_SECRET_KEY"; fi
else
  S3_ENDPOINT="http://minio.$NAMESPACE.svc.cluster.local:9000"
fi
[[ $S3_ENDPOINT =~ ^(https?)://([a-zA-Z0-9.-]+)(:([0-9]+))?/?$ ]] || die "S3_ENDPOINT: '$S3_ENDPOINT' is not http(s)://host[:port]"
S3_SCHEME=${BASH_REMATCH[1]}
S3_HOST=${BASH_REMATCH[2]}
S3_PORT=${BASH_REMATCH[4]}
# S3_SECURE and the other template variables are read through ${!name} in render.
# shellcheck disable=SC2034
if [ "$S3_SCHEME" = https ]; then S3_SECURE=true; S3_PORT=${S3_PORT:-443}; else S3_SECURE=false; S3_PORT=${S3_PORT:-80}; fi
S3_ENDPOINT="$S3_SCHEME://$S3_HOST:$S3_PORT"
[[ $S3_REGION =~ ^[a-z0-9-]+$ ]] || die "S3_REGION: '$S3_REGION' is not a region name"

# --- The client and the cluster --------------------------------------------------------------
K=()
if ! $DRY_RUN; then
  if [ -n "${KUBECTL:-}" ]; then
    command -v "$KUBECTL" >/dev/null || die "KUBECTL=$KUBECTL is not on PATH"
    K=("$KUBECTL")
  elif command -v oc >/dev/null; then
    K=(oc)
  elif command -v kubectl >/dev/null; then
    K=(kubectl)
  else
    die "neither oc nor kubectl is on PATH (install one, or set KUBECTL); --dry-run needs neither"
  fi
  for tool in base64 od tr; do command -v "$tool" >/dev/null || die "'$tool' is required"; done
  if [ "$(basename "${K[0]}")" = oc ]; then
    user=$("${K[@]}" whoami 2>/dev/null) || die "not logged in: run 'oc login' first"
    say "logged in as $user"
  fi
  "${K[@]}" auth can-i create deployments.apps -n "$NAMESPACE" >/dev/null 2>&1 \
    || die "cannot create Deployments in '$NAMESPACE': log in, check that the cluster answers, and if you may not create namespaces, create the project first (OpenShift AI dashboard: Data science projects, Create) and run again"
fi

# A group's resources as discovery lists them (allowed for any user, unlike reading CRDs).
has_api() { [ -n "$("${K[@]}" api-resources --api-group="$1" -o name 2>/dev/null)" ]; }

# --- Rendering -------------------------------------------------------------------------------
VARIABLES=(NAMESPACE S3_ACCESS_KEY S3_SECRET_KEY S3_ENDPOINT S3_HOST S3_PORT S3_SCHEME S3_SECURE S3_REGION
  MINIO_STORAGE_SIZE WORKBENCH_NAME WORKBENCH_IMAGE WORKBENCH_STORAGE_SIZE)

# Fill ${NAME} placeholders with the variables above; any other placeholder is an error.
render() {
  local text name
  text=$(<"$MANIFESTS/$1")
  # Bash >= 5.2 would read '&' in a replacement as the matched text: credentials may contain one.
  shopt -u patsub_replacement 2>/dev/null || true
  for name in "${VARIABLES[@]}"; do text=${text//"\${$name}"/"${!name-}"}; done
  if [[ $text =~ \$\{[A-Z_][A-Z0-9_]*\} ]]; then die "$1: unknown placeholder ${BASH_REMATCH[0]}"; fi
  printf '%s\n' "$text"
}

apply() {
  if $DRY_RUN; then
    printf -- '---\n# %s\n' "$1"
    render "$1"
  else
    # --force-conflicts: the script owns the fields it sets, also after someone changed them by hand.
    render "$1" | "${K[@]}" apply --server-side --field-manager="$FIELD_MANAGER" --force-conflicts -f - >&2
  fi
}

run() { if $DRY_RUN; then printf '# would run: %s\n' "$*" >&2; else "${K[@]}" "$@" >&2; fi; }

# Wait until an object exists (controllers create some a moment after their owner).
wait_exists() {
  $DRY_RUN && return 0
  local deadline=$((SECONDS + TIMEOUT))
  until "${K[@]}" get "$1" -n "$NAMESPACE" -o name >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "$1 did not appear within ${TIMEOUT}s"
    sleep 5
  done
}

# --- Credentials: given, kept from a previous run, or new -------------------------------------
secret_value() {
  local v
  v=$("${K[@]}" get secret minio-credentials -n "$NAMESPACE" -o "jsonpath={.data.$1}" 2>/dev/null) || return 0
  [ -z "$v" ] || printf '%s' "$v" | base64 -d
}
random_key() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
if ! $SKIP_MINIO && { [ -z "${S3_ACCESS_KEY:-}" ] || [ -z "${S3_SECRET_KEY:-}" ]; }; then
  if ! $DRY_RUN; then
    S3_ACCESS_KEY=$(secret_value MINIO_ROOT_USER)
    S3_SECRET_KEY=$(secret_value MINIO_ROOT_PASSWORD)
  fi
  if [ -n "${S3_ACCESS_KEY:-}" ] && [ -n "${S3_SECRET_KEY:-}" ]; then
    say "MinIO: keeping the credentials in secret/minio-credentials"
  else
    S3_ACCESS_KEY="minio-$(random_key 4)"
    S3_SECRET_KEY=$(random_key 20)
  fi
fi
# They go into double-quoted YAML strings: no quotes, backslashes, '$' or blanks.
for v in S3_ACCESS_KEY S3_SECRET_KEY; do
  [[ ${!v} =~ ^[[:graph:]]+$ && ${!v} != *[\"\\\$]* ]] || die "$v: printable characters other than \" \\ \$ and blanks are accepted"
done

# The namespace's dashboard label; project members may read the Project when not the Namespace.
dashboard_label() {
  local path='jsonpath={.metadata.labels.opendatahub\.io/dashboard}'
  "${K[@]}" get namespace "$NAMESPACE" -o "$path" 2>/dev/null \
    || { [ "$(basename "${K[0]}")" = oc ] && "${K[@]}" get project "$NAMESPACE" -o "$path" 2>/dev/null; } \
    || true
}

# --- Steps -----------------------------------------------------------------------------------
say "project $NAMESPACE"
if ! $DRY_RUN && [ "$(dashboard_label)" = true ]; then
  say "namespace/$NAMESPACE is already a data science project"
else
  apply 00-namespace.yaml || die "could not create or label namespace/$NAMESPACE: create the project in the OpenShift AI dashboard (or ask an admin) and run again"
fi

if $SKIP_MINIO; then
  say "MinIO: skipped (--skip-minio), using $S3_ENDPOINT"
else
  say "MinIO: secret/minio-credentials, pvc/minio-data, deployment/minio, service/minio"
  apply 10-minio.yaml
  say "waiting up to ${TIMEOUT}s for deployment/minio to be ready"
  run rollout status deployment/minio -n "$NAMESPACE" --timeout="${TIMEOUT}s"
fi

say "data connections: secret/aws-connection-models, secret/aws-connection-pipeline-artifacts"
apply 20-data-connections.yaml

if $SKIP_BUCKETS; then
  say "buckets: skipped (--skip-buckets)"
else
  say "buckets models and pipeline-artifacts: job/create-buckets"
  run delete job create-buckets -n "$NAMESPACE" --ignore-not-found --wait=true
  apply 30-buckets.yaml
  say "waiting up to ${TIMEOUT}s for job/create-buckets to complete"
  run wait --for=condition=complete job/create-buckets -n "$NAMESPACE" --timeout="${TIMEOUT}s"
fi

if $SKIP_PIPELINES; then
  say "pipeline server: skipped (--skip-pipelines)"
elif ! $DRY_RUN && ! has_api datasciencepipelinesapplications.opendatahub.io; then
  say "pipeline server: skipped, the cluster has no DataSciencePipelinesApplication API (enable the datasciencepipelines component of OpenShift AI)"
else
  say "pipeline server: datasciencepipelinesapplication/dspa"
  apply 40-pipeline-server.yaml
  say "waiting up to ${TIMEOUT}s for the pipeline server to be Ready (its database and API server start)"
  run wait --for=condition=Ready datasciencepipelinesapplications.datasciencepipelinesapplications.opendatahub.io/dspa -n "$NAMESPACE" --timeout="${TIMEOUT}s"
fi

if $SKIP_WORKBENCH; then
  say "workbench: skipped (--skip-workbench)"
elif ! $DRY_RUN && ! has_api kubeflow.org; then
  say "workbench: skipped, the cluster has no Notebook API (enable the workbenches component of OpenShift AI)"
else
  say "workbench: pvc/$WORKBENCH_NAME, notebook/$WORKBENCH_NAME (image $WORKBENCH_IMAGE)"
  apply 50-workbench.yaml
  say "waiting up to ${TIMEOUT}s for the workbench to start (the image is pulled on first start)"
  wait_exists "statefulset/$WORKBENCH_NAME"
  run rollout status "statefulset/$WORKBENCH_NAME" -n "$NAMESPACE" --timeout="${TIMEOUT}s"
fi

if $DRY_RUN; then
  say "dry run: nothing was applied"
else
  say "done: open the project '$NAMESPACE' in the OpenShift AI dashboard"
fi
