import { createMemoryStore } from '../../src/store/memory-store.js';
import { describeStoreConformance } from '../../src/testing/store-conformance.js';

describeStoreConformance('memory store', () => {
  const store = createMemoryStore();
  return Promise.resolve({ store, cleanup: () => store.close() });
});
