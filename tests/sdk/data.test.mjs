// The official Parse JS SDK using objects, queries, users, ACLs and triggers on a running cloudrt.
// tests/sdk.rs starts the server (fixture `triggers`, --allow-client-class-creation) and passes
// its URL and keys in the environment. Requests go without the master key unless a test says so.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import Parse from 'parse/node';

const LONG =
  "A very long comment that will be truncated to be just 140 characters. I sure love using Parse, it's just so easy to get started :)! Hopefully that part doesn't get truncated :/";

before(() => {
  Parse.initialize(process.env.CLOUDRT_APP_ID, 'any-javascript-key', process.env.CLOUDRT_MASTER_KEY);
  Parse.serverURL = process.env.CLOUDRT_URL;
});

/// `assert.rejects` on a Parse.Error with this code.
const rejectsWith = (promise, code, message) =>
  assert.rejects(promise, (e) => {
    assert.ok(e instanceof Parse.Error, `expected a Parse.Error, got ${e}`);
    assert.equal(e.code, code, `code of ${JSON.stringify(e)}`);
    if (message !== undefined) assert.equal(e.message, message);
    return true;
  });

const master = { useMasterKey: true };

test('Parse.Object save, fetch, update and destroy', async () => {
  const game = new Parse.Object('SdkGame');
  await game.save({ title: 'Go', players: 2, tags: ['board'], meta: { origin: 'China' } });
  assert.match(game.id, /^[A-Za-z0-9]{10}$/);
  assert.ok(game.createdAt instanceof Date);
  assert.ok(game.updatedAt instanceof Date);
  assert.equal(game.createdAt.getTime(), game.updatedAt.getTime());
  assert.equal(game.dirty(), false);

  const fetched = await new Parse.Object('SdkGame', { objectId: game.id }).fetch();
  assert.equal(fetched.get('title'), 'Go');
  assert.equal(fetched.get('players'), 2);
  assert.deepEqual(fetched.get('tags'), ['board']);
  assert.deepEqual(fetched.get('meta'), { origin: 'China' });
  assert.equal(fetched.createdAt.toISOString(), game.createdAt.toISOString());

  await new Promise((resolve) => setTimeout(resolve, 5));
  game.set('players', 3);
  await game.save();
  assert.ok(game.updatedAt > game.createdAt, 'updatedAt moved');
  const refetched = await fetched.fetch();
  assert.equal(refetched.get('players'), 3);
  assert.equal(refetched.get('title'), 'Go', 'an update leaves other fields alone');
  assert.equal(refetched.updatedAt.toISOString(), game.updatedAt.toISOString());

  await game.destroy();
  await rejectsWith(new Parse.Object('SdkGame', { objectId: game.id }).fetch(), 101);
  await rejectsWith(new Parse.Query('SdkGame').get(game.id), 101);
});

test('Parse.Query constraints, order, paging, count, first, get', async () => {
  const rows = [];
  for (let i = 0; i < 10; i++) {
    rows.push(new Parse.Object('SdkRow', { n: i, parity: i % 2 === 0 ? 'even' : 'odd', name: `row${i}` }));
  }
  await Parse.Object.saveAll(rows);
  const ns = (list) => list.map((o) => o.get('n'));

  assert.deepEqual(ns(await new Parse.Query('SdkRow').equalTo('parity', 'odd').ascending('n').find()), [1, 3, 5, 7, 9]);
  assert.deepEqual(ns(await new Parse.Query('SdkRow').greaterThan('n', 6).ascending('n').find()), [7, 8, 9]);
  assert.deepEqual(ns(await new Parse.Query('SdkRow').containedIn('name', ['row2', 'row5', 'nope']).ascending('n').find()), [2, 5]);
  assert.deepEqual(ns(await new Parse.Query('SdkRow').descending('n').limit(3).find()), [9, 8, 7]);
  assert.deepEqual(ns(await new Parse.Query('SdkRow').ascending('n').skip(4).limit(3).find()), [4, 5, 6]);
  assert.deepEqual(
    ns(await new Parse.Query('SdkRow').equalTo('parity', 'even').greaterThan('n', 2).descending('n').limit(2).find()),
    [8, 6],
    'constraints, order and limit combine',
  );

  assert.equal(await new Parse.Query('SdkRow').count(), 10);
  assert.equal(await new Parse.Query('SdkRow').equalTo('parity', 'even').count(), 5);
  assert.equal(await new Parse.Query('SdkRow').greaterThan('n', 100).count(), 0);

  const first = await new Parse.Query('SdkRow').descending('n').first();
  assert.equal(first.get('n'), 9);
  assert.equal(await new Parse.Query('SdkRow').equalTo('n', 42).first(), undefined);

  const got = await new Parse.Query('SdkRow').get(rows[3].id);
  assert.equal(got.get('name'), 'row3');
  await rejectsWith(new Parse.Query('SdkRow').get('doesNotExist'), 101);
});

test('include brings pointed-to objects in the same answer', async () => {
  const author = new Parse.Object('SdkAuthor');
  await author.save({ name: 'Ursula' });
  const book = new Parse.Object('SdkBook');
  await book.save({ title: 'The Dispossessed', author });

  const plain = await new Parse.Query('SdkBook').get(book.id);
  assert.equal(plain.get('author').id, author.id);
  assert.equal(plain.get('author').className, 'SdkAuthor');
  assert.equal(plain.get('author').get('name'), undefined, 'without include only the pointer comes back');

  const withAuthor = await new Parse.Query('SdkBook').include('author').get(book.id);
  assert.equal(withAuthor.get('author').id, author.id);
  assert.equal(withAuthor.get('author').get('name'), 'Ursula');

  const found = await new Parse.Query('SdkBook').equalTo('author', author).include('author').find();
  assert.deepEqual(found.map((b) => b.get('author').get('name')), ['Ursula'], 'equalTo a pointer');
});

test('dates, unsaved children, or-queries, exists and select', async () => {
  const when = new Date(Date.UTC(2024, 1, 29, 12, 0, 0, 123));
  const child = new Parse.Object('SdkChild', { label: 'kid' });
  const parent = new Parse.Object('SdkParent', { when, child, kind: 'a' });
  await parent.save(); // the SDK saves the unsaved child first, then the parent pointing to it
  assert.ok(child.id, 'the child was saved');
  const back = await new Parse.Query('SdkParent').include('child').get(parent.id);
  assert.ok(back.get('when') instanceof Date);
  assert.equal(back.get('when').toISOString(), when.toISOString());
  assert.equal(back.get('child').get('label'), 'kid');

  await new Parse.Object('SdkParent').save({ kind: 'b', when: new Date(Date.UTC(2020, 0, 1)) });
  await new Parse.Object('SdkParent').save({ kind: 'c' });
  const kinds = (list) => list.map((o) => o.get('kind')).sort();
  assert.deepEqual(kinds(await new Parse.Query('SdkParent').greaterThan('when', new Date(Date.UTC(2023, 0, 1))).find()), ['a']);
  assert.deepEqual(
    kinds(await Parse.Query.or(new Parse.Query('SdkParent').equalTo('kind', 'a'), new Parse.Query('SdkParent').equalTo('kind', 'c')).find()),
    ['a', 'c'],
  );
  assert.deepEqual(kinds(await new Parse.Query('SdkParent').exists('when').find()), ['a', 'b']);
  assert.deepEqual(kinds(await new Parse.Query('SdkParent').doesNotExist('when').find()), ['c']);
  assert.deepEqual(kinds(await new Parse.Query('SdkParent').notEqualTo('kind', 'a').find()), ['b', 'c']);

  const selected = await new Parse.Query('SdkParent').select('kind').get(parent.id);
  assert.equal(selected.get('kind'), 'a');
  assert.equal(selected.has('when'), false, 'select returns only the keys asked for');
});

test('Parse.Object.saveAll creates and updates in one batch', async () => {
  const items = [1, 2, 3].map((n) => new Parse.Object('SdkBatch', { n }));
  const saved = await Parse.Object.saveAll(items);
  assert.equal(saved.length, 3);
  for (const item of items) assert.match(item.id, /^[A-Za-z0-9]{10}$/);
  assert.equal(new Set(items.map((i) => i.id)).size, 3);

  items.forEach((item) => item.set('n', item.get('n') * 10));
  await Parse.Object.saveAll(items);
  const stored = await new Parse.Query('SdkBatch').ascending('n').find();
  assert.deepEqual(stored.map((i) => i.get('n')), [10, 20, 30]);
  assert.deepEqual(stored.map((i) => i.id), items.map((i) => i.id));

  await Parse.Object.destroyAll(items);
  assert.equal(await new Parse.Query('SdkBatch').count(), 0);
});

test('increment, add, addUnique, remove and unset through save', async () => {
  const counter = new Parse.Object('SdkCounter');
  await counter.save({ hits: 1, tags: ['a'], gone: 'soon' });

  // A second client holding its own copy: the operations must apply on the server, not overwrite.
  const other = new Parse.Object('SdkCounter', { objectId: counter.id });
  other.increment('hits', 5);
  await other.save();
  assert.equal(other.get('hits'), 6, 'the server answers the incremented value');

  counter.increment('hits');
  counter.add('tags', 'b');
  await counter.save();
  assert.equal(counter.get('hits'), 7, 'the increment applied to the stored 6');
  assert.deepEqual(counter.get('tags'), ['a', 'b']);

  // The SDK cannot stack two kinds of array operation on one key in one save.
  counter.addUnique('tags', 'a');
  counter.addUnique('tags', 'c');
  await counter.save();
  assert.deepEqual(counter.get('tags'), ['a', 'b', 'c']);

  counter.remove('tags', 'a');
  counter.unset('gone');
  await counter.save();

  const stored = await new Parse.Query('SdkCounter').get(counter.id);
  assert.equal(stored.get('hits'), 7);
  assert.deepEqual(stored.get('tags'), ['b', 'c']);
  assert.equal(stored.has('gone'), false);
  assert.equal(counter.has('gone'), false);

  // Concurrent clients: no increment or array addition may be lost.
  await Promise.all(
    Array.from({ length: 20 }, (_, i) => {
      const copy = new Parse.Object('SdkCounter', { objectId: counter.id });
      copy.increment('hits');
      copy.addUnique('tags', `t${i % 5}`);
      return copy.save();
    }),
  );
  const after = await new Parse.Query('SdkCounter').get(counter.id);
  assert.equal(after.get('hits'), 27);
  assert.deepEqual([...after.get('tags')].sort(), ['b', 'c', 't0', 't1', 't2', 't3', 't4']);
});

test('signUp, logIn, wrong password, user.save by self and by another user', async () => {
  const alice = new Parse.User({ username: 'sdk-alice', password: 'alice-pw', email: 'alice@example.com' });
  await alice.signUp();
  assert.match(alice.getSessionToken(), /^r:/);
  assert.equal(alice.get('password'), undefined);
  const bob = await Parse.User.signUp('sdk-bob', 'bob-pw');
  assert.ok(bob.getSessionToken());

  await rejectsWith(Parse.User.signUp('sdk-alice', 'other'), 202, 'Account already exists for this username.');

  const loggedIn = await Parse.User.logIn('sdk-alice', 'alice-pw');
  assert.equal(loggedIn.id, alice.id);
  assert.equal(loggedIn.get('email'), 'alice@example.com');
  assert.ok(loggedIn.getSessionToken());
  assert.notEqual(loggedIn.getSessionToken(), alice.getSessionToken(), 'each log-in is a new session');
  await rejectsWith(Parse.User.logIn('sdk-alice', 'wrong'), 101);
  await rejectsWith(Parse.User.logIn('nobody-here', 'wrong'), 101);

  const me = await Parse.User.me(loggedIn.getSessionToken());
  assert.equal(me.id, alice.id);
  assert.equal(me.get('username'), 'sdk-alice');

  // The log-in from this installation (the SDK sends its id) ended the sign-up's session, as
  // Parse Server does: the newest token is the one that works.
  await rejectsWith(Parse.User.me(alice.getSessionToken()), 209);
  const token = loggedIn.getSessionToken();
  alice.set('nickname', 'Al');
  await alice.save(null, { sessionToken: token });
  const reread = await new Parse.Query(Parse.User).get(alice.id, master);
  assert.equal(reread.get('nickname'), 'Al');

  // New users are private (as Parse Server's default enforcePrivateUsers): bob writes blind.
  const aliceAsBob = Parse.User.createWithoutData(alice.id);
  aliceAsBob.set('nickname', 'hacked by bob');
  await rejectsWith(aliceAsBob.save(null, { sessionToken: bob.getSessionToken() }), 206);
  const notHacked = await new Parse.Query(Parse.User).get(alice.id, master);
  assert.equal(notHacked.get('nickname'), 'Al');

  // The new password works, the old one no longer does.
  alice.setPassword('alice-pw-2');
  await alice.save(null, { sessionToken: token });
  await rejectsWith(Parse.User.logIn('sdk-alice', 'alice-pw'), 101);
  assert.equal((await Parse.User.logIn('sdk-alice', 'alice-pw-2')).id, alice.id);
});

test('ACLs: a note readable only by its owner', async () => {
  const owner = await Parse.User.signUp('sdk-acl-owner', 'pw1');
  const other = await Parse.User.signUp('sdk-acl-other', 'pw2');
  const asOwner = { sessionToken: owner.getSessionToken() };
  const asOther = { sessionToken: other.getSessionToken() };

  const note = new Parse.Object('SdkNote');
  note.set('text', 'owner only');
  note.setACL(new Parse.ACL(owner));
  await note.save(null, asOwner);
  const open = new Parse.Object('SdkNote');
  await open.save({ text: 'for everyone' }, asOther);

  const texts = async (options) => (await new Parse.Query('SdkNote').ascending('text').find(options)).map((n) => n.get('text'));
  assert.deepEqual(await texts(asOwner), ['for everyone', 'owner only']);
  assert.deepEqual(await texts(asOther), ['for everyone']);
  assert.deepEqual(await texts({}), ['for everyone'], 'anonymous');
  assert.deepEqual(await texts(master), ['for everyone', 'owner only']);
  assert.equal(await new Parse.Query('SdkNote').count(asOther), 1);

  const readBack = await new Parse.Query('SdkNote').get(note.id, asOwner);
  assert.equal(readBack.getACL().getReadAccess(owner.id), true);
  assert.equal(readBack.getACL().getPublicReadAccess(), false);
  await rejectsWith(new Parse.Query('SdkNote').get(note.id, asOther), 101);
  await rejectsWith(new Parse.Object('SdkNote', { objectId: note.id }).fetch(asOther), 101);

  // Writing needs write access too.
  const forged = new Parse.Object('SdkNote', { objectId: note.id });
  forged.set('text', 'overwritten');
  await rejectsWith(forged.save(null, asOther), 101);
  await rejectsWith(new Parse.Object('SdkNote', { objectId: note.id }).destroy(asOther), 101);
  assert.equal((await new Parse.Query('SdkNote').get(note.id, asOwner)).get('text'), 'owner only');
});

test('Parse.User.logOut ends the session', async () => {
  Parse.User.enableUnsafeCurrentUser();
  try {
    await Parse.User.signUp('sdk-leaver', 'pw');
    const user = await Parse.User.logIn('sdk-leaver', 'pw');
    assert.equal(Parse.User.current().id, user.id);
    const token = user.getSessionToken();
    const whoAmI = await Parse.Cloud.run('whoAmI');
    assert.equal(whoAmI.id, user.id, 'the current user token goes with every request');

    await Parse.User.logOut();
    assert.equal(Parse.User.current(), null);
    await rejectsWith(Parse.User.become(token), 209);
    await rejectsWith(new Parse.Query('SdkNote').find({ sessionToken: token }), 209);
    assert.equal(await Parse.Cloud.run('whoAmI'), null, 'after logOut requests go anonymous');
  } finally {
    Parse.User.disableUnsafeCurrentUser();
  }
});

test('a beforeSave edit shows in the SDK object after save', async () => {
  const review = new Parse.Object('Review');
  review.set('comment', LONG);
  await review.save();
  assert.equal(review.get('comment'), LONG.substring(0, 137) + '...');
  assert.equal(review.get('comment').length, 140);
  assert.equal(review.get('checked'), true);
  assert.equal(review.dirty(), false);

  const stored = await new Parse.Query('Review').get(review.id);
  assert.equal(stored.get('comment'), LONG.substring(0, 137) + '...');
  assert.equal(stored.get('checked'), true);
  // A null field reads back null, or absent on PostgreSQL (a NULL column), as with Parse Server.
  assert.equal(stored.get('byUser') ?? null, null);

  // Updates go through the trigger too.
  review.set('comment', LONG + ' (edited)');
  await review.save();
  assert.equal(review.get('comment'), LONG.substring(0, 137) + '...');
  assert.equal(review.get('hadOriginal'), true);
  const audit = await new Parse.Query('AuditLog').equalTo('review', review.id).count(master);
  assert.equal(audit, 2, 'the afterSave ran once per save');

  // request.user in the trigger is the SDK's session.
  const writer = await Parse.User.signUp('sdk-reviewer', 'pw');
  const signed = new Parse.Object('Review');
  await signed.save({ comment: 'short' }, { sessionToken: writer.getSessionToken() });
  assert.equal(signed.get('comment'), 'short');
  assert.equal(signed.get('byUser'), 'sdk-reviewer');
});

test('a beforeSave that throws rejects the SDK save', async () => {
  const forbidden = new Parse.Object('Forbidden');
  await rejectsWith(forbidden.save({ a: 1 }), 142, 'Forbidden objects cannot be saved');
  assert.equal(forbidden.id, undefined);
  await rejectsWith(Parse.Object.saveAll([new Parse.Object('Forbidden', { b: 2 })]), 142);
  assert.equal(await new Parse.Query('Forbidden').count(master), 0);
});

test('Parse.Cloud.run with a session token sees that user', async () => {
  const user = await Parse.User.signUp('sdk-caller', 'pw');
  const token = user.getSessionToken();
  assert.deepEqual(await Parse.Cloud.run('whoAmI', {}, { sessionToken: token }), {
    username: 'sdk-caller',
    token,
    id: user.id,
  });
  assert.equal(await Parse.Cloud.run('whoAmI', {}), null);
  await rejectsWith(Parse.Cloud.run('whoAmI', {}, { sessionToken: 'r:bogus' }), 209);
});
