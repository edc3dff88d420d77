import { defineConfig } from 'tsup';
import { packageBuild } from '../../tools/config/tsup.preset';

export default defineConfig(packageBuild());
