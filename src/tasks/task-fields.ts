import { TaskSpecSchema } from '../model/task-spec.js';

/** What a person may write for a task: everything but `source`, which tandem sets itself. */
export const UserTaskSpecSchema = TaskSpecSchema.omit({ source: true });

export const USER_TASK_FIELDS: readonly string[] = Object.keys(UserTaskSpecSchema.shape);
