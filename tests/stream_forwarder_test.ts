import { assertEquals } from "@std/assert";
import { StreamForwarder } from "../bootstrap/stream_forwarder.ts";

Deno.test({
  name: "BS-4: StreamForwarder loses no line of a child that exits right after writing",
  permissions: { run: true, read: true },
  async fn() {
    const script = [
      "const n = 20000;",
      "let s = '';",
      "for (let i = 0; i < n; i++) s += `out ${i}\\n`;",
      "Deno.stdout.writeSync(new TextEncoder().encode(s + 'no newline'));",
      "Deno.stderr.writeSync(new TextEncoder().encode('boom\\n'));",
      "Deno.exit(3);",
    ].join("\n");
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", script],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const lines: string[] = [];
    const out = StreamForwarder.start(child.stdout, {
      target: "stdout",
      tailLines: 2,
      mirror: false,
      prefixRank: 0,
      prefixWithRank: false,
      onLines: (batch) => void lines.push(...batch),
    });
    const err = StreamForwarder.start(child.stderr, {
      target: "stderr",
      tailLines: 5,
      mirror: false,
    });
    const [status, outResult, errResult] = await Promise.all([child.status, out.done, err.done]);
    assertEquals(status.code, 3);
    assertEquals(lines.length, 20001, "BS-4");
    assertEquals(lines.at(-2), "out 19999");
    assertEquals(outResult.tail, ["out 19999", "no newline"]);
    assertEquals(errResult.tail, ["boom"]);
  },
});
