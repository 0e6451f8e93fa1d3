/**
 * `tandem/testing`: what a test of tandem, or of your own adapter, needs. The scripted runner
 * (replays a script of model answers, labelled as such everywhere), the in-memory bus, store and work
 * queue, and the conformance suites that every Bus, Store and WorkQueue implementation must pass
 * (they use vitest, an optional peer dependency: `describeStoreConformance('mine', factory)`).
 */
export { createScriptedRunner } from './runners/scripted.js';
export type { ScriptedRunner } from './runners/scripted.js';
export { loadScript, parseScript, ScriptSchema } from './runners/scripted-script.js';
export type { Script, ScriptInput } from './runners/scripted-script.js';
export { createMemoryBus } from './bus/memory-bus.js';
export { createMemoryStore } from './store/memory-store.js';
export { createMemoryWorkQueue } from './queue/memory-work-queue.js';
export type { MemoryWorkQueue } from './queue/memory-work-queue.js';
export { describeBusConformance } from './testing/bus-conformance.js';
export type { BusFactory, BusUnderTest } from './testing/bus-conformance.js';
export { describeStoreConformance } from './testing/store-conformance.js';
export type { StoreFactory, StoreUnderTest } from './testing/store-conformance.js';
export { describeWorkQueueConformance } from './testing/work-queue-conformance.js';
export type { WorkQueueFactory, WorkQueueUnderTest } from './testing/work-queue-conformance.js';
