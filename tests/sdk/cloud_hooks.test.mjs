// The official Parse JS SDK against cloud code's query and log-in hooks and validators
// (fixture `cloud_hooks`): a Parse.Query rewritten by beforeFind and afterFind, a log-in
// refused by beforeLogin, and Parse.Cloud.run refused by a validator with Parse Server's code.
// tests/sdk.rs starts the server and passes its URL and keys in the environment.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import Parse from 'parse/node';

before(() => {
  Parse.initialize(process.env.CLOUDRT_APP_ID, 'any-javascript-key', process.env.CLOUDRT_MASTER_KEY);
  Parse.serverURL = process.env.CLOUDRT_URL;
});

test('Parse.Query through beforeFind and afterFind', async () => {
  const master = { useMasterKey: true };
  await new Parse.Object('Article', { title: 'hidden', draft: true }).save(null, master);
  await new Parse.Object('Article', { title: 'shown' }).save(null, master);
  const found = await new Parse.Query('Article').find();
  assert.deepEqual(found.map((a) => [a.get('title'), a.get('seen')]), [['shown', 'find']]);
  // The SDK's Query#get is a query of one objectId (REST `GET /classes/C/:id` is the get).
  const one = await new Parse.Query('Article').get(found[0].id);
  assert.equal(one.get('seen'), 'find');
  assert.equal(await new Parse.Query('Article').equalTo('title', 'hidden').first(), undefined, 'beforeFind keeps drafts from clients');
  const all = await new Parse.Query('Article').find({ useMasterKey: true });
  assert.equal(all.length, 2, 'the master key sees them');
});

test('beforeLogin refuses, validators answer 142', async () => {
  const user = new Parse.User({ username: 'sdk-banned', password: 'pw' });
  await user.signUp();
  await user.save({ banned: true }, { useMasterKey: true });
  await assert.rejects(Parse.User.logIn('sdk-banned', 'pw'), (error) =>
    error.code === Parse.Error.SCRIPT_FAILED && error.message === 'Access denied, you have been banned.');

  await assert.rejects(Parse.Cloud.run('needsUser'), (error) =>
    error.code === Parse.Error.VALIDATION_ERROR && error.message === 'Validation failed. Please login to continue.');
  const other = new Parse.User({ username: 'sdk-ok', password: 'pw' });
  await other.signUp();
  assert.equal(await Parse.Cloud.run('needsUser', {}, { sessionToken: other.getSessionToken() }), 'hello sdk-ok');
  assert.deepEqual(await Parse.Cloud.run('typed', { name: 'n' }), { name: 'n', size: 1 });
});
