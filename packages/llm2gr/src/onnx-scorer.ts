import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { InputError, checkOptions, throwIfAborted, type NextTokenScorer } from '@quarry/core';
import { onnxCausalLmOptionsSchema } from './options.js';
import { decodeModel, encodeModel, halfArrayToFloat32 } from '@quarry/encoders';
import * as ort from 'onnxruntime-node';
import { TokenizerCodec } from './codec.js';
import { ScorerError } from './errors.js';

export interface OnnxCausalLmOptions {
  /** Graph file inside the folder (default: model.onnx, or the folder's only .onnx file). */
  modelFile?: string;
  /**
   * Token ids at or above the model's vocabulary size (a tokenizer larger than the model)
   * are an error by default. `true` folds them modulo the vocabulary size, and spreads the
   * model's distribution over the tokenizer's ids the same way: only for test fixtures
   * whose tokenizer does not match their (random) model, never for a real model.
   */
  foldOutOfVocab?: boolean;
  /** onnxruntime intra-op threads (default min(4, cores)). */
  threads?: number;
  /** Prefix states kept for reuse by the next step (default 512). */
  cacheEntries?: number;
  /**
   * Put the tokenizer's leading special tokens (BOS) before every prefix, as transformers'
   * `tokenizer(prompt)` does. Default: what the folder says — the post-processor's template
   * (Llama 3, Qwen: as they define it) or `add_bos_token` in tokenizer_config.json.
   */
  addBos?: boolean;
  /**
   * Rewrite the graph so `logits` holds only the last position (a Slice after the LM head):
   * a prompt of n tokens then returns 1 x vocab floats instead of n x vocab. Default true
   * for single-file exports up to 2 GB; exports with external data are run as they are.
   */
  lastLogitsOnly?: boolean;
}

/** What the scorer ran, for checking that the KV cache does its job. */
export interface OnnxCausalLmStats {
  /** onnxruntime calls. */
  runs: number;
  /** Token positions fed through the model (a cached step costs 1 per prefix). */
  tokens: number;
  /** Prefixes answered by extending a cached state. */
  cacheHits: number;
  /** Logit values onnxruntime returned (vocab per prefix when only the last position is fetched). */
  logitValues: number;
}

interface GraphTypes {
  logits: 'float32' | 'float16';
  past: 'float32' | 'float16';
  /** A merged decoder: `use_cache_branch` selects the with-past branch. */
  merged: boolean;
}

type PastLayout = { kind: 'combined'; names: string[]; outputs: string[] } | { kind: 'split'; keys: string[]; values: string[]; outKeys: string[]; outValues: string[] } | { kind: 'none' };

interface CachedState {
  /** Per past input, a [1, ...] slice of the present output (batch 1), in the past inputs' element type. */
  tensors: (Float32Array | Uint16Array)[];
  length: number;
}

/**
 * A causal language model exported to ONNX (tokenizer.json + model.onnx), scoring the
 * full next-token distribution (log-softmax of the last position's logits). When the
 * export has past key/value inputs (`past_%d` as onnxruntime-genai writes them, or
 * `past_key_values.%d.key|value` as Optimum does), a prefix one token longer than a
 * cached one runs a single step on the cached state: beam search pays one token per beam
 * per step; a prefix several tokens past a cached one runs only the missing tokens.
 * Merged decoders (a `use_cache_branch` input, as Optimum and transformers.js export them)
 * get the branch flag; float16 logits and past states are converted and fed back as
 * float16. BOS is added as the tokenizer's post-processor says. Exports without a cache
 * re-run the whole prefix.
 */
export class OnnxCausalLm implements NextTokenScorer {
  readonly name = 'onnx-causal-lm';
  /** Ids the scorer returns log-probabilities for (the model's vocabulary, or the tokenizer's when folding). */
  readonly vocabSize: number;
  /** The model's own vocabulary size (logits width). */
  readonly modelVocabSize: number;
  readonly codec: TokenizerCodec;
  readonly session: ort.InferenceSession;
  readonly #layout: PastLayout;
  readonly #pastShapes: (number | string)[][];
  readonly #idType: Map<string, 'int32' | 'int64'>;
  readonly #fold: boolean;
  readonly #cache = new Map<string, CachedState>();
  readonly #cacheEntries: number;
  readonly #file: string;
  readonly #graph: GraphTypes;
  /** Ids put before every prefix (BOS), from the tokenizer's post-processor or config. */
  readonly bosIds: readonly number[];
  readonly stats: OnnxCausalLmStats = { runs: 0, tokens: 0, cacheHits: 0, logitValues: 0 };

  private constructor(
    file: string,
    codec: TokenizerCodec,
    session: ort.InferenceSession,
    vocab: number,
    layout: PastLayout,
    pastShapes: (number | string)[][],
    idType: Map<string, 'int32' | 'int64'>,
    graph: GraphTypes,
    bosIds: readonly number[],
    options: OnnxCausalLmOptions,
  ) {
    this.#file = file;
    this.codec = codec;
    this.session = session;
    this.modelVocabSize = vocab;
    this.#layout = layout;
    this.#pastShapes = pastShapes;
    this.#idType = idType;
    this.#fold = options.foldOutOfVocab ?? false;
    this.vocabSize = this.#fold ? Math.max(vocab, codec.vocabSize) : vocab;
    this.#cacheEntries = options.cacheEntries ?? 512;
    this.#graph = graph;
    this.bosIds = bosIds;
  }

  /** Loads `tokenizer.json` and the ONNX graph from a folder. */
  static async load(dir: string, options: OnnxCausalLmOptions = {}): Promise<OnnxCausalLm> {
    checkOptions(onnxCausalLmOptionsSchema, options, 'OnnxCausalLm options');
    if (!existsSync(dir)) throw new ScorerError(`${dir}: no such model folder; pass a folder with tokenizer.json and model.onnx.`);
    let file = options.modelFile ? join(dir, options.modelFile) : join(dir, 'model.onnx');
    if (!options.modelFile && !existsSync(file)) {
      const onnx = readdirSync(dir).filter((f) => f.endsWith('.onnx'));
      if (onnx.length !== 1) throw new ScorerError(`${dir}: no model.onnx${onnx.length ? ` and several .onnx files (${onnx.join(', ')}); pass modelFile` : ''}.`);
      file = join(dir, onnx[0]!);
    }
    if (!existsSync(file)) throw new ScorerError(`${file}: missing; pass the causal LM's ONNX file.`);
    const codec = TokenizerCodec.fromDir(dir);
    const graphBytes = options.lastLogitsOnly === false ? undefined : lastPositionLogits(file);
    let session: ort.InferenceSession;
    try {
      const sessionOptions: ort.InferenceSession.SessionOptions = { intraOpNumThreads: options.threads ?? Math.min(4, availableParallelism()), interOpNumThreads: 1, graphOptimizationLevel: 'all' };
      session = graphBytes ? await ort.InferenceSession.create(graphBytes, sessionOptions) : await ort.InferenceSession.create(file, sessionOptions);
    } catch (error) {
      throw new ScorerError(`${file}: onnxruntime could not load it (${(error as Error).message}).`, {}, { cause: error });
    }
    const inputs = new Map(session.inputMetadata.map((m) => [m.name, m]));
    if (!inputs.has('input_ids')) throw new ScorerError(`${file}: no graph input "input_ids" (inputs: ${session.inputNames.join(', ')}); expected a causal LM export.`);
    const logits = session.outputMetadata.find((m) => m.name === 'logits');
    if (!logits?.isTensor) throw new ScorerError(`${file}: no "logits" output (outputs: ${session.outputNames.join(', ')}); export the model with its LM head.`);
    if (logits.type !== 'float32' && logits.type !== 'float16') throw new ScorerError(`${file}: the logits output has type ${logits.type}; expected float32 or float16.`);
    const vocab = logits.shape[logits.shape.length - 1];
    if (typeof vocab !== 'number') throw new ScorerError(`${file}: the logits output has no fixed vocabulary dimension.`);
    const idType = new Map<string, 'int32' | 'int64'>();
    for (const name of ['input_ids', 'attention_mask', 'position_ids']) {
      const m = inputs.get(name);
      if (!m) continue;
      const type = m.isTensor ? m.type : 'non-tensor';
      if (type !== 'int32' && type !== 'int64') throw new ScorerError(`${file}: input ${name} has type ${type}; expected int32 or int64.`);
      idType.set(name, type);
    }
    const names = session.inputNames;
    let layout: PastLayout = { kind: 'none' };
    const combined = names.filter((n) => /^past_\d+$/.test(n)).sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
    const keys = names.filter((n) => /^past_key_values\.\d+\.key$/.test(n)).sort((a, b) => layerOf(a) - layerOf(b));
    if (combined.length) layout = { kind: 'combined', names: combined, outputs: combined.map((n) => `present_${n.slice(5)}`) };
    else if (keys.length) {
      const values = keys.map((k) => k.replace(/\.key$/, '.value'));
      layout = { kind: 'split', keys, values, outKeys: keys.map((k) => k.replace('past_key_values', 'present')), outValues: values.map((v) => v.replace('past_key_values', 'present')) };
    }
    const pastNames = layout.kind === 'combined' ? layout.names : layout.kind === 'split' ? [...layout.keys, ...layout.values] : [];
    const outNames = layout.kind === 'combined' ? layout.outputs : layout.kind === 'split' ? [...layout.outKeys, ...layout.outValues] : [];
    for (const o of outNames) if (!session.outputNames.includes(o)) throw new ScorerError(`${file}: has past input(s) but no output "${o}"; export with use_cache=True.`);
    let pastType: 'float32' | 'float16' = 'float32';
    const pastShapes = pastNames.map((n, i) => {
      const m = inputs.get(n)!;
      if (!m.isTensor || (m.type !== 'float32' && m.type !== 'float16')) throw new ScorerError(`${file}: past input ${n} must be float32 or float16.`);
      if (i > 0 && m.type !== pastType) throw new ScorerError(`${file}: past inputs mix float32 and float16.`);
      pastType = m.type;
      return [...m.shape];
    });
    const branch = inputs.get('use_cache_branch');
    if (branch && (!branch.isTensor || branch.type !== 'bool')) throw new ScorerError(`${file}: input use_cache_branch must be a bool tensor (a merged decoder export).`);
    if (branch && layout.kind === 'none') throw new ScorerError(`${file}: has use_cache_branch but no past inputs.`);
    const known = new Set(['input_ids', 'attention_mask', 'position_ids', 'use_cache_branch', ...pastNames]);
    const unknown = session.inputNames.filter((n) => !known.has(n));
    if (unknown.length)
      throw new ScorerError(
        `${file}: graph inputs ${unknown.join(', ')} are not ones a causal LM scorer knows how to feed (input_ids, attention_mask, position_ids, use_cache_branch, past key/values).`,
      );
    const graph: GraphTypes = { logits: logits.type, past: pastType, merged: branch !== undefined };
    return new OnnxCausalLm(file, codec, session, vocab, layout, pastShapes, idType, graph, bosFor(dir, codec, options.addBos), options);
  }

  encode(text: string): number[] {
    return this.codec.encode(text);
  }

  decode(ids: readonly number[]): string {
    return this.codec.decode(ids);
  }

  #modelId(id: number): number {
    if (!Number.isInteger(id) || id < 0) throw new InputError(`Token id ${id} is not a non-negative integer.`);
    if (id < this.modelVocabSize) return id;
    if (this.#fold) return id % this.modelVocabSize;
    throw new InputError(
      `Token id ${id} is outside the model's vocabulary (${this.modelVocabSize} tokens, ${this.#file}); the tokenizer does not match the model. Use the tokenizer.json exported with the model.`,
    );
  }

  /** Log-softmax of the next-token logits after each prefix. */
  async nextTokenLogProbs(prefixes: readonly (readonly number[])[], signal?: AbortSignal): Promise<Float32Array[]> {
    const out: Float32Array[] = new Array(prefixes.length);
    const mapped = prefixes.map((p) => {
      if (p.length === 0 && this.bosIds.length === 0) throw new InputError('nextTokenLogProbs needs non-empty prefixes (start with a prompt or a BOS token).');
      return [...this.bosIds, ...p.map((id) => this.#modelId(id))];
    });
    if (this.#layout.kind === 'none') {
      for (let i = 0; i < mapped.length; i++) {
        throwIfAborted(signal, 'ONNX scoring');
        out[i] = (await this.#run([mapped[i]!], 0, undefined))[0]!;
      }
      return out;
    }
    // Each prefix continues from its longest cached ancestor (taken out of the cache now, so
    // states written while this call runs cannot evict what it still needs); prefixes with
    // the same cached length and the same number of new tokens run as one batch.
    const groups = new Map<string, { pastLen: number; rows: number[]; states: CachedState[] }>();
    const cold: number[] = [];
    mapped.forEach((p, i) => {
      const state = this.#longestCached(p);
      if (!state) {
        cold.push(i);
        return;
      }
      const id = `${state.length}:${p.length - state.length}`;
      const group = groups.get(id) ?? { pastLen: state.length, rows: [], states: [] };
      group.rows.push(i);
      group.states.push(state);
      groups.set(id, group);
    });
    for (const i of cold) {
      throwIfAborted(signal, 'ONNX scoring');
      out[i] = (await this.#run([mapped[i]!], 0, undefined, [i], mapped))[0]!;
    }
    for (const { pastLen, rows, states } of groups.values()) {
      throwIfAborted(signal, 'ONNX scoring');
      this.stats.cacheHits += rows.length;
      const res = await this.#run(
        rows.map((i) => mapped[i]!.slice(pastLen)),
        pastLen,
        states,
        rows,
        mapped,
      );
      rows.forEach((i, j) => (out[i] = res[j]!));
    }
    return out;
  }

  /** The cached state of the longest proper prefix of `ids` (refreshing its recency), if any. */
  #longestCached(ids: readonly number[]): CachedState | undefined {
    if (this.#cache.size === 0) return undefined;
    const full = ids.join(',');
    // Ends of each prefix key in `full`: the key of the first n ids is full.slice(0, ends[n]).
    let end = full.length;
    for (let n = ids.length - 1; n >= 1; n--) {
      end = full.lastIndexOf(',', end - 1);
      const k = full.slice(0, end);
      const state = this.#cache.get(k);
      if (state) {
        this.#cache.delete(k);
        this.#cache.set(k, state);
        return state;
      }
    }
    return undefined;
  }

  /**
   * Runs a batch of equal-length inputs after `pastLen` cached tokens; caches each row's
   * present state under its full prefix, and returns log-probabilities of the last position.
   */
  async #run(inputs: number[][], pastLen: number, states: CachedState[] | undefined, rows?: number[], full?: number[][]): Promise<Float32Array[]> {
    const B = inputs.length;
    const L = inputs[0]!.length;
    const feeds: Record<string, ort.Tensor> = {};
    const ids = (name: string, values: number[], dims: number[]): void => {
      const type = this.#idType.get(name);
      if (!type) return;
      feeds[name] =
        type === 'int64'
          ? new ort.Tensor(
              'int64',
              BigInt64Array.from(values, (v) => BigInt(v)),
              dims,
            )
          : new ort.Tensor('int32', Int32Array.from(values), dims);
    };
    ids('input_ids', inputs.flat(), [B, L]);
    ids(
      'position_ids',
      inputs.flatMap(() => Array.from({ length: L }, (_, j) => pastLen + j)),
      [B, L],
    );
    ids('attention_mask', new Array<number>(B * (pastLen + L)).fill(1), [B, pastLen + L]);
    if (this.#graph.merged) feeds['use_cache_branch'] = new ort.Tensor('bool', Uint8Array.of(pastLen > 0 ? 1 : 0), [1]);
    const layout = this.#layout;
    const pastNames = layout.kind === 'combined' ? layout.names : layout.kind === 'split' ? [...layout.keys, ...layout.values] : [];
    pastNames.forEach((name, k) => {
      const dims = this.#pastDims(k, B, pastLen);
      const size = dims.reduce((a, b) => a * b, 1);
      const data = this.#graph.past === 'float16' ? new Uint16Array(size) : new Float32Array(size);
      if (states && pastLen > 0) {
        if (layout.kind === 'combined') {
          // [2, B, H, P, D]: per half, batch rows are contiguous blocks.
          const per = data.length / (2 * B);
          for (let h = 0; h < 2; h++) states.forEach((s, b) => data.set(s.tensors[k]!.subarray(h * per, (h + 1) * per), (h * B + b) * per));
        } else {
          const per = data.length / B;
          states.forEach((s, b) => data.set(s.tensors[k]!, b * per));
        }
      }
      feeds[name] = new ort.Tensor(this.#graph.past, data, dims);
    });
    let result: ort.InferenceSession.ReturnType;
    try {
      result = await this.session.run(feeds);
    } catch (error) {
      throw new ScorerError(`${this.#file}: inference failed (${(error as Error).message}).`, {}, { cause: error });
    }
    this.stats.runs++;
    this.stats.tokens += B * L;
    const V = this.modelVocabSize;
    const logits = result['logits']!;
    const raw = logits.data as Float32Array | Uint16Array;
    const positions = logits.dims.length === 3 ? Number(logits.dims[1]) : L;
    this.stats.logitValues += raw.length;
    const out: Float32Array[] = [];
    for (let b = 0; b < B; b++) {
      const last = raw.subarray((b * positions + positions - 1) * V, (b * positions + positions) * V);
      out.push(this.#expand(logSoftmax(last instanceof Uint16Array ? halfArrayToFloat32(last) : last)));
    }
    if (rows && full && layout.kind !== 'none') {
      const outNames = layout.kind === 'combined' ? layout.outputs : [...layout.outKeys, ...layout.outValues];
      const presents = outNames.map((n) => result[n]!.data as Float32Array | Uint16Array);
      const total = pastLen + L;
      rows.forEach((row, b) => {
        const tensors = presents.map((p) => {
          if (layout.kind === 'combined') {
            const per = p.length / (2 * B);
            const t = p instanceof Uint16Array ? new Uint16Array(2 * per) : new Float32Array(2 * per);
            t.set(p.subarray(b * per, (b + 1) * per), 0);
            t.set(p.subarray((B + b) * per, (B + b + 1) * per), per);
            return t;
          }
          const per = p.length / B;
          return p.slice(b * per, (b + 1) * per);
        });
        this.#remember(key(full[row]!, full[row]!.length), { tensors, length: total });
      });
    }
    return out;
  }

  #pastDims(k: number, B: number, pastLen: number): number[] {
    const shape = this.#pastShapes[k]!;
    // combined: [2, batch, heads, past, head_dim]; split: [batch, heads, past, head_dim].
    const batchAxis = this.#layout.kind === 'combined' ? 1 : 0;
    return shape.map((d, i) => (i === batchAxis ? B : i === batchAxis + 2 ? pastLen : typeof d === 'number' ? d : 0));
  }

  #remember(k: string, state: CachedState): void {
    this.#cache.delete(k);
    this.#cache.set(k, state);
    while (this.#cache.size > this.#cacheEntries) this.#cache.delete(this.#cache.keys().next().value!);
  }

  #expand(lp: Float32Array): Float32Array {
    if (this.vocabSize === lp.length) return lp;
    const out = new Float32Array(this.vocabSize);
    for (let t = 0; t < out.length; t++) out[t] = lp[t % lp.length]!;
    return out;
  }

  /** Frees the onnxruntime session. */
  async close(): Promise<void> {
    await this.session.release();
  }
}

/**
 * The ids transformers puts before a prompt: the leading special tokens of the
 * tokenizer's post-processor (TemplateProcessing, as Llama 3 and others define BOS), else
 * `bos_token` when tokenizer_config.json sets `add_bos_token` (older Llama/Mistral exports).
 */
function bosFor(dir: string, codec: TokenizerCodec, addBos: boolean | undefined): readonly number[] {
  if (addBos === false) return [];
  const fromTemplate = codec.tokenizer.prefixIds;
  if (fromTemplate.length) return fromTemplate;
  const file = join(dir, 'tokenizer_config.json');
  let config: Record<string, unknown> = {};
  if (existsSync(file)) {
    try {
      config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (error) {
      throw new ScorerError(`${file}: not valid JSON (${(error as Error).message}).`);
    }
    if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new ScorerError(`${file}: must hold a JSON object of settings.`);
  }
  if (addBos !== true && config['add_bos_token'] !== true) return [];
  const token = config['bos_token'];
  const content = typeof token === 'string' ? token : token && typeof token === 'object' ? (token as { content?: unknown }).content : undefined;
  const id = typeof content === 'string' ? codec.tokenizer.tokenToId(content) : undefined;
  if (id === undefined) throw new ScorerError(`${dir}: BOS was asked for (add_bos_token or addBos) but tokenizer_config.json names no bos_token the tokenizer knows.`);
  return [id];
}

const SLICED = 'logits_all_positions';

/**
 * The graph with `logits` cut to the last position, or undefined where that can't be done
 * in memory (external data, over 2 GB, no node producing `logits`). Positions before the
 * last are never read: beam search needs the next-token distribution only.
 */
function lastPositionLogits(file: string): Uint8Array | undefined {
  if (statSync(file).size > 2 ** 31) return undefined;
  const model = decodeModel(readFileSync(file), file);
  const graph = model.graph;
  if (!graph) return undefined;
  if ((graph.initializer ?? []).some((t) => t.dataLocation === 1)) return undefined;
  const producer = (graph.node ?? []).find((n) => (n.output ?? []).includes('logits'));
  const output = (graph.output ?? []).find((o) => o.name === 'logits');
  if (!producer || !output) return undefined;
  producer.output = producer.output!.map((o) => (o === 'logits' ? SLICED : o));
  const int64 = (name: string, value: bigint) => ({ name, dataType: 7, dims: [1], rawData: new Uint8Array(BigInt64Array.of(value).buffer) });
  graph.initializer = [...(graph.initializer ?? []), int64(`${SLICED}/starts`, -1n), int64(`${SLICED}/ends`, 2n ** 63n - 1n), int64(`${SLICED}/axes`, 1n)];
  graph.node = [...(graph.node ?? []), { opType: 'Slice', name: `${SLICED}/slice`, input: [SLICED, `${SLICED}/starts`, `${SLICED}/ends`, `${SLICED}/axes`], output: ['logits'] }];
  const dims = output.type?.tensorType?.shape?.dim;
  if (dims && dims.length === 3) dims[1] = { dimValue: 1 };
  return encodeModel(model);
}

function layerOf(name: string): number {
  return Number(/\.(\d+)\./.exec(name)?.[1] ?? 0);
}

function key(ids: readonly number[], length: number): string {
  return ids.slice(0, length).join(',');
}

export function logSoftmax(logits: Float32Array): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - max);
  const norm = max + Math.log(sum);
  const out = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i]! - norm;
  return out;
}
