// The official Parse JS SDK using Parse.Role on a running cloudrt: roles made and filled with
// the SDK's relations, `setRoleReadAccess` ACLs read by members, by members of child roles and
// around a cycle, membership removed, and a second role of one name refused.
// tests/sdk.rs starts the server (fixture `roles`) and passes its URL and keys in the environment.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import Parse from 'parse/node';

before(() => {
  Parse.initialize(process.env.CLOUDRT_APP_ID, 'any-javascript-key', process.env.CLOUDRT_MASTER_KEY);
  Parse.serverURL = process.env.CLOUDRT_URL;
});

const master = { useMasterKey: true };

const signUp = async (username) => {
  const user = new Parse.User({ username, password: 'pw' });
  await user.signUp();
  return user;
};

/// The `text` of every Secret `user` may read, sorted.
const visibleTo = async (user) => {
  const found = await new Parse.Query('Secret').find({ sessionToken: user.getSessionToken() });
  return found.map((secret) => secret.get('text')).sort();
};

test('Parse.Role grants through users, child roles and cycles', async () => {
  const [alice, bob, carol] = [await signUp('sdk-alice'), await signUp('sdk-bob'), await signUp('sdk-carol')];
  const publicRead = new Parse.ACL();
  publicRead.setPublicReadAccess(true);

  const mods = new Parse.Role('SdkModerators', publicRead);
  mods.getUsers().add(alice);
  await mods.save(null, master);
  const juniors = new Parse.Role('SdkJuniors', publicRead);
  juniors.getUsers().add(carol);
  await juniors.save(null, master);
  mods.getRoles().add(juniors);
  await mods.save(null, master);

  const acl = new Parse.ACL();
  acl.setRoleReadAccess(mods, true);
  await new Parse.Object('Secret', { text: 'mods' }).save({ ACL: acl }, master);

  assert.deepEqual(await visibleTo(alice), ['mods']);
  assert.deepEqual(await visibleTo(bob), []);
  assert.deepEqual(await visibleTo(carol), ['mods'], 'a member of a child role');

  const fetched = await new Parse.Query(Parse.Role).equalTo('name', 'SdkModerators').first();
  assert.ok(fetched instanceof Parse.Role);
  assert.equal(fetched.getName(), 'SdkModerators');
  assert.equal(fetched.id, mods.id);

  juniors.getRoles().add(mods);
  await juniors.save(null, master);
  assert.deepEqual(await visibleTo(carol), ['mods'], 'a cycle still grants');
  assert.deepEqual(await visibleTo(bob), [], 'and grants no one else');

  mods.getUsers().remove(alice);
  await mods.save(null, master);
  assert.deepEqual(await visibleTo(alice), [], 'removal revokes at once');

  await assert.rejects(new Parse.Role('SdkModerators', publicRead).save(null, master), (e) => e.code === 137);
  const names = (await new Parse.Query(Parse.Role).find(master)).map((role) => role.getName()).sort();
  assert.deepEqual(names, ['SdkJuniors', 'SdkModerators']);
});
