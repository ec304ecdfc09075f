// The layer check (`npm run lint:layers`). Layers, top to bottom; a module may import its own
// layer and any layer below it, never one above:
//
//   host        server.ts, app/server/ (Express, tus, Socket.IO, security middleware),
//               app/entry.server.tsx (the build's entry, which hands server.ts its runtime)
//   routes      app/routes/, app/root.tsx, app/route-helpers/ (loaders, actions and responses
//               shared by several routes)
//   components  app/components/: imported only by routes and other components
//   domain      app/domain/: no @remix-run/* (no HTTP here)
//   services    app/services/ (drivers)
//   config      app/config.server.ts
//
//   lib         app/lib/: shared helpers any layer may use; lib itself must not import
//               host, routes, components or domain.
//
// Also: no circular imports anywhere, and no Prisma (~/generated/prisma, @prisma/*) in routes;
// routes reach the database through domain. Type-only imports count: they couple modules too.
//
// KNOWN VIOLATIONS: .dependency-cruiser-known-violations.json lists the violations that existed
// when this check was introduced; `npm run lint:layers` (scripts/check-layers.mjs) fails on any
// violation not in it, and on any entry in it that no longer occurs. The baseline must only
// SHRINK: when you remove a violation, run `npm run lint:layers:shrink` (it only ever drops fixed
// entries) and commit the smaller file. Never add an entry to make a new violation pass. Entries
// name paths, so after moving modules run `npm run lint:layers:rebaseline`: it rewrites the file
// but refuses when any rule would count more violations than before.

const any = (...patterns) => patterns.map((p) => `(?:${p})`).join("|");

const HOST = "^(server\\.ts|app/server/|app/entry\\.server\\.tsx)";
const ROUTE_MODULES = "^(app/routes/|app/root\\.tsx)";
const ROUTE_HELPERS = "^app/route-helpers/";
const ROUTES = any(ROUTE_MODULES, ROUTE_HELPERS);
const COMPONENTS = "^app/components/";
const DOMAIN = "^app/domain/";
const SERVICES = "^app/services/";
const CONFIG = "^app/config\\.server\\.ts$";
const LIB = "^app/lib/";

const PRISMA = "^(app/generated/prisma/|node_modules/@prisma/|node_modules/\\.prisma/)";
const REMIX = "^node_modules/@remix-run/";

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "Modules must not import each other in a circle, however long.",
      from: {},
      to: { circular: true },
    },
    {
      name: "routes-not-up",
      severity: "error",
      comment: "Routes may not import the HTTP host (server.ts, app/server, entry.server).",
      from: { path: ROUTES },
      to: { path: HOST },
    },
    {
      name: "components-not-up",
      severity: "error",
      comment: "Components may not import routes or the host.",
      from: { path: COMPONENTS },
      to: { path: any(HOST, ROUTE_MODULES) },
    },
    {
      name: "components-take-only-types-from-route-helpers",
      severity: "error",
      comment: "A page component may read the types of a shared loader or action (useLoaderData<typeof folderLoader>); nothing else.",
      from: { path: COMPONENTS },
      to: { path: ROUTE_HELPERS, dependencyTypesNot: ["type-only"] },
    },
    {
      name: "components-only-from-routes",
      severity: "error",
      comment: "Components are used only by routes and other components.",
      from: { pathNot: any(ROUTES, COMPONENTS) },
      to: { path: COMPONENTS },
    },
    {
      name: "domain-not-up",
      severity: "error",
      comment: "Domain may not import routes, components or the host.",
      from: { path: DOMAIN },
      to: { path: any(HOST, ROUTES, COMPONENTS) },
    },
    {
      name: "services-not-up",
      severity: "error",
      comment: "Services (drivers) may not import domain, routes, components or the host.",
      from: { path: SERVICES },
      to: { path: any(HOST, ROUTES, COMPONENTS, DOMAIN) },
    },
    {
      name: "config-not-up",
      severity: "error",
      comment: "Configuration is the bottom layer: it may use only lib and packages.",
      from: { path: CONFIG },
      to: { path: any(HOST, ROUTES, COMPONENTS, DOMAIN, SERVICES) },
    },
    {
      name: "lib-is-shared",
      severity: "error",
      comment: "lib holds helpers every layer may use, so it may not import host, routes, components or domain.",
      from: { path: LIB },
      to: { path: any(HOST, ROUTES, COMPONENTS, DOMAIN) },
    },
    {
      name: "no-remix-in-domain",
      severity: "error",
      comment: "Domain knows no HTTP framework: redirects, cookies and Responses belong to routes and lib.",
      from: { path: DOMAIN },
      to: { path: REMIX },
    },
    {
      name: "no-prisma-in-routes",
      severity: "error",
      comment: "Routes reach the database through domain, not Prisma (services.prisma is not visible here).",
      from: { path: ROUTES },
      to: { path: PRISMA },
    },
  ],
  options: {
    // Tests beside their module may import anything a test needs.
    exclude: { path: "\\.test\\.tsx?$" },
    doNotFollow: { path: ["node_modules", "^app/generated/"] },
    // Count `import type` too: a type-only import still ties one module to another.
    tsPreCompilationDeps: true,
    // Resolves the `~/` alias.
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      extensions: [".ts", ".tsx", ".d.ts", ".js", ".jsx", ".mjs", ".cjs", ".json"],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
