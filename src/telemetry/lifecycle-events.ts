import type { BusMessage, TaskEvent } from '../model/task-events.js';

/** Every lifecycle event type; a Record so that a new event type must be added here. */
const eventTypes: Readonly<Record<TaskEvent['type'], true>> = {
  'task.state': true,
  'role.started': true,
  'role.refused': true,
  'role.finished': true,
  'gate.check': true,
  'gate.finished': true,
  'step.committed': true,
  'task.finished': true,
};

export function isTaskEvent(message: BusMessage): message is TaskEvent {
  return Object.hasOwn(eventTypes, message.type);
}

/** passed; retry when a review sends the work back; failed when a call failed or a review rejected. */
export function stageStatus(success: boolean, verdict: string | undefined): 'passed' | 'retry' | 'failed' {
  if (!success || verdict === 'rejected' || verdict === 'escalate') return 'failed';
  return verdict === 'needs_changes' || verdict === 'needs_revision' || verdict === 'fail' ? 'retry' : 'passed';
}
