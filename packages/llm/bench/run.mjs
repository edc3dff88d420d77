// One benchmark variant in a fresh process: node bench/run.mjs VARIANT REQUESTS URL CACHE_DIR
import { OpenAIClient } from '../dist/index.js';

const [variant, requestsArg, url, cacheDir] = process.argv.slice(2);
const requests = Number(requestsArg);
const CONCURRENCY = 8;
const passage = 'Calcium and vitamin D status in older women and the incidence of hip fractures over ten years of follow-up. '.repeat(8);
const prompt = (i) =>
  `Give a question "claim ${i}" and its possible answering passages (most of these passages are wrong) enumerated as:${Array.from({ length: 10 }, (_, j) => ` \n ${j + 1}.${passage}`).join('')} \n please write a correct answering passage.`;

async function pool(fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < requests) await fn(next++);
    }),
  );
}

let send;
if (variant === 'fetch') {
  // The floor: one plain fetch per request, no retries, cache, validation or accounting.
  send = async (i) => {
    const res = await fetch(`${url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: prompt(i) }], n: 5, temperature: 0.7, max_tokens: 256 }),
    });
    const json = await res.json();
    if (json.choices.length !== 5) throw new Error('bad response');
  };
} else {
  const client = new OpenAIClient({ baseUrl: url, model: 'm', concurrency: CONCURRENCY, env: {}, ...(variant.startsWith('cache') ? { cacheDir } : {}) });
  send = async (i) => {
    const r = await client.chat({ messages: [{ role: 'user', content: prompt(i) }], n: 5, temperature: 0.7, maxTokens: 256 });
    if (r.choices.length !== 5) throw new Error('bad response');
  };
}
const started = performance.now();
await pool(send);
const seconds = (performance.now() - started) / 1000;
process.stdout.write(`${JSON.stringify({ rps: requests / seconds, maxRssMB: process.resourceUsage().maxRSS / 1024 })}\n`);
