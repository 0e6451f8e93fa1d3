import type { Priority } from '../model/task-spec.js';

const rank: Record<Priority, number> = { high: 0, medium: 1, low: 2 };

/**
 * Runs at most `limit` jobs at once, higher priority first, then in submission order. A job holds
 * its slot until its promise settles.
 */
export class Scheduler {
  readonly #limit: number;
  #running = 0;
  #seq = 0;
  readonly #queue: { priority: number; seq: number; start: () => void }[] = [];

  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  run<T>(priority: Priority, job: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = (): void => {
        this.#running++;
        job()
          .then(resolve, reject)
          .finally(() => {
            this.#running--;
            this.#next();
          });
      };
      this.#queue.push({ priority: rank[priority], seq: this.#seq++, start });
      this.#queue.sort((a, b) => a.priority - b.priority || a.seq - b.seq);
      this.#next();
    });
  }

  get running(): number {
    return this.#running;
  }

  get queued(): number {
    return this.#queue.length;
  }

  #next(): void {
    while (this.#running < this.#limit) {
      const item = this.#queue.shift();
      if (!item) return;
      item.start();
    }
  }
}
