import {
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { FileAppender, FileAppenderError } from "./file_appender.ts";
import { StreamForwarder } from "./stream_forwarder.ts";

Deno.test("FileAppender names its files <base>_<hostname>_<id>.stdout|.stderr", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using appender = await FileAppender.open({
      dir: `${dir}/logs`,
      base: "b",
      hostname: "h",
    });
    assertMatch(
      appender.stdoutPath,
      new RegExp(`^${dir}/logs/b_h_[1-9A-HJ-NP-Za-km-z]+\\.stdout$`),
    );
    assertEquals(appender.stderrPath, appender.stdoutPath.replace(/stdout$/, "stderr"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("BS-7: FileAppender appends batches in order, per target", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const appender = await FileAppender.open({ dir, hostname: "h", id: "i" });
    for (let i = 0; i < 100; i++) appender.append("stdout", [`o${i}a`, `o${i}b`]);
    appender.append("stderr", ["e"]);
    appender.append("stderr", []);
    await appender.flush();
    const out = await Deno.readTextFile(appender.stdoutPath);
    assertEquals(out.split("\n").length, 201);
    assertEquals(out.slice(0, 12), "o0a\no0b\no1a\n");
    await appender[Symbol.asyncDispose]();
    await appender[Symbol.asyncDispose](); // idempotent
    assertEquals(await Deno.readTextFile(appender.stderrPath), "e\n");
    assertThrows(() => appender.append("stdout", ["late"]), TypeError, "closed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("BS-7: FileAppender appends to existing files and takes StreamForwarder batches", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const opts = { dir, hostname: "h", id: "same" };
    {
      await using a = await FileAppender.open(opts);
      a.append("stderr", ["first"]);
    }
    {
      await using a = await FileAppender.open(opts);
      const input = ReadableStream.from([new TextEncoder().encode("x\ny")]);
      const fwd = StreamForwarder.start(input, {
        target: "stderr",
        tailLines: 0,
        mirror: false,
        prefixRank: 2,
        prefixWithRank: true,
        onLines: a.sink("stderr"),
      });
      await fwd.done;
    }
    assertEquals(
      await Deno.readTextFile(`${dir}/monarch_log_h_same.stderr`),
      "first\n[2] x\n[2] y\n",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Runs a command; true when it exited 0. */
async function run(...args: string[]): Promise<boolean> {
  const { success } = await new Deno.Command(args[0], {
    args: args.slice(1),
    stdout: "null",
    stderr: "null",
  }).output();
  return success;
}

Deno.test("BS-48: a full disk (a full tmpfs) is reported once on stderr; flush still throws; the other file keeps working", async () => {
  const dir = await Deno.makeTempDir();
  // A real full disk: a 16 KiB tmpfs filled to the last block (needs root,
  // as this suite's machines give; /dev/full would need --allow-all).
  const full = await Deno.makeTempDir();
  if (!await run("mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", full)) {
    throw new Error(`BS-48 test: cannot mount a tmpfs on ${full} (the test needs root)`);
  }
  const said: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => said.push(args.map(String).join(" "));
  try {
    await run("sh", "-c", `head -c 1000000 /dev/zero > ${full}/filler`); // fails: disk full
    await Deno.writeTextFile(`${full}/out`, "");
    // The stdout file lives on the full disk: every write fails with ENOSPC, for real.
    await Deno.symlink(`${full}/out`, `${dir}/monarch_log_h_full.stdout`);
    const appender = await FileAppender.open({ dir, hostname: "h", id: "full" });
    appender.append("stdout", ["one"]);
    appender.append("stdout", ["two"]);
    appender.append("stderr", ["fine"]);
    const error = await assertRejects(() => appender.flush(), FileAppenderError);
    assertEquals(error.path, `${dir}/monarch_log_h_full.stdout`);
    assertEquals(said.length, 1, `BS-48: said once: ${said.join(" | ")}`);
    assertStringIncludes(
      said[0],
      `cannot write captured output to "${dir}/monarch_log_h_full.stdout"`,
    );
    assertStringIncludes(said[0], "No space left on device");
    await appender[Symbol.asyncDispose]().catch(() => {});
    assertEquals(await Deno.readTextFile(`${dir}/monarch_log_h_full.stderr`), "fine\n");
  } finally {
    console.error = original;
    await Deno.remove(dir, { recursive: true });
    await run("umount", full);
    await Deno.remove(full, { recursive: true });
  }
});
