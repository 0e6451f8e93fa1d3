import { assign, fromPromise, setup } from 'xstate';
import type { RoleRunMessage } from '../model/role-work.js';
import { errorMessage, StoreError, TandemError } from '../platform/errors.js';
import { RoleWorkServices, type RoleServiceName, type RoleWorkName } from '../model/role-work.js';

/**
 * One delivery of a role call (DESIGN §9) as a small XState machine, one actor per delivery:
 *
 *   received ─ stored result found ──────────────────────────→ replaying → acknowledged
 *      │      ─ not this service's work → storing (a failure)
 *      └────→ running (recalling → asking | resuming) → storing → acknowledged | cancelled
 *   any phase ─ HAND_BACK (shutdown), store unavailable ──────→ handedBack (nak: delivered again)
 *
 * A result is stored BEFORE the delivery is acknowledged, so a redelivered call is answered from
 * the store instead of paying for the model again; `resuming` finishes a call whose model answered
 * before its service died, with the memoized answers. Every effect is a named promise actor and
 * `ack` / `nak` are named actions: the role service provides them, tests provide fakes.
 */

/** A call's answer before the service stamps it (which service, when) and stores it. */
type RoleCallResult = { readonly ok: true; readonly output: unknown } | { readonly ok: false; readonly error: string; readonly retryable: boolean };

export interface RoleCallInput {
  readonly service: RoleServiceName;
  readonly message: RoleRunMessage;
  /** 1 on the first delivery. */
  readonly delivery: number;
}

export interface RoleCallContext {
  readonly service: RoleServiceName;
  readonly message: RoleRunMessage;
  readonly work: RoleWorkName;
  readonly delivery: number;
  /** Its model answered on an earlier delivery: the run finishes with the memoized answers. */
  readonly resumed: boolean;
  /** Answered from the store: it had been completed before. */
  readonly replayed: boolean;
  /** The work ran to an answer on this delivery. */
  readonly ran: boolean;
  readonly cancelled: boolean;
  readonly result?: RoleCallResult | undefined;
  /** Why the delivery was handed back (the queue reports it and may dead-letter on it). */
  readonly error?: unknown;
}

export type RoleCallEvent =
  /** The call's task was aborted (a `role.cancel` notice). */
  | { readonly type: 'CANCEL'; readonly reason?: string | undefined }
  /** The consumer is stopping and gives the delivery back to the queue (SIGTERM). */
  | { readonly type: 'HAND_BACK'; readonly reason?: unknown };

/** The public phase of a call: one tag per state (`resuming` also has `running`). */
export type RoleCallPhase = 'received' | 'running' | 'resuming' | 'replaying' | 'storing' | 'acknowledged' | 'cancelled' | 'handedBack';

export interface CallRef {
  readonly key: string;
  readonly taskId: string;
  readonly work: RoleWorkName;
}
export interface RunCallInput extends CallRef {
  readonly input: unknown;
  readonly resumed: boolean;
}
export interface StoreCallInput extends CallRef {
  readonly result: RoleCallResult;
}

/** Placeholders that fail loudly: the role service (or a test) provides each with `.provide()`. */
function notProvided<TOutput, TInput>(name: string) {
  return fromPromise<TOutput, TInput>(() => Promise.reject(new Error(`the ${name} actor was not provided to the role-call machine`)));
}
function actionNotProvided(name: string): () => void {
  return () => {
    throw new Error(`the ${name} action was not provided to the role-call machine`);
  };
}

function ref(context: RoleCallContext): CallRef {
  return { key: context.message.key, taskId: context.message.taskId, work: context.work };
}

function storable(context: RoleCallContext): StoreCallInput {
  // Every path into `storing` assigns a result first; a missing one is a bug in this machine.
  if (context.result === undefined) throw new Error(`role call ${context.message.key} reached storing without a result`);
  return { ...ref(context), result: context.result };
}

export const roleCallMachine = setup({
  types: {
    context: {} as RoleCallContext,
    events: {} as RoleCallEvent,
    input: {} as RoleCallInput,
    tags: {} as RoleCallPhase,
  },
  actors: {
    /** Whether a result is stored under the call's key. */
    findResult: notProvided<boolean, CallRef>('findResult'),
    /** Whether the call's model answered before (memo-runners.ts); false for work that is not memoized. */
    recall: notProvided<boolean, CallRef>('recall'),
    /** The work itself; its `signal` aborts when the call is cancelled or handed back. */
    run: notProvided<unknown, RunCallInput>('run'),
    /** Stores the result (a result stored first by another replica stands) and announces it. */
    store: notProvided<void, StoreCallInput>('store'),
    /** Announces a result stored before, for a supervisor that is waiting on it. */
    announce: notProvided<void, CallRef>('announce'),
  },
  guards: {
    resultStored: (_, stored: boolean) => stored,
    answeredBefore: (_, answered: boolean) => answered,
    foreignWork: ({ context }) => (RoleWorkServices as Record<string, RoleServiceName | undefined>)[context.work] !== context.service,
    // Not an answer: the call goes back to the queue, and the memoized answers are replayed then.
    storeUnavailable: (_, { error }: { error: unknown }) => error instanceof StoreError && error.code === 'unavailable',
    wasCancelled: ({ context }) => context.cancelled,
  },
  actions: {
    /** Resolves the delivery: the queue acknowledges it. */
    ack: actionNotProvided('ack'),
    /** Rejects the delivery with `context.error`: the queue delivers it again (or dead-letters it). */
    nak: actionNotProvided('nak'),
    noteReplayed: assign({ replayed: true }),
    noteResumed: assign({ resumed: true }),
    refuseWork: assign(({ context }) => ({
      result: { ok: false, error: `the ${context.service} service does not do "${context.work}" work`, retryable: false } as const,
    })),
    keepOutput: assign((_, { output }: { output: unknown }) => ({ ran: true, result: { ok: true, output } as const })),
    keepFailure: assign((_, { error }: { error: unknown }) => ({
      result: { ok: false, error: errorMessage(error), retryable: error instanceof TandemError && error.retryable } as const,
    })),
    keepCancellation: assign(({ event }) => {
      const reason = event.type === 'CANCEL' && event.reason ? `: ${event.reason}` : '';
      // Not retryable: a person aborted the task, running it again would undo that.
      return { cancelled: true, result: { ok: false, error: `cancelled: the task was aborted${reason}`, retryable: false } as const };
    }),
    keepHandBackReason: assign((_, { error }: { error: unknown }) => ({ error })),
  },
}).createMachine({
  id: 'roleCall',
  initial: 'received',
  context: ({ input }) => ({
    service: input.service,
    message: input.message,
    work: input.message.type.slice('role.'.length) as RoleWorkName,
    delivery: input.delivery,
    resumed: false,
    replayed: false,
    ran: false,
    cancelled: false,
  }),
  on: {
    HAND_BACK: { target: '.handedBack', actions: { type: 'keepHandBackReason', params: ({ event }) => ({ error: event.reason }) } },
  },
  states: {
    received: {
      tags: 'received',
      invoke: {
        src: 'findResult',
        input: ({ context }) => ref(context),
        onDone: [
          { guard: { type: 'resultStored', params: ({ event }) => event.output }, target: 'replaying', actions: 'noteReplayed' },
          { guard: 'foreignWork', target: 'storing', actions: 'refuseWork' },
          { target: 'running' },
        ],
        onError: { target: 'handedBack', actions: { type: 'keepHandBackReason', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    replaying: {
      tags: 'replaying',
      // A lost notice only costs the supervisor a poll of the store: acknowledged either way.
      invoke: { src: 'announce', input: ({ context }) => ref(context), onDone: 'acknowledged', onError: 'acknowledged' },
    },
    running: {
      tags: 'running',
      initial: 'recalling',
      // Leaving `running` stops the invoked work, which aborts its signal.
      on: { CANCEL: { target: 'storing', actions: 'keepCancellation' } },
      states: {
        recalling: {
          invoke: {
            src: 'recall',
            input: ({ context }) => ref(context),
            onDone: [
              { guard: { type: 'answeredBefore', params: ({ event }) => event.output }, target: 'resuming', actions: 'noteResumed' },
              { target: 'asking' },
            ],
            onError: [
              {
                guard: { type: 'storeUnavailable', params: ({ event }) => ({ error: event.error }) },
                target: '#roleCall.handedBack',
                actions: { type: 'keepHandBackReason', params: ({ event }) => ({ error: event.error }) },
              },
              { target: '#roleCall.storing', actions: { type: 'keepFailure', params: ({ event }) => ({ error: event.error }) } },
            ],
          },
        },
        asking: {
          invoke: {
            src: 'run',
            input: ({ context }) => ({ ...ref(context), input: context.message.input, resumed: false }),
            onDone: { target: '#roleCall.storing', actions: { type: 'keepOutput', params: ({ event }) => ({ output: event.output }) } },
            onError: [
              {
                guard: { type: 'storeUnavailable', params: ({ event }) => ({ error: event.error }) },
                target: '#roleCall.handedBack',
                actions: { type: 'keepHandBackReason', params: ({ event }) => ({ error: event.error }) },
              },
              { target: '#roleCall.storing', actions: { type: 'keepFailure', params: ({ event }) => ({ error: event.error }) } },
            ],
          },
        },
        resuming: {
          tags: 'resuming',
          invoke: {
            src: 'run',
            input: ({ context }) => ({ ...ref(context), input: context.message.input, resumed: true }),
            onDone: { target: '#roleCall.storing', actions: { type: 'keepOutput', params: ({ event }) => ({ output: event.output }) } },
            onError: [
              {
                guard: { type: 'storeUnavailable', params: ({ event }) => ({ error: event.error }) },
                target: '#roleCall.handedBack',
                actions: { type: 'keepHandBackReason', params: ({ event }) => ({ error: event.error }) },
              },
              { target: '#roleCall.storing', actions: { type: 'keepFailure', params: ({ event }) => ({ error: event.error }) } },
            ],
          },
        },
      },
    },
    storing: {
      tags: 'storing',
      invoke: {
        src: 'store',
        input: ({ context }) => storable(context),
        onDone: [{ guard: 'wasCancelled', target: 'cancelled' }, { target: 'acknowledged' }],
        // Not stored, so not answered: acknowledging now would lose the call.
        onError: { target: 'handedBack', actions: { type: 'keepHandBackReason', params: ({ event }) => ({ error: event.error }) } },
      },
    },
    acknowledged: { type: 'final', tags: 'acknowledged', entry: 'ack' },
    // Answered (as a failure the supervisor reads) and acknowledged, like any stored result.
    cancelled: { type: 'final', tags: 'cancelled', entry: 'ack' },
    handedBack: { type: 'final', tags: 'handedBack', entry: 'nak' },
  },
});
