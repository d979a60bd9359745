// The official Parse JS SDK on the schema API, class-level permissions and aggregates of a
// running cloudrt: Parse.Schema makes, changes, purges and deletes a class; a CLP set through
// it refuses users with Parse Server's codes; Query#aggregate and Query#distinct answer.
// tests/sdk.rs starts the server (fixture `basics`) and passes its URL and keys in the environment.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import Parse from 'parse/node';

before(() => {
  Parse.initialize(process.env.CLOUDRT_APP_ID, 'any-javascript-key', process.env.CLOUDRT_MASTER_KEY);
  Parse.serverURL = process.env.CLOUDRT_URL;
});

const master = { useMasterKey: true };

const rejection = async (promise) => {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected the call to be refused');
};

test('Parse.Schema saves, reads, updates, purges and deletes a class', async () => {
  const schema = new Parse.Schema('SdkBook');
  schema.addString('title', { required: true }).addNumber('pages', { defaultValue: 1 }).addPointer('owner', '_User');
  const saved = await schema.save();
  assert.deepEqual(saved.fields.title, { type: 'String', required: true });
  assert.deepEqual(saved.fields.owner, { type: 'Pointer', targetClass: '_User' });

  const book = await new Parse.Object('SdkBook').save({ title: 'Dune' }, master);
  assert.equal(book.get('pages'), 1, 'the default is filled on create');
  const missing = await rejection(new Parse.Object('SdkBook').save({ pages: 3 }, master));
  assert.equal(missing.code, Parse.Error.VALIDATION_ERROR);

  const update = new Parse.Schema('SdkBook');
  update.deleteField('pages').addBoolean('read');
  const updated = await update.update();
  assert.equal(updated.fields.pages, undefined);
  assert.deepEqual(updated.fields.read, { type: 'Boolean' });
  const fetched = await new Parse.Query('SdkBook').get(book.id, master);
  assert.equal(fetched.get('pages'), undefined, 'the deleted field left the stored object');

  const full = await rejection(new Parse.Schema('SdkBook').delete());
  assert.equal(full.code, 255);
  await new Parse.Schema('SdkBook').purge();
  assert.equal(await new Parse.Query('SdkBook').count(master), 0);
  await new Parse.Schema('SdkBook').delete();
  const gone = await rejection(new Parse.Schema('SdkBook').get());
  assert.equal(gone.code, Parse.Error.INVALID_CLASS_NAME);
});

test('class-level permissions refuse users with Parse Server codes', async () => {
  const owner = new Parse.User({ username: 'sdk-clp-owner', password: 'pw' });
  await owner.signUp();
  const other = new Parse.User({ username: 'sdk-clp-other', password: 'pw' });
  await other.signUp();
  const schema = new Parse.Schema('SdkDiary');
  schema.addString('text').addPointer('owner', '_User');
  schema.setCLP({
    find: { requiresAuthentication: true }, get: {}, count: {}, create: { [owner.id]: true },
    update: {}, delete: {}, addField: {}, readUserFields: ['owner'], writeUserFields: ['owner'],
  });
  await schema.save();

  const entry = new Parse.Object('SdkDiary');
  entry.set({ text: 'dear diary', owner });
  await entry.save(null, { sessionToken: owner.getSessionToken() });

  const refused = await rejection(new Parse.Object('SdkDiary').save({ text: 'x' }, { sessionToken: other.getSessionToken() }));
  assert.equal(refused.code, Parse.Error.OPERATION_FORBIDDEN);
  const anonymous = await rejection(new Parse.Query('SdkDiary').find());
  assert.equal(anonymous.code, Parse.Error.OBJECT_NOT_FOUND);
  assert.equal((await new Parse.Query('SdkDiary').find({ sessionToken: other.getSessionToken() })).length, 0);
  const mine = await new Parse.Query('SdkDiary').find({ sessionToken: owner.getSessionToken() });
  assert.deepEqual(mine.map((o) => o.get('text')), ['dear diary']);
  const hidden = await rejection(new Parse.Query('SdkDiary').get(entry.id, { sessionToken: other.getSessionToken() }));
  assert.equal(hidden.code, Parse.Error.OBJECT_NOT_FOUND);
  const newField = await rejection(entry.save({ mood: 'good' }, { sessionToken: owner.getSessionToken() }));
  assert.equal(newField.code, Parse.Error.OPERATION_FORBIDDEN);
});

test('Query#aggregate and Query#distinct', async () => {
  const rows = [['ann', 3], ['bob', 5], ['ann', 4]].map(([player, score]) => new Parse.Object('SdkScore', { player, score }));
  await Parse.Object.saveAll(rows, master);
  const grouped = await new Parse.Query('SdkScore').aggregate([
    { $group: { _id: '$player', total: { $sum: '$score' } } },
    { $sort: { total: -1 } },
  ]);
  assert.deepEqual(grouped, [{ objectId: 'ann', total: 7 }, { objectId: 'bob', total: 5 }]);
  const query = new Parse.Query('SdkScore');
  query.greaterThan('score', 3);
  const matched = await query.aggregate({ $group: { _id: null, n: { $sum: 1 } } });
  assert.deepEqual(matched, [{ objectId: null, n: 2 }], 'the query where becomes a $match');
  assert.deepEqual((await new Parse.Query('SdkScore').distinct('player')).sort(), ['ann', 'bob']);
  const high = new Parse.Query('SdkScore');
  high.greaterThan('score', 4);
  assert.deepEqual(await high.distinct('player'), ['bob']);
  const bad = await rejection(new Parse.Query('SdkScore').aggregate([{ $frobnicate: {} }]));
  assert.equal(bad.code, Parse.Error.INVALID_QUERY);
});
