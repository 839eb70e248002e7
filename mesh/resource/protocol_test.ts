import { assert, assertEquals } from "@std/assert";
import {
  type CreateOrUpdate,
  formatState,
  isCreateOrUpdate,
  isGetRankStatus,
  isGetState,
  isKeepaliveGetState,
  isList,
  isResourceMessage,
  isState,
  isStop,
  isStopAll,
  isStreamState,
  isWaitRankStatus,
  type State,
} from "./protocol.ts";
import { Status } from "./status.ts";

const PORT = "tcp:127.0.0.1:1234,proc,agent[0][17]";
const GOOD: Record<string, unknown> = {
  CreateOrUpdate: { kind: "CreateOrUpdate", name: "p-0", rank: null, spec: { x: 1 } },
  Stop: { kind: "Stop", name: "p-0", reason: "done" },
  StopAll: { kind: "StopAll", reason: "shutdown" },
  GetState: { kind: "GetState", name: "p-0", reply: PORT },
  KeepaliveGetState: {
    kind: "KeepaliveGetState",
    expiresAfterMs: 1_700_000_000_000,
    getState: { kind: "GetState", name: "p-0", reply: PORT },
  },
  StreamState: { kind: "StreamState", name: "p-0", subscriber: PORT },
  GetRankStatus: { kind: "GetRankStatus", name: "p-0", reply: PORT },
  WaitRankStatus: { kind: "WaitRankStatus", name: "p-0", minStatus: Status.Stopped, reply: PORT },
  List: { kind: "List", reply: PORT },
};
const GUARDS: Record<string, (v: unknown) => boolean> = {
  CreateOrUpdate: (v) => isCreateOrUpdate(v),
  Stop: isStop,
  StopAll: isStopAll,
  GetState: isGetState,
  KeepaliveGetState: isKeepaliveGetState,
  StreamState: isStreamState,
  GetRankStatus: isGetRankStatus,
  WaitRankStatus: isWaitRankStatus,
  List: isList,
};

Deno.test("resource message guards accept exactly their own kind, after a JSON trip", () => {
  for (const [kind, msg] of Object.entries(GOOD)) {
    const wire = JSON.parse(JSON.stringify(msg));
    for (const [guardKind, guard] of Object.entries(GUARDS)) {
      assertEquals(guard(wire), kind === guardKind, `${guardKind}(${kind})`);
    }
    assert(isResourceMessage(wire), kind);
  }
});

Deno.test("resource message guards reject each field broken or missing", () => {
  for (const [kind, msg] of Object.entries(GOOD)) {
    for (const field of Object.keys(msg as object)) {
      if (field === "kind" || (kind === "CreateOrUpdate" && field === "spec")) continue;
      for (const bad of [undefined, 12.5, -1, "", {}, null]) {
        const broken = { ...(msg as object), [field]: bad };
        const stillValid = (kind === "CreateOrUpdate" && field === "rank" && bad === null) ||
          (field === "reason" && bad === "");
        assertEquals(GUARDS[kind](broken), stillValid, `${kind}.${field}=${JSON.stringify(bad)}`);
      }
    }
  }
  assert(!isCreateOrUpdate({ kind: "CreateOrUpdate", name: "p", rank: 0 }), "spec required");
});

Deno.test("MS-16: guards never throw, even on hostile input", () => {
  const hostile = [
    null,
    undefined,
    0,
    "GetState",
    [],
    [GOOD.Stop],
    Object.create(null),
    new Proxy({}, {
      get() {
        throw new Error("boom");
      },
    }),
    {
      kind: "GetState",
      get name() {
        throw new Error("boom");
      },
      reply: PORT,
    },
    (() => {
      const r = Proxy.revocable({}, {});
      r.revoke();
      return r.proxy;
    })(),
  ];
  for (const v of hostile) {
    for (const guard of [...Object.values(GUARDS), isResourceMessage, (x: unknown) => isState(x)]) {
      assertEquals(guard(v), false, "MS-16");
    }
  }
  const throwingSpec = (_: unknown): _ is never => {
    throw new Error("spec guard exploded");
  };
  assertEquals(isCreateOrUpdate(GOOD.CreateOrUpdate, throwingSpec), false, "MS-16");
});

Deno.test("isCreateOrUpdate() and isState() apply payload guards", () => {
  const isSpec = (v: unknown): v is { x: number } =>
    typeof v === "object" && v !== null && typeof (v as { x?: unknown }).x === "number";
  assert(isCreateOrUpdate(GOOD.CreateOrUpdate, isSpec));
  const msg: unknown = { kind: "CreateOrUpdate", name: "a", rank: 2, spec: { x: "no" } };
  assert(!isCreateOrUpdate(msg, isSpec));
  if (isCreateOrUpdate(GOOD.CreateOrUpdate, isSpec)) {
    const typed: CreateOrUpdate<{ x: number }> = GOOD.CreateOrUpdate;
    assertEquals(typed.spec.x, 1);
  }
  const state: State<{ pid: number }> = {
    kind: "State",
    name: "p-0",
    status: Status.failed("exit 3"),
    state: { pid: 42 },
    generation: 3,
    timestamp: 1_700_000_000_000,
  };
  const wire = JSON.parse(formatState(state));
  assert(
    isState(wire, (v): v is { pid: number } => typeof (v as { pid?: unknown }).pid === "number"),
  );
  assert(!isState({ ...wire, status: "Failed" }));
  assert(!isState({ ...wire, generation: -1 }));
  assert(isState({ ...wire, state: null }, (_v): _v is never => false), "null skips inner guard");
  const { state: _, ...noState } = wire;
  assert(!isState(noState), "state field is required (may be null)");
});
