#!/usr/bin/env node
import { runServeCommand } from './command.js';

const controller = new AbortController();
process.once('SIGINT', () => controller.abort());
process.once('SIGTERM', () => controller.abort());
process.exitCode = await runServeCommand(process.argv.slice(2), { out: (l) => console.log(l), err: (l) => console.error(l), signal: controller.signal });
