export { maxSim, maxSimAlignment } from './maxsim.js';
export { truncateTokens, sliceItem } from './matryoshka.js';
export { ColbertReranker, type ColbertRerankerOptions } from './reranker.js';
export { colbertPlugin } from './plugin.js';
