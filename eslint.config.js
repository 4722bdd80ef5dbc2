import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", ".reports/", "coverage/"] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      // `() => void x()` callbacks read fine; the rule only adds braces.
      "@typescript-eslint/no-confusing-void-expression": "off",
      // Only src/kube may talk to the Kubernetes client library (architecture note, section 3).
      "no-restricted-imports": [
        "error",
        { paths: [{ name: "@kubernetes/client-node", message: "Import it only in src/kube." }] },
      ],
    },
  },
  {
    files: ["src/kube/**/*.ts"],
    rules: {
      "no-restricted-imports": "off",
      // The client's model classes are plain interfaces at runtime; literals are what it expects.
      "@typescript-eslint/no-unsafe-class-instance-assignment": "off",
    },
  },
  {
    files: ["eslint.config.js", ".ci/**/*.mjs", "bin/*.js"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { console: "readonly", process: "readonly" },
    },
  },
);
