import { assertEquals, assertThrows } from "@std/assert";
import { removeSocketFile, unlinkSocketFile } from "./socket_file.ts";

Deno.test("SK-1: removeSocketFile() removes a present file and reports an absent one or directory as false", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const listener = Deno.listen({ transport: "unix", path: `${dir}/a.sock` });
    Deno.writeTextFileSync(`${dir}/b.sock`, "");
    assertEquals(removeSocketFile(`${dir}/b.sock`), true);
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["a.sock"]);
    assertEquals(removeSocketFile(`${dir}/b.sock`), false);
    assertEquals(removeSocketFile(`${dir}/nope/c.sock`), false);
    listener.close();
    removeSocketFile(`${dir}/a.sock`); // whichever of the runtime or we removed it
    assertEquals([...Deno.readDirSync(dir)], []);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("SK-1, SK-3: removeSocketFile() and unlinkSocketFile() throw what is not an absence", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.mkdirSync(`${dir}/full`);
    Deno.writeTextFileSync(`${dir}/full/x`, "");
    // A non-empty directory cannot be removed without `recursive`: not an absence.
    assertThrows(() => removeSocketFile(`${dir}/full`));
    assertThrows(() => unlinkSocketFile(`${dir}/full`));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("SK-3: unlinkSocketFile() removes a present socket and reports an absent one or directory as false", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const listener = Deno.listen({ transport: "unix", path: `${dir}/a.sock` });
    assertEquals(unlinkSocketFile(`${dir}/a.sock`), true);
    assertEquals([...Deno.readDirSync(dir)], []);
    listener.close(); // the runtime's own removal now finds nothing, quietly
    assertEquals(unlinkSocketFile(`${dir}/a.sock`), false);
    assertEquals(unlinkSocketFile(`${dir}/nope/b.sock`), false);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
