#!/usr/bin/env node
// Entry point of the `pincer` command. Node 24 runs the TypeScript sources directly (type stripping),
// so there is no build step between a checkout and a running CLI.
import { runCli } from "../src/cli/main.ts";

process.exitCode = await runCli(process.argv);
