import { assertEquals, assertInstanceOf, assertRejects } from "@std/assert";
import type { Context } from "./types.ts";
import type { PortRefData } from "./port.ts";
import { Proc } from "./proc.ts";
import {
  ActorParamsError,
  registerActorType,
  spawnByTypeName,
  UnknownActorTypeError,
  unregisterActorType,
} from "./registry.ts";

Deno.test("MB-35: spawnByTypeName() of an unregistered type rejects with UnknownActorTypeError", async () => {
  await using proc = Proc.local();
  const error = await assertRejects(() =>
    spawnByTypeName(proc, "test::Missing", { name: "m", params: null })
  );
  assertInstanceOf(error, UnknownActorTypeError);
  assertEquals(error.message.includes("actor type test::Missing not registered"), true);
  assertEquals(proc.allActorIds(), [], "MB-35: nothing spawned");
});

Deno.test("spawnByTypeName() builds a registered type from plain params", async () => {
  registerActorType(
    "test::Adder",
    (params) => {
      const { base } = params as { base: number };
      return {
        handlers: {
          Add: (cx: Context, msg: { n: number; reply: PortRefData<number> }) =>
            cx.send(msg.reply, base + msg.n),
        },
      };
    },
    {
      validate: (p) => {
        if (typeof (p as { base?: unknown })?.base !== "number") {
          throw new Error("base must be a number");
        }
      },
    },
  );
  try {
    await using proc = Proc.local();
    const ref = await spawnByTypeName(proc, "test::Adder", {
      name: "adder",
      params: JSON.parse('{"base":40}'),
    });
    using client = proc.instance("client");
    const { ref: reply, receiver } = client.openOncePort<number>();
    ref.send(client, "Add", { n: 2, reply });
    assertEquals(await receiver.recv(), 42);
    await assertRejects(
      () => spawnByTypeName(proc, "test::Adder", { name: "bad", params: {} }),
      ActorParamsError,
    );
  } finally {
    unregisterActorType("test::Adder");
  }
});
