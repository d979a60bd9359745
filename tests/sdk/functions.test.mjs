// The official Parse JS SDK calling cloud functions on a running cloudrt.
// tests/sdk.rs starts the server (fixture `basics`) and passes its URL and keys in the environment.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import Parse from 'parse/node';

before(() => {
  Parse.initialize(process.env.CLOUDRT_APP_ID, 'any-javascript-key', process.env.CLOUDRT_MASTER_KEY);
  Parse.serverURL = process.env.CLOUDRT_URL;
});

test('Parse.Cloud.run returns the result', async () => {
  assert.deepEqual(await Parse.Cloud.run('echo', { name: 'Ada', n: 2 }), { name: 'Ada', n: 2 });
  assert.equal(await Parse.Cloud.run('asyncResult', { name: 'Ada' }), 'async Ada');
  assert.deepEqual(await Parse.Cloud.run('legacySuccess', { name: 'Ada' }), { got: 'Ada' });
});

test('Dates travel both ways as Dates', async () => {
  const when = new Date(Date.UTC(2021, 4, 6, 7, 8, 9, 10));
  const result = await Parse.Cloud.run('types', { when });
  assert.equal(result.when, 'date:2021-05-06T07:08:09.010Z');
  assert.ok(result.made instanceof Date);
  assert.equal(result.made.toISOString(), '2020-01-02T03:04:05.006Z');
});

test('failures reject with Parse.Error and the right code', async () => {
  await assert.rejects(Parse.Cloud.run('throwsParseError'), (e) => e.code === 142 && e.message === 'parse error thrown');
  await assert.rejects(Parse.Cloud.run('throwsError'), (e) => e.code === 141 && e.message === 'error thrown');
  await assert.rejects(Parse.Cloud.run('legacyErrorCode'), (e) => e.code === 142 && e.message === 'legacy validation');
  await assert.rejects(Parse.Cloud.run('nope'), (e) => e.code === 141 && e.message === 'Invalid function: "nope"');
});

test("cloud code's Parse.Error constants are the SDK's, every one", async () => {
  const sdk = {};
  for (const name of Object.getOwnPropertyNames(Parse.Error)) {
    if (/^[A-Z_]+$/.test(name) && typeof Parse.Error[name] === 'number') sdk[name] = Parse.Error[name];
  }
  assert.ok(Object.keys(sdk).length > 50);
  assert.deepEqual(await Parse.Cloud.run('errorCodes'), sdk);
});

test('useMasterKey sets request.master', async () => {
  assert.equal((await Parse.Cloud.run('whoAmI', {}, { useMasterKey: true })).master, true);
  assert.equal((await Parse.Cloud.run('whoAmI', {})).master, false);
});

test('context and installation id reach the function', async () => {
  const result = await Parse.Cloud.run('whoAmI', {}, { context: { from: 'sdk' } });
  assert.deepEqual(result.context, { from: 'sdk' });
  assert.equal(typeof result.installationId, 'string');
});
