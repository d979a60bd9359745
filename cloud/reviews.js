// Reviews: a beforeSave that keeps comments short, an afterSave that keeps a count per
// movie, and a job that recounts everything.
var MAX_COMMENT = 140;

Parse.Cloud.beforeSave('Review', function (request) {
  var comment = request.object.get('comment');
  if (typeof comment !== 'string' || comment.length === 0) {
    throw new Parse.Error(Parse.Error.VALIDATION_ERROR, 'A review needs a comment.');
  }
  if (comment.length > MAX_COMMENT) {
    request.object.set('comment', comment.substring(0, MAX_COMMENT - 3) + '...');
  }
});

Parse.Cloud.afterSave('Review', async function (request) {
  if (request.original) return;
  var movie = request.object.get('movie');
  if (!movie) return;
  var counts = await new Parse.Query('MovieStats').equalTo('movie', movie).first({ useMasterKey: true });
  if (!counts) counts = new Parse.Object('MovieStats', { movie: movie, reviews: 0 });
  counts.increment('reviews');
  await counts.save(null, { useMasterKey: true });
});

Parse.Cloud.job('recountReviews', async function (request) {
  var totals = {};
  var seen = 0;
  await new Parse.Query('Review').each(function (review) {
    var movie = review.get('movie');
    if (movie) totals[movie] = (totals[movie] || 0) + 1;
    seen += 1;
    if (seen % 100 === 0) request.message(seen + ' reviews counted.');
  }, { useMasterKey: true });
  return 'Counted ' + seen + ' reviews for ' + Object.keys(totals).length + ' movies.';
});
