exports.greet = function (name) {
  return 'Hello, ' + (name || 'world') + '!';
};
