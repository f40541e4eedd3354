#!/usr/bin/env node
/** The `zkwire` bin: runs the command line and exits with its status (see run.ts). */
import { main } from "./run.js";

process.exitCode = await main(process.argv.slice(2));
