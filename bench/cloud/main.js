// The cloud code both servers run in bench/versus.sh: plain CommonJS that cloudrt and Parse
// Server load alike.

Parse.Cloud.define('hello', (request) => `Hello, ${request.params.name || 'world'}!`);

// One Parse.Cloud.httpRequest per call: the call waits on another service.
Parse.Cloud.define('fetchStatus', async (request) => {
  const response = await Parse.Cloud.httpRequest({ url: request.params.url });
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
