import type { ProgressCallback } from '@quarry/core';

type ProgressEvent = Parameters<ProgressCallback>[0];

export interface ProgressOptions {
  /** Draw a redrawn bar (a terminal) or print plain lines (a pipe, a file, CI logs). Default: whether stderr is a TTY. */
  tty?: boolean;
  /** Plain mode: least milliseconds between two lines of one phase. Default $QUARRY_PROGRESS_INTERVAL_MS or 3000. */
  intervalMs?: number;
  /** Where progress goes; default stderr, so `--json` output on stdout stays clean. */
  stream?: { write(text: string): unknown };
  /** Clock in milliseconds (tests). */
  now?: () => number;
}

/**
 * Progress on stderr. On a terminal: a bar with rate and ETA, redrawn in place. Otherwise
 * (piped to a file, CI logs): plain lines such as `encode 1200/5183 23% 310/s ETA 12s`, at
 * most one per interval and phase, plus one line when a phase ends, so a long run is never
 * silent. `enabled: false` (--quiet) silences both.
 */
export function progressBar(enabled: boolean = true, options: ProgressOptions = {}): ProgressCallback & { done(): void } {
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? process.stderr.isTTY === true;
  const now = options.now ?? Date.now;
  const interval = options.intervalMs ?? envInterval() ?? 3000;
  let last = 0;
  let shown = false;
  let phase = '';
  let started = 0;
  let latest: ProgressEvent | undefined;
  let ended = true;

  const rateOf = (event: ProgressEvent, t: number): number => {
    const elapsed = (t - started) / 1000;
    return elapsed > 0 ? event.done / elapsed : 0;
  };
  const counts = (event: ProgressEvent): string => `${event.done}${event.total ? `/${event.total}` : ''}`;
  /** Plain mode: the closing line of a phase (once), with its count, time and rate. */
  const endPhase = (t: number): void => {
    if (ended || !latest) return;
    ended = true;
    stream.write(`${phase} done ${counts(latest)} in ${((t - started) / 1000).toFixed(1)}s (${rateOf(latest, t).toFixed(0)}/s)\n`);
  };

  const report = ((event) => {
    if (!enabled) return;
    const t = now();
    if (event.phase !== phase) {
      if (tty && shown) stream.write('\n');
      if (!tty) endPhase(t);
      phase = event.phase;
      started = t;
      last = 0;
      ended = false;
    }
    latest = event;
    const finished = event.total !== undefined && event.done >= event.total;
    const rate = rateOf(event, t);
    const frac = event.total ? Math.min(1, event.done / event.total) : 0;
    const eta = event.total && rate > 0 && !finished ? ` ETA ${formatSeconds((event.total - event.done) / rate)}` : '';
    if (!tty) {
      if (finished) return endPhase(t);
      if (last !== 0 && t - last < interval) return;
      last = t;
      // No rate on a phase's first event: nothing has been timed yet.
      stream.write(`${event.phase} ${counts(event)}${event.total ? ` ${(frac * 100).toFixed(0)}%` : ''}${t > started ? ` ${rate.toFixed(0)}/s` : ''}${eta}\n`);
      return;
    }
    if (t - last < 100 && !finished) return;
    last = t;
    const width = 30;
    const bar = event.total ? `[${'#'.repeat(Math.round(frac * width)).padEnd(width, '.')}] ${(frac * 100).toFixed(0).padStart(3)}%` : '';
    stream.write(`\r${event.phase.padEnd(18)} ${bar} ${counts(event)} ${rate.toFixed(0)}/s${eta}   `);
    shown = true;
  }) as ProgressCallback & { done(): void };
  report.done = () => {
    if (!enabled) return;
    if (tty && shown) stream.write('\n');
    if (!tty) endPhase(now());
    shown = false;
  };
  return report;
}

function envInterval(): number | undefined {
  const raw = process.env['QUARRY_PROGRESS_INTERVAL_MS'];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m`;
}
