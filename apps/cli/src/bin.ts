#!/usr/bin/env node
import { main } from './main.js';

const controller = new AbortController();
process.once('SIGINT', () => controller.abort());
const code = await main(process.argv.slice(2), { out: (l) => console.log(l), err: (l) => console.error(l), signal: controller.signal });
process.exitCode = code;
