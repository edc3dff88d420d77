import * as hnswlibNamespace from 'hnswlib-node';

// hnswlib-node is a CommonJS native addon whose exports Node's ESM loader cannot
// detect by name, so `import { HierarchicalNSW }` fails at run time under ESM. The
// namespace's `default` is `module.exports` under ESM; the CJS build gets the
// exports directly. Either way this yields the real constructor.
type HnswlibModule = typeof hnswlibNamespace;
const hnswlib: HnswlibModule = ((hnswlibNamespace as unknown as { default?: HnswlibModule }).default ?? hnswlibNamespace) as HnswlibModule;

export const HierarchicalNSW = hnswlib.HierarchicalNSW;
export type HierarchicalNSW = hnswlibNamespace.HierarchicalNSW;
