import { join } from 'node:path';
import { Adam, bundledModelDir, loadOwnModel, type ModelEncoder } from '@quarry/encoders';
import { InputError, SeededRandom, TopK, checkOptions, docText, evaluate, hashString, readCorpus, readQrels, throwIfAborted, type Doc, type Qrels, type Run } from '@quarry/core';
import { trainBoolOptionsSchema } from './options.js';
import { existsSync } from 'node:fs';
import { OPERATORS, type BoolOperator, type Segment } from './compose.js';
import { AUGMENTATIONS, cueTokenMask, familiesOf, renderFamily, type PhrasingFamily } from './families.js';
import { LEXICON_FEATURES } from './lexicon.js';
import { readBoolQueries, type BoolQuery } from './benchmark.js';
import { BoolQueryEncoder, type BaseEncoder } from './encoder.js';
import { BoolModules, type TokenLabels } from './modules.js';
import { baseChecksum, saveBoolModel } from './model-file.js';

export interface TrainBoolOptions {
  /** The Boolean benchmark folder (BEIR layout with metadata), e.g. benchmark/scifact-bool. */
  benchmark: string;
  /** Where to write the model folder. */
  out: string;
  /** Bundled base encoder name (default 'scifact-static'). */
  base?: string;
  hidden?: number;
  temperature?: number;
  /** Retrieval softmax temperature. */
  retrievalTemperature?: number;
  /** Epochs of each phase: [auxiliary pre-training (cue + scope), retrieval fine-tuning]. */
  epochs?: [number, number];
  batchSize?: number;
  lr?: number;
  /** Auxiliary loss weights during fine-tuning. */
  auxWeight?: number;
  /** Candidate documents per training query (top of the plain query, its first source, and the positives). */
  candidates?: number;
  /** Percentage of train source queries held out as a development split. */
  devPercent?: number;
  maxQueryLength?: number;
  /** Use only the first N train queries of each operator (and N plain ones): quick runs and tests. */
  limitQueries?: number;
  /**
   * Train phrasing families rendered per train pair, per operator (sampled, seeded, from
   * `familiesOf('train', op)`); default { not: 4, and: 2, or: 2 }. Held-out families are never rendered.
   */
  phrasingsPerPair?: Partial<Record<BoolOperator, number>>;
  /** Probability that a rendered query gets a punctuation / case augmentation of its connectives (default 0.3). */
  augmentProbability?: number;
  /** Append the lexicon / clause-structure channels to the token features (default true). */
  lexicon?: boolean;
  /**
   * Probability that a training query's cue tokens lose their table-row features (the lexicon and
   * context channels stay), so that cues are detected by what generalises to unseen connectives,
   * not by memorising the trained words' rows (default 0.5; only with the lexicon).
   */
  cueRowDropout?: number;
  seed?: number;
  signal?: AbortSignal;
  onProgress?: (event: { phase: string; epoch: number; step: number; steps: number; loss: number; elapsedMs: number }) => void;
}

export interface TrainBoolResult {
  examples: number;
  devQueries: number;
  epochs: { phase: string; loss: number; dev: Record<string, number> }[];
  baselineDev: Record<string, number>;
  parameters: number;
  baseParameters: number;
  elapsedMs: number;
}

interface Example {
  ids: Int32Array;
  labels: TokenLabels;
  positives: Int32Array;
  candidates: Int32Array;
}

const OP_INDEX: Record<BoolOperator, number> = { and: 0, or: 1, not: 2 };

/**
 * Trains the Boolean modules on the benchmark's train split over a frozen base encoder: each
 * train pair rendered in a few *train* phrasing families (`familiesOf('train')`, sampled, with
 * punctuation / case augmentations; held-out families are never rendered), plus the plain train
 * queries. Token features carry the lexicon / clause-structure channels, and a training query's
 * cue tokens lose their table rows with probability `cueRowDropout`. Phase 1 pre-trains the cue and scope predictors on the token labels that
 * generated phrasings carry; phase 2 trains everything with a retrieval loss (softmax over
 * candidate documents, several positives) plus the auxiliary losses. Seeded and single-threaded:
 * the same options give the same weights bit for bit.
 */
export async function trainBoolModules(options: TrainBoolOptions): Promise<TrainBoolResult> {
  checkOptions(trainBoolOptionsSchema, options, 'trainBoolModules options');
  const t0 = Date.now();
  const seed = options.seed ?? 42;
  const baseName = options.base ?? 'scifact-static';
  const hidden = options.hidden ?? 16;
  const temperature = options.temperature ?? 0.5;
  const tauR = options.retrievalTemperature ?? 0.05;
  const [preEpochs, fineEpochs] = options.epochs ?? [1, 2];
  const batchSize = options.batchSize ?? 32;
  const lr = options.lr ?? 3e-3;
  const auxWeight = options.auxWeight ?? 0.3;
  const nCand = options.candidates ?? 200;
  const devPercent = options.devPercent ?? 15;
  const maxQueryLength = options.maxQueryLength ?? 128;
  const perPair: Record<BoolOperator, number> = { not: 4, and: 2, or: 2, ...options.phrasingsPerPair };
  const augmentProbability = options.augmentProbability ?? 0.3;
  const lexicon = (options.lexicon ?? true) ? LEXICON_FEATURES : 0;
  const cueRowDropout = lexicon ? (options.cueRowDropout ?? 0.5) : 0;
  if (!existsSync(join(options.benchmark, 'qrels', 'train.tsv.gz')) && !existsSync(join(options.benchmark, 'qrels', 'train.tsv')))
    throw new InputError(`${options.benchmark} has no qrels/train.tsv[.gz]; build the benchmark first (node benchmark/build.mjs).`);

  const baseDir = bundledModelDir(baseName);
  const base = (await loadOwnModel(baseDir)) as ModelEncoder as BaseEncoder;
  const rng = new SeededRandom(seed);
  const modules = BoolModules.init({ inputDim: base.dim + lexicon, hidden, temperature, ...(lexicon ? { lexicon } : {}) }, rng);
  const encoder = new BoolQueryEncoder(base, modules, { maxQueryLength });

  // Corpus vectors (plain encoder, frozen).
  const docs: Doc[] = [];
  for await (const d of readCorpus(existsSync(join(options.benchmark, 'corpus.jsonl.gz')) ? join(options.benchmark, 'corpus.jsonl.gz') : join(options.benchmark, 'corpus.jsonl'))) docs.push(d);
  const docIndex = new Map(docs.map((d, i) => [d.id, i]));
  const D = (
    await base.encode(
      docs.map((d) => docText(d)),
      { role: 'document' },
    )
  ).data;
  const dim = base.dim;

  const queries = await readBoolQueries(options.benchmark);
  const byId = new Map(queries.map((q) => [q.id, q]));
  const qrelsFile = (name: string): string =>
    existsSync(join(options.benchmark, 'qrels', `${name}.tsv.gz`)) ? join(options.benchmark, 'qrels', `${name}.tsv.gz`) : join(options.benchmark, 'qrels', `${name}.tsv`);
  const trainQrels = await readQrels(qrelsFile('train'));
  const plainQrels = await readQrels(qrelsFile('train-plain'));
  const sourceText = (id: string): string => {
    const q = byId.get(`q-${id}`);
    if (!q) throw new InputError(`the benchmark has no plain query q-${id} (source of a Boolean query); rebuild it.`);
    return q.text;
  };
  const isDev = (src: string): boolean => hashString(`dev:${src}`) % 100 < devPercent;

  const scan = (q: Float32Array, k: number): Int32Array => {
    const top = new TopK(k);
    for (let i = 0; i < docs.length; i++) {
      let s = 0;
      const o = i * dim;
      for (let j = 0; j < dim; j++) s += q[j]! * D[o + j]!;
      if (s > top.threshold) top.push(i, s);
    }
    return top.drain().indices;
  };
  const positivesOf = (judged: Map<string, number> | undefined): Int32Array =>
    Int32Array.from(
      [...(judged ?? new Map<string, number>())]
        .filter(([, g]) => g > 0)
        .map(([d]) => docIndex.get(d))
        .filter((i): i is number => i !== undefined),
    );

  const toExample = (segments: Segment[] | undefined, text: string, template: PhrasingFamily | undefined, positives: Int32Array, extra: Int32Array): Example | undefined => {
    let ids: Int32Array;
    const cue: number[] = [];
    const role: string[] = [];
    if (segments) {
      const parts = segments.map((s) => base.tokenize(s.text, 'query'));
      ids = Int32Array.from(parts.flatMap((p) => [...p]));
      const whole = base.tokenize(text, 'query');
      if (whole.length !== ids.length || whole.some((x, i) => x !== ids[i])) return undefined; // a segment boundary inside a word: skip
      for (const [si, s] of segments.entries()) {
        const mask =
          s.role === 'cue'
            ? cueTokenMask(
                s.text,
                template?.cueWords,
                (x) => base.tokenize(x, 'query'),
                (id) => base.tokenizer.idToToken(id),
              )
            : [];
        if (s.role === 'cue' && mask.length !== parts[si]!.length) return undefined;
        parts[si]!.forEach((_, k) => {
          cue.push(mask[k] ? OP_INDEX[s.op!] + 1 : 0);
          role.push(s.role);
        });
      }
    } else {
      ids = base.tokenize(text, 'query');
      for (let i = 0; i < ids.length; i++) {
        cue.push(0);
        role.push('a');
      }
    }
    const n = Math.min(ids.length, maxQueryLength);
    ids = ids.slice(0, n);
    const labels: TokenLabels = { cue: Uint8Array.from(cue.slice(0, n)), scopes: [] };
    if (template) {
      for (let c = 0; c < n; c++) {
        if (labels.cue[c] === 0) continue;
        const scope = new Uint8Array(n);
        for (let t = 0; t < n; t++) scope[t] = role[t] === 'b' || (template.scope === 'ab' && role[t] === 'a') ? 1 : 0;
        labels.scopes.push({ cue: c, op: OP_INDEX[template.op], scope });
      }
    }
    const plain = base.encodeIds([ids]).data;
    const cands = new Set<number>([...scan(plain, nCand), ...extra, ...positives]);
    return { ids, labels, positives, candidates: Int32Array.from([...cands].sort((a, b) => a - b)) };
  };

  // Training examples: every phrasing of each train pair whose sources are not held out, plus plain queries.
  const train: Example[] = [];
  const dev: BoolQuery[] = [];
  const trainFamilies = Object.fromEntries(OPERATORS.map((op) => [op, familiesOf('train', op)])) as Record<BoolOperator, PhrasingFamily[]>;
  const renderRng = new SeededRandom(hashString(`render:${seed}`));
  const aOnly = new Map<string, Int32Array>();
  const topOfSource = (src: string): Int32Array => {
    let hit = aOnly.get(src);
    if (!hit) aOnly.set(src, (hit = scan(base.encodeIds([base.tokenize(sourceText(src), 'query').slice(0, maxQueryLength)]).data, 100)));
    return hit;
  };
  const used = new Map<string, number>();
  for (const q of queries) {
    throwIfAborted(options.signal, 'training data');
    if (q.meta.split !== 'train') continue;
    if (options.limitQueries !== undefined) {
      const k = used.get(q.meta.op) ?? 0;
      used.set(q.meta.op, k + 1);
      if (k >= options.limitQueries) continue;
    }
    const srcs = q.meta.sources;
    if (srcs.some(isDev)) {
      if (q.meta.op !== 'none' && isDev(srcs[0]!)) dev.push(q);
      else if (q.meta.op === 'none' && isDev(srcs[0]!)) dev.push(q);
      continue;
    }
    if (q.meta.op === 'none') {
      const ex = toExample(undefined, q.text, undefined, positivesOf(plainQrels.get(q.id)), new Int32Array(0));
      if (ex) train.push(ex);
      continue;
    }
    const positives = positivesOf(trainQrels.get(q.id));
    const extra = Int32Array.from([...topOfSource(srcs[0]!), ...topOfSource(srcs[1]!).slice(0, 50)]);
    const op = q.meta.op;
    const chosen = renderRng.shuffle([...trainFamilies[op]]).slice(0, perPair[op]);
    for (const t of chosen) {
      const aug = renderRng.next() < augmentProbability ? AUGMENTATIONS[1 + Math.floor(renderRng.next() * (AUGMENTATIONS.length - 1))]! : 'none';
      const { text, segments } = renderFamily(t, sourceText(srcs[0]!), sourceText(srcs[1]!), aug);
      const ex = toExample(segments, text, t, positives, extra);
      if (ex) train.push(ex);
    }
  }

  const devEval = (useModules: boolean): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const op of [...OPERATORS, 'none'] as const) {
      const qs = dev.filter((q) => q.meta.op === op);
      if (!qs.length) continue;
      const qrels: Qrels = new Map(qs.map((q) => [q.id, (op === 'none' ? plainQrels : trainQrels).get(q.id) ?? new Map()]));
      const run: Run = new Map();
      for (const q of qs) {
        const ids = encoder.tokenize(q.text);
        const vec = useModules ? base.encodeIds([ids], { tokenWeights: [Float32Array.from(encoder.run(ids).w)] }).data : base.encodeIds([ids]).data;
        const top = new TopK(10);
        for (let i = 0; i < docs.length; i++) {
          let s = 0;
          for (let j = 0; j < dim; j++) s += vec[j]! * D[i * dim + j]!;
          if (s > top.threshold) top.push(i, s);
        }
        const { indices, scores } = top.drain();
        run.set(
          q.id,
          Array.from(indices, (i, r) => ({ id: docs[i]!.id, score: scores[r]! })),
        );
      }
      const m = evaluate(run, qrels, ['mrr@10', 'ndcg@10']).metrics;
      out[`${op}/mrr@10`] = round4(m['mrr@10']!);
      out[`${op}/ndcg@10`] = round4(m['ndcg@10']!);
    }
    return out;
  };

  const baselineDev = devEval(false);
  const adam = new Adam(modules.params(), { lr });
  const phases: { name: string; ret: number; aux: number }[] = [
    ...Array.from({ length: preEpochs }, () => ({ name: 'pretrain', ret: 0, aux: 1 })),
    ...Array.from({ length: fineEpochs }, () => ({ name: 'finetune', ret: 1, aux: auxWeight })),
  ];
  const stepsPerEpoch = Math.ceil(train.length / batchSize);
  const totalSteps = stepsPerEpoch * phases.length;
  const epochs: TrainBoolResult['epochs'] = [];
  let step = 0;
  const O = OPERATORS.length;
  for (const [e, phase] of phases.entries()) {
    const order = new SeededRandom(hashString(`epoch:${seed}:${e}`)).shuffle(train.map((_, i) => i));
    const noiseRng = new SeededRandom(hashString(`noise:${seed}:${e}`));
    const dropRng = new SeededRandom(hashString(`drop:${seed}:${e}`));
    let lossSum = 0;
    for (let b = 0; b < order.length; b += batchSize) {
      throwIfAborted(options.signal, 'training');
      const batch = order.slice(b, b + batchSize);
      for (const i of batch) {
        const ex = train[i]!;
        const n = ex.ids.length;
        if (n === 0) continue;
        const noise = new Float64Array(O * n * n);
        for (let k = 0; k < noise.length; k++) {
          const u = Math.min(Math.max(noiseRng.next(), 1e-7), 1 - 1e-7);
          noise[k] = Math.log(u) - Math.log(1 - u);
        }
        const feats = encoder.features(ex.ids);
        if (cueRowDropout > 0 && dropRng.next() < cueRowDropout) {
          const w = base.dim + lexicon;
          for (let t = 0; t < n; t++) if (ex.labels.cue[t]) feats.fill(0, t * w, t * w + base.dim);
        }
        const fw = modules.forward(feats, n, noise);
        let gw: Float64Array | undefined;
        if (phase.ret > 0) {
          const x = base.model.tokens(ex.ids);
          const r = retrievalLoss(x, fw.w, n, dim, D, ex.candidates, ex.positives, tauR);
          lossSum += phase.ret * r.loss;
          gw = r.gw;
          for (let t = 0; t < n; t++) gw[t]! *= phase.ret / batch.length;
        }
        lossSum += modules.backward(fw, gw, ex.labels, { cueWeight: phase.aux / batch.length, scopeWeight: phase.aux / batch.length }) * batch.length;
      }
      const progress = step / totalSteps;
      const warm = 0.05;
      const scale = progress < warm ? (progress + 1 / totalSteps) / warm : Math.max(0.02, (1 - progress) / (1 - warm));
      adam.step(lr * scale);
      step++;
      options.onProgress?.({ phase: phase.name, epoch: e + 1, step, steps: totalSteps, loss: lossSum / Math.min(b + batchSize, order.length), elapsedMs: Date.now() - t0 });
    }
    epochs.push({ phase: phase.name, loss: round4(lossSum / train.length), dev: devEval(true) });
  }

  const baseParameters = base.model.config.rows * base.model.config.dim + (base.model.config.learnWeights ? base.model.config.rows : 0);
  const result: TrainBoolResult = { examples: train.length, devQueries: dev.length, epochs, baselineDev, parameters: modules.size, baseParameters, elapsedMs: Date.now() - t0 };
  await saveBoolModel(options.out, modules, {
    base: baseName,
    baseSha256: await baseChecksum(baseDir),
    maxQueryLength,
    training: {
      seed,
      hidden,
      temperature,
      retrievalTemperature: tauR,
      epochs: [preEpochs, fineEpochs],
      batchSize,
      lr,
      auxWeight,
      candidates: nCand,
      devPercent,
      phrasingsPerPair: perPair,
      augmentProbability,
      lexicon,
      cueRowDropout,
      trainFamilies: OPERATORS.flatMap((op) => trainFamilies[op].map((x) => x.id)),
      examples: train.length,
      devQueries: dev.length,
      history: epochs,
      baselineDev,
    },
  });
  return result;
}

/**
 * Multi-positive softmax cross-entropy of the pooled query q = normalise(sum_t w_t x_t / n)
 * against candidate documents (unit vectors): loss = -log sum_{pos} softmax(q . d / tau).
 * Returns the loss and d(loss)/d(w).
 */
export function retrievalLoss(
  x: Float32Array,
  w: Float64Array,
  n: number,
  dim: number,
  D: Float32Array,
  candidates: Int32Array,
  positives: Int32Array,
  tau: number,
): { loss: number; gw: Float64Array } {
  const q = new Float64Array(dim);
  for (let t = 0; t < n; t++) for (let j = 0; j < dim; j++) q[j]! += (w[t]! * x[t * dim + j]!) / n;
  let norm = 0;
  for (let j = 0; j < dim; j++) norm += q[j]! * q[j]!;
  norm = Math.sqrt(norm);
  const gw = new Float64Array(n);
  if (norm === 0 || positives.length === 0) return { loss: 0, gw };
  const qh = q.map((v) => v / norm);
  const m = candidates.length;
  const s = new Float64Array(m);
  const pos = new Set(positives);
  let max = -Infinity;
  for (let c = 0; c < m; c++) {
    const o = candidates[c]! * dim;
    let dot = 0;
    for (let j = 0; j < dim; j++) dot += qh[j]! * D[o + j]!;
    s[c] = dot / tau;
    if (s[c]! > max) max = s[c]!;
  }
  let zAll = 0;
  let zPos = 0;
  for (let c = 0; c < m; c++) {
    const e = Math.exp(s[c]! - max);
    s[c] = e;
    zAll += e;
    if (pos.has(candidates[c]!)) zPos += e;
  }
  if (zPos === 0) return { loss: 0, gw };
  const loss = Math.log(zAll) - Math.log(zPos);
  // d loss / d s_c = p_c - [c in pos] e_c / zPos.
  const dqh = new Float64Array(dim);
  for (let c = 0; c < m; c++) {
    const g = (s[c]! / zAll - (pos.has(candidates[c]!) ? s[c]! / zPos : 0)) / tau;
    if (g === 0) continue;
    const o = candidates[c]! * dim;
    for (let j = 0; j < dim; j++) dqh[j]! += g * D[o + j]!;
  }
  let dot = 0;
  for (let j = 0; j < dim; j++) dot += qh[j]! * dqh[j]!;
  const dq = new Float64Array(dim);
  for (let j = 0; j < dim; j++) dq[j] = (dqh[j]! - qh[j]! * dot) / norm;
  for (let t = 0; t < n; t++) {
    let g = 0;
    for (let j = 0; j < dim; j++) g += dq[j]! * x[t * dim + j]!;
    gw[t] = g / n;
  }
  return { loss, gw };
}

function round4(x: number): number {
  return Math.round(x * 10000) / 10000;
}
