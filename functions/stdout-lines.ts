/**
 * The Node server's event and mail lines, to stdout: the lines of one turn of the event loop go
 * out in one write, in the order they were made, before the next turn's; and whatever is waiting
 * goes out before the process exits, for whatever reason it exits.
 *
 * Why not a write per line: stdout is a pipe under a supervisor, and Node writes pipes
 * synchronously. Each line was a system call that woke the reader, and when the reader was slower
 * than the server the pipe filled and the server stopped until it drained: one line per refused
 * request cost more than the rest of the refusal (docs/performance.md, "The cheap paths").
 */
export interface LineWriter {
  writeLine(line: string): void;
  /** Writes what is waiting now. */
  flush(): void;
}

export function batchedLines(write: (text: string) => void, later: (run: () => void) => void = setImmediate): LineWriter {
  let waiting = '';
  const flush = () => {
    if (waiting === '') return;
    const text = waiting;
    waiting = '';
    write(text);
  };
  return {
    writeLine(line) {
      if (waiting === '') later(flush);
      waiting += `${line}\n`;
    },
    flush,
  };
}

/** The server's writer: stdout, flushed when the process exits (process.exit, an uncaught error, the end). */
export function stdoutLines(): LineWriter {
  const writer = batchedLines((text) => void process.stdout.write(text));
  process.on('exit', writer.flush);
  return writer;
}
