// Vitest's v8 coverage provider, also counting the production build the HTTP tests load.
//
// tests/support/app.ts imports build/server/index.js into the test process, so the routes, route
// helpers and domain code those tests exercise run from the bundle, not from app/. V8 records
// that coverage; the stock provider drops it because build/ is outside `coverage.include`. This
// provider lets the bundle through and converts it like any module vitest ran: vitest's runner
// loaded it through Vite, whose transform chains the bundle's own source map (vite.config.ts
// emits it for the server build), so it maps onto the app/ files it came from. Its hits are then
// added to those files' own statements, branches and functions: the structure (the denominators)
// stays the stock one, only code that ran counts as covered.
// docs/decisions/0027-coverage-of-the-build.md.
import { existsSync, promises as fs } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import v8Runtime from "@vitest/coverage-v8";
import { V8CoverageProvider } from "@vitest/coverage-v8/dist/provider.js";
import { foldHits } from "./fold-hits.mjs";

const BUILD_DIR = `${path.resolve(import.meta.dirname, "../../build")}/`;
const isBuildFile = (filename) => filename.startsWith(BUILD_DIR) && filename.endsWith(".js");
const isBuildScript = (script) => script.url.startsWith("file://") && isBuildFile(fileURLToPath(script.url));

/** What the stock provider would report, per file (json-summary's shape), to show what the build adds. */
async function writeSummary(coverageMap, file) {
  const summary = {};
  for (const filename of coverageMap.files()) summary[filename] = coverageMap.fileCoverageFor(filename).toSummary().toJSON();
  await fs.writeFile(file, JSON.stringify(summary));
}

class BuildAwareV8CoverageProvider extends V8CoverageProvider {
  fromBuild = this.createCoverageMap();

  // Lets the build's scripts through the first filter of convertCoverage.
  isIncluded(filename, root) {
    return isBuildFile(filename) || super.isIncluded(filename, root);
  }

  async convertCoverage(coverage, project, environment) {
    const built = coverage.result.filter(isBuildScript);
    if (built.length > 0) {
      this.fromBuild.merge(await super.convertCoverage({ ...coverage, result: built }, project, environment));
    }
    const sources = coverage.result.filter((script) => !isBuildScript(script));
    return super.convertCoverage({ ...coverage, result: sources }, project, environment);
  }

  async generateCoverage(context) {
    const coverageMap = await super.generateCoverage(context);
    const fromBuild = this.fromBuild;
    this.fromBuild = this.createCoverageMap();
    await writeSummary(coverageMap, path.join(this.options.reportsDirectory, "coverage-without-build.json"));
    const transform = this.createUncoveredFileTransformer(this.ctx);
    for (const filename of fromBuild.files()) {
      if (isBuildFile(filename) || !existsSync(filename) || !super.isIncluded(filename)) continue;
      if (!coverageMap.files().includes(filename)) {
        // Reached only through the build in this run: give it its source's structure first.
        const url = pathToFileURL(filename).href;
        coverageMap.merge(await this.remapCoverage(url, 0, await this.getSources(url, transform), []));
      }
      foldHits(coverageMap.fileCoverageFor(filename), fromBuild.fileCoverageFor(filename));
    }
    return coverageMap;
  }
}

export default {
  ...v8Runtime,
  getProvider: () => new BuildAwareV8CoverageProvider(),
};
