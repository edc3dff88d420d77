import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { checkOptions, z } from '@quarry/core';
import { ModelInvalidError } from './errors.js';
import { FastWordPiece, type BertNormalizerConfig } from './fast-wordpiece.js';
import { applyRustParity } from './tokenizer-parity.js';

export interface TokenizeOptions {
  /** Keep at most this many ids, special tokens included (content is cut, specials kept). */
  maxLength?: number;
  /** Add the post-processor's special tokens ([CLS] ... [SEP]); default true. */
  addSpecialTokens?: boolean;
}

export interface TextTokenizerOptions {
  /** Use the built-in fast WordPiece path when the tokenizer allows it (default true). */
  fast?: boolean;
  /** Shown in error messages (the file the JSON came from). */
  source?: string;
}

// Strict options (issue #15 item 13): a misspelled key is a ConfigError naming the closest valid one.
const textTokenizerOptionsShape = { fast: z.boolean().optional(), source: z.string().optional() };
const textTokenizerOptionsSchema = z.strictObject(textTokenizerOptionsShape);
const fromDirOptionsSchema = z.strictObject({ fast: textTokenizerOptionsShape.fast });
const tokenizeOptionsSchema = z.strictObject({ maxLength: z.number().optional(), addSpecialTokens: z.boolean().optional() });

/**
 * `encode` runs per document, so its options are checked without zod: only an object with a
 * key other than the two known ones goes through the schema (which then throws the ConfigError).
 */
function checkTokenizeOptions(options: TokenizeOptions): void {
  for (const key in options) {
    if (key !== 'maxLength' && key !== 'addSpecialTokens') {
      checkOptions(tokenizeOptionsSchema, options, 'TextTokenizer.encode options');
      return;
    }
  }
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A tokenizer loaded from a Hugging Face `tokenizer.json`, through @huggingface/tokenizers
 * (tokenizers.js). BERT-style WordPiece tokenizers get a fast path that produces the same
 * ids (checked in the tests against the library on the SciFact corpus and random Unicode).
 */
export class TextTokenizer {
  readonly vocabSize: number;
  /** Ids the post-processor puts before / after a single sequence (e.g. [CLS] / [SEP]). */
  readonly prefixIds: readonly number[];
  readonly suffixIds: readonly number[];
  readonly padId: number;
  readonly unkId: number | undefined;
  /** Whether the fast WordPiece path is active. */
  readonly fast: boolean;
  readonly source: string;
  readonly #lib: Tokenizer;
  readonly #fast: FastWordPiece | undefined;
  readonly #specialIds: Set<number>;

  constructor(tokenizerJson: unknown, tokenizerConfig: unknown = {}, options: TextTokenizerOptions = {}) {
    checkOptions(textTokenizerOptionsSchema, options, 'TextTokenizer options');
    this.source = options.source ?? 'tokenizer.json';
    if (!isObject(tokenizerJson) || !isObject(tokenizerJson['model'])) {
      throw new ModelInvalidError(this.source, 'is not a Hugging Face tokenizer.json (expected an object with a "model" section).');
    }
    const json = { normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, added_tokens: [], ...tokenizerJson };
    try {
      this.#lib = new Tokenizer(json, isObject(tokenizerConfig) ? tokenizerConfig : {});
      applyRustParity(this.#lib);
    } catch (error) {
      throw new ModelInvalidError(this.source, `could not be loaded by @huggingface/tokenizers (${(error as Error).message}).`, {}, { cause: error });
    }
    const vocab = this.#lib.get_vocab(true);
    let maxId = -1;
    for (const id of vocab.values()) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;
    const added = Array.isArray(json.added_tokens) ? (json.added_tokens as Json[]) : [];
    this.#specialIds = new Set(added.filter((t) => t['special'] === true && typeof t['id'] === 'number').map((t) => t['id'] as number));
    const model = tokenizerJson['model'] as Json;
    const unkToken = typeof model['unk_token'] === 'string' ? model['unk_token'] : undefined;
    this.unkId = typeof model['unk_id'] === 'number' ? model['unk_id'] : unkToken !== undefined ? vocab.get(unkToken) : undefined;
    this.padId = this.#findPad(tokenizerJson, tokenizerConfig, vocab);
    [this.prefixIds, this.suffixIds] = this.#probeSpecials();
    this.#fast = options.fast === false ? undefined : this.#makeFast(json, vocab);
    this.fast = this.#fast !== undefined;
  }

  /** Loads `tokenizer.json` (and `tokenizer_config.json` when present) from a folder. */
  static fromDir(dir: string, options: Omit<TextTokenizerOptions, 'source'> = {}): TextTokenizer {
    checkOptions(fromDirOptionsSchema, options, 'TextTokenizer.fromDir options');
    const file = join(dir, 'tokenizer.json');
    if (!existsSync(file)) throw new ModelInvalidError(file, 'missing; a model folder needs the tokenizer.json exported with the model (Hugging Face format).');
    const json = readJson(file);
    const configFile = join(dir, 'tokenizer_config.json');
    const config = existsSync(configFile) ? readJson(configFile) : {};
    return new TextTokenizer(json, config, { ...options, source: file });
  }

  /** Token ids of one text. */
  encode(text: string, options: TokenizeOptions = {}): Int32Array {
    checkTokenizeOptions(options);
    const special = options.addSpecialTokens ?? true;
    const pre = special ? this.prefixIds : [];
    const post = special ? this.suffixIds : [];
    const room = options.maxLength === undefined ? Infinity : Math.max(0, options.maxLength - pre.length - post.length);
    const content: number[] = [];
    if (!this.#fast?.encodeInto(text, content, room)) {
      content.length = 0;
      const ids = this.#lib.encode(text, { add_special_tokens: false }).ids;
      const n = Math.min(ids.length, room);
      for (let i = 0; i < n; i++) content.push(ids[i]!);
    }
    const out = new Int32Array(pre.length + content.length + post.length);
    out.set(pre, 0);
    out.set(content, pre.length);
    out.set(post, pre.length + content.length);
    return out;
  }

  encodeBatch(texts: readonly string[], options: TokenizeOptions = {}): Int32Array[] {
    return texts.map((t) => this.encode(t, options));
  }

  /** The library's token strings (no special tokens), for inspection. */
  tokenize(text: string): string[] {
    return this.#lib.tokenize(text, { add_special_tokens: false });
  }

  /** The ids the library itself produces (no fast path, no truncation); for checks. */
  encodeWithLibrary(text: string, addSpecialTokens = true): number[] {
    return this.#lib.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  }

  tokenToId(token: string): number | undefined {
    return this.#lib.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.#lib.id_to_token(id);
  }

  isSpecial(id: number): boolean {
    return this.#specialIds.has(id);
  }

  decode(ids: ArrayLike<number>, skipSpecialTokens = true): string {
    const list = Array.from(ids);
    return list.length === 0 ? '' : this.#lib.decode(list, { skip_special_tokens: skipSpecialTokens });
  }

  /** The vocabulary (token -> id), added tokens included. */
  vocab(): Map<string, number> {
    return this.#lib.get_vocab(true);
  }

  #findPad(json: Json, config: unknown, vocab: Map<string, number>): number {
    const padding = json['padding'];
    if (isObject(padding) && typeof padding['pad_id'] === 'number') return padding['pad_id'];
    const padToken = isObject(config) && typeof config['pad_token'] === 'string' ? config['pad_token'] : undefined;
    for (const candidate of [padToken, '[PAD]', '<pad>', '<|endoftext|>']) {
      if (candidate !== undefined && vocab.has(candidate)) return vocab.get(candidate)!;
    }
    return 0;
  }

  #probeSpecials(): [number[], number[]] {
    for (const probe of ['a', 'hello', 'the', 'x y']) {
      const bare = this.#lib.encode(probe, { add_special_tokens: false }).ids;
      if (bare.length === 0) continue;
      const full = this.#lib.encode(probe, { add_special_tokens: true }).ids;
      for (let at = 0; at + bare.length <= full.length; at++) {
        if (bare.every((id, j) => full[at + j] === id)) return [full.slice(0, at), full.slice(at + bare.length)];
      }
    }
    return [[], []];
  }

  #makeFast(json: Json, vocab: Map<string, number>): FastWordPiece | undefined {
    const model = json['model'] as Json;
    const normalizer = json['normalizer'];
    const pre = json['pre_tokenizer'];
    if (model['type'] !== 'WordPiece' || !isObject(normalizer) || normalizer['type'] !== 'BertNormalizer') return undefined;
    if (!isObject(pre) || pre['type'] !== 'BertPreTokenizer') return undefined;
    const added = (json['added_tokens'] as Json[]).filter(isObject);
    if (added.some((t) => t['normalized'] === true || t['lstrip'] === true || t['rstrip'] === true)) return undefined;
    const unkToken = typeof model['unk_token'] === 'string' ? model['unk_token'] : '[UNK]';
    const unkId = vocab.get(unkToken);
    if (unkId === undefined) return undefined;
    const cfg: BertNormalizerConfig = {
      cleanText: normalizer['clean_text'] === true,
      handleChineseChars: normalizer['handle_chinese_chars'] === true,
      lowercase: normalizer['lowercase'] === true,
      stripAccents: typeof normalizer['strip_accents'] === 'boolean' ? normalizer['strip_accents'] : null,
    };
    const fast = new FastWordPiece({
      vocab,
      unkId,
      maxInputCharsPerWord: typeof model['max_input_chars_per_word'] === 'number' ? model['max_input_chars_per_word'] : 100,
      continuingSubwordPrefix: typeof model['continuing_subword_prefix'] === 'string' ? model['continuing_subword_prefix'] : '##',
      normalizer: cfg,
      addedTokenContents: added.map((t) => String(t['content'] ?? '')),
    });
    // Self-check on a few strings; fall back to the library if anything differs.
    for (const probe of ['Hello, World! 123', 'Unaffable résumé — naïve café', 'ABC\tdef\n東京 x']) {
      const ids: number[] = [];
      if (!fast.encodeInto(probe, ids)) continue;
      const lib = this.#lib.encode(probe, { add_special_tokens: false }).ids;
      if (ids.length !== lib.length || ids.some((id, i) => id !== lib[i])) return undefined;
    }
    return fast;
  }
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  } catch (error) {
    throw new ModelInvalidError(file, `is not valid JSON (${(error as Error).message}).`, {}, { cause: error });
  }
}
