import { assertEquals } from "@std/assert";
import { Status } from "../resource/status.ts";
import { HostAgentState } from "./state.ts";

Deno.test("HA-11: HostAgentState.floor() raises statuses to Stopping while draining, Stopped after shutdown", () => {
  const s = new HostAgentState();
  s.created();
  assertEquals(s.floor(Status.Running).kind, "Running", "HA-11: no floor while attached");
  s.beginDrain();
  assertEquals(s.floor(Status.Running).kind, "Stopping", "HA-11: Stopping while draining");
  assertEquals(s.floor(Status.Stopped).kind, "Stopped", "HA-11: a floor never lowers");
  s.endDrain();
  s.shutdown();
  assertEquals(s.floor(Status.Running).kind, "Stopped", "HA-11: Stopped after shutdown");
});
