import { packageTests } from '../../tools/config/vitest.preset.ts';

export default packageTests;
