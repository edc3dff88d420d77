// The loopback OpenAI-compatible server of the tests, in its own process for the benchmark.
import { FakeOpenAIServer } from '../dist/index.js';

const answer = 'Vitamin D supplementation reduced the risk of hip fractures in older adults in several randomised trials, mostly when combined with calcium. '.repeat(3);
const server = await FakeOpenAIServer.start({ reply: (_p, i) => `${i} ${answer}` });
process.stdout.write(`${server.url}\n`);
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
