// A public TwiML greeting: +15005550007 answers with it directly, no Studio flow involved.
exports.handler = function (context, event, callback) {
  const twiml = new Twilio.twiml.VoiceResponse();
  twiml.say(
    { voice: 'Polly.Joanna', language: 'en-US' },
    'Hello from Acme. This line is not staffed; please call our main number.'
  );
  twiml.hangup();
  return callback(null, twiml);
};
