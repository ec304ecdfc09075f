// A small `kustomize build` for the features deploy/k8s uses, so the tests need no kubectl:
// `resources` (files and directories), strategic-merge `patches` (lists of objects merged by
// `name`, `null` deletes a field, `$patch: delete` deletes the object), `namespace` and `images`.
// Anything else in a kustomization.yaml is refused rather than ignored, so the manifests cannot
// start relying on a feature this renderer would silently get wrong.
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";

export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
};

type Kustomization = {
  resources?: string[];
  patches?: { path: string }[];
  namespace?: string;
  images?: { name: string; newName?: string; newTag?: string }[];
};

const SUPPORTED = new Set(["apiVersion", "kind", "resources", "patches", "namespace", "images"]);
const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass"]);

export function readManifests(file: string): Manifest[] {
  return YAML.parseAllDocuments(fs.readFileSync(file, "utf8"))
    .map((document) => {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]!.message}`);
      return document.toJS() as Manifest | null;
    })
    .filter((manifest): manifest is Manifest => manifest !== null);
}

export function kustomize(dir: string): Manifest[] {
  const file = path.join(dir, "kustomization.yaml");
  const kustomization = YAML.parse(fs.readFileSync(file, "utf8")) as Kustomization;
  for (const key of Object.keys(kustomization))
    if (!SUPPORTED.has(key)) throw new Error(`${file}: "${key}" is not supported by tests/deploy/kustomize.ts`);

  let manifests: Manifest[] = [];
  for (const resource of kustomization.resources ?? []) {
    const target = path.join(dir, resource);
    manifests.push(...(fs.statSync(target).isDirectory() ? kustomize(target) : readManifests(target)));
  }
  for (const patch of kustomization.patches ?? []) {
    for (const change of readManifests(path.join(dir, patch.path))) manifests = applyPatch(manifests, change, file);
  }
  if (kustomization.namespace) {
    for (const manifest of manifests) if (!CLUSTER_SCOPED.has(manifest.kind)) manifest.metadata.namespace = kustomization.namespace;
  }
  for (const image of kustomization.images ?? []) setImage(manifests, image);
  return manifests;
}

function applyPatch(manifests: Manifest[], change: Manifest, file: string): Manifest[] {
  const index = manifests.findIndex((manifest) => manifest.kind === change.kind && manifest.metadata.name === change.metadata.name);
  if (index < 0) throw new Error(`${file}: the patch of ${change.kind}/${change.metadata.name} matches nothing`);
  if (change.$patch === "delete") return manifests.filter((_, i) => i !== index);
  manifests[index] = merge(manifests[index], change) as Manifest;
  return manifests;
}

type Value = unknown;
const isObject = (value: Value): value is Record<string, Value> => typeof value === "object" && value !== null && !Array.isArray(value);
const isNamedList = (value: Value): value is Record<string, Value>[] =>
  Array.isArray(value) && value.every((item) => isObject(item) && typeof item.name === "string");

/** Strategic merge as Kubernetes does it for the fields used here (containers, volumes, env, ports…). */
export function merge(base: Value, patch: Value): Value {
  if (isObject(base) && isObject(patch)) {
    const result: Record<string, Value> = { ...base };
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete result[key];
      else result[key] = key in base ? merge(base[key], value) : stripNulls(value);
    }
    return result;
  }
  if (isNamedList(base) && isNamedList(patch)) {
    const result = base.map((item) => {
      const change = patch.find((candidate) => candidate.name === item.name);
      return change ? merge(item, change) : item;
    });
    for (const item of patch)
      if (!base.some((candidate) => candidate.name === item.name)) result.push(stripNulls(item) as Record<string, Value>);
    return result;
  }
  return stripNulls(patch);
}

function stripNulls(value: Value): Value {
  if (Array.isArray(value)) return value.map(stripNulls);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [k, stripNulls(v)]),
  );
}

function setImage(manifests: Manifest[], image: { name: string; newName?: string; newTag?: string }) {
  for (const manifest of manifests) {
    const spec = (manifest.spec as { template?: { spec?: PodSpec } } | undefined)?.template?.spec;
    for (const container of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])]) {
      const [name, tag] = container.image.split(":");
      if (name !== image.name) continue;
      const newTag = image.newTag ?? tag;
      container.image = `${image.newName ?? name}${newTag ? `:${newTag}` : ""}`;
    }
  }
}

type PodSpec = { containers?: { image: string }[]; initContainers?: { image: string }[] };
