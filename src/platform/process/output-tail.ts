/**
 * Keeps the last `limit` bytes written to it. The end of a test run's output holds the failures and
 * the summary, so that is the part worth keeping when a command talks too much.
 */
export class OutputTail {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private dropped = 0;

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`output limit must be a non-negative integer, got ${limit}`);
  }

  push(chunk: Buffer): void {
    if (chunk.length >= this.limit) {
      this.dropped += this.size + chunk.length - this.limit;
      this.chunks.length = 0;
      this.size = this.limit;
      if (this.limit > 0) this.chunks.push(chunk.subarray(chunk.length - this.limit));
      return;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.limit) {
      const first = this.chunks[0];
      if (first === undefined) break;
      const excess = this.size - this.limit;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
        this.dropped += first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
        this.dropped += excess;
      }
    }
  }

  /** Bytes that were dropped from the front. */
  get droppedBytes(): number {
    return this.dropped;
  }

  toString(): string {
    const text = Buffer.concat(this.chunks, this.size).toString('utf8');
    // The cut may fall inside a multi-byte character, which decodes as replacement characters.
    return this.dropped > 0 ? text.replace(/^\uFFFD+/, '') : text;
  }
}
