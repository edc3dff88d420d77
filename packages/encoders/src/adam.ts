import type { Param } from './model.js';

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

export interface AdamState {
  t: number;
  m: Float32Array[];
  v: Float32Array[];
}

/**
 * Adam (Kingma & Ba). Dense parameters are updated every step; parameters with
 * `sparse` rows (embedding tables) are updated lazily, only on the rows that received
 * a gradient this step (like torch.optim.SparseAdam), with the global step count for
 * bias correction. `step` consumes and zeroes the gradients.
 */
export class Adam {
  readonly params: readonly Param[];
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  lr: number;
  t = 0;
  readonly m: Float32Array[];
  readonly v: Float32Array[];

  constructor(params: readonly Param[], options: AdamOptions) {
    this.params = params;
    this.lr = options.lr;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    this.m = params.map((p) => new Float32Array(p.value.length));
    this.v = params.map((p) => new Float32Array(p.value.length));
  }

  step(lr = this.lr): void {
    this.t++;
    const b1 = this.beta1;
    const b2 = this.beta2;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    const stepSize = lr / c1;
    const eps = this.eps;
    this.params.forEach((p, k) => {
      const m = this.m[k]!;
      const v = this.v[k]!;
      const x = p.value;
      const g = p.grad;
      const update = (from: number, to: number): void => {
        for (let i = from; i < to; i++) {
          const gi = g[i]!;
          const mi = b1 * m[i]! + (1 - b1) * gi;
          const vi = b2 * v[i]! + (1 - b2) * gi * gi;
          m[i] = mi;
          v[i] = vi;
          x[i]! -= (stepSize * mi) / (Math.sqrt(vi / c2) + eps);
          g[i] = 0;
        }
      };
      if (p.sparse) {
        const size = p.sparse.rowSize;
        const rows = p.sparse.list.slice().sort((a, b) => a - b);
        for (const r of rows) update(r * size, (r + 1) * size);
        p.sparse.clear();
      } else {
        update(0, x.length);
      }
    });
  }

  /** Zeroes gradients without updating (e.g. after a skipped step). */
  zeroGrad(): void {
    for (const p of this.params) {
      if (p.sparse) {
        const size = p.sparse.rowSize;
        for (const r of p.sparse.list) p.grad.fill(0, r * size, (r + 1) * size);
        p.sparse.clear();
      } else {
        p.grad.fill(0);
      }
    }
  }

  state(): AdamState {
    return { t: this.t, m: this.m, v: this.v };
  }

  load(state: AdamState): void {
    this.t = state.t;
    state.m.forEach((a, k) => this.m[k]!.set(a));
    state.v.forEach((a, k) => this.v[k]!.set(a));
  }
}
