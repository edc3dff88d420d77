import { InputError } from '@quarry/core';

/** A JSON scalar stored in a document's `meta`. */
export type MetaValue = string | number | boolean | null;

/** A condition on one top-level key of `meta`: a bare value means equality. */
export type MetaCondition =
  | MetaValue
  | {
      eq?: MetaValue;
      ne?: MetaValue;
      in?: readonly MetaValue[];
      nin?: readonly MetaValue[];
      gt?: number;
      gte?: number;
      lt?: number;
      lte?: number;
      exists?: boolean;
    };

/** Metadata filter: every key's condition must hold (AND). Compiled to parameterised SQL. */
export type MetaFilter = Readonly<Record<string, MetaCondition>>;

const RANGE_OPS = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;
const KNOWN = new Set(['eq', 'ne', 'in', 'nin', 'gt', 'gte', 'lt', 'lte', 'exists']);

function isScalar(v: unknown): v is MetaValue {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

/**
 * Compiles a filter on `<alias>.meta` to a SQL condition whose keys and values are all
 * bind parameters appended to `params` (so `$n` numbering continues from its length).
 * Equality uses jsonb containment (`@>`, served by the GIN index on meta); ranges compare
 * numbers only (a non-number value never matches).
 */
export function compileFilter(filter: MetaFilter | undefined, alias: string, params: unknown[]): string {
  if (filter === undefined) return 'TRUE';
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) throw new InputError('where must be an object of { key: condition }.');
  const meta = `${alias}.meta`;
  const p = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  const parts: string[] = [];
  for (const [key, cond] of Object.entries(filter)) {
    if (key.length === 0 || key.length > 256) throw new InputError(`where: a key must have 1..256 characters, got ${JSON.stringify(key)}.`);
    if (isScalar(cond)) {
      parts.push(`${meta} @> ${p(JSON.stringify({ [key]: cond }))}::jsonb`);
      continue;
    }
    if (typeof cond !== 'object' || cond === null || Array.isArray(cond))
      throw new InputError(`where.${key}: expected a JSON scalar or an operator object ({ eq, ne, in, nin, gt, gte, lt, lte, exists }).`);
    const ops = Object.entries(cond);
    if (ops.length === 0) throw new InputError(`where.${key}: an operator object needs at least one operator.`);
    for (const [op, value] of ops) {
      if (!KNOWN.has(op)) throw new InputError(`where.${key}: unknown operator "${op}"; use eq, ne, in, nin, gt, gte, lt, lte or exists.`);
      if (value === undefined) continue;
      if (op === 'eq' || op === 'ne') {
        if (!isScalar(value)) throw new InputError(`where.${key}.${op} must be a JSON scalar.`);
        const c = `${meta} @> ${p(JSON.stringify({ [key]: value }))}::jsonb`;
        parts.push(op === 'eq' ? c : `NOT (${c})`);
      } else if (op === 'in' || op === 'nin') {
        if (!Array.isArray(value) || !value.every(isScalar)) throw new InputError(`where.${key}.${op} must be an array of JSON scalars.`);
        const c = `COALESCE((${meta} -> ${p(key)}::text) = ANY(${p(value.map((v) => JSON.stringify(v)))}::jsonb[]), FALSE)`;
        parts.push(op === 'in' ? c : `NOT ${c}`);
      } else if (op === 'exists') {
        if (typeof value !== 'boolean') throw new InputError(`where.${key}.exists must be true or false.`);
        const c = `jsonb_exists(${meta}, ${p(key)}::text)`;
        parts.push(value ? c : `NOT ${c}`);
      } else {
        if (typeof value !== 'number' || !Number.isFinite(value)) throw new InputError(`where.${key}.${op} must be a finite number.`);
        const k = `${p(key)}::text`;
        parts.push(`(CASE WHEN jsonb_typeof(${meta} -> ${k}) = 'number' THEN (${meta} ->> ${k})::float8 END) ${RANGE_OPS[op as keyof typeof RANGE_OPS]} ${p(value)}::float8`);
      }
    }
  }
  return parts.length ? parts.join(' AND ') : 'TRUE';
}
