import { ConfigError, SeededRandom, hashString, InputError, isDocScorer, QuarryError, type DocStore, type Hit, type Qrels, type Query, type Retriever } from '@quarry/core';
import { filterCandidates, scoreScale } from './filter.js';
import type { FalseNegativeOracle } from './labels.js';
import { ABSOLUTE_METHODS, type MiningOptions } from './options.js';
import { selectNegatives } from './select.js';
import type { MiningStats } from './stats.js';

export interface Teacher {
  name: string;
  retriever: Retriever;
  /**
   * The range the teacher's scores can take, e.g. `{ min: -1, max: 1 }` for cosine or
   * `{ min: 0, max: Infinity }` for BM25. abs and margin-pos refuse an unbounded teacher
   * unless `normalize` is set; undeclared, a score outside [-1, 1] counts as unbounded.
   */
  scoreRange?: { min: number; max: number };
}

/** How several teachers combine (NV-Retriever section 3.3). */
export interface EnsembleOptions {
  /** cross: each query takes all its negatives from one teacher (chosen by a hash of its id); intra: from every teacher. */
  mode: 'intra' | 'cross';
  /** intra only: drop a negative already chosen from an earlier teacher. The paper's best ensemble kept duplicates. */
  dedup: boolean;
}

export interface ScoredDoc {
  id: string;
  score: number;
  teacher: string;
}

/** One query's mining result: its positives (with teacher scores) and its negatives. */
export interface MinedExample {
  query: Query;
  positives: { id: string; score: number }[];
  negatives: ScoredDoc[];
}

/**
 * Mines negatives for one batch of queries. Queries without positives, or whose
 * positives are all missing from the corpus, are skipped and counted in `stats`.
 */
export async function mineBatch(
  queries: readonly Query[],
  qrels: Qrels,
  docs: DocStore,
  teachers: readonly Teacher[],
  options: MiningOptions,
  ensemble: EnsembleOptions,
  stats: MiningStats,
  oracle?: FalseNegativeOracle,
  signal?: AbortSignal,
): Promise<MinedExample[]> {
  if (teachers.length === 0) throw new InputError('Mining needs at least one teacher retriever.');
  stats.normalize = options.normalize;
  const usable: { query: Query; positives: string[] }[] = [];
  for (const query of queries) {
    const judged = qrels.get(query.id);
    const labelled = judged ? [...judged].filter(([, g]) => g >= 1).map(([id]) => id) : [];
    if (labelled.length === 0) {
      stats.skipped.noPositives++;
      continue;
    }
    const present = labelled.filter((id) => docs.has(id));
    stats.skipped.positivesMissingFromCorpus += labelled.length - present.length;
    if (present.length === 0) {
      stats.skipped.noPositives++;
      continue;
    }
    usable.push({ query, positives: present });
  }
  if (usable.length === 0) return [];

  // Which teachers serve which queries.
  const assigned = usable.map(({ query }) => (ensemble.mode === 'cross' && teachers.length > 1 ? [teachers[hashString(`${options.seed}:${query.id}`) % teachers.length]!] : teachers));
  const perTeacher = new Map<Teacher, number[]>();
  assigned.forEach((ts, i) => {
    for (const t of ts) {
      let list = perTeacher.get(t);
      if (!list) perTeacher.set(t, (list = []));
      list.push(i);
    }
  });

  // One batched search per teacher, positives excluded later, so fetch a little deeper.
  const ranked = new Map<Teacher, Map<number, Hit[]>>();
  const posScores = new Map<Teacher, Map<number, number[]>>();
  for (const [teacher, indices] of perTeacher) {
    const maxPositives = Math.max(...indices.map((i) => usable[i]!.positives.length));
    const lists = await teacher.retriever.searchBatch(
      indices.map((i) => usable[i]!.query),
      { k: options.depth + maxPositives, signal },
    );
    const byQuery = new Map<number, Hit[]>();
    const scores = new Map<number, number[]>();
    for (const [j, i] of indices.entries()) {
      // Cut each list at exactly `depth` non-positives, so results never depend on which
      // queries happened to share a batch (the batch asked for the deepest query's k).
      const hits = cutAtDepth(lists[j]!, new Set(usable[i]!.positives), options.depth);
      byQuery.set(i, hits);
      scores.set(i, await positiveScores(teacher, usable[i]!, hits, options));
    }
    ranked.set(teacher, byQuery);
    posScores.set(teacher, scores);
    checkScale(teacher, [...byQuery.values()], [...scores.values()], options);
  }

  const out: MinedExample[] = [];
  for (const [i, { query, positives }] of usable.entries()) {
    const rng = new SeededRandom(hashString(`${options.seed}:${query.id}`));
    const positiveSet = new Set(positives);
    const teachersHere = assigned[i]!;
    const share = Math.ceil(options.negatives / teachersHere.length);
    const chosen: ScoredDoc[] = [];
    const chosenIds = new Set<string>();
    let reportedPositives: { id: string; score: number }[] = [];
    for (const teacher of teachersHere) {
      const counts = stats.teacher(teacher.name);
      const hits = ranked.get(teacher)!.get(i)!;
      const pos = posScores.get(teacher)!.get(i)!;
      const cap = Math.min(...pos);
      counts.queries++;
      counts.candidates += hits.length;
      if (hits.length === 0) counts.emptyResults++;
      const { kept, removed } = filterCandidates(hits, positiveSet, cap, options, scoreScale(options.normalize, hits, pos));
      for (const [filter, list] of Object.entries(removed)) counts.removed[filter as keyof typeof removed] += list.length;
      for (const h of removed.method) stats.removedByMethod.add(h.score);
      counts.kept += kept.length;
      const pool = ensemble.mode === 'intra' && ensemble.dedup ? kept.filter((h) => !chosenIds.has(h.id)) : kept;
      const picked = selectNegatives(pool, share, options, rng);
      if (picked.length < share) counts.short++;
      counts.selected += picked.length;
      for (const h of picked) {
        chosen.push({ id: h.id, score: h.score, teacher: teacher.name });
        chosenIds.add(h.id);
      }
      if (teacher === teachersHere[0]) reportedPositives = positives.map((id, p) => ({ id, score: pos[p]! }));
    }
    const negatives = chosen.slice(0, options.negatives);
    if (negatives.length < options.negatives) stats.shortQueries++;
    for (const p of reportedPositives) if (Number.isFinite(p.score)) stats.positives.add(p.score);
    for (const n of negatives) {
      stats.selected.add(n.score);
      if (oracle) {
        stats.falseNegatives.checked++;
        if (oracle.isLabelled(query.id, n.id)) stats.falseNegatives.labelled++;
        else if (oracle.isSiblingPositive(query.id, n.id)) stats.falseNegatives.sibling++;
      }
    }
    stats.queries++;
    stats.pairs += positives.length;
    out.push({ query, positives: reportedPositives, negatives });
  }
  return out;
}

/**
 * abs and margin-pos compare raw scores with fixed numbers chosen on a cosine scale
 * (0.7, 0.05); on an unbounded scale such as BM25's they remove everything or nothing
 * (abs 0.7 on BM25 removed every SciFact candidate). Refuse rather than mine silently.
 */
function checkScale(teacher: Teacher, lists: readonly Hit[][], positives: readonly number[][], o: MiningOptions): void {
  if (o.normalize !== 'none' || !ABSOLUTE_METHODS.includes(o.method)) return;
  const declared = teacher.scoreRange;
  let why: string | undefined;
  if (declared) {
    if (!Number.isFinite(declared.min) || !Number.isFinite(declared.max)) why = `its scores are unbounded (declared range [${declared.min}, ${declared.max}])`;
  } else {
    const outside = [...lists.flat().map((h) => h.score), ...positives.flat()].find((s) => Number.isFinite(s) && Math.abs(s) > 1);
    if (outside !== undefined) why = `it scored ${outside}, outside the cosine range [-1, 1] these thresholds assume, and declares no score range`;
  }
  if (!why) return;
  const threshold = o.method === 'abs' ? `absThreshold ${o.absThreshold}` : `margin ${o.margin}`;
  throw new ConfigError(
    `Method ${o.method} compares raw teacher scores with a fixed ${threshold}, which is meaningless for teacher "${teacher.name}": ${why}. ` +
      `Pass normalize: 'minmax-per-query' (--normalize minmax-per-query) to compare per-query min-max normalised scores, or use method perc-pos, which is scale-free.`,
    [{ path: 'normalize', message: `required with method ${o.method} and an unbounded teacher` }],
  );
}

function cutAtDepth(hits: readonly Hit[], positives: ReadonlySet<string>, depth: number): Hit[] {
  let negatives = 0;
  let end = 0;
  while (end < hits.length && negatives < depth) if (!positives.has(hits[end++]!.id)) negatives++;
  return hits.slice(0, end);
}

/** Teacher scores of the positives: from the ranked list, else asked of a DocScorer teacher. */
async function positiveScores(teacher: Teacher, item: { query: Query; positives: string[] }, hits: readonly Hit[], o: MiningOptions): Promise<number[]> {
  const inList = new Map(hits.map((h) => [h.id, h.score]));
  const missing = item.positives.filter((id) => !inList.has(id));
  if (missing.length && isDocScorer(teacher.retriever)) {
    const scored = await teacher.retriever.scoreDocs(item.query, missing);
    missing.forEach((id, j) => inList.set(id, scored[j]!));
  }
  const needsPositive = o.method === 'margin-pos' || o.method === 'perc-pos';
  return item.positives.map((id) => {
    const s = inList.get(id);
    if (s !== undefined && Number.isFinite(s)) return s;
    if (!needsPositive) return Number.NaN;
    throw new QuarryError(
      'INPUT_INVALID',
      `Teacher "${teacher.name}" did not score positive "${id}" of query "${item.query.id}"; method ${o.method} needs positive scores. Use a teacher that can score documents (bm25, dense) or raise depth.`,
      { teacher: teacher.name, query: item.query.id, doc: id },
    );
  });
}
