// The official Parse JS SDK saving and deleting Parse.File on a cloudrt whose cloud code has
// file triggers. tests/sdk.rs starts the server (fixture `file_triggers`) and passes its URL
// and keys in the environment.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import Parse from 'parse/node';

before(() => {
  Parse.initialize(process.env.CLOUDRT_APP_ID, 'any-javascript-key', process.env.CLOUDRT_MASTER_KEY);
  Parse.serverURL = process.env.CLOUDRT_URL;
});

const base64 = (text) => Buffer.from(text).toString('base64');
const logged = (trigger) => new Parse.Query('FileLog').equalTo('trigger', trigger).ascending('createdAt').find({ useMasterKey: true });

test('a saved file passes beforeSave with its metadata, and afterSave sees what was stored', async () => {
  const file = new Parse.File('tagged.txt', { base64: base64('from the SDK') }, 'text/plain');
  file.setMetadata({ owner: 'sdk' });
  await file.save({ useMasterKey: true });
  const [before] = await logged('beforeSave');
  assert.equal(before.get('name'), 'tagged.txt');
  assert.deepEqual(before.get('metadata'), { owner: 'sdk' });
  const after = (await logged('afterSave')).at(-1);
  assert.equal(after.get('name'), file.name());
  assert.deepEqual(after.get('metadata'), { owner: 'sdk', checked: true });
  assert.deepEqual(after.get('tags'), { by: 'cloud' });
  assert.equal(await (await fetch(file.url())).text(), 'from the SDK');
});

test('beforeSave refuses a file with its Parse error; beforeDelete keeps one', async () => {
  await assert.rejects(new Parse.File('refuse.txt', { base64: base64('x') }).save({ useMasterKey: true }),
    (e) => e instanceof Parse.Error && e.code === 130 && e.message === 'files named refuse are refused');
  const kept = new Parse.File('keep.txt', { base64: base64('stays') });
  await kept.save({ useMasterKey: true });
  await assert.rejects(kept.destroy({ useMasterKey: true }), (e) => e instanceof Parse.Error && e.code === 153);
  assert.equal((await fetch(kept.url())).status, 200);
});

test('beforeSave may replace the file', async () => {
  const file = new Parse.File('rename-me.txt', { base64: base64('old') });
  await file.save({ useMasterKey: true });
  assert.match(file.name(), /_renamed\.txt$/);
  assert.equal(await (await fetch(file.url())).text(), 'new');
  await file.destroy({ useMasterKey: true });
  assert.equal((await logged('afterDelete')).at(-1).get('name'), file.name());
});
