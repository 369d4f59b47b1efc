/**
 * A bytes-per-second limit for background I/O (compaction, the log cleaner): `take(n)` waits as
 * long as the bytes taken in the current one-second window exceed the rate.
 */
export class ByteRateLimit {
  private windowBytes = 0;
  private windowStartMs = 0;

  constructor(
    private readonly bytesPerSec: number,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  async take(bytes: number): Promise<void> {
    const now = this.now();
    if (now - this.windowStartMs >= 1000) { this.windowStartMs = now; this.windowBytes = 0; }
    this.windowBytes += bytes;
    const allowedMs = (this.windowBytes / this.bytesPerSec) * 1000;
    const elapsed = now - this.windowStartMs;
    if (allowedMs > elapsed) await this.sleep(allowedMs - elapsed);
  }
}
