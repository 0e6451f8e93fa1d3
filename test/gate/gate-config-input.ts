import type { z } from 'zod';
import { GateConfigSchema } from '../../src/gate/gate-options.js';

export { GateConfigSchema };
/** Gate settings as a user writes them (defaults left out), for tests. */
export type GateConfigInputForTests = z.input<typeof GateConfigSchema>;
