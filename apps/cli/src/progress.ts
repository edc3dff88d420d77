import type { ProgressCallback } from '@quarry/core';

/**
 * A progress bar with rate and ETA on stderr. Silent when stderr is not a TTY (CI logs,
 * pipes) or when --quiet is given, so `--json` output on stdout stays clean either way.
 */
export function progressBar(enabled: boolean = process.stderr.isTTY === true): ProgressCallback & { done(): void } {
  let last = 0;
  let shown = false;
  let phase = '';
  let started = 0;
  const report = ((event) => {
    if (!enabled) return;
    const now = Date.now();
    if (event.phase !== phase) {
      if (shown) process.stderr.write('\n');
      phase = event.phase;
      started = now;
    }
    if (now - last < 100 && event.done !== event.total) return;
    last = now;
    const width = 30;
    const frac = event.total ? Math.min(1, event.done / event.total) : 0;
    const bar = event.total ? `[${'#'.repeat(Math.round(frac * width)).padEnd(width, '.')}] ${(frac * 100).toFixed(0).padStart(3)}%` : '';
    const elapsed = (now - started) / 1000;
    const rate = elapsed > 0 ? event.done / elapsed : 0;
    const eta = event.total && rate > 0 ? ` ETA ${formatSeconds((event.total - event.done) / rate)}` : '';
    process.stderr.write(`\r${event.phase.padEnd(18)} ${bar} ${event.done}${event.total ? `/${event.total}` : ''} ${rate.toFixed(0)}/s${eta}   `);
    shown = true;
  }) as ProgressCallback & { done(): void };
  report.done = () => {
    if (shown) process.stderr.write('\n');
    shown = false;
  };
  return report;
}

function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m`;
}
