// The official Parse JS SDK's authData calls on a running cloudrt: anonymous log-in, a
// provider linked and unlinked, a log-in by that provider, and an identity another user holds.
// tests/sdk.rs starts the server (fixture `auth_data`) and passes its URL and keys in the environment.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import Parse from 'parse/node';

before(() => {
  Parse.initialize(process.env.CLOUDRT_APP_ID, 'any-javascript-key', process.env.CLOUDRT_MASTER_KEY);
  Parse.serverURL = process.env.CLOUDRT_URL;
});

test('Parse.AnonymousUtils.logIn makes a user with a random username', async () => {
  const user = await Parse.AnonymousUtils.logIn();
  assert.ok(user.id);
  assert.ok(user.getSessionToken().startsWith('r:'));
  assert.equal(user.getUsername().length, 25);
  assert.ok(Parse.AnonymousUtils.isLinked(user));
  const me = await Parse.User.me(user.getSessionToken());
  assert.equal(me.id, user.id);
});

test('linkWith, logInWith and _unlinkFrom a provider validated by cloud code', async () => {
  const user = new Parse.User({ username: 'sdk-linker', password: 'pw' });
  await user.signUp();
  const authData = { id: 'sdk-1', token: 'valid-sdk-1' };
  await user.linkWith('myProvider', { authData }, { sessionToken: user.getSessionToken() });
  assert.ok(user._isLinked('myProvider'));

  const again = await Parse.User.logInWith('myProvider', { authData });
  assert.equal(again.id, user.id);
  assert.equal(again.getUsername(), 'sdk-linker');

  await assert.rejects(
    Parse.User.logInWith('myProvider', { authData: { id: 'sdk-1', token: 'forged' } }),
    (error) => error.code === Parse.Error.OBJECT_NOT_FOUND,
  );

  const other = new Parse.User({ username: 'sdk-other', password: 'pw' });
  await other.signUp();
  await assert.rejects(
    other.linkWith('myProvider', { authData }, { sessionToken: other.getSessionToken() }),
    (error) => error.code === Parse.Error.ACCOUNT_ALREADY_LINKED,
  );

  // The log-in from this installation replaced the sign-up's session (Parse's rule).
  await assert.rejects(Parse.User.me(user.getSessionToken()), (error) => error.code === Parse.Error.INVALID_SESSION_TOKEN);
  const token = again.getSessionToken();
  await user._unlinkFrom('myProvider', { sessionToken: token });
  assert.ok(!user._isLinked('myProvider'));
  const fetched = await new Parse.Query(Parse.User).get(user.id, { sessionToken: token });
  assert.deepEqual(fetched.get('authData') || {}, {});
  const fresh = await Parse.User.logInWith('myProvider', { authData });
  assert.notEqual(fresh.id, user.id, 'the unlinked identity now signs a new user up');
});

test('an unknown provider is refused', async () => {
  await assert.rejects(
    Parse.User.logInWith('facebook', { authData: { id: 'f', access_token: 't' } }),
    (error) => error.code === Parse.Error.UNSUPPORTED_SERVICE && error.message === 'This authentication method is unsupported.',
  );
});
