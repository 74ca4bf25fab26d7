// The holder's whole path on the portal, in headless Chromium (Debian's
// /usr/bin/chromium driven by playwright-core; no browser is downloaded):
// first login with the mailed password, the new password, the secret
// questions, the cards page, a wrong activation code then the right one,
// the acceptance, and (phase "revoke") the revocation with its
// confirmation, then logout. A screenshot of each page goes to the
// screenshots folder.
//
//   node holder_path.mjs <config.json> <phase>      phase: first | revoke
//
// config.json (written by tests/integration/test_portal.py):
//   url, login, otp, password, questions [[q, a] x5], card_uuid (may be
//   empty: the path stops at the cards page), activation_code, wrong_code,
//   screenshots (folder), state (file keeping the browser's cookies
//   between the phases), modules (folder holding node_modules), prefix.
// Prints one JSON line: what it did and saw. Exits non-zero on the first
// step that does not go as the holder expects.
import { createRequire } from "node:module";
import { mkdirSync, readFileSync, existsSync } from "node:fs";
import path from "node:path";

const [configPath, phase] = process.argv.slice(2);
if (!configPath || !["first", "revoke"].includes(phase)) {
  console.error("usage: node holder_path.mjs <config.json> first|revoke");
  process.exit(2);
}
const config = JSON.parse(readFileSync(configPath, "utf8"));
const require = createRequire(path.join(config.modules, "package.json"));
const { chromium } = require("playwright-core");

mkdirSync(config.screenshots, { recursive: true });
const seen = { phase, pages: [], screenshots: [] };

function check(condition, what) {
  if (!condition) throw new Error(`not as expected: ${what}`);
}

async function shot(page, name) {
  const file = path.join(config.screenshots, `${config.prefix || ""}${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  seen.screenshots.push(file);
  seen.pages.push({ name, url: page.url(), title: await page.title() });
}

// Chromium as the machine's closed network needs it: no background
// connections, no sandbox as root, a fresh profile.
const browser = await chromium.launch({
  executablePath: process.env.TSR_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const context = await browser.newContext({
    locale: "fr-FR",
    ignoreHTTPSErrors: true,
    viewport: { width: 1100, height: 800 },
    storageState: phase === "revoke" && existsSync(config.state) ? config.state : undefined,
    // The portal needs no JavaScript: the page runs none, as with a
    // cautious holder's browser.
    javaScriptEnabled: false,
  });
  const page = await context.newPage();

  if (phase === "first") {
    await page.goto(`${config.url}/login`);
    await shot(page, "01-login");
    await page.fill("#login", config.login);
    await page.fill("#password", config.otp);
    await Promise.all([page.waitForURL("**/password"), page.click("#login-submit")]);
    await shot(page, "02-password");
    await page.fill("#new_password", config.password);
    await page.fill("#confirm_password", config.password);
    await Promise.all([page.waitForURL("**/questions"), page.click("#password-submit")]);
    await shot(page, "03-questions");
    for (let i = 0; i < config.questions.length; i++) {
      await page.fill(`#question_${i + 1}`, config.questions[i][0]);
      await page.fill(`#answer_${i + 1}`, config.questions[i][1]);
    }
    await Promise.all([page.waitForURL("**/cards**"), page.click("#questions-submit")]);
    check((await page.textContent("#notice")).length > 0, "questions saved notice");
    await shot(page, "04-cards");
    seen.name = await page.textContent("#holder-name");
    if (config.card_uuid) {
      const uuid = config.card_uuid;
      check(await page.isVisible(`#activate-${uuid}`), "the activation form of the card");
      seen.state_before = await page.textContent(`#state-${uuid}`);
      // A wrong code first: refused, attempts left shown.
      await page.fill(`#activation_code-${uuid}`, config.wrong_code);
      await Promise.all([page.waitForLoadState("load"), page.click(`#activate-submit-${uuid}`)]);
      seen.wrong_code_notice = await page.textContent("#notice");
      await shot(page, "05-activation-wrong-code");
      await page.goto(`${config.url}/cards`);
      await page.fill(`#activation_code-${uuid}`, config.activation_code);
      await Promise.all([page.waitForURL("**/cards?notice=activated"),
                         page.click(`#activate-submit-${uuid}`)]);
      seen.state_after = await page.textContent(`#state-${uuid}`);
      seen.statuses_after_activation = await page.$$eval("td.status", (cells) =>
        cells.map((cell) => cell.className + ":" + cell.textContent.trim()));
      await shot(page, "06-activated");
      await page.check(`#accept-check-${uuid}`);
      await Promise.all([page.waitForURL("**/cards?notice=accepted"),
                         page.click(`#accept-submit-${uuid}`)]);
      seen.accepted_notice = await page.textContent("#notice");
      await shot(page, "07-accepted");
    }
    await context.storageState({ path: config.state });
  } else {
    const uuid = config.card_uuid;
    await page.goto(`${config.url}/cards`);
    check(page.url().includes("/cards"), "still logged in for the revocation");
    await Promise.all([page.waitForURL("**/revoke?**"), page.click(`#revoke-${uuid}`)]);
    await page.selectOption("#reason", "key_compromise");
    await page.fill("#statement", "Carte perdue dans le train <Paris–Lyon>.");
    await shot(page, "08-revoke-form");
    await Promise.all([page.waitForLoadState("load"), page.click("#revoke-continue")]);
    check(await page.isVisible("#revoke-confirm"), "the confirmation step");
    await shot(page, "09-revoke-confirm");
    await Promise.all([page.waitForURL("**/cards?notice=revoked"), page.click("#revoke-confirm")]);
    seen.revoked_notice = await page.textContent("#notice");
    seen.statuses_after_revocation = await page.$$eval("td.status", (cells) =>
      cells.map((cell) => cell.className + ":" + cell.textContent.trim()));
    await shot(page, "10-revoked");
    await Promise.all([page.waitForURL("**/login?notice=logged_out"), page.click("#logout")]);
    await shot(page, "11-logged-out");
    // The session is gone on the server: the cards page sends to login.
    await page.goto(`${config.url}/cards`);
    seen.after_logout = new URL(page.url()).pathname;
  }
  await context.close();
  console.log(JSON.stringify(seen));
} catch (error) {
  seen.error = String(error && error.stack ? error.stack : error);
  console.log(JSON.stringify(seen));
  process.exitCode = 1;
} finally {
  await browser.close();
}
