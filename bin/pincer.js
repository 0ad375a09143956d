#!/usr/bin/env node
// Entry point of the `pincer` command. Node 24 runs the TypeScript sources directly (type
// stripping); the compile cache keeps the stripped, compiled modules so that later starts skip
// that work (it halves start-up time).
import module from "node:module";

module.enableCompileCache?.();
const { runCli } = await import("../src/cli/main.ts");
process.exitCode = await runCli(process.argv);
