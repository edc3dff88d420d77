import { InputError, SeededRandom } from '@quarry/core';

/**
 * The passkey task's vocabulary: ten digits, a key marker ("the pass key is"), a question
 * marker ("what is the pass key?") and filler words. Token ids fit in a Uint8Array.
 */
export const DIGITS = 10;
export const KEY_TOKEN = 10;
export const QUERY_TOKEN = 11;
export const FIRST_FILLER = 12;
export const PASSKEY_VOCAB = 32;
export const KEY_DIGITS = 5;
/** Marker + digits. */
export const KEY_SPAN = 1 + KEY_DIGITS;

export interface PasskeyExample {
  /** The prompt: filler with the key inside, ending with the question token. */
  tokens: Uint8Array;
  /** The five digits to recover. */
  key: Uint8Array;
  /** Position of the key marker; the digits follow it. */
  keyStart: number;
}

/**
 * One passkey / needle-in-a-haystack prompt of `length` tokens: i.i.d. filler words, the key
 * (marker + 5 digits) at a uniformly random depth, the question token last. Deterministic
 * given the generator's state.
 */
export function passkeyExample(rng: SeededRandom, length: number, options: { vocab?: number; keyStart?: number } = {}): PasskeyExample {
  const vocab = options.vocab ?? PASSKEY_VOCAB;
  if (!Number.isInteger(length) || length < KEY_SPAN + 1) throw new InputError(`Passkey length must be a whole number >= ${KEY_SPAN + 1}, got ${String(length)}.`);
  if (vocab <= FIRST_FILLER) throw new InputError(`Passkey vocabulary must exceed ${FIRST_FILLER} tokens.`);
  const fillers = vocab - FIRST_FILLER;
  const tokens = new Uint8Array(length);
  for (let i = 0; i < length - 1; i++) tokens[i] = FIRST_FILLER + rng.int(fillers);
  const keyStart = options.keyStart ?? rng.int(length - KEY_SPAN);
  if (!Number.isInteger(keyStart) || keyStart < 0 || keyStart > length - KEY_SPAN - 1) throw new InputError(`Passkey keyStart must be in [0, ${length - KEY_SPAN - 1}], got ${String(keyStart)}.`);
  const key = new Uint8Array(KEY_DIGITS);
  for (let i = 0; i < KEY_DIGITS; i++) key[i] = rng.int(DIGITS);
  tokens[keyStart] = KEY_TOKEN;
  tokens.set(key, keyStart + 1);
  tokens[length - 1] = QUERY_TOKEN;
  return { tokens, key, keyStart };
}

/** Whether the key (marker + digits) spans two chunks of `chunk` tokens. */
export function crossesBoundary(keyStart: number, chunk: number): boolean {
  return Math.floor(keyStart / chunk) !== Math.floor((keyStart + KEY_SPAN - 1) / chunk);
}

/** Trial `index` of a seeded evaluation at `length` tokens: the same prompt whoever asks, in any order. */
export function passkeyTrial(seed: number, length: number, index: number): PasskeyExample {
  const mixed = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(length, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35)) >>> 0;
  return passkeyExample(new SeededRandom(mixed), length);
}
