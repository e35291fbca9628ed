import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "coverage/**", "**/*.js", "**/*.mjs"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/explicit-function-return-type": ["error", { allowExpressions: true }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "max-params": ["error", 5],
      "no-restricted-syntax": [
        "error",
        { selector: "MemberExpression[object.name='process'][property.name='env']", message: "only main.ts / test setup reads process.env" },
        { selector: "CallExpression[callee.object.name='process'][callee.property.name='exit']", message: "only main.ts exits" },
      ],
    },
  },
  {
    // The pure core: no I/O, no clock, no env.
    files: ["model/src/**/*.ts", "frr-templates/src/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: {
      "@typescript-eslint/no-restricted-imports": ["error", {
        paths: [
          ...["fs", "fs/promises", "net", "dgram", "child_process", "os", "http", "https", "prom-client", "chokidar"].map((name) => ({ name, message: "pure core: no I/O" })),
          { name: "@kubernetes/client-node", allowTypeImports: true, message: "types only in the pure core" },
        ],
        patterns: [{ group: ["node:*"], message: "pure core: no I/O" }],
      }],
    },
  },
  {
    // Entry points, test environment helpers and tests may read env and exit.
    files: ["**/main.ts", "demo/**/*.ts", "testenv/**/*.ts", "**/*.test.ts", "bench/**/*.ts", "cli/**/*.ts", "tools/**/*.ts"],
    rules: { "no-restricted-syntax": "off" },
  },
);
