import { SeededRandom } from '@quarry/core';
import { FILTERS, type FilterName, type MiningOptions } from './options.js';

const RESERVOIR = 5_000;

/** A fixed-size uniform sample of a stream of scores (Vitter's algorithm R), resumable via its state. */
export class ScoreReservoir {
  values: number[] = [];
  seen = 0;
  #rng: SeededRandom;

  constructor(seed: number) {
    this.#rng = new SeededRandom(seed);
  }

  add(x: number): void {
    this.seen++;
    if (this.values.length < RESERVOIR) this.values.push(x);
    else {
      const j = this.#rng.int(this.seen);
      if (j < RESERVOIR) this.values[j] = x;
    }
  }

  toJSON(): { values: number[]; seen: number; rng: number } {
    return { values: this.values, seen: this.seen, rng: this.#rng.state };
  }

  static fromJSON(s: { values: number[]; seen: number; rng: number }): ScoreReservoir {
    const r = new ScoreReservoir(1);
    r.values = s.values;
    r.seen = s.seen;
    r.#rng = SeededRandom.fromState(s.rng);
    return r;
  }
}

export interface TeacherCounts {
  queries: number;
  candidates: number;
  removed: Record<FilterName, number>;
  kept: number;
  selected: number;
  /** Queries for which this teacher yielded fewer negatives than asked. */
  short: number;
  emptyResults: number;
}

/** Everything a mining run counts; serialisable so checkpoints carry it. */
export class MiningStats {
  queries = 0;
  pairs = 0;
  skipped = { noPositives: 0, positivesMissingFromCorpus: 0 };
  /** Queries whose final negatives fell short of the number asked. */
  shortQueries = 0;
  falseNegatives = { labelled: 0, sibling: 0, checked: 0 };
  /** The score scale the method compared on (`options.normalize`). */
  normalize: MiningOptions['normalize'] = 'none';
  /** n-tuple formats: queries (and their rows) dropped or padded for having fewer negatives than asked. */
  tuples = { droppedQueries: 0, droppedRows: 0, paddedQueries: 0, paddedRows: 0 };
  teachers: Record<string, TeacherCounts> = {};
  positives = new ScoreReservoir(1);
  selected = new ScoreReservoir(2);
  removedByMethod = new ScoreReservoir(3);

  teacher(name: string): TeacherCounts {
    return (this.teachers[name] ??= {
      queries: 0,
      candidates: 0,
      removed: Object.fromEntries(FILTERS.map((f) => [f, 0])) as Record<FilterName, number>,
      kept: 0,
      selected: 0,
      short: 0,
      emptyResults: 0,
    });
  }

  toJSON(): Record<string, unknown> {
    return {
      queries: this.queries,
      pairs: this.pairs,
      skipped: this.skipped,
      shortQueries: this.shortQueries,
      falseNegatives: this.falseNegatives,
      normalize: this.normalize,
      tuples: this.tuples,
      teachers: this.teachers,
      reservoirs: { positives: this.positives.toJSON(), selected: this.selected.toJSON(), removedByMethod: this.removedByMethod.toJSON() },
    };
  }

  static fromJSON(s: ReturnType<MiningStats['toJSON']>): MiningStats {
    const m = new MiningStats();
    m.queries = s['queries'] as number;
    m.pairs = s['pairs'] as number;
    m.skipped = s['skipped'] as MiningStats['skipped'];
    m.shortQueries = s['shortQueries'] as number;
    m.falseNegatives = s['falseNegatives'] as MiningStats['falseNegatives'];
    m.normalize = s['normalize'] as MiningStats['normalize'];
    m.tuples = s['tuples'] as MiningStats['tuples'];
    m.teachers = s['teachers'] as MiningStats['teachers'];
    const r = s['reservoirs'] as Record<string, ReturnType<ScoreReservoir['toJSON']>>;
    m.positives = ScoreReservoir.fromJSON(r['positives']!);
    m.selected = ScoreReservoir.fromJSON(r['selected']!);
    m.removedByMethod = ScoreReservoir.fromJSON(r['removedByMethod']!);
    return m;
  }

  /** The report users read: counts, rates, and score histograms (shared bins) of the three groups. */
  report(bins = 30): MiningReport {
    const groups = { positives: this.positives.values, selected: this.selected.values, removedByMethod: this.removedByMethod.values };
    const all = Object.values(groups).flat();
    const lo = all.length ? Math.min(...all) : 0;
    const hi = all.length ? Math.max(...all) : 1;
    const width = (hi - lo || 1) / bins;
    const edges = Array.from({ length: bins + 1 }, (_, i) => lo + i * width);
    const histogram = (values: readonly number[]): number[] => {
      const counts = new Array<number>(bins).fill(0);
      for (const v of values) counts[Math.min(bins - 1, Math.floor((v - lo) / width))]!++;
      return counts;
    };
    return {
      queries: this.queries,
      pairs: this.pairs,
      skipped: this.skipped,
      shortQueries: this.shortQueries,
      normalize: this.normalize,
      tuples: this.tuples,
      falseNegatives: {
        ...this.falseNegatives,
        labelledRate: this.falseNegatives.checked ? this.falseNegatives.labelled / this.falseNegatives.checked : 0,
        siblingRate: this.falseNegatives.checked ? this.falseNegatives.sibling / this.falseNegatives.checked : 0,
      },
      teachers: this.teachers,
      histograms: {
        edges,
        positives: histogram(groups.positives),
        selected: histogram(groups.selected),
        removedByMethod: histogram(groups.removedByMethod),
        sampled: { positives: this.positives.seen, selected: this.selected.seen, removedByMethod: this.removedByMethod.seen },
      },
    };
  }
}

export interface MiningReport {
  queries: number;
  pairs: number;
  skipped: MiningStats['skipped'];
  shortQueries: number;
  /** The score scale abs / margin-pos / perc-pos compared on: raw teacher scores, or per-query min-max. */
  normalize: MiningOptions['normalize'];
  /** n-tuple formats only: what happened to queries short of negatives (dropped, or padded with `pad`). */
  tuples: MiningStats['tuples'];
  falseNegatives: MiningStats['falseNegatives'] & { labelledRate: number; siblingRate: number };
  teachers: Record<string, TeacherCounts>;
  histograms: { edges: number[]; positives: number[]; selected: number[]; removedByMethod: number[]; sampled: Record<string, number> };
}
