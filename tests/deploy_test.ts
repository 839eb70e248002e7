/**
 * The deploy files hold together. No cluster runs here: the Kubernetes
 * manifests (`deploy/kubernetes/`) are parsed (a YAML subset parser, no
 * dependency) and checked for consistent names, ports, labels, secret keys
 * and `$(VAR)` references; the two systemd units (`deploy/systemd/`) are
 * checked to run the same daemon command line (the user unit is also run for
 * real by `systemd_host_service_test.ts`).
 */
import { assert, assertEquals, assertThrows } from "@std/assert";
import { parseHostArgs } from "../cli/host.ts";
import { parseYamlDocuments } from "./_yaml_subset.ts";
import { ROOT } from "./_support.ts";

// deno-lint-ignore no-explicit-any
type Obj = any;

async function manifests(file: string): Promise<Obj[]> {
  return parseYamlDocuments(await Deno.readTextFile(`${ROOT}deploy/kubernetes/${file}`)) as Obj[];
}

function subset(labels: Record<string, string>, of: Record<string, string>): boolean {
  return Object.entries(labels).every(([k, v]) => of[k] === v);
}

/** `$(VAR)` references resolved against a container's env (values given for the check). */
function expand(text: string, env: Record<string, string>): string {
  return text.replaceAll(/\$\(([A-Z_]+)\)/g, (_, name) => {
    assert(name in env, `$(${name}) is defined in the container's env`);
    return env[name];
  });
}

function envOf(container: Obj): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    env[e.name] = e.value !== undefined ? expand(String(e.value), env) : `<${e.name}>`;
  }
  return env;
}

Deno.test("deploy: the YAML subset parser reads the forms the manifests use and rejects others", () => {
  const docs = parseYamlDocuments(
    "a: 1\nb:\n  - x\n  - k: 'v'\n    n: true\n# c\n---\nlist:\n- \"q # not a comment\"\n",
  );
  assertEquals(docs, [{ a: 1, b: ["x", { k: "v", n: true }] }, { list: ["q # not a comment"] }]);
  assertThrows(() => parseYamlDocuments("a: {b: 1}"), SyntaxError, "line 1");
  assertThrows(() => parseYamlDocuments("a: 1\n  b: 2"), SyntaxError, "line 2");
  assertThrows(() => parseYamlDocuments("a: 1\na: 2"), SyntaxError, "duplicate");
});

Deno.test("deploy: the Kubernetes StatefulSet, headless Service, Secret and client Job reference consistent names", async () => {
  const [service, statefulSet] = await manifests("hosts.yaml");
  const [secret] = await manifests("secret.yaml");
  const [job] = await manifests("client-job.yaml");
  assertEquals(
    [service.kind, statefulSet.kind, secret.kind, job.kind],
    ["Service", "StatefulSet", "Secret", "Job"],
  );
  // Headless Service governing the StatefulSet, selecting its pods.
  assertEquals(service.spec.clusterIP, "None", "a headless Service gives each pod a DNS name");
  assertEquals(statefulSet.spec.serviceName, service.metadata.name);
  const podLabels = statefulSet.spec.template.metadata.labels;
  assert(subset(statefulSet.spec.selector.matchLabels, podLabels), "selector matches the pods");
  assert(subset(service.spec.selector, podLabels), "the Service selects the host pods");
  const [host] = statefulSet.spec.template.spec.containers;
  const port = service.spec.ports[0].port;
  assertEquals(service.spec.ports[0].targetPort, port);
  assertEquals(host.ports[0].containerPort, port);

  // The daemon's command line, with the pod's env, parses and advertises its stable name.
  const secretName = secret.metadata.name;
  const secretKey = Object.keys(secret.stringData)[0];
  for (const c of [host, job.spec.template.spec.containers[0]]) {
    const ref = c.env.find((e: Obj) =>
      e.name === "HYPERMESH_CHANNEL_SECRET"
    ).valueFrom.secretKeyRef;
    assertEquals([ref.name, ref.key], [secretName, secretKey], `${c.name} uses the Secret`);
  }
  const env = { ...envOf(host), POD_NAME: "hypermesh-host-0", POD_NAMESPACE: "ns" };
  const args = (host.args as string[]).map((a) => expand(a, env));
  assertEquals(args[0], "host");
  const parsed = parseHostArgs(args.slice(1));
  assertEquals(
    parsed.addr.key,
    `tcp:hypermesh-host-0.${service.metadata.name}.ns.svc.cluster.local:${port}`,
    "AD-2: each host is advertised by its pod's DNS name",
  );
  assertEquals(parsed.bind?.key, `tcp:0.0.0.0:${port}`, "AD-3: it listens on every interface");
  const readyFile = parsed.readyFile!;
  assertEquals(host.readinessProbe.exec.command, ["cat", readyFile], "ready once serving");
  assertEquals(statefulSet.metadata.name, "hypermesh-host");

  // The client attaches to every replica by name and serves where the pods can reach it.
  const client = job.spec.template.spec.containers[0];
  const clientEnv = { ...envOf(client), POD_NAMESPACE: "ns", POD_IP: "10.1.2.3" };
  const hosts = (client.args as string[]).map((a) => expand(a, clientEnv));
  assertEquals(
    hosts,
    Array.from(
      { length: statefulSet.spec.replicas },
      (_, i) =>
        `tcp:${statefulSet.metadata.name}-${i}.${service.metadata.name}.ns.svc.cluster.local:${port}`,
    ),
  );
  assertEquals(
    expand(client.env.find((e: Obj) => e.name === "HYPERMESH_CLIENT_ADDR").value, clientEnv),
    "tcp:10.1.2.3:0",
  );
  assertEquals(job.spec.template.spec.restartPolicy, "Never");
  assertEquals(host.image, client.image, "hosts and client run the same image");
});

function unitLines(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) out.set(m[1], [...(out.get(m[1]) ?? []), m[2]]);
  }
  return out;
}

Deno.test("deploy: the system and --user systemd units run the same notify daemon", async () => {
  const system = unitLines(
    await Deno.readTextFile(`${ROOT}deploy/systemd/hypermesh-host.service`),
  );
  const user = unitLines(
    await Deno.readTextFile(`${ROOT}deploy/systemd/user/hypermesh-host.service`),
  );
  for (const unit of [system, user]) {
    assertEquals(unit.get("Type"), ["notify"], "SN-1: Type=notify");
    assertEquals(unit.get("Restart"), ["on-failure"]);
    assertEquals(unit.get("KillMode"), ["mixed"]);
  }
  const tail = (u: Map<string, string[]>) => u.get("ExecStart")![0].replace(/^.*? run /, "run ");
  assertEquals(
    tail(system).replaceAll("/opt/hypermesh", "ROOT"),
    tail(user).replaceAll("%h/hypermesh", "ROOT"),
    "the same daemon command line",
  );
  assert(tail(system).includes("--addr ${HYPERMESH_HOST_ADDR} --bind ${HYPERMESH_HOST_BIND}"));
  assert(system.get("LoadCredential")![0].startsWith("hypermesh-secret:"));
});
