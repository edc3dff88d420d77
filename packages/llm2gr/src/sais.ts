import { InputError } from '@quarry/core';

/**
 * Suffix array by induced sorting (SA-IS, Nong, Zhang & Chan 2009): linear time over an
 * integer alphabet. `text` holds symbols in [0, alphabetSize) and must end with a unique
 * smallest symbol 0 (the sentinel); no other position may hold 0.
 */
export function suffixArray(text: Int32Array, alphabetSize: number): Int32Array {
  const n = text.length;
  if (n === 0) throw new InputError('suffixArray needs a non-empty text ending with the sentinel 0.');
  if (text[n - 1] !== 0) throw new InputError('suffixArray: the text must end with the sentinel symbol 0.');
  for (let i = 0; i < n - 1; i++) {
    const c = text[i]!;
    if (c <= 0 || c >= alphabetSize) throw new InputError(`suffixArray: symbol ${c} at ${i} is outside [1, ${alphabetSize}) (0 is reserved for the final sentinel).`);
  }
  const sa = new Int32Array(n);
  if (n === 1) return sa;
  saisRec(text, sa, n, alphabetSize);
  return sa;
}

function buckets(t: Int32Array, n: number, k: number, end: boolean, out: Int32Array): void {
  out.fill(0, 0, k);
  for (let i = 0; i < n; i++) out[t[i]!]!++;
  let sum = 0;
  for (let c = 0; c < k; c++) {
    sum += out[c]!;
    out[c] = end ? sum : sum - out[c]!;
  }
}

function induce(t: Int32Array, sa: Int32Array, stype: Uint8Array, n: number, k: number, bkt: Int32Array): void {
  buckets(t, n, k, false, bkt);
  for (let i = 0; i < n; i++) {
    const j = sa[i]! - 1;
    if (j >= 0 && stype[j] === 0) sa[bkt[t[j]!]!++] = j;
  }
  buckets(t, n, k, true, bkt);
  for (let i = n - 1; i >= 0; i--) {
    const j = sa[i]! - 1;
    if (j >= 0 && stype[j] === 1) sa[--bkt[t[j]!]!] = j;
  }
}

function saisRec(t: Int32Array, sa: Int32Array, n: number, k: number): void {
  // Suffix types: 1 = S (smaller than the next suffix), 0 = L.
  const stype = new Uint8Array(n);
  stype[n - 1] = 1;
  for (let i = n - 2; i >= 0; i--) {
    const a = t[i]!,
      b = t[i + 1]!;
    stype[i] = a < b || (a === b && stype[i + 1] === 1) ? 1 : 0;
  }
  const isLms = (i: number): boolean => i > 0 && stype[i] === 1 && stype[i - 1] === 0;
  const bkt = new Int32Array(k);

  // Stage 1: sort the LMS substrings by one round of induced sorting.
  buckets(t, n, k, true, bkt);
  sa.fill(-1);
  for (let i = 1; i < n; i++) if (isLms(i)) sa[--bkt[t[i]!]!] = i;
  induce(t, sa, stype, n, k, bkt);

  let n1 = 0;
  for (let i = 0; i < n; i++) if (isLms(sa[i]!)) sa[n1++] = sa[i]!;
  sa.fill(-1, n1, n);
  let name = 0;
  let prev = -1;
  for (let i = 0; i < n1; i++) {
    const pos = sa[i]!;
    let diff = false;
    for (let d = 0; ; d++) {
      if (prev === -1 || t[pos + d] !== t[prev + d] || stype[pos + d] !== stype[prev + d]) {
        diff = true;
        break;
      }
      if (d > 0 && (isLms(pos + d) || isLms(prev + d))) break;
    }
    if (diff) {
      name++;
      prev = pos;
    }
    sa[n1 + (pos >> 1)] = name - 1;
  }
  for (let i = n - 1, j = n - 1; i >= n1; i--) if (sa[i]! >= 0) sa[j--] = sa[i]!;

  // Stage 2: sort the reduced problem (recursively when names repeat).
  const sa1 = sa.subarray(0, n1);
  const s1 = sa.subarray(n - n1, n);
  if (name < n1) saisRec(s1, sa1, n1, name);
  else for (let i = 0; i < n1; i++) sa1[s1[i]!] = i;

  // Stage 3: induce the full order from the sorted LMS suffixes.
  buckets(t, n, k, true, bkt);
  for (let i = 1, j = 0; i < n; i++) if (isLms(i)) s1[j++] = i;
  for (let i = 0; i < n1; i++) sa1[i] = s1[sa1[i]!]!;
  sa.fill(-1, n1, n);
  for (let i = n1 - 1; i >= 0; i--) {
    const j = sa[i]!;
    sa[i] = -1;
    sa[--bkt[t[j]!]!] = j;
  }
  induce(t, sa, stype, n, k, bkt);
}
