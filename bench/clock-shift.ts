/**
 * Loaded with `node --import` before Coffer's CLI in the 30-day run (days30.ts): moves this
 * process's clock to BENCH_CLOCK (an ISO time), so each day's snapshot records its own date and
 * `forget --keep-daily` sees thirty days, as restic's --time and borg's --timestamp do for them.
 * The clock keeps running from there; nothing else changes. Never loaded outside the benchmark.
 */
const target = Date.parse(process.env.BENCH_CLOCK ?? '');
if (Number.isFinite(target)) {
  const RealDate = Date;
  const offset = target - RealDate.now();
  class ShiftedDate extends RealDate {
    constructor(...args: [] | [string | number | Date] | [number, number, ...number[]]) {
      if (args.length === 0) super(RealDate.now() + offset);
      else if (args.length === 1) super(args[0]);
      else super(...(args as [number, number]));
    }

    static override now(): number {
      return RealDate.now() + offset;
    }
  }
  globalThis.Date = ShiftedDate as DateConstructor;
}
