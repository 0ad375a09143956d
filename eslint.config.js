// Lint: the recommended rules of eslint and typescript-eslint, type-aware where it pays.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import { layersPlugin } from "./eslint/layers.js";

export default tseslint.config(
  { ignores: ["node_modules/**", "coverage/**", "test-artifacts/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        Buffer: "readonly",
        URL: "readonly",
        setImmediate: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-control-regex": "off",
    },
  },
  // The layer table of ARCHITECTURE.md ("Who may import whom"), as data in eslint/layers.js.
  { files: ["src/**/*.ts"], plugins: { pincer: layersPlugin }, rules: { "pincer/layers": "error" } },
  // WebChat runs in the browser: its modules see the page's globals, not Node's.
  {
    files: ["src/web/**/*.js"],
    languageOptions: {
      globals: {
        document: "readonly",
        window: "readonly",
        location: "readonly",
        fetch: "readonly",
        WebSocket: "readonly",
        localStorage: "readonly",
        crypto: "readonly",
        HTMLElement: "readonly",
      },
    },
  },
);
