import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { ConfigError } from '@quarry/core';
import { parse as parseYaml } from 'yaml';

/**
 * Reads a YAML (.yaml/.yml) or JSON file into a plain value, for a caller to validate
 * with its zod schema. A missing or unparsable file is a ConfigError naming the file.
 */
export function readConfigFile(file: string, what = 'config file'): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`Could not read ${what} ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}.`);
  }
  try {
    return ['.yaml', '.yml'].includes(extname(file).toLowerCase()) ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`Could not parse ${what} ${file}: ${(error as Error).message}`);
  }
}
