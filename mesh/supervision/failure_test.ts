import { assert, assertEquals } from "@std/assert";
import { describeMeshFailure, isMeshFailure, type MeshFailure } from "./failure.ts";

const FAILURE: MeshFailure = {
  kind: "ProcExit",
  meshName: "w",
  rank: 2,
  procId: "unix:@h,w-2",
  actorId: null,
  status: { kind: "Failed", message: "exited with code 3" },
  reason: "exited with code 3",
  stderrTail: ["panic: x"],
  occurredAt: 1,
  causedBy: { kind: "ActorFailure", meshName: "inner", rank: 0, reason: "boom" },
};

Deno.test("SV-1: a MeshFailure survives JSON and the guard is total", () => {
  const copy = JSON.parse(JSON.stringify(FAILURE));
  assertEquals(copy, FAILURE);
  assert(isMeshFailure(copy));
  for (
    const bad of [null, 1, "x", [], {}, { ...FAILURE, rank: -1 }, { ...FAILURE, kind: "Lagged" }, {
      ...FAILURE,
      stderrTail: [1],
    }, { ...FAILURE, status: { kind: "Nope" } }]
  ) {
    assert(!isMeshFailure(bad), `SV-1: rejects ${JSON.stringify(bad)}`);
  }
  const hostile = new Proxy({}, {
    get() {
      throw new Error("hostile");
    },
  });
  assert(!isMeshFailure(hostile), "SV-1: never throws");
});

Deno.test("describeMeshFailure names mesh, rank, proc, reason, stderr and cause", () => {
  assertEquals(
    describeMeshFailure(FAILURE),
    'ProcExit of mesh "w" rank 2 (proc unix:@h,w-2): exited with code 3; last stderr line: ' +
      'panic: x (caused by ActorFailure of mesh "inner" rank 0: boom)',
  );
});
