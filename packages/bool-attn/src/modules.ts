import { InputError, type SeededRandom } from '@quarry/core';
import { gelu, geluGrad, type Param } from '@quarry/encoders';
import { OPERATORS, type BoolOperator } from './compose.js';

/** Cue classes: index 0 = no cue, then one per operator (OPERATORS order: and, or, not). */
export const CUE_CLASSES = ['none', ...OPERATORS] as const;
const C = CUE_CLASSES.length;
const O = OPERATORS.length;
/** Sign of each operator's bias in S = S_and + S_or - S_not. */
const SIGN = [1, 1, -1];
const K = 3;

export interface BoolModulesConfig {
  /** Width of the frozen token features (the base encoder's dimension). */
  inputDim: number;
  /** Hidden width of the modules. */
  hidden: number;
  /** Gumbel-Sigmoid temperature of the scope predictor. */
  temperature: number;
  /**
   * Lexicon / clause-structure channels appended to the token features (`lexicon.ts`); 0 or absent
   * for modules that read the table rows alone. `inputDim` includes them.
   */
  lexicon?: number;
}

/** Per-token supervision from generated phrasings (optional, for the auxiliary losses). */
export interface TokenLabels {
  /** Cue class per token (0 = none, 1 + operator index). */
  cue: Uint8Array;
  /** Each gold cue position with its operator index and its 0/1 scope over the tokens. */
  scopes: { cue: number; op: number; scope: Uint8Array }[];
}

/** Everything the forward pass keeps for backward and for explanations. */
export interface ModulesForward {
  n: number;
  f: Float64Array;
  u: Float64Array;
  a1: Float64Array;
  /** Cue probabilities, n x C. */
  p: Float64Array;
  as1: Float64Array;
  v: Float64Array;
  /** Clause-boundary probability per token. */
  bnd: Float64Array;
  cum: Float64Array;
  /** Per operator and cue position: FiLM gamma and beta, O x n x h. */
  gamma: Float64Array;
  beta: Float64Array;
  /** O x n(cue) x n(token) x h pre-activations of the scope head. */
  m: Float64Array;
  /** Scope logits z, scope s (Gumbel-Sigmoid), kernel K and bias value b: O x n x n. */
  z: Float64Array;
  s: Float64Array;
  kern: Float64Array;
  bias: Float64Array;
  /** Relative weight of each cue position per operator, O x n. */
  pi: Float64Array;
  /** Operator gates, O. */
  gate: Float64Array;
  /** Per-operator token biases S_o, O x n (gated). */
  S: Float64Array;
  /** Pooling weights w_t = 1 + S_and + S_or - S_not. */
  w: Float64Array;
}

/**
 * The four modules of Boolean-aware query encoding (arXiv 2503.01753), learned, over a
 * frozen encoder's token features:
 *
 * - cue predictor: u = P f (projection of the token features), a Conv1D (kernel 3) + GELU,
 *   then a linear token classifier into none / AND / OR / NOT;
 * - scope predictor: per operator o and cue position c, v = GELU(Conv1D(u)) FiLM-modulated by
 *   the cue (gamma, beta = linear maps of u_c, one per operator) ->
 *   z_{t|c} = a_o . GELU(gamma * v_t + beta) + a0_o + d_o[side of t] - kappa_o * B(c, t), where
 *   B(c, t) sums a learned clause-boundary probability between c and t; the scope is a
 *   Gumbel-Sigmoid s = sigmoid((z + g) / tau) (noise only in training);
 * - bias predictor: b_o(t, c) = alpha_o + beta_o * exp(-(t - c)^2 / (2 sigma_o^2)), a Gaussian
 *   kernel of the cue-to-token distance, one per operator;
 * - gating: g_o = 1 - prod_t (1 - p_t(o)) (the operator is present), and
 *   S_o,t = g_o * sum_c pi_c(o) s_{t|c} b_o(t, c), pi = cue probabilities (normalised when they
 *   sum above 1). Combined bias S = S_and + S_or - S_not; pooling weight w_t = 1 + S_t.
 */
export class BoolModules {
  readonly config: BoolModulesConfig;
  readonly P: Param;
  readonly Wc1: Param;
  readonly bc1: Param;
  readonly Wc2: Param;
  readonly bc2: Param;
  readonly Ws1: Param;
  readonly bs1: Param;
  readonly Gg: Param;
  readonly bg: Param;
  readonly Gb: Param;
  readonly bb: Param;
  readonly a: Param;
  readonly a0: Param;
  readonly d: Param;
  readonly wb: Param;
  readonly bb0: Param;
  readonly kappa: Param;
  readonly alpha: Param;
  readonly betaK: Param;
  readonly logSigma: Param;
  readonly #params: Param[];

  constructor(config: BoolModulesConfig, values?: Record<string, Float32Array>) {
    if (!Number.isInteger(config.hidden) || config.hidden < 1) throw new InputError(`hidden must be a positive integer, got ${config.hidden}.`);
    if (!(config.temperature > 0)) throw new InputError(`temperature must be > 0, got ${config.temperature}.`);
    this.config = config;
    const { inputDim: din, hidden: h } = config;
    const make = (name: string, shape: number[]): Param => {
      // With saved values, every tensor must be among them: sizes from a (possibly damaged) config
      // are compared with data that exists before anything is allocated from them.
      if (values && !values[name]) throw new InputError(`Boolean module tensor ${name} is missing from the saved weights.`);
      const size = shape.reduce((x, y) => x * y, 1);
      const value = values?.[name] ?? new Float32Array(size);
      if (value.length !== size) throw new InputError(`Boolean module tensor ${name} holds ${value.length} values, expected ${size} (${shape.join('x')}).`);
      return { name, shape, value, grad: new Float32Array(size) };
    };
    this.P = make('P', [h, din]);
    this.Wc1 = make('Wc1', [K, h, h]);
    this.bc1 = make('bc1', [h]);
    this.Wc2 = make('Wc2', [C, h]);
    this.bc2 = make('bc2', [C]);
    this.Ws1 = make('Ws1', [K, h, h]);
    this.bs1 = make('bs1', [h]);
    this.Gg = make('Gg', [O, h, h]);
    this.bg = make('bg', [O, h]);
    this.Gb = make('Gb', [O, h, h]);
    this.bb = make('bb', [O, h]);
    this.a = make('a', [O, h]);
    this.a0 = make('a0', [O]);
    this.d = make('d', [O, 3]);
    this.wb = make('wb', [h]);
    this.bb0 = make('bb0', [1]);
    this.kappa = make('kappa', [O]);
    this.alpha = make('alpha', [O]);
    this.betaK = make('betaK', [O]);
    this.logSigma = make('logSigma', [O]);
    this.#params = [
      this.P,
      this.Wc1,
      this.bc1,
      this.Wc2,
      this.bc2,
      this.Ws1,
      this.bs1,
      this.Gg,
      this.bg,
      this.Gb,
      this.bb,
      this.a,
      this.a0,
      this.d,
      this.wb,
      this.bb0,
      this.kappa,
      this.alpha,
      this.betaK,
      this.logSigma,
    ];
  }

  /** Seeded initialisation: small random maps, no bias (a fresh module leaves the encoder unchanged up to its cue noise). */
  static init(config: BoolModulesConfig, rng: SeededRandom): BoolModules {
    const m = new BoolModules(config);
    const { inputDim: din, hidden: h } = config;
    const fill = (p: Param, std: number): void => {
      for (let i = 0; i < p.value.length; i++) p.value[i] = rng.normal() * std;
    };
    fill(m.P, (1 / Math.sqrt(din)) * Math.sqrt(din / 8));
    fill(m.Wc1, 1 / Math.sqrt(K * h));
    fill(m.Wc2, 1 / Math.sqrt(h));
    fill(m.Ws1, 1 / Math.sqrt(K * h));
    fill(m.Gg, 0.1 / Math.sqrt(h));
    fill(m.Gb, 0.1 / Math.sqrt(h));
    fill(m.a, 1 / Math.sqrt(h));
    fill(m.wb, 1 / Math.sqrt(h));
    m.bc2.value[0] = 3; // start by predicting "no cue"
    m.bb0.value[0] = -2;
    m.kappa.value.fill(1);
    m.alpha.value.fill(0.5);
    m.betaK.value.fill(0.5);
    m.logSigma.value.fill(Math.log(8));
    return m;
  }

  params(): Param[] {
    return this.#params;
  }

  get size(): number {
    return this.#params.reduce((s, p) => s + p.value.length, 0);
  }

  /**
   * Forward pass over one query's frozen token features `f` (n x inputDim, rows unit length or
   * zero). `noise` (O x n x n logistic samples) is the Gumbel-Sigmoid noise; omit it at inference.
   * `prune` > 0 skips cue positions whose gated weight g_o * pi_c is below it (inference only: the
   * result is then not differentiable through those positions; training uses the exact pass).
   */
  forward(f: Float64Array, n: number, noise?: Float64Array, options: { prune?: number } = {}): ModulesForward {
    const prune = options.prune ?? 0;
    const { inputDim: din, hidden: h, temperature: tau } = this.config;
    if (f.length !== n * din) throw new InputError(`features hold ${f.length} values, expected ${n} x ${din}.`);
    const u = new Float64Array(n * h);
    const P = this.P.value;
    for (let t = 0; t < n; t++)
      for (let o = 0; o < h; o++) {
        let s = 0;
        const po = o * din;
        const fo = t * din;
        for (let j = 0; j < din; j++) s += P[po + j]! * f[fo + j]!;
        u[t * h + o] = s;
      }
    // Cue predictor.
    const a1 = conv(u, n, h, this.Wc1.value, this.bc1.value);
    const p = new Float64Array(n * C);
    const Wc2 = this.Wc2.value;
    for (let t = 0; t < n; t++) {
      let max = -Infinity;
      for (let k = 0; k < C; k++) {
        let s = this.bc2.value[k]!;
        for (let o = 0; o < h; o++) s += Wc2[k * h + o]! * gelu(a1[t * h + o]!);
        p[t * C + k] = s;
        if (s > max) max = s;
      }
      let z = 0;
      for (let k = 0; k < C; k++) z += p[t * C + k] = Math.exp(p[t * C + k]! - max);
      for (let k = 0; k < C; k++) p[t * C + k]! /= z;
    }
    // Scope features and clause boundaries.
    const as1 = conv(u, n, h, this.Ws1.value, this.bs1.value);
    const v = as1.map(gelu);
    const bnd = new Float64Array(n);
    const cum = new Float64Array(n);
    for (let t = 0; t < n; t++) {
      let y = this.bb0.value[0]!;
      for (let o = 0; o < h; o++) y += this.wb.value[o]! * v[t * h + o]!;
      bnd[t] = sigmoid(y);
      cum[t] = (t > 0 ? cum[t - 1]! : 0) + bnd[t]!;
    }
    const gamma = new Float64Array(O * n * h);
    const beta = new Float64Array(O * n * h);
    const m = new Float64Array(O * n * n * h);
    const z = new Float64Array(O * n * n);
    const s = new Float64Array(O * n * n);
    const kern = new Float64Array(O * n * n);
    const bias = new Float64Array(O * n * n);
    const pi = new Float64Array(O * n);
    const gate = new Float64Array(O);
    const S = new Float64Array(O * n);
    const w = new Float64Array(n).fill(1);
    const Gg = this.Gg.value;
    const Gb = this.Gb.value;
    for (let op = 0; op < O; op++) {
      const sigma = Math.exp(this.logSigma.value[op]!);
      const al = this.alpha.value[op]!;
      const be = this.betaK.value[op]!;
      const kap = this.kappa.value[op]!;
      let total = 0;
      let none = 1;
      for (let c = 0; c < n; c++) {
        total += p[c * C + op + 1]!;
        none *= 1 - p[c * C + op + 1]!;
      }
      gate[op] = 1 - none;
      const norm = Math.max(1, total);
      for (let c = 0; c < n; c++) pi[op * n + c] = p[c * C + op + 1]! / norm;
      for (let c = 0; c < n; c++) {
        // Inference fast path: a cue position whose weight g_o * pi_c is below `prune` adds at most
        // prune * max|b| to any token's bias; its scope is not computed (s stays 0).
        if (prune > 0 && gate[op]! * pi[op * n + c]! < prune) continue;
        const go = (op * n + c) * h;
        for (let i = 0; i < h; i++) {
          let sg = 1 + this.bg.value[op * h + i]!;
          let sb = this.bb.value[op * h + i]!;
          const row = (op * h + i) * h;
          for (let j = 0; j < h; j++) {
            sg += Gg[row + j]! * u[c * h + j]!;
            sb += Gb[row + j]! * u[c * h + j]!;
          }
          gamma[go + i] = sg;
          beta[go + i] = sb;
        }
        for (let t = 0; t < n; t++) {
          const idx = (op * n + c) * n + t;
          const mo = idx * h;
          let zz = this.a0.value[op]! + this.d.value[op * 3 + side(t, c)]! - kap * between(cum, c, t);
          for (let i = 0; i < h; i++) {
            const mv = gamma[go + i]! * v[t * h + i]! + beta[go + i]!;
            m[mo + i] = mv;
            zz += this.a.value[op * h + i]! * gelu(mv);
          }
          z[idx] = zz;
          s[idx] = sigmoid((zz + (noise ? noise[idx]! : 0)) / tau);
          const dist = t - c;
          kern[idx] = Math.exp((-dist * dist) / (2 * sigma * sigma));
          bias[idx] = al + be * kern[idx]!;
        }
      }
      for (let t = 0; t < n; t++) {
        let acc = 0;
        for (let c = 0; c < n; c++) {
          const idx = (op * n + c) * n + t;
          acc += pi[op * n + c]! * s[idx]! * bias[idx]!;
        }
        S[op * n + t] = gate[op]! * acc;
        w[t]! += SIGN[op]! * S[op * n + t]!;
      }
    }
    return { n, f, u, a1, p, as1, v, bnd, cum, gamma, beta, m, z, s, kern, bias, pi, gate, S, w };
  }

  /** The auxiliary losses alone (the value `backward` returns), without touching gradients. */
  auxLoss(fw: ModulesForward, labels: TokenLabels, weights: { cueWeight?: number; scopeWeight?: number } = {}): number {
    const { n, p, z } = fw;
    let aux = 0;
    if (labels.scopes.length && (weights.scopeWeight ?? 0) > 0) {
      const lw = weights.scopeWeight! / (labels.scopes.length * n);
      for (const sc of labels.scopes)
        for (let t = 0; t < n; t++) {
          const zz = z[(sc.op * n + sc.cue) * n + t]!;
          aux += lw * (Math.max(zz, 0) - zz * sc.scope[t]! + Math.log1p(Math.exp(-Math.abs(zz))));
        }
    }
    if ((weights.cueWeight ?? 0) > 0) for (let t = 0; t < n; t++) aux -= (weights.cueWeight! / n) * Math.log(Math.max(p[t * C + labels.cue[t]!]!, 1e-300));
    return aux;
  }

  /**
   * Accumulates parameter gradients given d(loss)/d(w) (`gw`, may be undefined for the
   * auxiliary losses alone) and, with `labels`, the auxiliary cue cross-entropy (weight
   * `cueWeight`, mean over tokens) and scope binary cross-entropy on the logits z at the gold
   * cues (weight `scopeWeight`, mean over scored pairs). Returns the auxiliary loss value.
   */
  backward(fw: ModulesForward, gw: Float64Array | undefined, labels?: TokenLabels, weights: { cueWeight?: number; scopeWeight?: number } = {}): number {
    const { inputDim: din, hidden: h, temperature: tau } = this.config;
    const { n, u, a1, p, as1, v, bnd, cum, gamma, m, z, s, kern, bias, pi, gate } = fw;
    let aux = 0;
    const dp = new Float64Array(n * C);
    const dz = new Float64Array(O * n * n);
    const gAlpha = this.alpha.grad;
    const gBeta = this.betaK.grad;
    const gLs = this.logSigma.grad;
    // Through S, the gate, pi, the bias and the Gumbel-Sigmoid to the scope logits.
    if (gw) {
      for (let op = 0; op < O; op++) {
        const sigma = Math.exp(this.logSigma.value[op]!);
        const be = this.betaK.value[op]!;
        let dgate = 0;
        const dpi = new Float64Array(n);
        for (let t = 0; t < n; t++) {
          const dS = SIGN[op]! * gw[t]!;
          if (dS === 0) continue;
          let acc = 0;
          for (let c = 0; c < n; c++) {
            const idx = (op * n + c) * n + t;
            const sb = s[idx]! * bias[idx]!;
            acc += pi[op * n + c]! * sb;
            const dT = gate[op]! * dS;
            dpi[c]! += dT * sb;
            const ds = dT * pi[op * n + c]! * bias[idx]!;
            const db = dT * pi[op * n + c]! * s[idx]!;
            gAlpha[op]! += db;
            gBeta[op]! += db * kern[idx]!;
            const dist = t - c;
            gLs[op]! += db * be * kern[idx]! * ((dist * dist) / (sigma * sigma));
            dz[idx]! += (ds * s[idx]! * (1 - s[idx]!)) / tau;
          }
          dgate += dS * acc;
        }
        // gate = 1 - prod(1 - p_t): d/dp_t = prod_{t' != t}(1 - p_t').
        const q = new Float64Array(n);
        for (let t = 0; t < n; t++) q[t] = 1 - p[t * C + op + 1]!;
        const prefix = new Float64Array(n + 1).fill(1);
        for (let t = 0; t < n; t++) prefix[t + 1] = prefix[t]! * q[t]!;
        let suffix = 1;
        for (let t = n - 1; t >= 0; t--) {
          dp[t * C + op + 1]! += dgate * prefix[t]! * suffix;
          suffix *= q[t]!;
        }
        // pi_c = p_c / max(1, sum p).
        let total = 0;
        for (let c = 0; c < n; c++) total += p[c * C + op + 1]!;
        if (total <= 1) for (let c = 0; c < n; c++) dp[c * C + op + 1]! += dpi[c]!;
        else {
          let dot = 0;
          for (let c = 0; c < n; c++) dot += dpi[c]! * p[c * C + op + 1]!;
          for (let c = 0; c < n; c++) dp[c * C + op + 1]! += dpi[c]! / total - dot / (total * total);
        }
      }
    }
    // Auxiliary scope loss: BCE(sigmoid(z), y) at the gold cue positions.
    if (labels?.scopes.length && (weights.scopeWeight ?? 0) > 0) {
      const lw = weights.scopeWeight! / (labels.scopes.length * n);
      for (const sc of labels.scopes) {
        for (let t = 0; t < n; t++) {
          const idx = (sc.op * n + sc.cue) * n + t;
          const y = sc.scope[t]!;
          const zz = z[idx]!;
          aux += lw * (Math.max(zz, 0) - zz * y + Math.log1p(Math.exp(-Math.abs(zz))));
          dz[idx]! += lw * (sigmoid(zz) - y);
        }
      }
    }
    // Scope logits -> scope head, FiLM, boundaries, conv features.
    const du = new Float64Array(n * h);
    const dv = new Float64Array(n * h);
    const dcum = new Float64Array(n);
    const gA = this.a.grad;
    const gA0 = this.a0.grad;
    const gD = this.d.grad;
    const gK = this.kappa.grad;
    const gGg = this.Gg.grad;
    const gGb = this.Gb.grad;
    const gbg = this.bg.grad;
    const gbb = this.bb.grad;
    const dgam = new Float64Array(h);
    const dbet = new Float64Array(h);
    for (let op = 0; op < O; op++) {
      const kap = this.kappa.value[op]!;
      for (let c = 0; c < n; c++) {
        dgam.fill(0);
        dbet.fill(0);
        const go = (op * n + c) * h;
        let any = false;
        for (let t = 0; t < n; t++) {
          const idx = (op * n + c) * n + t;
          const g = dz[idx]!;
          if (g === 0) continue;
          any = true;
          gA0[op]! += g;
          gD[op * 3 + side(t, c)]! += g;
          const B = between(cum, c, t);
          gK[op]! -= g * B;
          const dB = -kap * g;
          if (t > c) {
            dcum[t - 1]! += dB;
            dcum[c]! -= dB;
          } else if (t < c) {
            dcum[c - 1]! += dB;
            dcum[t]! -= dB;
          }
          const mo = idx * h;
          for (let i = 0; i < h; i++) {
            const mv = m[mo + i]!;
            gA[op * h + i]! += g * gelu(mv);
            const dm = g * this.a.value[op * h + i]! * geluGrad(mv);
            dgam[i]! += dm * v[t * h + i]!;
            dbet[i]! += dm;
            dv[t * h + i]! += dm * gamma[go + i]!;
          }
        }
        if (!any) continue;
        for (let i = 0; i < h; i++) {
          gbg[op * h + i]! += dgam[i]!;
          gbb[op * h + i]! += dbet[i]!;
          const row = (op * h + i) * h;
          for (let j = 0; j < h; j++) {
            gGg[row + j]! += dgam[i]! * u[c * h + j]!;
            gGb[row + j]! += dbet[i]! * u[c * h + j]!;
            du[c * h + j]! += this.Gg.value[row + j]! * dgam[i]! + this.Gb.value[row + j]! * dbet[i]!;
          }
        }
      }
    }
    // cum_t = sum_{k<=t} bnd_k; bnd = sigmoid(wb . v + bb0).
    let run = 0;
    for (let t = n - 1; t >= 0; t--) {
      run += dcum[t]!;
      const dy = run * bnd[t]! * (1 - bnd[t]!);
      if (dy === 0) continue;
      this.bb0.grad[0]! += dy;
      for (let i = 0; i < h; i++) {
        this.wb.grad[i]! += dy * v[t * h + i]!;
        dv[t * h + i]! += dy * this.wb.value[i]!;
      }
    }
    const das1 = new Float64Array(n * h);
    for (let i = 0; i < n * h; i++) das1[i] = dv[i]! * geluGrad(as1[i]!);
    convBackward(u, n, h, this.Ws1.value, das1, this.Ws1.grad, this.bs1.grad, du);
    // Cue classifier: auxiliary cross-entropy + what reaches p from the bias path.
    const dl = new Float64Array(n * C);
    const cw = labels && (weights.cueWeight ?? 0) > 0 ? weights.cueWeight! / n : 0;
    for (let t = 0; t < n; t++) {
      let dot = 0;
      for (let k = 0; k < C; k++) dot += dp[t * C + k]! * p[t * C + k]!;
      for (let k = 0; k < C; k++) dl[t * C + k] = p[t * C + k]! * (dp[t * C + k]! - dot);
      if (cw > 0) {
        const y = labels!.cue[t]!;
        aux -= cw * Math.log(Math.max(p[t * C + y]!, 1e-300));
        for (let k = 0; k < C; k++) dl[t * C + k]! += cw * (p[t * C + k]! - (k === y ? 1 : 0));
      }
    }
    const da1 = new Float64Array(n * h);
    const Wc2 = this.Wc2.value;
    for (let t = 0; t < n; t++) {
      for (let k = 0; k < C; k++) {
        const g = dl[t * C + k]!;
        if (g === 0) continue;
        this.bc2.grad[k]! += g;
        for (let o = 0; o < h; o++) {
          this.Wc2.grad[k * h + o]! += g * gelu(a1[t * h + o]!);
          da1[t * h + o]! += g * Wc2[k * h + o]!;
        }
      }
    }
    for (let i = 0; i < n * h; i++) da1[i]! *= geluGrad(a1[i]!);
    convBackward(u, n, h, this.Wc1.value, da1, this.Wc1.grad, this.bc1.grad, du);
    // u = P f.
    const gP = this.P.grad;
    const f = fw.f;
    for (let t = 0; t < n; t++)
      for (let o = 0; o < h; o++) {
        const g = du[t * h + o]!;
        if (g === 0) continue;
        const po = o * din;
        const fo = t * din;
        for (let j = 0; j < din; j++) gP[po + j]! += g * f[fo + j]!;
      }
    return aux;
  }
}

/** Which side of cue c token t lies on: 0 after, 1 before, 2 the cue itself. */
function side(t: number, c: number): number {
  return t > c ? 0 : t < c ? 1 : 2;
}

/** Sum of boundary probabilities strictly between c and t. */
function between(cum: Float64Array, c: number, t: number): number {
  if (t > c) return cum[t - 1]! - cum[c]!;
  if (t < c) return cum[c - 1]! - cum[t]!;
  return 0;
}

export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** Same-padded Conv1D with kernel K over n x h: out_t = b + sum_k W_k x_{t+k-1}. */
function conv(x: Float64Array, n: number, h: number, W: Float32Array, b: Float32Array): Float64Array {
  const out = new Float64Array(n * h);
  const c = (K - 1) / 2;
  for (let t = 0; t < n; t++) {
    for (let o = 0; o < h; o++) out[t * h + o] = b[o]!;
    for (let k = 0; k < K; k++) {
      const src = t + k - c;
      if (src < 0 || src >= n) continue;
      for (let o = 0; o < h; o++) {
        let s = 0;
        const row = (k * h + o) * h;
        for (let i = 0; i < h; i++) s += W[row + i]! * x[src * h + i]!;
        out[t * h + o]! += s;
      }
    }
  }
  return out;
}

function convBackward(x: Float64Array, n: number, h: number, W: Float32Array, dout: Float64Array, gW: Float32Array, gb: Float32Array, dx: Float64Array): void {
  const c = (K - 1) / 2;
  for (let t = 0; t < n; t++) {
    for (let o = 0; o < h; o++) gb[o]! += dout[t * h + o]!;
    for (let k = 0; k < K; k++) {
      const src = t + k - c;
      if (src < 0 || src >= n) continue;
      for (let o = 0; o < h; o++) {
        const g = dout[t * h + o]!;
        if (g === 0) continue;
        const row = (k * h + o) * h;
        for (let i = 0; i < h; i++) {
          gW[row + i]! += g * x[src * h + i]!;
          dx[src * h + i]! += g * W[row + i]!;
        }
      }
    }
  }
}

/** Operator of a cue class index (undefined for "none"). */
export function operatorOfClass(k: number): BoolOperator | undefined {
  return k === 0 ? undefined : OPERATORS[k - 1];
}
