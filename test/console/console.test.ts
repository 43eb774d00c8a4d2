/// <reference lib="dom" />
/**
 * The operator console in a real headless Chromium against `corral dev`, as an operator uses it:
 * the sign-in link, three nodes on the demo version, a tenant created in the console reaching
 * every node, a killed node marked dead, a blast-radius analysis, a rollback, a viewer who can
 * press no changing button (and whose forced calls the API refuses), and the console behind a
 * path prefix. Each page passes axe-core's WCAG A/AA rules; a failing step leaves a screenshot.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "puppeteer-core";
import type { DevJson } from "../../bin/dev/dev-report.ts";
import { CONSOLE_CSP } from "../../control-plane/console/serve.ts";
import { type DevRun, startDev, stopDev } from "../support/corral-dev.ts";
import { poll } from "../support/poll.ts";
import { axeViolations, launchChromium, startPrefixProxy, withScreenshot } from "./browser.ts";

const WAIT = { timeout: 60_000 };
/** A tenant's name is the tenant's text: it must show as text, never run. */
const HOSTILE_NAME = `Console <img src=x onerror="window.pwned=1"> & Co`;

describe("the operator console", { timeout: 300_000 }, () => {
  let cwd: string;
  let shots: string;
  let run: DevRun | undefined;
  let dev: DevJson;
  let browser: Browser;
  let page: Page;
  let viewerToken: string;
  let failed = false;

  const cp = (path: string) => `${dev.controlPlane.url}${path}`;
  async function admin(method: string, path: string, body?: unknown, token = dev.controlPlane.operatorToken) {
    const res = await fetch(cp(`/admin/v1${path}`), {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    // biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field
    const json: any = res.status === 204 ? undefined : await res.json();
    return { status: res.status, body: json };
  }
  const newestVersion = async () => (await admin("GET", "/config/versions?limit=1")).body.items[0].version;

  /** A step of a test: a screenshot named after it when it fails. */
  const step = <T>(name: string, fn: () => Promise<T>, on: Page = page) =>
    withScreenshot(on, shots, name, fn).catch((err) => {
      failed = true;
      throw err;
    });

  async function openPage(name: string, on: Page = page) {
    await on.click(`#nav button[data-page="${name}"]`);
    await on.waitForSelector(`#page[data-page="${name}"][data-loaded="true"]`, WAIT);
  }

  /** Clicks `selector` once it is there, finding and clicking it in one task of the page (a
   * re-render between puppeteer's lookup and its click would leave it a detached node). */
  async function press(selector: string, on: Page = page) {
    await on.waitForSelector(selector, WAIT);
    await on.$eval(selector, (e) => (e as HTMLElement).click());
  }

  async function assertAccessible(on: Page = page) {
    assert.deepEqual(await axeViolations(on), []);
  }

  before(async () => {
    cwd = await mkdtemp(join(tmpdir(), "corral-console-"));
    shots = await mkdtemp(join(tmpdir(), "corral-console-screenshots-"));
    run = await startDev(cwd);
    dev = JSON.parse(await readFile(join(cwd, ".corral", "dev.json"), "utf8"));
    const issued = await admin("POST", "/operator-tokens", { name: "console-viewer", role: "viewer" });
    viewerToken = issued.body.token;
    browser = await launchChromium();
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
  });

  after(async () => {
    await browser?.close();
    await stopDev(run);
    await rm(cwd, { recursive: true, force: true });
    if (failed) console.log(`console test screenshots kept in ${shots}`);
    else await rm(shots, { recursive: true, force: true });
  });

  it("serves fixed files with no-cache, an ETag and a strict CSP; other names get 404", async () => {
    const bare = await fetch(cp("/console"), { redirect: "manual" });
    assert.equal(bare.status, 308);
    assert.equal(bare.headers.get("location"), "console/", "relative, so a path prefix survives");
    const index = await fetch(cp("/console/"));
    assert.equal(index.status, 200);
    assert.match(index.headers.get("content-type")!, /^text\/html/);
    const csp = index.headers.get("content-security-policy")!;
    assert.equal(csp, CONSOLE_CSP);
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe/);
    assert.equal(index.headers.get("cache-control"), "no-cache");
    const html = await index.text();
    assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/, "no inline script");
    assert.doesNotMatch(html, /<style|\sstyle=/, "no inline style");
    const again = await fetch(cp("/console/"), { headers: { "if-none-match": index.headers.get("etag")! } });
    assert.equal(again.status, 304);
    assert.match((await fetch(cp("/console/app.js"))).headers.get("content-type")!, /^text\/javascript/);
    for (const path of [
      "/console/serve.ts",
      "/console/..%2fserve.ts",
      "/console/%2e%2e/main.ts",
      "/console/x.js",
    ]) {
      const res = await fetch(cp(path));
      assert.equal(res.status, 404, path);
      assert.equal(((await res.json()) as { code: string }).code, "CORRAL_ADMIN_NOT_FOUND", path);
    }
  });

  it("the printed sign-in link signs in, moving the token to session storage, out of the address bar and of cookies", async () => {
    const link = /(http:\/\/\S+\/console\/#token=\S+)/.exec(run!.output())?.[1];
    assert.ok(link, "corral dev prints the sign-in link");
    await step("sign-in", async () => {
      await page.goto(link);
      await page.waitForSelector('#page[data-page="fleet"][data-loaded="true"]', WAIT);
    });
    assert.equal(page.url(), cp("/console/"), "the token left the address bar");
    assert.equal(
      await page.evaluate(() => sessionStorage.getItem("corral.operatorToken")),
      dev.controlPlane.operatorToken,
    );
    assert.equal(await page.evaluate(() => document.cookie), "");
    assert.deepEqual(await browser.cookies(), []);
    assert.match(await page.$eval("#who", (e) => e.textContent!), /\(admin\)/);
  });

  it("shows three live nodes, one per zone, on the demo version", async () => {
    const demoVersion = await newestVersion();
    await step("fleet", () =>
      page.waitForFunction(
        (v) => {
          const rows = [...document.querySelectorAll("#slots-table tr[data-slot]")] as HTMLElement[];
          return (
            rows.length === 3 &&
            rows.every((r) => r.dataset.state === "live" && r.querySelector(`[data-applied="${v}"]`))
          );
        },
        WAIT,
        demoVersion,
      ),
    );
    const zones = await page.$$eval("#slots-table tbody[data-zone]", (g) =>
      g.map((e) => (e as HTMLElement).dataset.zone),
    );
    assert.deepEqual(zones, ["zone-a", "zone-b", "zone-c"]);
    await step("fleet-axe", () => assertAccessible());
  });

  it("Tab moves the focus along the controls with a visible focus ring", async () => {
    await page.focus("#nav button");
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement;
      const style = getComputedStyle(el);
      return { text: el.textContent, outline: style.outlineStyle, width: style.outlineWidth };
    });
    assert.equal(focused.text, "Placement and blast radius");
    assert.notEqual(focused.outline, "none");
    assert.notEqual(focused.width, "0px");
  });

  it("creates a tenant in the console and watches the new version reach every node", async () => {
    const before = await newestVersion();
    await step("tenant-create", async () => {
      await openPage("tenants");
      await page.type("#new-tenant-id", "console-co");
      await page.type("#new-tenant-name", HOSTILE_NAME);
      await page.click("#create-tenant-submit");
      await page.waitForSelector("#tenant-detail #keys-table", WAIT);
    });
    assert.equal(await page.$eval("#tenant-detail h2", (e) => e.textContent), "Tenant console-co");
    assert.ok((await page.$eval("#tenant-status", (e) => e.textContent!)).includes(HOSTILE_NAME), "as text");
    assert.equal(await page.$("#page img"), null, "not as HTML");
    assert.equal(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned), undefined);
    const usage = await admin("GET", "/tenants/console-co/usage");
    assert.equal(
      Boolean(await page.$("#usage-table")),
      usage.status === 200,
      "quota usage shown when it answers",
    );
    await step("tenant-axe", () => assertAccessible());
    const created = await poll(
      "a version after the new tenant",
      async () => (await newestVersion()) > before && newestVersion(),
    );
    await step("rollout", async () => {
      await openPage("fleet");
      await page.waitForFunction(
        (v) => {
          const rows = [...document.querySelectorAll("#slots-table tr[data-slot]")] as HTMLElement[];
          const acks = document.querySelector(
            `#versions-table tr[data-version="${v}"] [data-acks]`,
          ) as HTMLElement | null;
          return (
            rows.length === 3 &&
            rows.every((r) => Number(r.querySelector("[data-applied]")!.getAttribute("data-applied")) >= v) &&
            acks?.dataset.acks === "3"
          );
        },
        WAIT,
        created,
      );
    });
  });

  it("suspends and resumes a tenant through PATCH, the change visible in the API", async () => {
    await step("suspend", async () => {
      await openPage("tenants");
      await press('button[data-open="console-co"]');
      await page.waitForSelector("#suspend", WAIT);
      await press("#suspend");
      await page.waitForSelector("#resume", WAIT);
    });
    assert.equal((await admin("GET", "/tenants/console-co")).body.status, "suspended");
    assert.match(await page.$eval("#notice", (e) => e.textContent!), /console-co is suspended/);
    await step("resume", async () => {
      await press("#resume");
      await page.waitForSelector("#suspend", WAIT);
    });
    assert.equal((await admin("GET", "/tenants/console-co")).body.status, "active");
  });

  it("searches tenants and pages through them with the cursor", async () => {
    for (let i = 0; i < 22; i++) {
      const id = `paged-${String(i).padStart(2, "0")}`;
      assert.equal((await admin("POST", "/tenants", { id, name: `Paged ${i}` })).status, 201);
    }
    const rows = () =>
      page.$$eval("#tenants-table tr[data-tenant]", (r) => r.map((e) => (e as HTMLElement).dataset.tenant));
    await step("search", async () => {
      await openPage("tenants");
      await page.type("#tenant-search", "PAGED");
      await page.keyboard.press("Enter");
      await page.waitForFunction(
        () =>
          document.querySelector("#tenants-table caption")?.textContent ===
            'Tenants matching "PAGED", page 1' &&
          document.querySelectorAll("#tenants-table tr[data-tenant]").length === 20,
        WAIT,
      );
    });
    assert.deepEqual(
      await rows(),
      Array.from({ length: 20 }, (_, i) => `paged-${String(i).padStart(2, "0")}`),
    );
    await step("next-page", async () => {
      await page.click("#next-page");
      await page.waitForFunction(
        () =>
          document.querySelector("#tenants-table caption")?.textContent ===
          'Tenants matching "PAGED", page 2',
        WAIT,
      );
    });
    assert.deepEqual(await rows(), ["paged-20", "paged-21"]);
    assert.equal(await page.$eval("#next-page", (b) => (b as HTMLButtonElement).disabled), true);
    await step("previous-page", async () => {
      await page.click("#prev-page");
      await page.waitForFunction(
        () =>
          document.querySelector("#tenants-table caption")?.textContent ===
          'Tenants matching "PAGED", page 1',
        WAIT,
      );
    });
    assert.equal((await rows()).length, 20);
  });

  it("runs a blast-radius analysis: a zone fails part of a shard, every slot fails all of it", async () => {
    await step("placement", () => openPage("placement"));
    await step("placement-axe", () => assertAccessible());
    const unlabeled = await page.evaluate(() => {
      const label = document.querySelector('label[for="grid-search"]')!;
      label.remove();
      return label.outerHTML;
    });
    assert.ok(
      (await axeViolations(page)).some((v) => v.id === "label"),
      "the checker sees an input without its label",
    );
    await page.$eval(
      "#grid-search",
      (input, html) => input.insertAdjacentHTML("beforebegin", html),
      unlabeled,
    );
    await step("fail-zone", async () => {
      await page.click('button[data-fail-zone="zone-a"]');
      await page.click("#analyse");
      await page.waitForSelector("#failure-summary", WAIT);
    });
    const zoneA = (await admin("GET", "/placement/analysis?failed=dp-0")).body;
    assert.equal(
      await page.$eval("#failure-summary", (e) => e.textContent),
      `If dp-0 fail: ${zoneA.failure.count} tenants lose their whole shard.`,
    );
    const demoShard = (await admin("GET", "/tenants/demo/placement")).body.shard.map(
      (m: { slot: string }) => m.slot,
    );
    const expected = !demoShard.includes("dp-0")
      ? "none"
      : demoShard.length === 1
        ? "loses all"
        : "loses part";
    assert.equal(
      await page.$eval('#grid-table tr[data-tenant="demo"]', (e) => (e as HTMLElement).dataset.effect),
      expected,
    );
    await step("fail-all", async () => {
      for (const slot of ["dp-1", "dp-2"]) await page.click(`#fail-${slot}`);
      await page.click("#analyse");
      await page.waitForFunction(
        () => /dp-0, dp-1, dp-2 fail/.test(document.querySelector("#failure-summary")?.textContent ?? ""),
        WAIT,
      );
    });
    const losing = await page.$$eval("#losing-all li", (l) => l.map((e) => e.textContent));
    assert.ok(losing.includes("demo") && losing.includes("console-co"), losing.join(","));
    assert.equal(
      await page.$eval('#grid-table tr[data-tenant="demo"]', (e) => (e as HTMLElement).dataset.effect),
      "loses all",
    );
    const law = await page.$$eval("#overlap-table tbody tr", (r) => r.length);
    assert.ok(law >= 2, "overlap rows with the law beside them");
  });

  it("marks a killed node dead and keeps showing the others live", async () => {
    process.kill(dev.dataPlane[2]!.pid, "SIGKILL");
    await step("node-dead", async () => {
      await openPage("fleet");
      await page.waitForSelector('#slots-table tr[data-slot="dp-2"][data-state="dead"]', { timeout: 90_000 });
    });
    assert.deepEqual(
      await page.$$eval('#slots-table tr[data-state="live"]', (r) =>
        r.map((e) => (e as HTMLElement).dataset.slot),
      ),
      ["dp-0", "dp-1"],
    );
    await step("fleet-dead-axe", () => assertAccessible());
  });

  it("rolls back after a confirmation; the rollback version reaches the live nodes", async () => {
    const target = (await admin("GET", "/config/versions?limit=2")).body.items[1].version;
    await step("rollback-confirm", async () => {
      await page.waitForSelector(`button[data-rollback="${target}"]`, WAIT);
      await page.click(`button[data-rollback="${target}"]`);
      await page.waitForSelector("#confirm-rollback[open]", WAIT);
    });
    await step("rollback-dialog-axe", () => assertAccessible());
    await step("rollback", async () => {
      await page.click("#confirm-rollback-yes");
      await page.waitForFunction(
        (t) => {
          const first = document.querySelector("#versions-table tbody tr");
          return first?.textContent?.includes(`rollback of ${t}`) && first.querySelector('[data-acks="2"]');
        },
        WAIT,
        target,
      );
    });
    assert.match(
      await page.$eval("#notice", (e) => e.textContent!),
      new RegExp(`Rollback of version ${target} accepted`),
    );
  });

  it("a viewer sees every page but no changing button is enabled; forced, the API refuses with its problem", async () => {
    const context = await browser.createBrowserContext();
    const viewer = await context.newPage();
    await viewer.setViewport({ width: 1280, height: 900 });
    try {
      await step(
        "viewer-sign-in",
        async () => {
          await viewer.goto(cp("/console/"));
          await viewer.type("#token", viewerToken);
          await viewer.click('#sign-in button[type="submit"]');
          await viewer.waitForSelector('#page[data-page="fleet"][data-loaded="true"]', WAIT);
          await viewer.waitForSelector("button[data-rollback]", WAIT);
        },
        viewer,
      );
      assert.match(await viewer.$eval("#who", (e) => e.textContent!), /viewer: read only/);
      const enabledChanges = () =>
        viewer.$$eval("[data-changes]", (b) => ({
          all: b.length,
          enabled: b.filter((e) => !(e as HTMLButtonElement).disabled).length,
        }));
      const onFleet = await enabledChanges();
      assert.ok(onFleet.all > 0 && onFleet.enabled === 0, JSON.stringify(onFleet));
      await viewer.click("button[data-rollback]").catch(() => undefined);
      assert.equal(await viewer.$("#confirm-rollback[open]"), null, "a disabled button opens nothing");
      await step(
        "viewer-tenant",
        async () => {
          await openPage("tenants", viewer);
          await viewer.click('button[data-open="demo"]');
          await viewer.waitForSelector("#tenant-detail #keys-table", WAIT);
        },
        viewer,
      );
      const onTenants = await enabledChanges();
      assert.ok(onTenants.all >= 2 && onTenants.enabled === 0, JSON.stringify(onTenants));
      await step("viewer-axe", () => assertAccessible(viewer), viewer);
      // forced: the button enabled by hand, then a raw call: both refused, and shown as the API's problem
      await viewer.$eval("#suspend", (b) => (b as HTMLButtonElement).removeAttribute("disabled"));
      await viewer.click("#suspend");
      await viewer.waitForFunction(
        () => /CORRAL_ADMIN_FORBIDDEN/.test(document.querySelector("#problem")!.textContent!),
        WAIT,
      );
      const forced = await viewer.evaluate(async () => {
        const token = sessionStorage.getItem("corral.operatorToken");
        const res = await fetch("../admin/v1/config/versions/1/rollback", {
          method: "POST",
          headers: { authorization: `Bearer ${token}` },
        });
        return { status: res.status, body: await res.json() };
      });
      assert.equal(forced.status, 403);
      assert.equal(forced.body.code, "CORRAL_ADMIN_FORBIDDEN");
      assert.equal((await admin("GET", "/tenants/demo")).body.status, "active");
    } finally {
      await context.close();
    }
  });

  it("works behind a path prefix: every request stays under it; no usage endpoint, no usage panel", async () => {
    const proxy = await startPrefixProxy(dev.controlPlane.url, "/ops/corral", /\/tenants\/[^/]+\/usage$/);
    const context = await browser.createBrowserContext();
    const prefixed = await context.newPage();
    try {
      await step(
        "prefix",
        async () => {
          await prefixed.goto(
            `${proxy.url}/console#token=${encodeURIComponent(dev.controlPlane.operatorToken)}`,
          );
          await prefixed.waitForSelector('#page[data-page="fleet"][data-loaded="true"]', WAIT);
          await prefixed.waitForSelector("#slots-table tr[data-slot]", WAIT);
        },
        prefixed,
      );
      assert.equal(prefixed.url(), `${proxy.url}/console/`);
      await step(
        "prefix-tenant",
        async () => {
          await openPage("tenants", prefixed);
          await prefixed.click('button[data-open="demo"]');
          await prefixed.waitForSelector("#tenant-detail #keys-table", WAIT);
        },
        prefixed,
      );
      assert.ok(proxy.paths.includes("/ops/corral/admin/v1/tenants/demo/usage"));
      assert.equal(await prefixed.$("#usage-table"), null, "404: the panel is hidden");
      assert.equal(await prefixed.$eval("#problem", (e) => e.textContent), "", "and it is no error");
      assert.ok(
        proxy.paths.some((p) => p.startsWith("/ops/corral/admin/v1/fleet")),
        proxy.paths.join(" "),
      );
      assert.deepEqual(
        proxy.paths.filter((p) => !p.startsWith("/ops/corral/")),
        [],
      );
    } finally {
      await context.close();
      await proxy.close();
    }
  });
});
