import { InlineKeyboard } from 'grammy';
import type { TaskRecord } from '../model/task-record.js';

/**
 * The decision buttons under a waiting task's message, and reading a pressed button back. A
 * button carries `<action>:<task id>`; a task id too long for Telegram's 64-byte callback_data is
 * kept here under a short key instead (`<action>#<key>`), valid while this bot process runs.
 */

export const Action = { approve: 'ap', feedback: 'fb', skip: 'sk', abort: 'ab' } as const;
export type Action = (typeof Action)[keyof typeof Action];
const ACTIONS: ReadonlySet<string> = new Set(Object.values(Action));
/** Telegram's limit on callback_data. */
const MAX_CALLBACK_BYTES = 64;

export interface ReviewButtons {
  keyboard(record: TaskRecord): InlineKeyboard;
  /** The action and task of a pressed button; undefined for a button this process did not make. */
  parse(data: string): { readonly action: Action; readonly taskId: string } | undefined;
}

export function createReviewButtons(): ReviewButtons {
  /** Callback data for task ids too long to fit in 64 bytes next to the action. */
  const longIds = new Map<string, string>();

  function callbackData(action: Action, taskId: string): string {
    const plain = `${action}:${taskId}`;
    if (Buffer.byteLength(plain) <= MAX_CALLBACK_BYTES) return plain;
    const key = String(longIds.size + 1);
    longIds.set(key, taskId);
    return `${action}#${key}`;
  }

  return {
    keyboard(record) {
      const keyboard = new InlineKeyboard()
        .text('✅ Approve', callbackData(Action.approve, record.id))
        .text('💬 Feedback', callbackData(Action.feedback, record.id))
        .row();
      if (record.waiting?.stage === 'step') keyboard.text('⏭ Skip step', callbackData(Action.skip, record.id));
      return keyboard.text('⏹ Abort', callbackData(Action.abort, record.id));
    },

    parse(data) {
      const match = /^([a-z]{2})([:#])(.+)$/.exec(data);
      const action = match?.[1];
      const taskId = match?.[2] === '#' ? longIds.get(match[3] ?? '') : match?.[3];
      if (!action || !ACTIONS.has(action) || !taskId) return undefined;
      return { action: action as Action, taskId };
    },
  };
}
