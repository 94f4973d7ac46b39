// Drives the review page in headless Chromium (playwright-core): sign in, queue, filter, open a
// case, start the review, decide it, see the audit entry, switch language. Screenshots go to
// $AW_SHOTS. Exits non-zero on the first failed step.
//   node review_page.mjs BASE_URL REVIEWER_TOKEN
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import path from "node:path";

const [base, token] = process.argv.slice(2);
const shots = process.env.AW_SHOTS || ".";
const executablePath = process.env.AW_CHROMIUM || "/usr/bin/chromium";

const browser = await chromium.launch({
  executablePath,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
});
const problems = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("console", (m) => { if (m.type() === "error") problems.push("console: " + m.text()); });
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("requestfailed", (r) => problems.push("request failed: " + r.url()));
  page.setDefaultTimeout(10000);
  const shot = (name) => page.screenshot({ path: path.join(shots, name + ".png"), fullPage: true });

  await page.goto(base + "/review/");
  await page.waitForSelector("#login:not([hidden])");
  await shot("01-login");
  await page.fill("#token", token);
  await page.click("#login-form button[type=submit]");

  // The queue: six seeded cases, counts by status.
  await page.waitForSelector("#cases tbody tr");
  assert.equal(await page.locator("#cases tbody tr").count(), 6);
  assert.match(await page.locator("#counts").innerText(), /open 6/);
  await shot("02-queue");

  // Filter: knowledge and serious (art. 11 + art. 12) -> the three accounts with both clauses.
  await page.check("#filters input[name=both]");
  await page.click("#apply");
  await page.waitForFunction(() => document.querySelectorAll("#cases tbody tr").length === 3);
  assert.equal(await page.locator("#cases tbody .badge.serious").count(), 3);
  await shot("03-filtered");

  // Open the first case.
  const first = page.locator("#cases tbody tr").first();
  const account = (await first.locator("td").nth(1).innerText()).trim();
  await first.locator("a").click();
  await page.waitForSelector("#case:not([hidden])");
  await page.waitForFunction(() => document.querySelectorAll("#clauses tbody tr").length === 2);
  assert.match(await page.locator("#case-title").innerText(), new RegExp(account));
  assert.match(await page.locator("#clauses").innerText(), /236000\.00 \/ 200000\.00/);
  assert.match(await page.locator("#clauses").innerText(), /第十二条/);
  assert.equal(await page.locator("#evidence details").count(), 2);
  await shot("04-case");

  // Start the review, then decide (the reason is required).
  await page.click("#actions button[data-action=start-review]");
  await page.waitForFunction(() => document.querySelector("#case-summary").dataset.status === "in_review");
  await page.click("#decide");  // empty reason: refused in the page, nothing sent
  assert.equal(await page.locator("#case-summary").getAttribute("data-status"), "in_review");
  await page.selectOption("#decide-form select[name=decision]", "confirmed");
  await page.fill("#decide-form textarea[name=reason]", "结算金额超过二十万元，且经告知后继续提供服务");
  await page.click("#decide");
  await page.waitForFunction(() => document.querySelector("#case-summary").dataset.status === "decided");
  const audit = await page.locator("#audit tbody").innerText();
  assert.match(audit, /decided/);
  assert.match(audit, /alice \(reviewer\)/);
  assert.match(audit, /结算金额超过二十万元/);
  await shot("05-decided");

  // A comment, then English.
  await page.fill("#comment-form textarea", "已上报 / reported");
  await page.click("#comment-form button");
  await page.waitForSelector("#comments li");
  await page.click("#lang");
  await page.waitForFunction(() => document.documentElement.lang === "en");
  assert.match(await page.locator("#case h3").first().innerText(), /Clauses/);
  assert.match(await page.locator("#clauses").innerText(), /settlement total over CNY 200,000/);
  await shot("06-english");

  // Back to the queue: the decided case shows up under its status.
  await page.click("#nav-queue");
  await page.waitForSelector("#queue:not([hidden])");
  await page.waitForSelector("#counts button[data-status=decided]");
  await shot("07-queue-after");
  assert.deepEqual(problems, []);
  console.log("review page: all steps passed; screenshots in " + shots);
} finally {
  await browser.close();
}
