exports.handler = (context, event, callback) => callback(null, { name: 'caller' });
