/** /vendor/marked.js is node_modules/marked/lib/marked.esm.js: its package's types. */
export * from "marked";
