import * as z from 'zod';

// A CLI process parses its configuration once: zod's compiled fast path for objects (new Function per
// schema, which no code cache keeps) costs more than it saves there. Same results either way. Imported
// before the configuration schema, whose module already parses its defaults.
z.config({ jitless: true });
