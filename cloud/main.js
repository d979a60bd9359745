// cloudrt's example app: a few cloud functions split over modules.
var greetings = require('cloud/greetings.js');
var names = require('./names');

Parse.Cloud.define('hello', function (request) {
  return greetings.greet(request.params.name);
});

Parse.Cloud.define('isCoolName', function (request) {
  return names.isACoolName(request.params.name);
});

// Parse.com style: answer through response.success / response.error.
Parse.Cloud.define('average', function (request, response) {
  var values = request.params.values;
  if (!Array.isArray(values) || values.length === 0) {
    response.error(Parse.Error.VALIDATION_ERROR, 'values must be a non-empty array of numbers');
    return;
  }
  var sum = values.reduce(function (a, b) { return a + b; }, 0);
  response.success(sum / values.length);
});

Parse.Cloud.define('serverTime', async function () {
  return { now: new Date() };
});

require('./reviews');

// Calls another HTTP service and answers its status: Parse.Cloud.httpRequest.
Parse.Cloud.define('fetchStatus', async function (request) {
  var response = await Parse.Cloud.httpRequest({ url: request.params.url });
  return response.status;
});
