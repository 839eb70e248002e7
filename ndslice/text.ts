/**
 * Folder-private text helpers shared by `Extent`, `Point` and `Region`: label
 * quoting and a strict scanner over the delimiters `+ = , /`.
 *
 * Labels matching `[A-Za-z0-9_]+` print bare; every other label (including the
 * empty one) prints as a double-quoted string in which `"`, `\`, newline,
 * carriage return and tab are escaped as `\" \\ \n \r \t`. Every other
 * character is printed as is, so quoting round-trips for any string.
 *
 * @module
 */

const SAFE_LABEL = /^[A-Za-z0-9_]+$/;

/** What a piece of text was supposed to be when it failed to parse. */
export type NdsliceTextKind = "Region" | "Extent" | "Point";

/**
 * Text that is not a valid `Region`, `Extent` or `Point`. Every parse failure
 * of those three types is reported with this class (a semantic failure, such as
 * overlapping strides, keeps the underlying error as `cause`).
 *
 * @example
 * ```ts
 * import { assert, assertThrows } from "@std/assert";
 * import { NdsliceParseError, Region } from "./region.ts";
 * const err = assertThrows(() => Region.parse("x=2"), NdsliceParseError);
 * assert(err.input === "x=2" && err.what === "Region");
 * ```
 */
export class NdsliceParseError extends Error {
  /** The rejected input, verbatim. */
  readonly input: string;
  /** Which type the input was parsed as. */
  readonly what: NdsliceTextKind;
  /** Character offset where parsing failed (`input.length` at the end). */
  readonly position: number;
  /** What the parser expected or why the value is invalid. */
  readonly detail: string;

  /**
   * Creates the instance (see the class documentation).
   *
   * @param what The type being parsed.
   * @param input The rejected text.
   * @param position Offset of the failure.
   * @param detail Human-readable reason.
   * @param options Standard error options (`cause`).
   */
  constructor(
    what: NdsliceTextKind,
    input: string,
    position: number,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(
      `Cannot parse ${what} ${JSON.stringify(input)}: ${detail} at offset ${position}`,
      options,
    );
    this.name = "NdsliceParseError";
    this.input = input;
    this.what = what;
    this.position = position;
    this.detail = detail;
  }
}

/**
 * Whether `label` prints without quotes.
 * @param label A dimension label.
 * @returns `true` for `[A-Za-z0-9_]+`.
 */
export function isSafeLabel(label: string): boolean {
  return SAFE_LABEL.test(label);
}

/**
 * Renders a label bare when safe, otherwise quoted and escaped.
 * @param label A dimension label.
 * @returns The printed label.
 */
export function formatLabel(label: string): string {
  if (isSafeLabel(label)) return label;
  let out = '"';
  for (const ch of label) {
    switch (ch) {
      case '"':
        out += '\\"';
        break;
      case "\\":
        out += "\\\\";
        break;
      case "\n":
        out += "\\n";
        break;
      case "\r":
        out += "\\r";
        break;
      case "\t":
        out += "\\t";
        break;
      default:
        out += ch;
    }
  }
  return out + '"';
}

const ESCAPES: Record<string, string> = { '"': '"', "\\": "\\", n: "\n", r: "\r", t: "\t" };

/** A strict left-to-right scanner; every failure throws `NdsliceParseError`. */
export class Scanner {
  readonly #what: NdsliceTextKind;
  readonly #input: string;
  #pos = 0;

  /**
   * Creates the instance (see the class documentation).
   *
   * @param what The type being parsed (for errors).
   * @param input The text.
   */
  constructor(what: NdsliceTextKind, input: string) {
    this.#what = what;
    this.#input = input;
  }

  /** Current offset. */
  get position(): number {
    return this.#pos;
  }

  /** Whether all input was consumed. */
  get done(): boolean {
    return this.#pos >= this.#input.length;
  }

  /**
   * Builds the error for the current position.
   * @param detail Reason.
   * @param options Error options (`cause`).
   * @returns The error (not thrown).
   */
  fail(detail: string, options?: ErrorOptions): NdsliceParseError {
    return new NdsliceParseError(this.#what, this.#input, this.#pos, detail, options);
  }

  /**
   * The next character, without consuming it.
   * @returns The character or `undefined` at the end.
   */
  peek(): string | undefined {
    return this.#input[this.#pos];
  }

  /** Skips ASCII spaces and tabs. */
  skipSpaces(): void {
    while (this.peek() === " " || this.peek() === "\t") this.#pos++;
  }

  /**
   * Consumes `text` or throws.
   * @param text The expected literal.
   */
  expect(text: string): void {
    if (!this.#input.startsWith(text, this.#pos)) throw this.fail(`expected "${text}"`);
    this.#pos += text.length;
  }

  /**
   * Consumes `text` if present.
   * @param text The literal.
   * @returns Whether it was consumed.
   */
  accept(text: string): boolean {
    if (!this.#input.startsWith(text, this.#pos)) return false;
    this.#pos += text.length;
    return true;
  }

  /**
   * Whether a run of digits followed by `next` starts here (no consumption).
   * @param next The literal that must follow the digits.
   * @returns `true` when the lookahead matches.
   */
  digitsFollowedBy(next: string): boolean {
    let i = this.#pos;
    while (i < this.#input.length && isDigit(this.#input[i])) i++;
    return i > this.#pos && this.#input.startsWith(next, i);
  }

  /**
   * Consumes a non-negative safe integer written as `[0-9]+`.
   * @param what Name of the number, for errors.
   * @returns The number.
   */
  natural(what: string): number {
    const start = this.#pos;
    while (!this.done && isDigit(this.#input[this.#pos])) this.#pos++;
    if (this.#pos === start) throw this.fail(`expected ${what} (digits)`);
    const value = Number(this.#input.slice(start, this.#pos));
    if (!Number.isSafeInteger(value)) {
      this.#pos = start;
      throw this.fail(`${what} is too large`);
    }
    return value;
  }

  /**
   * Consumes a bare `[A-Za-z0-9_]+` label or a quoted, escaped one.
   * @returns The label.
   */
  label(): string {
    if (this.peek() === '"') return this.#quoted();
    const start = this.#pos;
    while (!this.done && /[A-Za-z0-9_]/.test(this.#input[this.#pos])) this.#pos++;
    if (this.#pos === start) throw this.fail("expected a label ([A-Za-z0-9_]+ or quoted)");
    return this.#input.slice(start, this.#pos);
  }

  #quoted(): string {
    this.#pos++; // opening quote
    let out = "";
    while (true) {
      if (this.done) throw this.fail("unterminated quoted label");
      const ch = this.#input[this.#pos];
      if (ch === '"') {
        this.#pos++;
        return out;
      }
      if (ch === "\\") {
        const esc = this.#input[this.#pos + 1];
        const decoded = esc === undefined ? undefined : ESCAPES[esc];
        if (decoded === undefined) {
          throw this.fail('invalid escape in quoted label (allowed: \\" \\\\ \\n \\r \\t)');
        }
        out += decoded;
        this.#pos += 2;
        continue;
      }
      out += ch;
      this.#pos++;
    }
  }
}

function isDigit(ch: string): boolean {
  return ch >= "0" && ch <= "9";
}
