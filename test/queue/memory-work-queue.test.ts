import { createMemoryWorkQueue, type MemoryWorkQueue } from '../../src/queue/memory-work-queue.js';
import { describeWorkQueueConformance } from '../../src/testing/work-queue-conformance.js';

describeWorkQueueConformance('memory work queue', (spec) => {
  const queue = createMemoryWorkQueue(spec);
  const clients: MemoryWorkQueue[] = [queue];
  return Promise.resolve({
    queue,
    peer: () => {
      const peer = queue.peer();
      clients.push(peer);
      return Promise.resolve(peer);
    },
    kill: (peer) => {
      const found = clients.find((c) => c === peer);
      if (found === undefined) throw new Error('not a peer of this queue');
      found.crash();
      return Promise.resolve();
    },
    injectRaw: (subject, data) => {
      queue.injectRaw(subject, data);
      return Promise.resolve();
    },
    cleanup: async () => {
      await Promise.all(clients.map((c) => c.close()));
    },
  });
});
