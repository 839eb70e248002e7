/**
 * A tiny parser for the block-style YAML subset the deploy manifests use
 * (no dependency): `---` separated documents, `#` comments, mappings
 * (`key: value`, `key:` + an indented block), sequences (`- item`,
 * `- key: value` starting a mapping), plain / double-quoted / single-quoted
 * scalars, integers and booleans. Anything else (flow collections, anchors,
 * multi-line scalars, tabs) is rejected with the line number, so a manifest
 * that leaves the subset fails the test instead of being misread.
 * @module
 */

/** A parsed YAML value. */
export type Yaml = string | number | boolean | null | Yaml[] | { [key: string]: Yaml };

interface Line {
  no: number;
  indent: number;
  text: string;
}

function fail(line: Line | undefined, why: string): never {
  throw new SyntaxError(`Cannot parse YAML line ${line?.no ?? "EOF"}: ${why}`);
}

function stripComment(text: string): string {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === "#" && (i === 0 || text[i - 1] === " ")) {
      return text.slice(0, i).trimEnd();
    }
  }
  return text.trimEnd();
}

function scalar(line: Line, text: string): Yaml {
  if (text.startsWith('"')) return JSON.parse(text);
  if (text.startsWith("'")) {
    if (!text.endsWith("'") || text.length < 2) fail(line, "unterminated quote");
    return text.slice(1, -1).replaceAll("''", "'");
  }
  if (/^[[{&*|>!%@`]/.test(text)) fail(line, `outside the subset: ${text}`);
  if (text === "true" || text === "false") return text === "true";
  if (text === "null" || text === "~") return null;
  if (/^-?\d+$/.test(text)) return Number(text);
  return text;
}

/**
 * Parses every document of `source`.
 * @param source YAML text.
 * @returns The documents.
 * @throws {SyntaxError} For anything outside the subset, naming the line.
 */
export function parseYamlDocuments(source: string): Yaml[] {
  const docs: Line[][] = [[]];
  source.split("\n").forEach((raw, i) => {
    if (raw.includes("\t")) fail({ no: i + 1, indent: 0, text: raw }, "tab");
    if (raw.trimEnd() === "---") {
      docs.push([]);
      return;
    }
    const text = stripComment(raw);
    if (text.trim() === "") return;
    docs.at(-1)!.push({
      no: i + 1,
      indent: text.length - text.trimStart().length,
      text: text.trim(),
    });
  });
  return docs.filter((d) => d.length > 0).map((lines) => {
    const pos = { i: 0 };
    const value = node(lines, pos, lines[0].indent);
    if (pos.i < lines.length) fail(lines[pos.i], "unexpected indentation");
    return value;
  });
}

function node(lines: Line[], pos: { i: number }, indent: number): Yaml {
  const first = lines[pos.i];
  if (first === undefined) fail(first, "missing value");
  return first.text === "-" || first.text.startsWith("- ")
    ? sequence(lines, pos, indent)
    : mapping(lines, pos, indent);
}

function sequence(lines: Line[], pos: { i: number }, indent: number): Yaml[] {
  const out: Yaml[] = [];
  while (pos.i < lines.length && lines[pos.i].indent === indent) {
    const line = lines[pos.i];
    if (!(line.text === "-" || line.text.startsWith("- "))) break;
    const rest = line.text.slice(1).trimStart();
    if (rest === "") {
      pos.i++;
      out.push(node(lines, pos, lines[pos.i]?.indent ?? fail(line, "empty item")));
    } else if (/^[^"'\s][^:]*:( |$)/.test(rest)) {
      // `- key: value` opens a mapping indented at the item's text.
      lines[pos.i] = { no: line.no, indent: indent + line.text.indexOf(rest), text: rest };
      out.push(mapping(lines, pos, lines[pos.i].indent));
    } else {
      out.push(scalar(line, rest));
      pos.i++;
    }
  }
  return out;
}

function mapping(lines: Line[], pos: { i: number }, indent: number): { [key: string]: Yaml } {
  const out: { [key: string]: Yaml } = {};
  while (pos.i < lines.length && lines[pos.i].indent === indent) {
    const line = lines[pos.i];
    if (line.text.startsWith("- ")) break;
    const m = /^([^"'\s][^:]*):(?: (.*))?$/.exec(line.text);
    if (m === null) fail(line, `expected "key: value": ${line.text}`);
    const [, key, value] = m;
    if (Object.hasOwn(out, key)) fail(line, `duplicate key ${key}`);
    pos.i++;
    if (value !== undefined && value.trim() !== "") {
      out[key] = scalar(line, value.trim());
      continue;
    }
    const next = lines[pos.i];
    if (next !== undefined && next.indent > indent) out[key] = node(lines, pos, next.indent);
    else if (next !== undefined && next.indent === indent && next.text.startsWith("- ")) {
      out[key] = sequence(lines, pos, indent);
    } else out[key] = null;
  }
  if (pos.i < lines.length && lines[pos.i].indent > indent) fail(lines[pos.i], "bad indentation");
  return out;
}
