import { existsSync, readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { InputError, throwIfAborted, type NextTokenScorer } from '@quarry/core';
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
}

type PastLayout = { kind: 'combined'; names: string[]; outputs: string[] } | { kind: 'split'; keys: string[]; values: string[]; outKeys: string[]; outValues: string[] } | { kind: 'none' };

interface CachedState {
  /** Per past input, a [1, ...] slice of the present output (batch 1). */
  tensors: Float32Array[];
  length: number;
}

/**
 * A causal language model exported to ONNX (tokenizer.json + model.onnx), scoring the
 * full next-token distribution (log-softmax of the last position's logits). When the
 * export has past key/value inputs (`past_%d` as onnxruntime-genai writes them, or
 * `past_key_values.%d.key|value` as Optimum does), a prefix one token longer than a
 * cached one runs a single step on the cached state: beam search pays one token per beam
 * per step. Exports without a cache re-run the whole prefix.
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

  private constructor(file: string, codec: TokenizerCodec, session: ort.InferenceSession, vocab: number, layout: PastLayout, pastShapes: (number | string)[][], idType: Map<string, 'int32' | 'int64'>, options: OnnxCausalLmOptions) {
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
  }

  /** Loads `tokenizer.json` and the ONNX graph from a folder. */
  static async load(dir: string, options: OnnxCausalLmOptions = {}): Promise<OnnxCausalLm> {
    if (!existsSync(dir)) throw new ScorerError(`${dir}: no such model folder; pass a folder with tokenizer.json and model.onnx.`);
    let file = options.modelFile ? join(dir, options.modelFile) : join(dir, 'model.onnx');
    if (!options.modelFile && !existsSync(file)) {
      const onnx = readdirSync(dir).filter((f) => f.endsWith('.onnx'));
      if (onnx.length !== 1) throw new ScorerError(`${dir}: no model.onnx${onnx.length ? ` and several .onnx files (${onnx.join(', ')}); pass modelFile` : ''}.`);
      file = join(dir, onnx[0]!);
    }
    if (!existsSync(file)) throw new ScorerError(`${file}: missing; pass the causal LM's ONNX file.`);
    const codec = TokenizerCodec.fromDir(dir);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(file, { intraOpNumThreads: options.threads ?? Math.min(4, availableParallelism()), interOpNumThreads: 1, graphOptimizationLevel: 'all' });
    } catch (error) {
      throw new ScorerError(`${file}: onnxruntime could not load it (${(error as Error).message}).`, {}, { cause: error });
    }
    const inputs = new Map(session.inputMetadata.map((m) => [m.name, m]));
    if (!inputs.has('input_ids')) throw new ScorerError(`${file}: no graph input "input_ids" (inputs: ${session.inputNames.join(', ')}); expected a causal LM export.`);
    const logits = session.outputMetadata.find((m) => m.name === 'logits');
    if (!logits || !logits.isTensor) throw new ScorerError(`${file}: no "logits" output (outputs: ${session.outputNames.join(', ')}); export the model with its LM head.`);
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
    const pastShapes = pastNames.map((n) => {
      const m = inputs.get(n)!;
      if (!m.isTensor || m.type !== 'float32') throw new ScorerError(`${file}: past input ${n} must be float32.`);
      return [...m.shape];
    });
    return new OnnxCausalLm(file, codec, session, vocab, layout, pastShapes, idType, options);
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
    throw new InputError(`Token id ${id} is outside the model's vocabulary (${this.modelVocabSize} tokens, ${this.#file}); the tokenizer does not match the model. Use the tokenizer.json exported with the model.`);
  }

  /** Log-softmax of the next-token logits after each prefix. */
  async nextTokenLogProbs(prefixes: readonly (readonly number[])[], signal?: AbortSignal): Promise<Float32Array[]> {
    const out: Float32Array[] = new Array(prefixes.length);
    const mapped = prefixes.map((p) => {
      if (p.length === 0) throw new InputError('nextTokenLogProbs needs non-empty prefixes (start with a prompt or a BOS token).');
      return p.map((id) => this.#modelId(id));
    });
    if (this.#layout.kind === 'none') {
      for (let i = 0; i < mapped.length; i++) {
        throwIfAborted(signal, 'ONNX scoring');
        out[i] = (await this.#run([mapped[i]!], 0, undefined))[0]!;
      }
      return out;
    }
    // Group prefixes whose parent (all but the last token) has a cached state, by its length.
    const groups = new Map<number, number[]>();
    const cold: number[] = [];
    mapped.forEach((p, i) => {
      const parent = this.#cache.get(key(p, p.length - 1));
      if (parent) groups.set(parent.length, [...(groups.get(parent.length) ?? []), i]);
      else cold.push(i);
    });
    for (const i of cold) {
      throwIfAborted(signal, 'ONNX scoring');
      out[i] = (await this.#run([mapped[i]!], 0, undefined, [i], mapped))[0]!;
    }
    for (const [pastLen, members] of groups) {
      throwIfAborted(signal, 'ONNX scoring');
      const states = members.map((i) => this.#cache.get(key(mapped[i]!, mapped[i]!.length - 1))!);
      const res = await this.#run(members.map((i) => [mapped[i]![mapped[i]!.length - 1]!]), pastLen, states, members, mapped);
      members.forEach((i, j) => (out[i] = res[j]!));
    }
    return out;
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
      feeds[name] = type === 'int64' ? new ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims) : new ort.Tensor('int32', Int32Array.from(values), dims);
    };
    ids('input_ids', inputs.flat(), [B, L]);
    ids('position_ids', inputs.flatMap(() => Array.from({ length: L }, (_, j) => pastLen + j)), [B, L]);
    ids('attention_mask', new Array<number>(B * (pastLen + L)).fill(1), [B, pastLen + L]);
    const layout = this.#layout;
    const pastNames = layout.kind === 'combined' ? layout.names : layout.kind === 'split' ? [...layout.keys, ...layout.values] : [];
    pastNames.forEach((name, k) => {
      const dims = this.#pastDims(k, B, pastLen);
      const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
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
      feeds[name] = new ort.Tensor('float32', data, dims);
    });
    let result: ort.InferenceSession.ReturnType;
    try {
      result = await this.session.run(feeds);
    } catch (error) {
      throw new ScorerError(`${this.#file}: inference failed (${(error as Error).message}).`, {}, { cause: error });
    }
    const logits = result['logits']!.data as Float32Array;
    const V = this.modelVocabSize;
    const out: Float32Array[] = [];
    for (let b = 0; b < B; b++) out.push(this.#expand(logSoftmax(logits.subarray((b * L + L - 1) * V, (b * L + L) * V))));
    if (rows && full && layout.kind !== 'none') {
      const outNames = layout.kind === 'combined' ? layout.outputs : [...layout.outKeys, ...layout.outValues];
      const presents = outNames.map((n) => result[n]!.data as Float32Array);
      const total = pastLen + L;
      rows.forEach((row, b) => {
        const tensors = presents.map((p) => {
          if (layout.kind === 'combined') {
            const per = p.length / (2 * B);
            const t = new Float32Array(2 * per);
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
