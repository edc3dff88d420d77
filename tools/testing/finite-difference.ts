/**
 * Central finite difference of `f` with respect to `x[i]`. Works on Float32 storage: it
 * divides by the step actually stored (x[i] +/- h rounded to float32), not by 2h.
 */
export function numericGrad(x: Float32Array | Float64Array, i: number, f: () => number, h: number): number {
  const orig = x[i]!;
  x[i] = orig + h;
  const up = x[i]!;
  const fu = f();
  x[i] = orig - h;
  const down = x[i]!;
  const fd = f();
  x[i] = orig;
  return (fu - fd) / (up - down);
}
