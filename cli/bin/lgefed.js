#!/usr/bin/env node
// Thin launcher: the CLI is TypeScript compiled to cli/dist (run `npm run build` once).
import { main } from '../dist/main.js';

process.exitCode = await main(process.argv.slice(2));
