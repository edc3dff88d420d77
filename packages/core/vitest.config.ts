import { packageTests } from '../../tools/config/vitest.preset';

export default packageTests;
