import { assert, assertEquals, assertThrows } from "@std/assert";
import { Extent } from "../../ndslice/extent.ts";
import { Region } from "../../ndslice/region.ts";
import { HostMeshRef, HostMeshRefParseError, HostRef } from "./host_mesh_ref.ts";

Deno.test("HostMeshRef.range() slices in the base rank space (seed test_host_mesh_subset)", () => {
  const hosts = HostMeshRef.parse("test:local:1,local:2,local:3,local:4@replica=2/2,host=2/1");
  assertEquals(
    hosts.range("replica", 1).toString(),
    "test:local:3,local:4@2+replica=1/2,host=2/1",
  );
  assertEquals(hosts.range("host", 0).hosts.map(String), ["local:1", "local:3"]);
});

Deno.test("MS-40: HostMeshRef text round trip (seed test_host_mesh_ref_parse_roundtrip)", () => {
  const ref = new HostMeshRef("test", {
    region: Region.fromExtent(Extent.of({ replica: 2, host: 2 })),
    hosts: Array.from({ length: 4 }, () => HostRef.parse("tcp:127.0.0.1:123")),
  });
  const parsed = HostMeshRef.parse(ref.toString());
  assertEquals(parsed.id, ref.id);
  assert(parsed.region.equals(ref.region));
  assertEquals(parsed.hosts.map(String), ref.hosts.map(String));
  assertEquals(parsed.bootstrapCommand, ref.bootstrapCommand);
  assert(parsed.equals(ref), "MS-40");
});

Deno.test("MS-40: abstract unix host addresses round-trip", () => {
  const ref = HostMeshRef.fromHosts("m-2MuAHeDjLCEd", ["unix:@abc", "unix:@d@f", "tcp:[::1]:9"]);
  assert(HostMeshRef.parse(ref.toString()).equals(ref), `MS-40: ${ref}`);
});

Deno.test("HostMeshRef.parse() rejects malformed text with its kind", () => {
  const kind = (text: string) =>
    assertThrows(() => HostMeshRef.parse(text), HostMeshRefParseError).kind;
  assertEquals(kind("nocolon"), "MissingId");
  assertEquals(kind("id:local:1"), "MissingRegion");
  assertEquals(kind("bad id:local:1@hosts=1/1"), "InvalidId");
  assertEquals(kind("id:nope@hosts=1/1"), "InvalidHost");
  assertEquals(kind("id:local:1@hosts="), "InvalidRegion");
  assertEquals(kind("id:local:1,local:2@hosts=1/1"), "InvalidCardinality");
});

Deno.test("MS-41: HostMeshRef rejects a host count different from the region", () => {
  assertThrows(
    () =>
      new HostMeshRef("x", {
        region: Region.parse("hosts=2/1"),
        hosts: [HostRef.parse("local:1")],
      }),
    RangeError,
  );
});

Deno.test("HostRef.agent is ADDR,service,host_agent[0]; fromHostAgents inverts it", () => {
  const h = HostRef.parse("tcp:127.0.0.1:2001");
  assertEquals(h.agent.toString(), "tcp:127.0.0.1:2001,service,host_agent[0]");
  const ref = HostMeshRef.fromHostAgents("m", [h.agent, "local:7,service,host_agent[0]"]);
  assertEquals(ref.toString(), "m:tcp:127.0.0.1:2001,local:7@hosts=2/1");
});

Deno.test("HostMeshRef.withBootstrap() keeps id, region and hosts; slicing keeps the command", async () => {
  const { BootstrapCommand } = await import("../../launcher/command.ts");
  const cmd = BootstrapCommand.fromPath("/bin/true");
  const ref = HostMeshRef.fromHosts("m", ["local:1", "local:2"]).withBootstrap(cmd);
  assertEquals(ref.range("hosts", 1).bootstrapCommand, cmd);
});
