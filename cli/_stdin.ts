/**
 * Folder-private: the host daemon's stdin when a job started it — the first
 * line may carry the channel secret (JB-4) and the end of the stream is the
 * lifeline (JB-3).
 * @module
 */

/** Reads stdin as lines; {@linkcode StdinLines.closed} settles at EOF. */
export class StdinLines {
  #reader: ReadableStreamDefaultReader<string>;
  #buffer = "";
  #eof = false;

  /** @param stream The byte stream (default `Deno.stdin.readable`). */
  constructor(stream: ReadableStream<Uint8Array> = Deno.stdin.readable) {
    this.#reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  }

  /**
   * The next line, without its newline.
   * @returns The line, or `undefined` at EOF.
   */
  async line(): Promise<string | undefined> {
    while (!this.#buffer.includes("\n") && !this.#eof) {
      const { value, done } = await this.#reader.read();
      if (done) this.#eof = true;
      else this.#buffer += value;
    }
    const nl = this.#buffer.indexOf("\n");
    if (nl < 0) {
      const rest = this.#buffer;
      this.#buffer = "";
      return rest === "" ? undefined : rest;
    }
    const line = this.#buffer.slice(0, nl);
    this.#buffer = this.#buffer.slice(nl + 1);
    return line;
  }

  /**
   * Reads (and discards) everything else.
   * @returns Resolves at EOF, or when reading fails (the pipe broke).
   */
  async closed(): Promise<void> {
    try {
      while (!this.#eof) {
        const { done } = await this.#reader.read();
        if (done) this.#eof = true;
      }
    } catch {
      // a broken stdin is a closed one
    }
  }
}
