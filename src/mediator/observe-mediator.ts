import type { Metrics } from '../telemetry/metrics.js';
import type { Mediator } from './mediator.js';

/** Counts the mediator's rejected answers where it runs (the watcher, the Telegram desk). */
export function observeMediator(mediator: Mediator, metrics: Metrics): Mediator {
  return {
    label: mediator.label,
    async interpret(request, options) {
      const result = await mediator.interpret(request, options);
      if (!result.ok && result.reason === 'rejected') metrics.mediatorRejections.inc({ request: 'task' });
      return result;
    },
    async summarize(facts, signal) {
      const result = await mediator.summarize(facts, signal);
      if (!result.ok && result.reason === 'rejected') metrics.mediatorRejections.inc({ request: 'summary' });
      return result;
    },
  };
}
