// Five layers: unit (pure, seconds), integration (real kube-apiserver + etcd), images (the built images run by
// podman through testcontainers, root), e2e (network namespaces, root), cluster (a real node: kubelet on containerd,
// the project's images, the install files; root).
// The project is ESM ("type": "module"); jest runs under --experimental-vm-modules with ts-jest in ESM mode.
const tsTransform = {
  "^.+\\.ts$": ["ts-jest", { useESM: true, tsconfig: "tsconfig.json" }],
};
const common = {
  extensionsToTreatAsEsm: [".ts"],
  transform: tsTransform,
  moduleNameMapper: { "^(\\.{1,2}/.*)\\.js$": "$1" },
  testEnvironment: "node",
  roots: ["<rootDir>"],
  modulePathIgnorePatterns: ["<rootDir>/dist/"],
};

/** @type {import('jest').Config} */
export default {
  // Global (jest ignores testTimeout inside projects): generous for the integration and e2e layers; unit tests
  // finish in milliseconds anyway.
  testTimeout: 120_000,
  reporters: ["default", "<rootDir>/testenv/jest/summary-reporter.js"],
  projects: [
    {
      ...common,
      displayName: "unit",
      testMatch: ["**/*.test.ts"],
      testPathIgnorePatterns: ["/node_modules/", "/dist/", "\\.int\\.test\\.ts$", "\\.e2e\\.test\\.ts$", "\\.image\\.test\\.ts$", "\\.cluster\\.test\\.ts$"],
    },
    {
      ...common,
      displayName: "integration",
      testMatch: ["**/*.int.test.ts"],
      testPathIgnorePatterns: ["/node_modules/", "/dist/"],
      globalSetup: "<rootDir>/testenv/jest/integration-setup.js",
    },
    {
      ...common,
      displayName: "images",
      testMatch: ["**/*.image.test.ts"],
      testPathIgnorePatterns: ["/node_modules/", "/dist/"],
      globalSetup: "<rootDir>/testenv/jest/images-setup.js",
    },
    {
      ...common,
      displayName: "e2e",
      testMatch: ["**/*.e2e.test.ts"],
      testPathIgnorePatterns: ["/node_modules/", "/dist/"],
      globalSetup: "<rootDir>/testenv/jest/e2e-setup.js",
    },
    {
      ...common,
      displayName: "cluster",
      testMatch: ["**/*.cluster.test.ts"],
      testPathIgnorePatterns: ["/node_modules/", "/dist/"],
      globalSetup: "<rootDir>/testenv/jest/cluster-setup.js",
    },
  ],
};
