import { isTerminal } from './io';

/** Colour only on a terminal, never with NO_COLOR set to anything but "" (https://no-color.org) or TERM=dumb. */
export function colourEnabled(stream: NodeJS.WritableStream, env: NodeJS.ProcessEnv = process.env): boolean {
  return isTerminal(stream) && !env.NO_COLOR && env.TERM !== 'dumb';
}

export interface Palette {
  green(s: string): string;
  yellow(s: string): string;
  red(s: string): string;
  cyan(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

const sgr = (open: number, close: number) => (s: string) => `\x1b[${open}m${s}\x1b[${close}m`;
const plain = (s: string) => s;

export function palette(on: boolean): Palette {
  if (!on) return { green: plain, yellow: plain, red: plain, cyan: plain, dim: plain, bold: plain };
  return { green: sgr(32, 39), yellow: sgr(33, 39), red: sgr(31, 39), cyan: sgr(36, 39), dim: sgr(2, 22), bold: sgr(1, 22) };
}
