import pc from 'picocolors';

export type Colors = ReturnType<typeof pc.createColors>;

export interface OutputStream {
  isTTY?: boolean;
}

/**
 * Colours for one stream: only on a terminal, never when NO_COLOR is set (no-color.org:
 * present and not empty) or TERM=dumb.
 * Decided per stream, unlike picocolors' own guess (stdout's, and on whenever CI is set):
 * progress on a terminal's stderr can be coloured while stdout goes to a file.
 */
export function colorsFor(stream: OutputStream, env: Record<string, string | undefined>): Colors {
  return pc.createColors(colorEnabled(stream, env));
}

export function colorEnabled(stream: OutputStream, env: Record<string, string | undefined>): boolean {
  if (env.NO_COLOR) return false;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

/** A terminal that understands cursor movement: where a line can be redrawn in place. */
export function redrawable(stream: OutputStream, env: Record<string, string | undefined>): boolean {
  return stream.isTTY === true && env.TERM !== 'dumb';
}
