import { InputError, throwIfAborted, type EncodeOptions, type Encoder, type Matrix } from '@quarry/core';
import { ContextualModel, type StaticModel, type ModelEncoder } from '@quarry/encoders';
import { OPERATORS, type BoolOperator } from './compose.js';
import { LEXICON_FEATURES, lexiconFeatures } from './lexicon.js';
import { type BoolModules, CUE_CLASSES, operatorOfClass, type ModulesForward } from './modules.js';

/** A query encoder whose modules read the base model's token table (static or contextual own models). */
export type BaseEncoder = ModelEncoder<StaticModel> | ModelEncoder<ContextualModel>;

/** One detected Boolean cue. */
export interface CueExplanation {
  /** Token position. */
  index: number;
  token: string;
  op: BoolOperator;
  /** Probability of this operator at the token. */
  prob: number;
  /** Token positions the cue governs (scope > 0.5), with their scope value. */
  scope: { index: number; token: string; value: number }[];
}

/** What the modules did to one query: cues, scopes, per-token bias and pooling weight. */
export interface BoolExplanation {
  text: string;
  tokens: { index: number; token: string; cue: BoolOperator | 'none'; cueProb: number; bias: Record<BoolOperator, number>; combined: number; weight: number }[];
  /** Operator gates g_o (probability that the operator is present). */
  gates: Record<BoolOperator, number>;
  cues: CueExplanation[];
}

/** Threshold above which a token counts as a cue in explanations. */
const CUE_THRESHOLD = 0.5;

/**
 * Boolean-aware query encoding over one of Quarry's own encoders: queries are pooled with
 * weights w_t = 1 + S_t from the cue / scope / bias / gate modules; documents use the
 * plain encoder. The own encoders pool token vectors with a weighted mean and have no
 * self-attention (the static model is a table lookup, the contextual one a convolution),
 * so the Boolean bias is applied to the pooling weights — the one place where tokens are
 * weighed against each other, as attention logits are in a transformer. It is added to
 * the linear weight, not to a softmax logit, so a NOT scope can reach weight 0 (drop its
 * tokens) or below (subtract them), which a softmax bias could only approach.
 */
export class BoolQueryEncoder implements Encoder {
  readonly dim: number;
  readonly maxQueryLength: number;
  /** Skip cue positions whose gated weight is below this (approximate, faster; default 0 = exact). */
  readonly prune: number;
  /** Lexicon / clause-structure channels appended to each token's features (0 = table rows only). */
  readonly lexicon: number;

  constructor(
    readonly base: BaseEncoder,
    readonly modules: BoolModules,
    options: { maxQueryLength?: number; prune?: number } = {},
  ) {
    this.dim = base.dim;
    this.prune = options.prune ?? 0;
    this.maxQueryLength = options.maxQueryLength ?? 128;
    this.lexicon = modules.config.lexicon ?? 0;
    if (this.lexicon !== 0 && this.lexicon !== LEXICON_FEATURES) throw new InputError(`The Boolean modules expect ${this.lexicon} lexicon features; this version computes ${LEXICON_FEATURES}.`);
    if (modules.config.inputDim !== this.table.dim + this.lexicon)
      throw new InputError(`The Boolean modules read ${modules.config.inputDim - this.lexicon}-d token features but the base encoder has ${this.table.dim}-d rows; train them on this encoder.`);
  }

  /** The static token table the features come from. */
  get table(): StaticModel {
    const m = this.base.model;
    return m instanceof ContextualModel ? m.base : (m as StaticModel);
  }

  /** Query token ids (the base encoder's tokenisation, cut to `maxQueryLength`). */
  tokenize(text: string): Int32Array {
    return this.base.tokenize(text, 'query').slice(0, this.maxQueryLength);
  }

  /**
   * Frozen token features: the base table's row of each token, unit length (zero for unknown
   * tokens), followed by the lexicon / clause-structure channels when the modules read them.
   */
  features(ids: Int32Array): Float64Array {
    const table = this.table;
    const d = table.dim;
    const L = this.lexicon;
    const w = d + L;
    const f = new Float64Array(ids.length * w);
    for (let t = 0; t < ids.length; t++) {
      const id = ids[t]!;
      const r = id >= 0 && id < table.mapping.length ? table.mapping[id]! : -1;
      if (r < 0) continue;
      let norm = 0;
      for (let j = 0; j < d; j++) norm += table.embeddings[r * d + j]! ** 2;
      const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
      for (let j = 0; j < d; j++) f[t * w + j] = table.embeddings[r * d + j]! * inv;
    }
    if (L > 0) {
      const lex = lexiconFeatures(Array.from(ids, (id) => this.base.tokenizer.idToToken(id) ?? ''));
      for (let t = 0; t < ids.length; t++) for (let k = 0; k < L; k++) f[t * w + d + k] = lex[t * L + k]!;
    }
    return f;
  }

  /** Runs the modules on a query's ids (no noise). */
  run(ids: Int32Array): ModulesForward {
    return this.modules.forward(this.features(ids), ids.length, undefined, { prune: this.prune });
  }

  /** Per-token pooling weights for each query. */
  weights(texts: readonly string[]): { ids: Int32Array[]; weights: Float32Array[] } {
    const ids = texts.map((t) => this.tokenize(t));
    return { ids, weights: ids.map((x) => Float32Array.from(this.run(x).w)) };
  }

  async encode(texts: readonly string[], options: EncodeOptions): Promise<Matrix> {
    if (options.role !== 'query') return this.base.encode(texts, options);
    throwIfAborted(options.signal, 'Boolean query encoding');
    const { ids, weights } = this.weights(texts);
    return this.base.encodeIds(ids, { ...(options.dim !== undefined ? { dim: options.dim } : {}), tokenWeights: weights });
  }

  /** The plain encoder's vectors for the same (truncated) query tokens: the baseline. */
  encodePlain(texts: readonly string[], options: { dim?: number } = {}): Matrix {
    return this.base.encodeIds(
      texts.map((t) => this.tokenize(t)),
      options,
    );
  }

  /**
   * The baseline: the same base encoder, tokenisation and pooling, without the modules
   * (every pooling weight 1). Documents are encoded identically.
   */
  asBaseline(): Encoder {
    return {
      dim: this.dim,
      encode: async (texts: readonly string[], options: EncodeOptions): Promise<Matrix> => {
        if (options.role !== 'query') return this.base.encode(texts, options);
        throwIfAborted(options.signal, 'query encoding');
        return this.encodePlain(texts, options.dim !== undefined ? { dim: options.dim } : {});
      },
    };
  }

  explain(text: string): BoolExplanation {
    const ids = this.tokenize(text);
    const fw = this.run(ids);
    const n = ids.length;
    const C = CUE_CLASSES.length;
    const tok = (i: number): string => this.base.tokenizer.idToToken(ids[i]!) ?? `[${ids[i]}]`;
    const tokens: BoolExplanation['tokens'] = [];
    for (let t = 0; t < n; t++) {
      let best = 0;
      for (let k = 1; k < C; k++) if (fw.p[t * C + k]! > fw.p[t * C + best]!) best = k;
      const bias = Object.fromEntries(OPERATORS.map((op, o) => [op, round(fw.S[o * n + t]!)])) as Record<BoolOperator, number>;
      tokens.push({ index: t, token: tok(t), cue: operatorOfClass(best) ?? 'none', cueProb: round(fw.p[t * C + best]!), bias, combined: round(fw.w[t]! - 1), weight: round(fw.w[t]!) });
    }
    const cues: CueExplanation[] = [];
    for (let c = 0; c < n; c++) {
      OPERATORS.forEach((op, o) => {
        const prob = fw.p[c * C + o + 1]!;
        if (prob < CUE_THRESHOLD) return;
        const scope: CueExplanation['scope'] = [];
        for (let t = 0; t < n; t++) {
          const value = fw.s[(o * n + c) * n + t]!;
          if (value > 0.5) scope.push({ index: t, token: tok(t), value: round(value) });
        }
        cues.push({ index: c, token: tok(c), op, prob: round(prob), scope });
      });
    }
    const gates = Object.fromEntries(OPERATORS.map((op, o) => [op, round(fw.gate[o]!)])) as Record<BoolOperator, number>;
    return { text, tokens, gates, cues };
  }
}

function round(x: number): number {
  return Math.round(x * 10000) / 10000;
}
