// `tsx tests/deploy/render-overlay.ts DIR`: prints what `kubectl kustomize DIR` would, for the
// stand-in kubectl of deploy-k8s.test.ts.
import YAML from "yaml";
import { kustomize } from "./kustomize";

process.stdout.write(
  kustomize(process.argv[2]!)
    .map((manifest) => YAML.stringify(manifest))
    .join("---\n"),
);
