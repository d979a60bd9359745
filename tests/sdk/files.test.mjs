// The official Parse JS SDK saving, reading and deleting Parse.File on a running cloudrt.
// tests/sdk.rs starts the server (fixture `basics`, --allow-client-class-creation) and passes its
// URL and keys in the environment.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import Parse from 'parse/node';

before(() => {
  Parse.initialize(process.env.CLOUDRT_APP_ID, 'any-javascript-key', process.env.CLOUDRT_MASTER_KEY);
  Parse.serverURL = process.env.CLOUDRT_URL;
});

const rejectsWith = (promise, code, message) =>
  assert.rejects(promise, (e) => {
    assert.ok(e instanceof Parse.Error, `expected a Parse.Error, got ${e}`);
    assert.equal(e.code, code, `code of ${JSON.stringify(e)}`);
    if (message !== undefined) assert.equal(e.message, message);
    return true;
  });

const base64 = (text) => Buffer.from(text).toString('base64');

test('Parse.File from base64 saves, its url serves the bytes, getData reads them back', async () => {
  const file = new Parse.File('a.txt', { base64: base64('hello from the SDK') });
  await file.save({ useMasterKey: true });
  assert.match(file.name(), /^[0-9a-f]{32}_a\.txt$/);
  assert.equal(file.url(), `${process.env.CLOUDRT_URL}/files/${process.env.CLOUDRT_APP_ID}/${file.name()}`);

  const response = await fetch(file.url());
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'text/plain');
  assert.equal(await response.text(), 'hello from the SDK');

  const again = Parse.File.fromJSON({ __type: 'File', name: file.name(), url: file.url() });
  assert.equal(Buffer.from(await again.getData(), 'base64').toString(), 'hello from the SDK');
});

test('a logged-in user saves a file; the public may not', async () => {
  const user = await Parse.User.signUp('sdk-filer', 'pw');
  const file = new Parse.File('photo.png', { base64: base64('not really a png') }, 'image/png');
  await file.save({ sessionToken: user.getSessionToken() });
  const response = await fetch(file.url());
  assert.equal(response.headers.get('content-type'), 'image/png');

  await rejectsWith(new Parse.File('anon.txt', { base64: base64('x') }).save(), 130, 'File upload by public is disabled.');
});

test('a file kept on an object comes back as a Parse.File', async () => {
  const file = new Parse.File('kept.txt', { base64: base64('attached') });
  await file.save({ useMasterKey: true });
  const doc = new Parse.Object('SdkDocument');
  await doc.save({ attachment: file }, { useMasterKey: true });
  const fetched = await new Parse.Query('SdkDocument').get(doc.id, { useMasterKey: true });
  const attachment = fetched.get('attachment');
  assert.ok(attachment instanceof Parse.File);
  assert.equal(attachment.name(), file.name());
  assert.equal(attachment.url(), file.url());
});

test('destroy needs the master key; a deleted file is gone', async () => {
  const file = new Parse.File('doomed.txt', { base64: base64('bye') });
  await file.save({ useMasterKey: true });
  await rejectsWith(file.destroy({ useMasterKey: false }), 119);
  assert.equal((await fetch(file.url())).status, 200);
  await file.destroy();
  assert.equal((await fetch(file.url())).status, 404);
  await rejectsWith(file.destroy(), 153, 'Could not delete file.');
});

test('bad names and empty files are refused', async () => {
  await rejectsWith(new Parse.File('a/b.txt', { base64: base64('x') }).save({ useMasterKey: true }), 122);
  await rejectsWith(new Parse.File('empty.txt', { base64: '' }).save({ useMasterKey: true }), 130, 'Invalid file upload.');
});
