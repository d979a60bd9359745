// The cloud code both servers run in bench/versus.sh: plain CommonJS that cloudrt and Parse
// Server load alike.

Parse.Cloud.define('hello', (request) => `Hello, ${request.params.name || 'world'}!`);

// One HTTP request per call: the call waits on another service. Parse Server 8 no longer has
// Parse.Cloud.httpRequest; there the same call is Node's fetch.
Parse.Cloud.define('fetchStatus', async (request) => {
  const url = request.params.url;
  if (typeof Parse.Cloud.httpRequest === 'function') {
    const response = await Parse.Cloud.httpRequest({ url });
    return response.status;
  }
  const response = await fetch(url);
  await response.text();
  return response.status;
});

// A cloud function reading data: a 10-object find.
Parse.Cloud.define('findTen', async () => {
  const rows = await new Parse.Query('BenchRow').equalTo('group', 'g3').limit(10).find({ useMasterKey: true });
  return rows.length;
});

// Triggers on every save of BenchTriggered: a beforeSave that changes the object, an afterSave.
Parse.Cloud.beforeSave('BenchTriggered', (request) => {
  request.object.set('checked', true);
});
Parse.Cloud.afterSave('BenchTriggered', () => {});
