import { println } from './io';

export type OutputFormat = 'table' | 'json' | 'yaml';

/** -o FORMAT, with --json kept as the short way to say -o json. */
export function outputFormat(values: { output: string; json: boolean }): OutputFormat {
  return values.json ? 'json' : (values.output as OutputFormat);
}

/** A document as JSON or YAML (the YAML printer is loaded only for -o yaml). */
export async function printDocument(stream: NodeJS.WritableStream, format: 'json' | 'yaml', doc: unknown): Promise<void> {
  if (format === 'json') println(stream, JSON.stringify(doc, null, 2));
  else stream.write((await import('yaml')).stringify(doc));
}
