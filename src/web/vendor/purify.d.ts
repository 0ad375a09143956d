/** /vendor/purify.js is node_modules/dompurify/dist/purify.es.mjs: its package's types. */
export { default } from "dompurify";
