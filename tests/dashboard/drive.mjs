// Drives the official Parse Dashboard (pinned in package.json) in Debian's headless Chromium,
// through its UI only, against a running cloudrt. Run by tests/dashboard.rs:
//   node drive.mjs <dashboard URL> <app name> <part> [screenshot dir]
// <part> is "pages" (webhooks, jobs, logs, cloud code, config) or "browser" (the data
// browser). Every wait is for something on the page, never a fixed sleep. Exits non-zero with
// the step that failed (and a screenshot of it, when a screenshot dir is given).
import { chromium } from 'playwright-core';

const [base, app, part, shots] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
page.setDefaultTimeout(15000);
// The dashboard asks for web fonts; there is no network to fetch them from.
await page.route(/fonts\.googleapis\.com|fonts\.gstatic\.com/, (route) => route.abort());
const at = (path) => page.goto(`${base}/apps/${app}/${path}`);
const modal = () => page.locator('[data-modal="true"]');
/** Clicks a modal's submit button and waits for the modal to close. */
async function submit(name) {
  await modal().getByRole('button', { name, exact: true }).click();
  await modal().waitFor({ state: 'detached' });
}
let current = 'start';

async function step(name, body) {
  current = name;
  await body();
  console.log(`ok ${name}`);
}

/** Saves a screenshot for the README when a directory was given. */
async function shot(name) {
  if (shots) await page.screenshot({ path: `${shots}/${name}.png` });
}

/** The row of the page's table whose text has every one of `texts`. */
function row(...texts) {
  let rows = page.locator('tr');
  for (const text of texts) rows = rows.filter({ hasText: text });
  return rows;
}

async function pages() {
  await step('connect', async () => {
    await page.goto(`${base}/apps`);
    await page.getByText('Server version: 7.0.0').waitFor();
    await shot('apps');
  });

  await step('create a function webhook', async () => {
    await at('webhooks');
    await row('hello', 'Cloud Code').waitFor();
    await page.getByRole('button', { name: 'Create a Webhook' }).click();
    await modal().locator('input[placeholder="MyWebhook"]').fill('hello');
    await modal().locator('input').last().fill('https://127.0.0.1:9/hello');
    await submit('Create');
    await row('hello', 'https://127.0.0.1:9/hello').waitFor();
    await row('hello', 'Cloud Code', 'Overridden').waitFor();
    await shot('webhooks');
  });

  await step('edit the function webhook', async () => {
    await row('hello', 'https://127.0.0.1:9/hello').locator('td').nth(3).click();
    await modal().getByText('Change your Webhook').waitFor();
    await modal().locator('input').last().fill('https://127.0.0.1:9/edited');
    await submit('Save');
    await row('hello', 'https://127.0.0.1:9/edited').waitFor();
  });

  await step('delete the function webhook', async () => {
    await row('hello', 'https://127.0.0.1:9/edited').locator('button').click();
    await modal().getByText('Delete your Webhook').waitFor();
    await submit('Delete');
    await row('hello', 'https://127.0.0.1:9/edited').waitFor({ state: 'detached' });
    await page.reload();
    await row('hello', 'Cloud Code').waitFor();
    await page.getByText('Overridden').waitFor({ state: 'detached' });
  });

  await step('create a trigger webhook', async () => {
    await page.getByRole('button', { name: 'Create a Webhook' }).click();
    await choose(modal().getByRole('combobox').first(), 'beforeSave');
    await choose(modal().getByRole('combobox').nth(1), 'Note');
    await modal().locator('input').last().fill('https://127.0.0.1:9/note');
    await submit('Create');
    await row('Note', 'beforeSave', 'https://127.0.0.1:9/note').waitFor();
  });

  await step('edit the trigger webhook', async () => {
    await row('Note', 'beforeSave', 'https://127.0.0.1:9/note').locator('td').nth(3).click();
    await modal().getByText('Change your Webhook').waitFor();
    await modal().locator('input').last().fill('https://127.0.0.1:9/note2');
    await submit('Save');
    await row('Note', 'beforeSave', 'https://127.0.0.1:9/note2').waitFor();
  });

  await step('delete the trigger webhook', async () => {
    await row('Note', 'beforeSave', 'https://127.0.0.1:9/note2').locator('button').click();
    await modal().getByText('Delete your Webhook').waitFor();
    await submit('Delete');
    await row('https://127.0.0.1:9/note2').waitFor({ state: 'detached' });
  });

  await step('schedule a job with parameters', async () => {
    await at('jobs/new');
    await page.locator('input[placeholder="Pick a good name…"]').fill('Nightly report');
    await choose(page.getByRole('combobox').first(), 'report');
    await page.locator('textarea').first().fill('{"who": "Ada"}');
    await shot('jobs-schedule');
    await page.getByRole('button', { name: 'Schedule', exact: true }).click();
    await page.waitForURL(/jobs\/scheduled/);
    await row('Nightly report', 'report').waitFor();
    await shot('jobs-scheduled');
  });

  await step('run it now and see it succeed in Job Status', async () => {
    await row('Nightly report').getByRole('button', { name: 'Run...' }).click();
    await modal().locator('textarea').fill('{"who": "Grace"}');
    await submit('Run');
    await at('jobs/status');
    // The page shows the runs as they were when it loaded: refresh until this one is done.
    const done = row('report', 'Reported Grace', 'succeeded');
    // A deadline, not a count of tries: on a loaded machine each refresh takes longer.
    const deadline = Date.now() + 90000;
    while (!(await done.isVisible())) {
      if (Date.now() > deadline) throw new Error('the run never showed as succeeded');
      await page.getByText('Refresh', { exact: true }).click();
      await done.waitFor({ timeout: 250 }).catch(() => {});
    }
    await shot('jobs-status');
  });

  await step('delete the schedule', async () => {
    await at('jobs/scheduled');
    await row('Nightly report').getByRole('button', { name: 'Delete', exact: true }).click();
    await modal().getByText('Delete job schedule?').waitFor();
    await submit('Delete');
    await row('Nightly report').waitFor({ state: 'detached' });
  });

  await step('see a console.log line on the Logs page', async () => {
    await page.evaluate(async ({ server, appId }) => {
      await fetch(`${server}/functions/hello`, { method: 'POST', headers: { 'X-Parse-Application-Id': appId, 'Content-Type': 'application/json' }, body: '{"name": "Logs page"}' });
    }, { server: process.env.CLOUDRT_URL, appId: process.env.CLOUDRT_APP_ID });
    await at('logs/info');
    await page.getByText('[function hello] Hello, Logs page!').waitFor();
    await shot('logs');
  });

  await step('open a cloud code file on the Cloud Code page', async () => {
    // The page lists the loaded release's files (GET releases/latest) as a tree. Its source
    // pane stays empty in parse-dashboard 9.2.0 whatever the server answers: it reads the file
    // from the route's `splat` parameter, which its router (react-router 6) names `*`.
    await at('cloud_code');
    await page.waitForURL(/cloud_code\/main\.js/);
    await page.getByText('main.js', { exact: true }).waitFor();
    await page.getByText('lib', { exact: true }).click();
    await page.getByText('greeting.js', { exact: true }).click();
    await page.waitForURL(/cloud_code\/lib\/greeting\.js/);
    await shot('cloud-code');
  });

  await step('create a Config parameter', async () => {
    await at('config');
    await page.getByRole('button', { name: /create a parameter/i }).first().click();
    await modal().locator('input[placeholder="New parameter"]').fill('dashboardGreeting');
    await modal().locator('textarea').fill('Hello from the dashboard');
    await submit('Create');
    await row('dashboardGreeting', 'Hello from the dashboard').waitFor();
    await shot('config');
  });

  await step('delete the Config parameter', async () => {
    await row('dashboardGreeting').locator('td').last().locator('a').click();
    await modal().getByText('Delete parameter?').waitFor();
    await modal().locator('input[placeholder="Parameter name"]').fill('dashboardGreeting');
    await submit('Delete');
    await row('dashboardGreeting').waitFor({ state: 'detached' });
  });
}

/** Opens one of the dashboard's dropdowns and picks `value`; the options may arrive after
 * the dropdown is drawn (they come from the server), so it is opened again until they do. */
async function choose(dropdown, value) {
  const option = page.locator(`div[value="${value}"]`).last();
  for (let attempt = 0; ; attempt++) {
    await dropdown.click();
    try {
      await option.waitFor({ timeout: 1000 });
      break;
    } catch (error) {
      if (attempt === 10) throw error;
      await page.keyboard.press('Escape');
    }
  }
  await option.click();
}

async function dataBrowser() {
  await step('add a row in the data browser', async () => {
    await at('browser/Note');
    await page.getByText('first', { exact: true }).waitFor();
    // "Add Row" opens an empty row with Add / Cancel under it; Add saves it.
    await page.getByText('Add Row', { exact: true }).first().click();
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByRole('button', { name: 'Cancel', exact: true }).waitFor({ state: 'detached' });
    await shot('browser');
  });

  await step('add a column in the data browser', async () => {
    await page.getByText('Add a new column', { exact: true }).first().click();
    await modal().locator('input').first().fill('priority');
    await submit('Add');
    await page.getByText('priority', { exact: true }).first().waitFor();
  });
}

try {
  if (part === 'pages') await pages();
  else await dataBrowser();
} catch (error) {
  console.error(`FAILED at step "${current}": ${error.message}`);
  if (shots) await page.screenshot({ path: `${shots}/failed.png` }).catch(() => {});
  await browser.close();
  process.exit(1);
}
await browser.close();
