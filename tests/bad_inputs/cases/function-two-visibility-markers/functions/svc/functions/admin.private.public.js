exports.handler = (c, e, cb) => cb(null, 'x');
