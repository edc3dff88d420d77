import { throwIfAborted, InputError, checkOptions } from '@quarry/core';
import { answerOptionsSchema, passkeyEvalOptionsSchema } from './options.js';
import { ChunkMemory } from './memory.js';
import type { DrtModel } from './model.js';
import { crossesBoundary, DIGITS, KEY_DIGITS, passkeyTrial, resolvePasskeyTask, type PasskeyDistractors, type PasskeyTaskName } from './passkey.js';

export interface AnswerOptions {
  /** Use grouped cross-attention (default true); false = the sliding-window baseline. */
  gca?: boolean;
  /** Page chunk states to a file in this folder (bounded memory). */
  pageDir?: string;
  /** Tokens to generate (default 5, the passkey's digits). */
  steps?: number;
  /**
   * Retrieved chunks also expose the last `lookback` states of the previous chunk as keys/values
   * (default: the model's `config.lookback`, as trained; 8 for the shipped model). See README,
   * "Boundary-crossing keys".
   */
  lookback?: number;
}

export interface AnswerResult {
  /** Greedily decoded tokens. */
  tokens: Uint8Array;
  /** Chunks retrieved (group 0, best first) for the first decoded token. */
  retrieved: number[];
  /** Chunks held in the memory at the end. */
  chunks: number;
  /** Bytes the chunk memory held in process memory at the end. */
  memoryBytes: number;
}

/**
 * Answer-only decoding: streams the prompt through the lower layer and chunk encoder into a
 * `ChunkMemory` chunk by chunk (linear time; states in memory or paged to disk), then decodes
 * greedily, running the upper layer only at the generated positions. Each step attends to the
 * current and previous chunk locally and, with GCA, to the top-k chunks its previous chunk's
 * landmark retrieves, reading their states (plus the next chunk's first `overlap` states) back
 * from the memory. The result equals running the full model over every position and reading
 * the last ones: the lower layer is causal, and upper-layer outputs at other positions feed
 * nothing (a single upper layer).
 */
export function answer(model: DrtModel, prompt: Uint8Array, options: AnswerOptions = {}): AnswerResult {
  checkOptions(answerOptionsSchema, options, 'DRT answer options');
  const { chunk: S, dim: d, overlap, groups: G, relDim: R, vocab: V } = model.config;
  const steps = options.steps ?? KEY_DIGITS;
  if (prompt.length < 1) throw new InputError('answer: the prompt is empty.');
  const useGca = options.gca ?? true;
  const N = prompt.length;
  const tokens = new Uint8Array(N + steps - 1);
  tokens.set(prompt);
  const rel = G * R;
  const memory = useGca ? new ChunkMemory({ chunkFloats: S * d, landmarkFloats: rel, ...(options.pageDir ? { pageDir: options.pageDir } : {}) }) : null;
  const xbuf = new Float32Array(S * d);
  const lqRow = new Float32Array(rel);
  const lkRow = new Float32Array(rel);
  const out = new Uint8Array(steps);
  let retrieved: number[] = [];
  try {
    const appendUpTo = (n: number): void => {
      while (memory!.size < n) {
        const c = memory!.size;
        model.lowerForward(tokens, c * S, (c + 1) * S, xbuf, c * S);
        model.landmark(xbuf, 0, lqRow, lkRow, 0);
        memory!.append(xbuf, lqRow, lkRow);
      }
    };
    const back = options.lookback ?? model.config.lookback ?? 0;
    if (!Number.isInteger(back) || back < 0 || back > S) throw new InputError(`answer: lookback must be a whole number in [0, ${S}], got ${String(back)}.`);
    const kvBuf = new Float32Array((back + S + overlap) * d);
    for (let j = 0; j < steps; j++) {
      const pos = N - 1 + j;
      const c = Math.floor(pos / S);
      if (memory) appendUpTo(c);
      const localStart = Math.max(0, (c - 1) * S);
      const n = pos - localStart + 1;
      const xl = new Float32Array(n * d);
      model.lowerForward(tokens, localStart, pos + 1, xl, localStart);
      const local = model.projectKV(xl, 0, n);
      const gca =
        memory && c >= 2
          ? {
              lq: memory.lq,
              lk: memory.lk,
              landmarks: memory.size,
              kv: (jj: number) => {
                const b = jj > 0 ? back : 0;
                if (b > 0) kvBuf.set(memory.states(jj - 1).subarray((S - b) * d), 0);
                kvBuf.set(memory.states(jj), b * d);
                if (overlap > 0) kvBuf.set(memory.states(jj + 1).subarray(0, overlap * d), (b + S) * d);
                return model.projectKV(kvBuf, 0, b + S + overlap);
              },
            }
          : null;
      const { logits, retrievals } = model.upperForward({ xq: xl.subarray((n - 1) * d), positions: Int32Array.of(pos), local, localStart, gca });
      if (j === 0) retrieved = retrievals.length ? [...retrievals[0]!.chunks] : [];
      let arg = 0;
      for (let v = 1; v < V; v++) if (logits[v]! > logits[arg]!) arg = v;
      out[j] = arg;
      if (pos + 1 < tokens.length) tokens[pos + 1] = arg;
    }
    return { tokens: out, retrieved, chunks: memory?.size ?? 0, memoryBytes: memory?.residentBytes ?? 0 };
  } finally {
    memory?.close();
  }
}

export interface PasskeyEvalOptions extends Omit<AnswerOptions, 'steps'> {
  length: number;
  trials: number;
  /** Trial i of (seed, length) is the same prompt in every run. */
  seed?: number;
  /** Index of the first trial (default 0): shards of one evaluation run trials [first, first + trials). */
  firstTrial?: number;
  /** Task variant: a name from `PASSKEY_TASKS` (default `plain`) or explicit distractors. */
  task?: PasskeyTaskName | PasskeyDistractors;
  signal?: AbortSignal;
  onTrial?: (done: number, total: number) => void;
}

export interface PasskeyEvalResult {
  length: number;
  trials: number;
  correct: number;
  accuracy: number;
  /** Keys whose marker and digits span two chunks. */
  crossing: { trials: number; correct: number };
  /** Keys inside one chunk. */
  inside: { trials: number; correct: number };
  gca: boolean;
  /** The distractors of every prompt (`{}` = the plain task). */
  task: PasskeyDistractors;
  /** Wrong answers that copied a distractor run's digits exactly. */
  copiedDistractor: number;
  /** Indices of the trials answered wrongly. */
  failures: number[];
  seconds: number;
  /** CPU time (user + system) of this process during the evaluation. */
  cpuSeconds: number;
  /** Largest chunk memory held in process memory by one trial (bytes; 0 without GCA). */
  memoryBytes: number;
  /** Peak resident set size of this process so far (MiB). */
  peakRssMb: number;
}

/** Passkey accuracy (all five digits exact) over seeded trials at one length. */
export function evaluatePasskey(model: DrtModel, options: PasskeyEvalOptions): PasskeyEvalResult {
  checkOptions(passkeyEvalOptionsSchema, options, 'evaluatePasskey options');
  const { length, trials } = options;
  if (!Number.isInteger(length) || length < 8) throw new InputError(`Passkey length must be a whole number >= 8, got ${String(length)}.`);
  if (!Number.isInteger(trials) || trials < 1) throw new InputError(`Passkey trials must be a positive whole number, got ${String(trials)}.`);
  const seed = options.seed ?? 1;
  const useGca = options.gca ?? true;
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  let memoryBytes = 0;
  let correct = 0;
  const crossing = { trials: 0, correct: 0 };
  const inside = { trials: 0, correct: 0 };
  const failures: number[] = [];
  const task = resolvePasskeyTask(options.task);
  let copiedDistractor = 0;
  for (let i = 0; i < trials; i++) {
    throwIfAborted(options.signal, 'passkey evaluation');
    const ex = passkeyTrial(seed, length, (options.firstTrial ?? 0) + i, task);
    const r = answer(model, ex.tokens, { gca: useGca, ...(options.pageDir ? { pageDir: options.pageDir } : {}), ...(options.lookback !== undefined ? { lookback: options.lookback } : {}) });
    memoryBytes = Math.max(memoryBytes, r.memoryBytes);
    let ok = true;
    for (let k = 0; k < KEY_DIGITS; k++) if (r.tokens[k] !== ex.key[k]) ok = false;
    if (!ok) {
      const said = r.tokens.join(',');
      for (const start of ex.decoyStarts) {
        const digits = ex.tokens[start]! < DIGITS ? start : start + 1; // marked decoys: skip the marker
        if (ex.tokens.subarray(digits, digits + KEY_DIGITS).join(',') === said) {
          copiedDistractor++;
          break;
        }
      }
    }
    const bucket = crossesBoundary(ex.keyStart, model.config.chunk) ? crossing : inside;
    bucket.trials++;
    if (ok) {
      correct++;
      bucket.correct++;
    } else {
      failures.push((options.firstTrial ?? 0) + i);
    }
    options.onTrial?.(i + 1, trials);
  }
  return {
    length,
    trials,
    correct,
    accuracy: correct / trials,
    crossing,
    inside,
    gca: useGca,
    task: { ...task },
    copiedDistractor,
    failures,
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: ((u) => (u.user + u.system) / 1e6)(process.cpuUsage(cpuStart)),
    memoryBytes,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
}
