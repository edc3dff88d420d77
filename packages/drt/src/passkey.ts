import { InputError, SeededRandom } from '@quarry/core';

/**
 * The passkey task's vocabulary: ten digits, the key marker ("the pass key is"), the question
 * marker ("what is the pass key?"), a similar-but-wrong marker ("the pass code is", used only by
 * the held-out `marked` distractor family, never in training) and filler words. Token ids fit in
 * a Uint8Array.
 */
export const DIGITS = 10;
export const KEY_TOKEN = 10;
export const QUERY_TOKEN = 11;
/** A marker like the key's but wrong ("the pass code is"): marked decoys put it before their digits. */
export const WRONG_KEY_TOKEN = 12;
export const FIRST_FILLER = 13;
export const PASSKEY_VOCAB = 32;
export const KEY_DIGITS = 5;
/** Marker + digits. */
export const KEY_SPAN = 1 + KEY_DIGITS;

/**
 * Distractors added to a passkey prompt (RULER-style). The key, its position and the filler
 * around it do not depend on them: the same trial with and without distractors differs only
 * where a distractor was written, so variants compare paired.
 */
export interface PasskeyDistractors {
  /** Share of filler positions (outside the key) replaced by a random digit, in [0, 0.5]. */
  digitRate?: number;
  /** 5-digit runs without any marker. */
  decoys?: number;
  /** 5-digit runs after the similar-but-wrong marker `WRONG_KEY_TOKEN`. */
  markedDecoys?: number;
}

/**
 * The standard task variants. `plain` is the original passkey task; `decoys` and `digits` are
 * the distractor families the shipped model is trained on (at other counts and rates, on short
 * prompts); `marked` (decoys with a similar-but-wrong marker) is held out of training.
 */
export const PASSKEY_TASKS = {
  plain: {},
  decoys: { decoys: 20 },
  digits: { digitRate: 0.05 },
  marked: { markedDecoys: 20 },
} as const satisfies Record<string, PasskeyDistractors>;

export type PasskeyTaskName = keyof typeof PASSKEY_TASKS;

/** Distractor families in the shipped model's training distribution (the rest are held out). */
export const TRAINED_DISTRACTORS: readonly PasskeyTaskName[] = ['decoys', 'digits'];

export function resolvePasskeyTask(task: PasskeyTaskName | PasskeyDistractors | undefined): PasskeyDistractors {
  if (task === undefined) return {};
  if (typeof task === 'string') {
    if (!Object.hasOwn(PASSKEY_TASKS, task)) throw new InputError(`Unknown passkey task "${task}"; expected one of ${Object.keys(PASSKEY_TASKS).join(', ')}.`);
    return PASSKEY_TASKS[task];
  }
  return task;
}

export interface PasskeyExample {
  /** The prompt: filler with the key inside, ending with the question token. */
  tokens: Uint8Array;
  /** The five digits to recover. */
  key: Uint8Array;
  /** Position of the key marker; the digits follow it. */
  keyStart: number;
  /** Start of each distractor run (marked decoys: their marker), in placement order. */
  decoyStarts: number[];
}

export interface PasskeyExampleOptions extends PasskeyDistractors {
  vocab?: number;
  keyStart?: number;
  /** Generator for the distractors (default: the prompt's own); a separate one keeps the key and filler unchanged by them. */
  distractorRng?: SeededRandom;
}

/**
 * One passkey / needle-in-a-haystack prompt of `length` tokens: i.i.d. filler words, the key
 * (marker + 5 digits) at a uniformly random depth, the question token last, and optional
 * distractors. Deterministic given the generators' states.
 */
export function passkeyExample(rng: SeededRandom, length: number, options: PasskeyExampleOptions = {}): PasskeyExample {
  const vocab = options.vocab ?? PASSKEY_VOCAB;
  if (!Number.isInteger(length) || length < KEY_SPAN + 1) throw new InputError(`Passkey length must be a whole number >= ${KEY_SPAN + 1}, got ${String(length)}.`);
  if (vocab <= FIRST_FILLER) throw new InputError(`Passkey vocabulary must exceed ${FIRST_FILLER} tokens.`);
  const digitRate = options.digitRate ?? 0;
  const decoys = options.decoys ?? 0;
  const marked = options.markedDecoys ?? 0;
  if (!(digitRate >= 0 && digitRate <= 0.5)) throw new InputError(`Passkey digitRate must be in [0, 0.5], got ${String(digitRate)}.`);
  for (const [name, n] of [
    ['decoys', decoys],
    ['markedDecoys', marked],
  ] as const) {
    if (!Number.isInteger(n) || n < 0) throw new InputError(`Passkey ${name} must be a non-negative whole number, got ${String(n)}.`);
  }
  const fillers = vocab - FIRST_FILLER;
  const tokens = new Uint8Array(length);
  for (let i = 0; i < length - 1; i++) tokens[i] = FIRST_FILLER + rng.int(fillers);
  const keyStart = options.keyStart ?? rng.int(length - KEY_SPAN);
  if (!Number.isInteger(keyStart) || keyStart < 0 || keyStart > length - KEY_SPAN - 1) throw new InputError(`Passkey keyStart must be in [0, ${length - KEY_SPAN - 1}], got ${String(keyStart)}.`);
  const key = new Uint8Array(KEY_DIGITS);
  for (let i = 0; i < KEY_DIGITS; i++) key[i] = rng.int(DIGITS);
  const decoyStarts: number[] = [];
  if (digitRate > 0 || decoys > 0 || marked > 0) {
    const drng = options.distractorRng ?? rng;
    if (digitRate > 0) {
      for (let i = 0; i < length - 1; i++) if (drng.next() < digitRate) tokens[i] = drng.int(DIGITS);
    }
    // Runs never overlap or touch the key, each other, or the question (one token of filler between).
    const taken = new Uint8Array(length);
    const block = (start: number, span: number): void => {
      for (let i = Math.max(0, start - 1); i <= Math.min(length - 1, start + span); i++) taken[i] = 1;
    };
    block(keyStart, KEY_SPAN);
    taken[length - 1] = 1;
    const place = (span: number, marker: number | null): void => {
      for (let attempt = 0; attempt < 1000; attempt++) {
        const start = drng.int(length - span);
        let free = true;
        for (let i = start; i < start + span && free; i++) if (taken[i]) free = false;
        if (!free) continue;
        block(start, span);
        let at = start;
        if (marker !== null) tokens[at++] = marker;
        for (let i = 0; i < KEY_DIGITS; i++) tokens[at++] = drng.int(DIGITS);
        decoyStarts.push(start);
        return;
      }
      throw new InputError(`Passkey prompt of ${length} tokens has no room for ${decoys} decoys and ${marked} marked decoys.`);
    };
    for (let i = 0; i < decoys; i++) place(KEY_DIGITS, null);
    for (let i = 0; i < marked; i++) place(KEY_SPAN, WRONG_KEY_TOKEN);
  }
  tokens[keyStart] = KEY_TOKEN;
  tokens.set(key, keyStart + 1);
  tokens[length - 1] = QUERY_TOKEN;
  return { tokens, key, keyStart, decoyStarts };
}

/** Whether the key (marker + digits) spans two chunks of `chunk` tokens. */
export function crossesBoundary(keyStart: number, chunk: number): boolean {
  return Math.floor(keyStart / chunk) !== Math.floor((keyStart + KEY_SPAN - 1) / chunk);
}

/**
 * Trial `index` of a seeded evaluation at `length` tokens: the same prompt whoever asks, in any
 * order. The key, its depth and the filler depend on (seed, length, index) only; `task` adds its
 * distractors from a separate generator, so every variant of trial i hides the same key at the
 * same depth.
 */
export function passkeyTrial(seed: number, length: number, index: number, task?: PasskeyTaskName | PasskeyDistractors): PasskeyExample {
  const mixed = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(length, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35)) >>> 0;
  const distractors = resolvePasskeyTask(task);
  return passkeyExample(new SeededRandom(mixed), length, { ...distractors, distractorRng: new SeededRandom((mixed ^ 0x5bd1e995) >>> 0) });
}
