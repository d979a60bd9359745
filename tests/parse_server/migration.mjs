// Parse Server 7 on PostgreSQL, driven by the official Parse JS SDK, for tests/migration.rs.
//
//   node migration.mjs write <database-uri> <port>
//     A fresh database: signs users up, saves objects of every type with ACLs, pointers, a
//     file and a relation, a role; prints what it wrote (ids, session token) as JSON.
//   node migration.mjs read <database-uri> <port> <username> <password> <class>
//     A database cloudrt wrote: logs the user in with the password, reads every object of the
//     class (master key) and the members of each object's `likes` relation; prints them as JSON.
//
// Parse Server itself is the reference here: nothing in this file knows about cloudrt.
import { ParseServer } from 'parse-server';
import FileSystemAdapter from '@parse/fs-files-adapter';
import Parse from 'parse/node.js';

const APP_ID = 'test-app';
const MASTER_KEY = 'test-master';
const [mode, databaseURI, port, ...rest] = process.argv.slice(2);
const serverURL = `http://127.0.0.1:${port}/parse`;

const server = await ParseServer.startApp({
  databaseURI,
  appId: APP_ID,
  masterKey: MASTER_KEY,
  serverURL,
  port: Number(port),
  host: '127.0.0.1',
  mountPath: '/parse',
  silent: true,
  logsFolder: null,
  // Files go to ./files of the working directory, which tests/migration.rs makes for each run.
  filesAdapter: new FileSystemAdapter(),
});
Parse.initialize(APP_ID, undefined, MASTER_KEY);
Parse.serverURL = serverURL;
const master = { useMasterKey: true };

async function write() {
  await Parse.User.signUp('alice', 'alice-pw', { email: 'alice@example.com', age: 31 });
  const alice = await Parse.User.logIn('alice', 'alice-pw');
  const aliceToken = alice.getSessionToken();
  const bob = await Parse.User.signUp('bob', 'bob-pw');

  const roleAcl = new Parse.ACL();
  roleAcl.setPublicReadAccess(true);
  const admins = new Parse.Role('Admins', roleAcl);
  admins.getUsers().add(alice);
  await admins.save(null, master);

  const team = await new Parse.Object('Team').save({ name: 'Reds' }, master);
  const file = await new Parse.File('notes.txt', { base64: Buffer.from('hello').toString('base64') }).save(master);

  const open = new Parse.Object('Post');
  const openAcl = new Parse.ACL();
  openAcl.setPublicReadAccess(true);
  openAcl.setWriteAccess(alice.id, true);
  openAcl.setRoleWriteAccess('Admins', true);
  open.set({
    title: 'open', score: 2.5, count: 7, done: true, when: new Date('2024-01-02T03:04:05.678Z'),
    meta: { nested: { list: [1, 'two'] } }, tags: ['a', 'b'], place: new Parse.GeoPoint(40.25, -3.5),
    author: alice, team, attachment: file,
  });
  open.setACL(openAcl);
  open.relation('likes').add([alice, bob]);
  await open.save(null, master);

  const secret = new Parse.Object('Post');
  const secretAcl = new Parse.ACL();
  secretAcl.setReadAccess(alice.id, true);
  secretAcl.setWriteAccess(alice.id, true);
  secret.set({ title: 'secret', author: alice });
  secret.setACL(secretAcl);
  await secret.save(null, master);

  const posts = await new Parse.Query('Post').ascending('title').find(master);
  return {
    alice: { id: alice.id, token: aliceToken },
    bob: { id: bob.id },
    team: team.id,
    role: admins.id,
    file: file.name(),
    posts: posts.map((post) => post.toJSON()),
  };
}

async function read(username, password, className) {
  const user = await Parse.User.logIn(username, password);
  const objects = await new Parse.Query(className).ascending('createdAt').find(master);
  const likes = {};
  for (const object of objects) {
    const members = await object.relation('likes').query().find(master);
    likes[object.id] = members.map((member) => member.id).sort();
  }
  return { user: user.id, objects: objects.map((object) => object.toJSON()), likes };
}

let answer;
try {
  answer = mode === 'write' ? await write() : await read(...rest);
} catch (e) {
  answer = { error: String(e), code: e.code };
}
console.log(JSON.stringify(answer));
await server.handleShutdown();
process.exit(0);
