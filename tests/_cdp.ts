/**
 * A small Chrome DevTools Protocol driver for the page tests: launches
 * Debian's `chromium` headless, talks to it over Deno's built-in `WebSocket`
 * (Target / Page / Runtime / Emulation domains, flattened sessions), and
 * tears it down with no process, socket or temp dir left behind.
 *
 * - {@linkcode chromiumPath}: the browser found on `PATH` (`which chromium`),
 *   or `null` — tests use it for `ignore`.
 * - {@linkcode Chromium.launch}: `--headless=new --remote-debugging-port=0`
 *   in a fresh `--user-data-dir`; the DevTools URL is read off its stderr.
 * - {@linkcode CdpPage}: `navigate`, `evaluate`, `waitFor` (polls an
 *   expression until truthy, with a deadline — no sleeps as synchronization)
 *   and `screenshot`.
 *
 * Teardown is polite first (`Browser.close`), forced second (SIGKILL to the
 * browser's own process group, which holds its zygotes and renderers), and
 * waits until no process of that group — nor a crash handler, which leaves
 * the group but names the profile dir — runs. Crash reports and caches stay
 * in the profile dir (`XDG_CONFIG_HOME`, `XDG_CACHE_HOME`), removed at the end.
 *
 * @module
 */

/**
 * The `chromium` executable on `PATH`, or `null` when not installed.
 * @returns Its path.
 * @example
 * ```ts ignore
 * Deno.test({ name: "page", ignore: chromiumPath() === null, fn: async () => {} });
 * ```
 */
export function chromiumPath(): string | null {
  try {
    const out = new Deno.Command("which", { args: ["chromium"], stdout: "piped", stderr: "null" })
      .outputSync();
    const path = new TextDecoder().decode(out.stdout).trim();
    return out.success && path !== "" ? path : null;
  } catch {
    return null;
  }
}

/** Options of {@linkcode Chromium.launch}. */
export interface ChromiumOptions {
  /** Viewport width, px (default 1280). */
  width?: number;
  /** Viewport height, px (default 800). */
  height?: number;
  /** How long to wait for the DevTools URL, ms (default 30 000). */
  startTimeoutMs?: number;
}

interface Pending {
  resolve: (result: Record<string, unknown>) => void;
  reject: (error: Error) => void;
  method: string;
}

type Listener = (params: Record<string, unknown>, sessionId?: string) => void;

/** A headless Chromium driven over the DevTools protocol. */
export class Chromium implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #ws: WebSocket;
  readonly #dir: string;
  readonly #stderr: Promise<void>;
  readonly #log: string[];
  readonly #pending = new Map<number, Pending>();
  readonly #listeners = new Set<{ method: string; fn: Listener }>();
  readonly #closed: Promise<void>;
  #nextId = 1;
  #closing: Promise<void> | undefined;
  readonly width: number;
  readonly height: number;

  private constructor(
    child: Deno.ChildProcess,
    ws: WebSocket,
    dir: string,
    stderr: Promise<void>,
    log: string[],
    size: [number, number],
  ) {
    this.#child = child;
    this.#ws = ws;
    this.#dir = dir;
    this.#stderr = stderr;
    this.#log = log;
    [this.width, this.height] = size;
    this.#closed = new Promise((resolve) => ws.addEventListener("close", () => resolve()));
    ws.addEventListener("message", (e) => this.#dispatch(JSON.parse(String(e.data))));
    ws.addEventListener("close", () => {
      for (const p of this.#pending.values()) {
        p.reject(new Error(`Cannot run ${p.method}: the DevTools socket closed`));
      }
      this.#pending.clear();
    });
  }

  /**
   * Starts Chromium and connects to its browser target.
   * @param options Viewport size and start timeout.
   * @returns The connected browser.
   * @throws {Error} When `chromium` is missing or prints no DevTools URL in time.
   */
  static async launch(options: ChromiumOptions = {}): Promise<Chromium> {
    const { width = 1280, height = 800, startTimeoutMs = 30_000 } = options;
    const path = chromiumPath();
    if (path === null) throw new Error("Cannot launch chromium: it is not on PATH");
    const dir = await Deno.makeTempDir({ prefix: "hypermesh_chromium_" });
    const args = [
      "--headless=new",
      "--remote-debugging-port=0",
      `--user-data-dir=${dir}`,
      `--window-size=${width},${height}`,
      "--no-first-run",
      "--no-default-browser-check",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-extensions",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--hide-scrollbars",
      "--mute-audio",
      ...(Deno.uid() === 0 ? ["--no-sandbox"] : []), // the setuid sandbox refuses root
      "about:blank",
    ];
    // detached: its own session and process group, so teardown reaches every helper.
    const child = new Deno.Command(path, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      detached: true,
      // Crash reports and caches go to the profile dir, not to $HOME.
      env: { XDG_CONFIG_HOME: `${dir}/config`, XDG_CACHE_HOME: `${dir}/cache` },
    }).spawn();
    const log: string[] = [];
    const found = Promise.withResolvers<string>();
    const stderr = (async () => {
      let buffer = "";
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        buffer += chunk;
        let nl;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          log.push(line);
          if (log.length > 50) log.shift();
          const m = /DevTools listening on (ws:\/\/\S+)/.exec(line);
          if (m) found.resolve(m[1]);
        }
      }
      found.reject(new Error(`Cannot launch chromium: it exited early:\n${log.join("\n")}`));
    })();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const url = await Promise.race([
        found.promise,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new Error(`Cannot launch chromium: no DevTools URL within ${startTimeoutMs} ms`),
              ),
            startTimeoutMs,
          );
        }),
      ]);
      const ws = new WebSocket(url);
      await new Promise<void>((resolve, reject) => {
        ws.addEventListener("open", () => resolve(), { once: true });
        ws.addEventListener("error", () => reject(new Error(`Cannot connect to ${url}`)), {
          once: true,
        });
      });
      return new Chromium(child, ws, dir, stderr, log, [width, height]);
    } catch (error) {
      await reap(child, stderr, dir);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Chromium's main pid. */
  get pid(): number {
    return this.#child.pid;
  }

  #dispatch(msg: Record<string, unknown>): void {
    if (typeof msg.id === "number") {
      const p = this.#pending.get(msg.id);
      if (p === undefined) return;
      this.#pending.delete(msg.id);
      const error = msg.error as { message?: string } | undefined;
      if (error) p.reject(new Error(`Cannot run ${p.method}: ${error.message}`));
      else p.resolve((msg.result ?? {}) as Record<string, unknown>);
      return;
    }
    for (const l of this.#listeners) {
      if (l.method === msg.method) {
        l.fn((msg.params ?? {}) as Record<string, unknown>, msg.sessionId as string | undefined);
      }
    }
  }

  /**
   * Sends one DevTools command.
   * @param method E.g. `Page.navigate`.
   * @param params Its parameters.
   * @param sessionId The page session (flattened), or none for the browser.
   * @returns The command's result.
   */
  send(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    const { promise, resolve, reject } = Promise.withResolvers<Record<string, unknown>>();
    if (this.#ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new Error(`Cannot run ${method}: the DevTools socket is closed`));
    }
    this.#pending.set(id, { resolve, reject, method });
    this.#ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    return promise;
  }

  /**
   * Calls `fn` with every later `method` event.
   * @param method E.g. `Page.loadEventFired`.
   * @param fn The listener.
   * @returns A function that unsubscribes.
   */
  on(method: string, fn: Listener): () => void {
    const entry = { method, fn };
    this.#listeners.add(entry);
    return () => this.#listeners.delete(entry);
  }

  /**
   * Opens a tab at `about:blank` sized to the browser's viewport.
   * @returns The page.
   */
  async newPage(): Promise<CdpPage> {
    const { targetId } = await this.send("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await this.send("Target.attachToTarget", { targetId, flatten: true });
    const page = new CdpPage(this, sessionId as string);
    await page.send("Page.enable");
    await page.send("Runtime.enable");
    await page.send("Emulation.setDeviceMetricsOverride", {
      width: this.width,
      height: this.height,
      deviceScaleFactor: 1,
      mobile: false,
    });
    return page;
  }

  /** The last lines Chromium printed on stderr (for failure messages). */
  get stderrTail(): string {
    return this.#log.join("\n");
  }

  /**
   * Closes the browser: `Browser.close`, then SIGKILL to its process group
   * when it lingers; waits for every process of the group and removes the
   * profile directory.
   */
  close(): Promise<void> {
    return this.#closing ??= (async () => {
      if (this.#ws.readyState === WebSocket.OPEN) {
        this.send("Browser.close").catch(() => {});
        await within(this.#closed, 5_000);
        if (this.#ws.readyState !== WebSocket.CLOSED) this.#ws.close();
        await this.#closed;
      }
      await reap(this.#child, this.#stderr, this.#dir);
    })();
  }

  /** Same as {@linkcode Chromium.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** One tab, attached with a flattened session. */
export class CdpPage {
  readonly #browser: Chromium;
  readonly #session: string;

  /**
   * Wraps an attached session.
   * @param browser The browser.
   * @param sessionId The session id of `Target.attachToTarget`.
   */
  constructor(browser: Chromium, sessionId: string) {
    this.#browser = browser;
    this.#session = sessionId;
  }

  /**
   * Sends a command to this page's session.
   * @param method The method.
   * @param params Its parameters.
   * @returns The result.
   */
  send(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    return this.#browser.send(method, params, this.#session);
  }

  /**
   * Navigates and waits for the load event.
   * @param url The address.
   * @param timeoutMs Deadline (default 30 000).
   */
  async navigate(url: string, timeoutMs = 30_000): Promise<void> {
    const loaded = Promise.withResolvers<void>();
    const off = this.#browser.on("Page.loadEventFired", (_, sid) => {
      if (sid === this.#session) loaded.resolve();
    });
    try {
      const res = await this.send("Page.navigate", { url });
      if (typeof res.errorText === "string") {
        throw new Error(`Cannot load ${url}: ${res.errorText}`);
      }
      await withDeadline(loaded.promise, timeoutMs, `load of ${url}`);
    } finally {
      off();
    }
  }

  /**
   * Evaluates an expression in the page (promises awaited, value returned by value).
   * @param expression JavaScript text.
   * @returns Its JSON value.
   * @throws {Error} With the page's exception text.
   */
  async evaluate<T = unknown>(expression: string): Promise<T> {
    const res = await this.send("Runtime.evaluate", {
      expression,
      returnByValue: true,
      awaitPromise: true,
    });
    const thrown = res.exceptionDetails as
      | { text?: string; exception?: { description?: string } }
      | undefined;
    if (thrown) {
      throw new Error(
        `Cannot evaluate ${expression}: ${thrown.exception?.description ?? thrown.text}`,
      );
    }
    return (res.result as { value?: T }).value as T;
  }

  /**
   * Polls `expression` (every 50 ms) until it is truthy.
   * @param expression JavaScript text.
   * @param what Names the condition in the error.
   * @param timeoutMs Deadline (default 30 000).
   * @returns The truthy value.
   * @throws {Error} `Cannot see WHAT: not within N ms (last value …)`.
   */
  async waitFor<T = unknown>(expression: string, what: string, timeoutMs = 30_000): Promise<T> {
    const end = performance.now() + timeoutMs;
    let last: unknown;
    while (true) {
      last = await this.evaluate<T>(expression);
      if (last) return last as T;
      if (performance.now() > end) {
        throw new Error(
          `Cannot see ${what}: not within ${timeoutMs} ms (last value ${JSON.stringify(last)})`,
        );
      }
      await delay(50);
    }
  }

  /**
   * Captures the viewport (or the top `height` px of it) as PNG.
   * @param path Where to write it.
   * @param height Crop to this many CSS px from the top.
   * @returns Its size in bytes.
   */
  async screenshot(path: string, height?: number): Promise<number> {
    const { width, height: full } = this.#browser;
    const clip = height === undefined
      ? {}
      : { clip: { x: 0, y: 0, width, height: Math.min(height, full), scale: 1 } };
    const { data } = await this.send("Page.captureScreenshot", { format: "png", ...clip });
    const bytes = Uint8Array.from(atob(data as string), (c) => c.charCodeAt(0));
    await Deno.writeFile(path, bytes);
    return bytes.length;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `promise`'s value, or `undefined` after `ms`; the timer never outlives the call. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Cannot see ${what}: not within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Pids of live (non-zombie) processes of the browser: its process group, and
 * the crash handlers that leave it (their arguments name the profile dir).
 * `ps`, as Deno lists no `/proc` without --allow-all.
 */
async function members(pgid: number, dir: string): Promise<number[]> {
  const out = await new Deno.Command("ps", {
    args: ["-eo", "pid=,pgid=,stat=,args="],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n").flatMap((line) => {
    const m = /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line);
    if (m === null || m[3].startsWith("Z")) return [];
    return Number(m[2]) === pgid || m[4].includes(dir) ? [Number(m[1])] : [];
  });
}

/** Waits for the browser, kills its stragglers, removes the profile. */
async function reap(child: Deno.ChildProcess, stderr: Promise<void>, dir: string): Promise<void> {
  const kill = (pid: number) => {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  };
  if (await within(child.status, 5_000) === undefined) kill(-child.pid);
  await child.status;
  await stderr.catch(() => {});
  const end = performance.now() + 10_000;
  let left = await members(child.pid, dir);
  while (left.length > 0) {
    if (performance.now() > end) {
      throw new Error(`Cannot stop chromium: processes ${left.join(", ")} still run`);
    }
    await delay(100);
    left = await members(child.pid, dir); // helpers exit on their own once the browser is gone
    if (performance.now() > end - 5_000) left.forEach(kill);
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
