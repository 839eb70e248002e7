import { assertEquals } from "@std/assert";
import {
  isActorSpec,
  isConfigure,
  isGspawn,
  isGspawnResult,
  isIntrospect,
  isIntrospectResult,
  isStopActor,
} from "./protocol.ts";

const GUARDS = [
  isActorSpec,
  isIntrospect,
  isConfigure,
  isGspawn,
  isStopActor,
  isGspawnResult,
  isIntrospectResult,
];

Deno.test("PA-10: the proc agent's guards return false for hostile input and never throw", () => {
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const hostile: unknown[] = [
    null,
    undefined,
    0,
    "Introspect",
    [],
    Object.create(null),
    new Proxy({}, {
      get() {
        throw new Error("boom");
      },
      has() {
        throw new Error("boom");
      },
    }),
    {
      get child() {
        throw new Error("boom");
      },
      reply: "local:1,p,a[0][1]",
    },
    revoked.proxy,
  ];
  for (const value of hostile) {
    for (const guard of GUARDS) {
      let result: unknown;
      try {
        result = guard(value);
      } catch (error) {
        result = `threw ${error}`;
      }
      assertEquals(result, false, `PA-10: ${guard.name}`);
    }
  }
});
