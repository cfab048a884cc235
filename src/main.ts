import { serve } from './server.js';

serve({ env: process.env }).catch((error) => {
  process.stderr.write(`latchkey: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
